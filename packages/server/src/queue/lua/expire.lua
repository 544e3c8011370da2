-- Drops a run no runner took in time (its request gets 503 busy), unless one just did.
-- KEYS: run, events, stdin
local h = redis.call('HMGET', KEYS[1], 'state', 'idem')
if not h[1] then return 'gone' end
if h[1] ~= 'queued' then return h[1] end
if h[2] and h[2] ~= '' then redis.call('DEL', h[2]) end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return 'expired'
