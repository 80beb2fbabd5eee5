def make(d):
    if d == 0:
        return (None, None)
    d -= 1
    return (make(d), make(d))
def check(t):
    l, r = t
    if l is None:
        return 1
    return 1 + check(l) + check(r)
maxdepth, mindepth = 14, 4
print("stretch tree of depth %d\t check: %d" % (maxdepth + 1, check(make(maxdepth + 1))))
long = make(maxdepth)
for depth in range(mindepth, maxdepth + 1, 2):
    iters = 1 << (maxdepth - depth + mindepth)
    c = 0
    for i in range(iters):
        c += check(make(depth))
    print("%d\t trees of depth %d\t check: %d" % (iters, depth, c))
print("long lived tree of depth %d\t check: %d" % (maxdepth, check(long)))
