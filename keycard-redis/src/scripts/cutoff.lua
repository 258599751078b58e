-- A subject cutoff, stored as `<cutoff nanos, 20 digits> <until ms>`: keep the later of each.
-- KEYS[1] the subject's key; ARGV[1] the cutoff (20 digits, so that strings compare as numbers),
-- ARGV[2] until when it holds (ms since the epoch). Returns the cutoff in force. A value not in
-- that form, or a key of another type, is corrupt: overwritten.
local c, u = ARGV[1], ARGV[2]
local old = false
if redis.call('TYPE', KEYS[1]).ok == 'string' then
  old = redis.call('GET', KEYS[1])
end
if old then
  local oc, ou = string.match(old, '^(%d+) (%d+)$')
  if oc and #oc == #c and oc > c then c = oc end
  if ou and tonumber(ou) > tonumber(u) then u = ou end
end
redis.call('SET', KEYS[1], c .. ' ' .. u, 'PXAT', u)
return c
