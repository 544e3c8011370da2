-- Cancels a run from any API instance: a queued one ends here (it will never start), a running
-- one is flagged and its runner told.
-- KEYS: run, events, stdin
-- ARGV: prefix, run id, started event (seq 0), exit event (seq 1), result, retainMs, channel
local h = redis.call('HMGET', KEYS[1], 'state', 'runner')
if not h[1] then return 'gone' end
if h[1] == 'finished' then return 'finished' end
if h[1] == 'queued' then
  redis.call('HSET', KEYS[1], 'state', 'finished', 'result', ARGV[5], 'last', 1)
  redis.call('XADD', KEYS[2], '0-1', 'e', ARGV[3])
  redis.call('XADD', KEYS[2], '0-2', 'e', ARGV[4])
  redis.call('DEL', KEYS[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
  redis.call('PEXPIRE', KEYS[2], ARGV[6])
  redis.call('PUBLISH', ARGV[7], '[' .. ARGV[3] .. ',' .. ARGV[4] .. ']')
  return 'cancelled'
end
redis.call('HSET', KEYS[1], 'cancel', '1')
redis.call('PUBLISH', ARGV[1] .. ':runner:' .. h[2] .. ':ch', 'cancel ' .. ARGV[2])
return 'cancelling'
