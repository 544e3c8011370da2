-- Standard input for a run, from any API instance: kept in order until its runner takes it
-- (at once when the run is running, which is told; at its start otherwise).
-- KEYS: run, stdin
-- ARGV: chunk (JSON), its size in bytes, eof (0/1), the cap in bytes, prefix, run id
local h = redis.call('HMGET', KEYS[1], 'state', 'stdinClosed', 'stdinBytes', 'held', 'runner')
if not h[1] then return {'gone'} end
if h[1] == 'finished' then return {'finished'} end
if h[2] == '1' then return {'closed'} end
local held = tonumber(h[3]) + tonumber(h[4])
if held + tonumber(ARGV[2]) > tonumber(ARGV[4]) then return {'full', held} end
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('PEXPIRE', KEYS[2], redis.call('PTTL', KEYS[1]))
redis.call('HINCRBY', KEYS[1], 'stdinBytes', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'touches', 1)
if ARGV[3] == '1' then redis.call('HSET', KEYS[1], 'stdinClosed', '1') end
if h[1] == 'running' then
  redis.call('PUBLISH', ARGV[5] .. ':runner:' .. h[5] .. ':ch', 'stdin ' .. ARGV[6])
end
return {'ok'}
