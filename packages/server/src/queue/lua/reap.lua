-- Runners not heard from within lostAfterMs are gone: each run they held ends 'lost' with the
-- output it had sent, and is never run again; each session they held is lost (its next run is
-- 410), and what was sent to them is dropped. Any instance may call this; the first one does it.
-- Returns what was lost, in threes: 'run' or 'session', the runner, the id.
-- KEYS: runners
-- ARGV: lostAfterMs, prefix, error message, retainMs, max events
local t = now()
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. (t - tonumber(ARGV[1])))
local lost = {}
for _, rid in ipairs(dead) do
  local runsKey = ARGV[2] .. ':runner:' .. rid .. ':runs'
  for _, id in ipairs(redis.call('SMEMBERS', runsKey)) do
    local runKey = ARGV[2] .. ':run:{' .. id .. '}'
    local h = redis.call('HMGET', runKey, 'state', 'runner', 'started', 'last', 'limits',
      'session')
    if h[1] == 'running' and h[2] == rid then
      local eventsKey = runKey .. ':events'
      local entries = redis.call('XRANGE', eventsKey, '-', '+')
      local out, err = {}, {}
      local truncated = #entries > 0 and entries[1][1] ~= '0-1'
      for _, entry in ipairs(entries) do
        local ok, event = pcall(cjson.decode, entry[2][2])
        if ok and event.type == 'stdout' then out[#out + 1] = event.data end
        if ok and event.type == 'stderr' then err[#err + 1] = event.data end
      end
      local ok, limits = pcall(cjson.decode, h[5])
      local result = {
        id = id, language = 'python', status = 'lost', exitCode = cjson.null,
        signal = cjson.null, stdout = table.concat(out), stderr = table.concat(err),
        truncated = truncated, durationMs = math.max(0, t - tonumber(h[3])),
        cpuTimeMs = cjson.null, memoryKb = cjson.null,
        error = { type = 'RunnerLost', message = ARGV[3], line = cjson.null, traceback = '' },
      }
      if ok then result.limits = limits end
      if h[6] then result.session = { id = h[6], state = 'lost' } end
      local encoded = cjson.encode(result)
      local seq = tonumber(h[4]) + 1
      local exit = '{"type":"exit","seq":' .. seq .. ',"result":' .. encoded .. '}'
      redis.call('XADD', eventsKey, 'MAXLEN', ARGV[5], '0-' .. (seq + 1), 'e', exit)
      redis.call('HSET', runKey, 'state', 'finished', 'result', encoded, 'last', seq)
      redis.call('HDEL', runKey, 'runner')
      redis.call('PEXPIRE', runKey, ARGV[4])
      redis.call('PEXPIRE', eventsKey, ARGV[4])
      redis.call('DEL', runKey .. ':stdin')
      redis.call('PUBLISH', runKey .. ':ch', '[' .. exit .. ']')
      lost[#lost + 1] = 'run'
      lost[#lost + 1] = rid
      lost[#lost + 1] = id
    end
  end
  local sessionsKey = ARGV[2] .. ':runner:' .. rid .. ':sessions'
  for _, sid in ipairs(redis.call('SMEMBERS', sessionsKey)) do
    local key = ARGV[2] .. ':session:{' .. sid .. '}'
    local s = redis.call('HMGET', key, 'runner', 'state', 'idle')
    if s[1] == rid and s[2] ~= 'lost' then
      redis.call('HSET', key, 'state', 'lost', 'reason', 'runner')
      -- Said to be lost for as long as it would have waited for its next run, then forgotten.
      redis.call('PEXPIRE', key, math.max(1000, tonumber(s[3] or '0')))
      lost[#lost + 1] = 'session'
      lost[#lost + 1] = rid
      lost[#lost + 1] = sid
    end
  end
  redis.call('DEL', runsKey, sessionsKey, ARGV[2] .. ':runner:' .. rid .. ':inbox',
    ARGV[2] .. ':runner:' .. rid)
  redis.call('ZREM', KEYS[1], rid)
end
return lost
