local m = {}
local n = 0
for i = 0, 999999 do local k = i * 7 % 1000003 if m[k] == nil then n = n + 1 end m[k] = i end
local sum = 0
for i = 0, 1999999 do local v = m[i] if v == nil then v = 1 end sum = sum + v end
local words, nw = {}, 0
for i = 0, 199999 do local k = "k" .. (i % 5000) local v = words[k] if v == nil then nw = nw + 1 v = 0 end words[k] = v + 1 end
print(n .. " " .. sum .. " " .. nw .. " " .. words["k42"])
