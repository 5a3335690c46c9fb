-- restore(node, epoch, uuid, caller, groups, score, ext) -> {'ok', token} | {'conflict'} | {'fenced'}
-- After a rejoin, a node puts back a call that is bridged to ext (its own
-- truth). Refused when the pool has ext on another call.
local node, epoch, uuid, caller, groups, score, ext = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
local t = now()
if not alive(node, epoch) then return {'fenced'} end
local a = agentKey(ext)
local h = redis.call('HMGET', a, 'state', 'call', 'groups')
if (h[1] == 'offered' or h[1] == 'talking' or h[1] == 'lost') and h[2] ~= uuid then return {'conflict'} end
local tok = nextToken(t)
local c = callKey(uuid)
-- The call may still be in the pool, waiting again or granted to another
-- agent (an answer that came under a grant taken back): it leaves the
-- queues, and that other agent's reservation ends.
local old = redis.call('HMGET', c, 'state', 'groups', 'agent', 'token')
if old[1] == 'waiting' then unwait(uuid, split(old[2])) end
if old[1] == 'offered' and old[3] ~= ext then
	local oa = agentKey(old[3])
	if redis.call('HGET', oa, 'token') == old[4] then
		notify('revoke', uuid, old[3], old[4])
		redis.call('HDEL', oa, 'call', 'token')
		redis.call('HSET', oa, 'state', 'idle', 'since', t)
		matchAgent(old[3], t)
	end
end
redis.call('HSET', c, 'node', node, 'epoch', epoch, 'caller', caller, 'groups', groups, 'score', score, 'state', 'bridged', 'arrived', t, 'agent', ext, 'token', tok)
redis.call('SADD', nodeKey(node) .. ':calls', uuid)
unidle(ext, split(h[3]))
redis.call('ZREM', P .. 'wrap', ext)
redis.call('HDEL', a, 'off')
redis.call('HSET', a, 'state', 'talking', 'call', uuid, 'token', tok)
return {'ok', tok}
