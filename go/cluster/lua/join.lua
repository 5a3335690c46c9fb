-- join(node, nodeLeaseMs, addr, rejoin, [uuid, caller, groups, score, ext]...) -> epoch
-- A node (re)starting: a previous incarnation is reaped first (its calls
-- died with it), then the node gets a new epoch that fences the old one.
-- A live node rejoining names the calls it has bridged: they are put back
-- in the same step, so that no other node is granted their agents between
-- the reap and the node's restores. One whose agent the pool has on another
-- call is dropped as the reap would have (the node's own restore reports
-- the conflict).
-- A node rejoining a Redis that lost its data (no epoch counter) holds every
-- grant for one lease (see held).
local node, nl, addr, rejoin = ARGV[3], tonumber(ARGV[4]), ARGV[5], ARGV[6]
local t = now()
if rejoin == '1' and redis.call('EXISTS', P .. 'epoch') == 0 then
	redis.call('SET', P .. 'hold', t + nl)
end
-- The kept calls are taken out of the old incarnation first: reaping them
-- would free their agents, and a free agent is matched at once.
for i = 7, #ARGV - 4, 5 do redis.call('SREM', nodeKey(node) .. ':calls', ARGV[i]) end
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
for i = 7, #ARGV - 4, 5 do
	if not restoreCall(node, ep, ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], t) then
		dropCall(ARGV[i], t, 0, true)
	end
end
return ep
