-- A runner is alive: its time (Redis's clock, the same for every instance) and what it reports.
-- Returns whether its packages are known, whether it was known before this beat (a runner
-- declared gone has lost its runs and sessions), and how many requests wait in its inbox.
-- KEYS: runners, runner, runner's inbox
-- ARGV: runner id, info (JSON), ttlMs, packages (JSON, or '' when sent already)
local known = redis.call('EXISTS', KEYS[2])
local t = now()
redis.call('ZADD', KEYS[1], t, ARGV[1])
redis.call('HSET', KEYS[2], 'info', ARGV[2])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[2], 'packages', ARGV[4]) end
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return {redis.call('HEXISTS', KEYS[2], 'packages'), known, redis.call('LLEN', KEYS[3])}
