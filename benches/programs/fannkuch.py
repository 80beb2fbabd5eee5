def fannkuch(n):
    perm1 = list(range(n)); perm = [0] * n; count = [0] * n
    maxflips = checksum = permcount = 0
    r = n
    while True:
        while r != 1:
            count[r - 1] = r; r -= 1
        for i in range(n):
            perm[i] = perm1[i]
        flips = 0
        k = perm[0]
        while k != 0:
            i, j = 0, k
            while i < j:
                perm[i], perm[j] = perm[j], perm[i]; i += 1; j -= 1
            flips += 1
            k = perm[0]
        if flips > maxflips:
            maxflips = flips
        checksum += flips if permcount % 2 == 0 else -flips
        while True:
            if r == n:
                return checksum, maxflips
            p0 = perm1[0]
            for i in range(r):
                perm1[i] = perm1[i + 1]
            perm1[r] = p0
            count[r] -= 1
            if count[r] > 0:
                break
            r += 1
        permcount += 1
c, m = fannkuch(9)
print("%d\nPfannkuchen(9) = %d" % (c, m))
