-- A new run, queued; or the run an Idempotency-Key already answered. A run in a session is
-- admitted here too, one at a time per session: it is put in the inbox of the runner holding
-- the session (and that runner told), or refused: 'nosession' (unknown, or another principal's),
-- 'busy' (with the run in progress), 'lost' (with why).
-- KEYS: run, idempotency key (or the run again when there is none), session (or the run again)
-- ARGV: id, principal, interactive (0/1), fingerprint, ttlMs, keyTtlMs, queueTimeoutMs,
--       limits (JSON), prefix, has key (0/1), session id (or ''), inbox request (JSON, or '')
if ARGV[10] == '1' then
  local known = redis.call('GET', KEYS[2])
  if known then
    local sep = string.find(known, '\n', 1, true)
    local id = string.sub(known, 1, sep - 1)
    if redis.call('EXISTS', ARGV[9] .. ':run:{' .. id .. '}') == 1 then
      if string.sub(known, sep + 1) ~= ARGV[4] then return {'mismatch'} end
      return {'existing', id}
    end
  end
end
local runner = nil
if ARGV[11] ~= '' then
  local s = redis.call('HMGET', KEYS[3], 'state', 'principal', 'runner', 'run', 'reason')
  if not s[1] or s[1] == 'opening' or s[2] ~= ARGV[2] then return {'nosession'} end
  if s[4] then
    local state = redis.call('HGET', ARGV[9] .. ':run:{' .. s[4] .. '}', 'state')
    if state == 'queued' or state == 'running' then return {'busy', s[4]} end
  end
  if s[1] == 'lost' then return {'lost', s[5] or ''} end
  runner = s[3]
end
local t = now()
redis.call('HSET', KEYS[1],
  'state', 'queued', 'principal', ARGV[2], 'stdinClosed', ARGV[3] == '1' and '0' or '1',
  'stdinBytes', 0, 'held', 0, 'touches', 0, 'followers', 0, 'limits', ARGV[8],
  'created', t, 'deadline', t + tonumber(ARGV[7]), 'last', -1,
  'idem', ARGV[10] == '1' and KEYS[2] or '')
redis.call('PEXPIRE', KEYS[1], ARGV[5])
if ARGV[10] == '1' then
  redis.call('SET', KEYS[2], ARGV[1] .. '\n' .. ARGV[4], 'PX', ARGV[6])
end
if runner then
  redis.call('HSET', KEYS[1], 'session', ARGV[11])
  redis.call('HSET', KEYS[3], 'run', ARGV[1])
  -- The session outlives its run, whatever its idle timeout (its runner renews it after).
  if redis.call('PTTL', KEYS[3]) < tonumber(ARGV[5]) then redis.call('PEXPIRE', KEYS[3], ARGV[5]) end
  redis.call('RPUSH', ARGV[9] .. ':runner:' .. runner .. ':inbox', ARGV[12])
  redis.call('PUBLISH', ARGV[9] .. ':runner:' .. runner .. ':ch', 'inbox')
end
return {'new'}
