-- join(node, nodeLeaseMs, addr, rejoin) -> epoch
-- A node (re)starting: a previous incarnation is reaped first (its calls
-- died with it), then the node gets a new epoch that fences the old one.
-- A node rejoining a Redis that lost its data (no epoch counter) holds every
-- grant for one lease (see held).
local node, nl, addr, rejoin = ARGV[3], tonumber(ARGV[4]), ARGV[5], ARGV[6]
local t = now()
if rejoin == '1' and redis.call('EXISTS', P .. 'epoch') == 0 then
	redis.call('SET', P .. 'hold', t + nl)
end
if redis.call('EXISTS', nodeKey(node)) == 1 then reapNode(node, t) end
-- Epochs, like tokens, never fall below the clock: a Redis that lost its
-- data (a restart without persistence, a failover to a replica behind)
-- never hands one out again.
local ep = redis.call('INCR', P .. 'epoch')
if ep < t * 1000 then
	ep = t * 1000
	redis.call('SET', P .. 'epoch', ep)
end
ep = string.format('%d', ep)
redis.call('HSET', nodeKey(node), 'epoch', ep, 'hb', t, 'load', 0, 'addr', addr, 'joined', t)
redis.call('ZADD', P .. 'nodes', t + nl, node)
return ep
