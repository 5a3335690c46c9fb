-- agent(node, epoch, ext, op, groups, arg) -> {state}
-- ops: ready (idle now; may be reserved at once; 'held' during a hold:
-- ask again after it), away (not ready), off
-- (logged out or unregistered), legend (the agent's leg of call arg ended,
-- seen by the node its phone is on). ready and away register the agent on
-- node with its groups.
local node, epoch, ext, op, groups, arg = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local t = now()
if not alive(node, epoch) then return {'fenced'} end
local a = agentKey(ext)
local h = redis.call('HMGET', a, 'state', 'node', 'call', 'groups')
local st = h[1] or 'off'
if op == 'off' then
	offAgent(ext, t, 'off')
	return {redis.call('HGET', a, 'state')}
end
if op == 'legend' then
	if h[3] == arg and (st == 'talking' or st == 'lost' or st == 'offered') then
		if st == 'offered' then release(ext, t) end
		local off = redis.call('HGET', a, 'off')
		redis.call('HDEL', a, 'call', 'token', 'off')
		if off then
			redis.call('HSET', a, 'state', 'off')
		else
			redis.call('HSET', a, 'state', 'idle', 'since', t)
			matchAgent(ext, t)
		end
	end
	return {redis.call('HGET', a, 'state')}
end
if st == 'offered' or st == 'talking' or st == 'lost' then return {'busy'} end
if h[2] and h[2] ~= node then redis.call('SREM', nodeKey(h[2]) .. ':agents', ext) end
redis.call('SADD', nodeKey(node) .. ':agents', ext)
unidle(ext, split(h[4]))
redis.call('ZREM', P .. 'wrap', ext)
redis.call('HSET', a, 'node', node, 'groups', groups)
-- Every group an agent can be idle in, for the match after a hold.
for _, g in ipairs(split(groups)) do redis.call('SADD', P .. 'groups', g) end
if op == 'ready' and held() then
	-- After a data loss an agent is ready again only once the hold is over:
	-- by then every ring under a lost grant has begun, so its node knows
	-- whether the phone is free. The node asks again.
	redis.call('HSET', a, 'state', 'away')
	return {'held'}
elseif op == 'ready' then
	if st ~= 'idle' then redis.call('HSET', a, 'since', t) end
	redis.call('HSET', a, 'state', 'idle', 'noans', 0)
	matchAgent(ext, t)
elseif op == 'away' then
	redis.call('HSET', a, 'state', 'away')
else
	return redis.error_reply('ERR unknown agent op ' .. op)
end
local r = {redis.call('HGET', a, 'state')}
if r[1] == 'offered' then
	r[2] = redis.call('HGET', a, 'call')
	r[3] = redis.call('HGET', a, 'token')
end
return r
