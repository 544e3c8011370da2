-- A runner adds events to a run it holds; with a result, the run ends. Events at or below the
-- last kept seq were added already (a retry after a lost reply) and are skipped. Returns 0 when
-- the run is no longer this runner's (declared lost, or gone from Redis): it must stop it.
-- KEYS: run, events, stdin, runner's runs
-- ARGV: runner id, run id, channel, max events, program's unread input (bytes), retainMs,
--       result (JSON, or '' while it runs), then pairs of seq and event (JSON)
local h = redis.call('HMGET', KEYS[1], 'state', 'runner', 'last')
if h[1] ~= 'running' or h[2] ~= ARGV[1] then return 0 end
local last = tonumber(h[3])
local sent = {}
for i = 8, #ARGV, 2 do
  local seq = tonumber(ARGV[i])
  if seq > last then
    redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[4], '0-' .. (seq + 1), 'e', ARGV[i + 1])
    sent[#sent + 1] = ARGV[i + 1]
    last = seq
  end
end
redis.call('HSET', KEYS[1], 'last', last, 'held', ARGV[5])
if ARGV[7] ~= '' then
  redis.call('HSET', KEYS[1], 'state', 'finished', 'result', ARGV[7], 'ended', now())
  redis.call('HDEL', KEYS[1], 'runner')
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
  redis.call('PEXPIRE', KEYS[2], ARGV[6])
  redis.call('DEL', KEYS[3])
  redis.call('SREM', KEYS[4], ARGV[2])
end
if #sent > 0 then redis.call('PUBLISH', ARGV[3], '[' .. table.concat(sent, ',') .. ']') end
return 1
