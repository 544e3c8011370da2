-- An API instance reserves a place for a new session on the runner with the most room (the
-- fewest sessions for its maximum; the first listed among equals), among the candidates heard
-- from within lostAfterMs; that runner then opens it (session.lua). Returns the runner's id, or
-- '' when none has room.
-- KEYS: session, runners
-- ARGV: session id, principal, limits (JSON), idleMs, ttlMs, lostAfterMs, prefix,
--       then pairs of a runner id and its maximum
local t = now()
local best, load = nil, nil
for i = 8, #ARGV, 2 do
  local rid, most = ARGV[i], tonumber(ARGV[i + 1])
  local seen = redis.call('ZSCORE', KEYS[2], rid)
  if seen and tonumber(seen) >= t - tonumber(ARGV[6]) and most > 0 then
    local held = redis.call('SCARD', ARGV[7] .. ':runner:' .. rid .. ':sessions')
    if held < most and (best == nil or held / most < load) then best, load = rid, held / most end
  end
end
if not best then return '' end
redis.call('SADD', ARGV[7] .. ':runner:' .. best .. ':sessions', ARGV[1])
redis.call('HSET', KEYS[1], 'state', 'opening', 'principal', ARGV[2], 'runner', best,
  'limits', ARGV[3], 'idle', ARGV[4], 'created', t)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return best
