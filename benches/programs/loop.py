s = 0
for i in range(30000000):
    s = (s + i * i) % 1000003
print(s)
