-- join(node, nodeLeaseMs, addr) -> epoch
-- A node (re)starting: a previous incarnation is reaped first (its calls
-- died with it), then the node gets a new epoch that fences the old one.
local node, nl, addr = ARGV[3], tonumber(ARGV[4]), ARGV[5]
local t = now()
if redis.call('EXISTS', nodeKey(node)) == 1 then reapNode(node, t) end
-- Counters start from the clock, so that a Redis that lost its data (a
-- restart without persistence) never hands out an epoch or token again.
for _, k in ipairs({'epoch', 'token'}) do
	if redis.call('EXISTS', P .. k) == 0 then redis.call('SET', P .. k, t * 1000) end
end
local ep = redis.call('INCR', P .. 'epoch')
redis.call('HSET', nodeKey(node), 'epoch', ep, 'hb', t, 'load', 0, 'addr', addr, 'joined', t)
redis.call('ZADD', P .. 'nodes', t + nl, node)
return ep
