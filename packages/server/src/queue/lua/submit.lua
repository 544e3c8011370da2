-- A new run, queued; or the run an Idempotency-Key already answered.
-- KEYS: run, idempotency key (or the run again when there is none)
-- ARGV: id, principal, interactive (0/1), fingerprint, ttlMs, keyTtlMs, queueTimeoutMs,
--       limits (JSON), prefix, has key (0/1)
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
return {'new'}
