-- tick(node, epoch, nodeLeaseMs, load) -> {ok, reaped nodes...}
-- The heartbeat renews this node's lease; then any live node reaps the
-- nodes whose lease expired (a reservation lives as long as the lease of
-- the node holding its call), ends a hold and wrap-ups that are due. ok is
-- 0 when this node was fenced (reaped).
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
-- The hold after a data loss is over: every idle agent takes the best call
-- it can, longest idle first.
local h = redis.call('GET', P .. 'hold')
if h and tonumber(h) <= t then
	redis.call('DEL', P .. 'hold')
	local seen = {}
	local idle = {}
	for _, g in ipairs(redis.call('SMEMBERS', P .. 'groups')) do
		local r = redis.call('ZRANGE', P .. 'idle:' .. g, 0, -1, 'WITHSCORES')
		for i = 1, #r, 2 do
			if not seen[r[i]] then
				seen[r[i]] = true
				idle[#idle + 1] = {r[i], tonumber(r[i + 1])}
			end
		end
	end
	table.sort(idle, function(x, y) return x[2] < y[2] or (x[2] == y[2] and x[1] < y[1]) end)
	for _, x in ipairs(idle) do
		if redis.call('HGET', agentKey(x[1]), 'state') == 'idle' then
			unidle(x[1], split(redis.call('HGET', agentKey(x[1]), 'groups')))
			matchAgent(x[1], t)
		end
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
