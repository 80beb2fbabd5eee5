parts = []
for i in range(300000):
    parts.append(str(i))
joined = ",".join(parts)
total = 0
for p in joined.split(","):
    total += len(p)
s = ""
for i in range(20000):
    s = s + "ab"
hits = 0
for i in range(100000):
    if joined[i:i + 3] == "123":
        hits += 1
print(len(joined), total, len(s), hits)
