-- The runner holding a run takes the input sent for it, in order.
-- KEYS: run, stdin
-- ARGV: runner id, the program's unread input (bytes)
local h = redis.call('HMGET', KEYS[1], 'runner', 'stdinBytes')
if h[1] ~= ARGV[1] then return {} end
local input = redis.call('LRANGE', KEYS[2], 0, -1)
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'stdinBytes', 0, 'held', tonumber(ARGV[2]) + tonumber(h[2] or 0))
return input
