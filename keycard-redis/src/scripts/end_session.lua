-- A session revocation, which also forgets the session's family (same hash slot) in the same
-- step: never a session revoked whose family could outlive the revocation.
-- KEYS[1] the session's revocation key, KEYS[2] its family's hash; ARGV[1] until when the
-- revocation holds (ms since the epoch), also its value. Keeps the later expiry. A value that
-- is not a number, or a key of another type, is corrupt: overwritten.
local old = 0
if redis.call('TYPE', KEYS[1]).ok == 'string' then
  old = tonumber(redis.call('GET', KEYS[1])) or 0
end
if tonumber(ARGV[1]) > old then
  redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[1])
end
redis.call('DEL', KEYS[2])
return 1
