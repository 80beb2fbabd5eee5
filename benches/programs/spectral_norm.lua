local function A(i, j) local ij = i + j return 1.0 / (math.floor(ij * (ij + 1) / 2) + i + 1) end
local function Av(x, y, N) for i = 0, N - 1 do local a = 0 for j = 0, N - 1 do a = a + A(i, j) * x[j] end y[i] = a end end
local function Atv(x, y, N) for i = 0, N - 1 do local a = 0 for j = 0, N - 1 do a = a + A(j, i) * x[j] end y[i] = a end end
local function AtAv(x, y, t, N) Av(x, t, N); Atv(t, y, N) end
local N = 250
local u, v, t = {}, {}, {}
for i = 0, N - 1 do u[i] = 1.0; v[i] = 0.0; t[i] = 0.0 end
for i = 1, 10 do AtAv(u, v, t, N); AtAv(v, u, t, N) end
local vBv, vv = 0, 0
for i = 0, N - 1 do local ui, vi = u[i], v[i] vBv = vBv + ui * vi; vv = vv + vi * vi end
print(string.format("%.9f", math.sqrt(vBv / vv)))
