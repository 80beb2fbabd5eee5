m = {}
for i in range(1000000):
    m[i * 7 % 1000003] = i
s = 0
for i in range(2000000):
    s += m.get(i, 1)
words = {}
for i in range(200000):
    k = "k" + str(i % 5000)
    words[k] = words.get(k, 0) + 1
print(len(m), s, len(words), words["k42"])
