local size, iters, inside = 400, 50, 0
for y = 0, size - 1 do
  local ci = 2.0 * y / size - 1.0
  for x = 0, size - 1 do
    local cr = 2.0 * x / size - 1.5
    local zr, zi, i, escaped = 0.0, 0.0, 0, false
    while i < iters do
      local tr = zr * zr - zi * zi + cr
      zi = 2.0 * zr * zi + ci
      zr = tr
      if zr * zr + zi * zi > 4.0 then escaped = true break end
      i = i + 1
    end
    if not escaped then inside = inside + 1 end
  end
end
print(inside)
