-- Rotation: swap only if `current` is still the expected one; 1 when swapped, 0 when not.
-- KEYS[1] the family's hash; ARGV[1] the expected current id, ARGV[2] the new one, ARGV[3] the
-- new JSON record, ARGV[4] its expiry (ms since the epoch).
if redis.call('HGET', KEYS[1], 'current') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'current', ARGV[2], 'record', ARGV[3])
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
return 1
