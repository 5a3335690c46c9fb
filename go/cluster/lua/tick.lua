-- tick(node, epoch, nodeLeaseMs, load) -> {ok, reaped nodes...}
-- The heartbeat renews this node's lease; then any live node reaps the
-- nodes whose lease expired, takes back expired reservations and ends
-- wrap-ups that are due. ok is 0 when this node was fenced (reaped).
local node, epoch, nl, load = ARGV[3], ARGV[4], tonumber(ARGV[5]), ARGV[6]
local t = now()
if not alive(node, epoch) then return {0} end
redis.call('HSET', nodeKey(node), 'hb', t, 'load', load)
redis.call('ZADD', P .. 'nodes', t + nl, node)
local out = {1}
for _, d in ipairs(redis.call('ZRANGEBYSCORE', P .. 'nodes', '-inf', t, 'LIMIT', 0, 8)) do
	reapNode(d, t)
	out[#out + 1] = d
end
for _, ext in ipairs(redis.call('ZRANGEBYSCORE', P .. 'res', '-inf', t, 'LIMIT', 0, 64)) do
	local a = agentKey(ext)
	release(ext, t)
	if redis.call('HGET', a, 'state') == 'offered' then
		redis.call('HSET', a, 'state', 'idle', 'since', t)
		matchAgent(ext, t)
	end
end
for _, ext in ipairs(redis.call('ZRANGEBYSCORE', P .. 'wrap', '-inf', t, 'LIMIT', 0, 64)) do
	redis.call('ZREM', P .. 'wrap', ext)
	if redis.call('HGET', agentKey(ext), 'state') == 'wrap' then
		redis.call('HSET', agentKey(ext), 'state', 'idle')
		matchAgent(ext, t)
	end
end
return out
