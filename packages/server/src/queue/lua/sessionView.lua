-- A session as API instances answer for it, with the state of its run in progress and the time.
-- KEYS: session
-- ARGV: prefix
-- Returns {} for none, else state, principal, runner, limits, idleMs, expiresAt, run id,
-- run state, now, why it was lost (strings; '' for none).
local s = redis.call('HMGET', KEYS[1], 'state', 'principal', 'runner', 'limits', 'idle',
  'expires', 'run', 'reason')
if not s[1] then return {} end
local state, expires = '', tonumber(s[6] or '0')
if s[7] then
  local r = redis.call('HMGET', ARGV[1] .. ':run:{' .. s[7] .. '}', 'state', 'ended')
  state = r[1] or ''
  -- Its runner moves the expiry on once the run has ended; until it has, say where it will be.
  if r[2] then expires = math.max(expires, tonumber(r[2]) + tonumber(s[5] or '0')) end
end
return {s[1], s[2] or '', s[3] or '', s[4] or '', s[5] or '0', tostring(expires), s[7] or '',
  state, tostring(now()), s[8] or ''}
