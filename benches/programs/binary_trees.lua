local function make(d) if d == 0 then return {} end d = d - 1 return {make(d), make(d)} end
local function check(t) if t[1] then return 1 + check(t[1]) + check(t[2]) else return 1 end end
local maxdepth = 14
local mindepth = 4
print("stretch tree of depth " .. (maxdepth + 1) .. "\t check: " .. check(make(maxdepth + 1)))
local long = make(maxdepth)
for depth = mindepth, maxdepth, 2 do
  local iters = math.floor(2 ^ (maxdepth - depth + mindepth))
  local c = 0
  for i = 1, iters do c = c + check(make(depth)) end
  print(iters .. "\t trees of depth " .. depth .. "\t check: " .. c)
end
print("long lived tree of depth " .. maxdepth .. "\t check: " .. check(long))
