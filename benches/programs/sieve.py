def count_primes(limit):
    composite = [False] * (limit + 1)
    count = 0
    for i in range(2, limit + 1):
        if not composite[i]:
            count += 1
            j = i * i
            while j <= limit:
                composite[j] = True
                j += i
    return count
total = 0
for r in range(5):
    total += count_primes(2000000)
print(total)
