-- confirm(node, uuid, ext, token, msg) -> 1 | 0
-- The holding node, before it rings an offer that came through its inbox:
-- is the grant still current? A grant released meanwhile (the agent's node
-- reaped, its leg ended, Redis lost its data) is not rung; its message is
-- dropped from the processing list.
local node, uuid, ext, tok, msg = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local h = redis.call('HMGET', agentKey(ext), 'state', 'token')
local c = redis.call('HMGET', callKey(uuid), 'node', 'token')
if h[1] == 'offered' and h[2] == tok and c[1] == node and c[2] == tok then return 1 end
redis.call('LREM', P .. 'proc:' .. node, 1, msg)
return 0
