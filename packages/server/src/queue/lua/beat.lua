-- A runner is alive: its time (Redis's clock, the same for every instance) and what it reports.
-- KEYS: runners, runner
-- ARGV: runner id, info (JSON), ttlMs, packages (JSON, or '' when sent already)
local t = now()
redis.call('ZADD', KEYS[1], t, ARGV[1])
redis.call('HSET', KEYS[2], 'info', ARGV[2])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[2], 'packages', ARGV[4]) end
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return redis.call('HEXISTS', KEYS[2], 'packages')
