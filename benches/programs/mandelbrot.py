size, iters, inside = 400, 50, 0
for y in range(size):
    ci = 2.0 * y / size - 1.0
    for x in range(size):
        cr = 2.0 * x / size - 1.5
        zr = zi = 0.0
        i = 0
        escaped = False
        while i < iters:
            tr = zr * zr - zi * zi + cr
            zi = 2.0 * zr * zi + ci
            zr = tr
            if zr * zr + zi * zi > 4.0:
                escaped = True
                break
            i += 1
        if not escaped:
            inside += 1
print(inside)
