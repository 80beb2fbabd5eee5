local parts = {}
for i = 0, 299999 do parts[#parts + 1] = tostring(i) end
local joined = table.concat(parts, ",")
local total = 0
for p in string.gmatch(joined, "[^,]+") do total = total + #p end
local s = ""
for i = 1, 20000 do s = s .. "ab" end
local hits = 0
for i = 0, 99999 do if string.sub(joined, i + 1, i + 3) == "123" then hits = hits + 1 end end
print(#joined .. " " .. total .. " " .. #s .. " " .. hits)
