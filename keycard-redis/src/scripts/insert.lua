-- A new family: the hash and its TTL.
-- KEYS[1] the family's hash; ARGV[1] its current refresh-token id, ARGV[2] the JSON record,
-- ARGV[3] its expiry (ms since the epoch).
redis.call('HSET', KEYS[1], 'current', ARGV[1], 'record', ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
return 1
