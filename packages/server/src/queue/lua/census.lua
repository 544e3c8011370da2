-- The runners heard from within lostAfterMs, with what each reported.
-- KEYS: runners
-- ARGV: lostAfterMs, prefix
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], now() - tonumber(ARGV[1]), '+inf')
local out = {}
for _, id in ipairs(ids) do
  local info = redis.call('HGET', ARGV[2] .. ':runner:' .. id, 'info')
  if info then out[#out + 1] = info end
end
return out
