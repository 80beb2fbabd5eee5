local s = 0
for i = 0, 30000000 - 1 do s = (s + i * i) % 1000003 end
print(s)
