-- The runner holding a session says what became of it:
--   ready   its interpreter is up (the session was 'opening'): it is open, expiring idleMs on;
--   idle    it waits for its next run: its expiry moves on (its record never expires before);
--   lost    its interpreter has ended (why: ARGV reason): its place is free, its record kept;
--   expire  idle too long: gone, unless a run was sent to it that its runner has yet to take;
--   end     deleted (or closed with its runner): gone.
-- Returns {1, expiresAt} when done, {0} when the session is not (or no longer) this runner's,
-- {2} when an expiry waits for a run already sent.
-- KEYS: session, runner's sessions
-- ARGV: runner id, session id, what, idleMs, ttlMs, reason, prefix
local h = redis.call('HMGET', KEYS[1], 'runner', 'state', 'run')
local what = ARGV[3]
if h[1] ~= ARGV[1] then
  redis.call('SREM', KEYS[2], ARGV[2])
  return {0}
end
if (what == 'ready' and h[2] ~= 'opening') or (what == 'idle' and h[2] ~= 'open') then
  return {0}
end
if what == 'ready' or what == 'idle' then
  local expires = now() + tonumber(ARGV[4])
  redis.call('HSET', KEYS[1], 'state', 'open', 'expires', expires)
  if what == 'ready' or redis.call('PTTL', KEYS[1]) < tonumber(ARGV[5]) then
    redis.call('PEXPIRE', KEYS[1], ARGV[5])
  end
  return {1, expires}
end
if what == 'lost' then
  redis.call('HSET', KEYS[1], 'state', 'lost', 'reason', ARGV[6])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  redis.call('SREM', KEYS[2], ARGV[2])
  return {1}
end
if what == 'expire' and h[3] then
  if redis.call('HGET', ARGV[7] .. ':run:{' .. h[3] .. '}', 'state') == 'queued' then return {2} end
end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[2])
return {1}
