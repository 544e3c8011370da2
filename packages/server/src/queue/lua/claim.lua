-- A runner takes a queued run: it is now the run's only executor. Returns the input sent while
-- it waited. A run past its queue deadline is dropped: its request was answered 503 (or its API
-- instance went away, and the client may have sent it again), so it must never start.
-- KEYS: run, events, stdin, runner's runs
-- ARGV: runner id, run id, started event (JSON, seq 0), channel, max events, the limits the
--       runner holds it to (JSON, or '' when unread)
local h = redis.call('HMGET', KEYS[1], 'state', 'deadline', 'idem')
if not h[1] then return {'gone'} end
if h[1] ~= 'queued' then return {h[1]} end
local t = now()
if t > tonumber(h[2]) then
  if h[3] and h[3] ~= '' then redis.call('DEL', h[3]) end
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
  return {'expired'}
end
redis.call('HSET', KEYS[1], 'state', 'running', 'runner', ARGV[1], 'started', t, 'last', 0,
  'stdinBytes', 0)
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'limits', ARGV[6]) end
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[5], '0-1', 'e', ARGV[3])
redis.call('PEXPIRE', KEYS[2], redis.call('PTTL', KEYS[1]))
redis.call('SADD', KEYS[4], ARGV[2])
redis.call('PUBLISH', ARGV[4], '[' .. ARGV[3] .. ']')
local input = redis.call('LRANGE', KEYS[3], 0, -1)
redis.call('DEL', KEYS[3])
return {'ok', input}
