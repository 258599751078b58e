-- A token revocation: keep the later expiry.
-- KEYS[1] the revocation's key; ARGV[1] until when it holds (ms since the epoch), also its value.
-- A value that is not a number, or a key of another type, is corrupt: overwritten.
local old = 0
if redis.call('TYPE', KEYS[1]).ok == 'string' then
  old = tonumber(redis.call('GET', KEYS[1])) or 0
end
if tonumber(ARGV[1]) > old then
  redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[1])
end
return 1
