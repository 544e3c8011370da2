-- An API instance reserves a place for a new session on a runner, within the runner's maximum
-- and only on a runner heard from within lostAfterMs; the runner then opens it (session.lua).
-- Returns 'ok', 'full' or 'gone'.
-- KEYS: session, runner's sessions, runners
-- ARGV: session id, principal, runner id, the runner's maximum, limits (JSON), idleMs, ttlMs,
--       lostAfterMs
local t = now()
local seen = redis.call('ZSCORE', KEYS[3], ARGV[3])
if not seen or tonumber(seen) < t - tonumber(ARGV[8]) then return 'gone' end
if redis.call('SCARD', KEYS[2]) >= tonumber(ARGV[4]) then return 'full' end
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[1], 'state', 'opening', 'principal', ARGV[2], 'runner', ARGV[3],
  'limits', ARGV[5], 'idle', ARGV[6], 'created', t)
redis.call('PEXPIRE', KEYS[1], ARGV[7])
return 'ok'
