local function count_primes(limit)
  local composite = {}
  for i = 0, limit do composite[i] = false end
  local count = 0
  for i = 2, limit do
    if not composite[i] then
      count = count + 1
      local j = i * i
      while j <= limit do composite[j] = true; j = j + i end
    end
  end
  return count
end
local total = 0
for r = 1, 5 do total = total + count_primes(2000000) end
print(total)
