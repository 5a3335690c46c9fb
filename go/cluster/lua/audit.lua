-- audit(groups) -> list of problems (empty when the pool is consistent)
-- Read-only, atomic: no group has a waiting call and an idle agent that
-- may take it at once (outside a hold); every strict call is in the pool;
-- idle sets hold only idle agents, queues only waiting calls; a reservation
-- names the same token on agent and call.
local out = {}
for _, g in ipairs(split(ARGV[3])) do
	local w = redis.call('ZRANGE', P .. 'wait:' .. g, 0, -1)
	local i = redis.call('ZRANGE', P .. 'idle:' .. g, 0, -1)
	if #w > 0 and #i > 0 and not redis.call('GET', P .. 'hold') then
		-- Unless a strict call's agents are all busy, someone idle could take it.
		for _, u in ipairs(w) do
			local el = redis.call('HGET', P .. 'strict', u) or nil
			local e = nil
			for _, x in ipairs(i) do
				if mayTake(el, x) then e = x break end
			end
			if e then
				out[#out + 1] = 'group ' .. g .. ': ' .. u .. ' waiting while ' .. e .. ' idle'
				break
			end
		end
	end
	for _, e in ipairs(i) do
		local st = redis.call('HGET', agentKey(e), 'state')
		if st ~= 'idle' then out[#out + 1] = 'idle set ' .. g .. ' has ' .. e .. ' in state ' .. tostring(st) end
	end
	for _, u in ipairs(w) do
		local st = redis.call('HGET', callKey(u), 'state')
		if st ~= 'waiting' then out[#out + 1] = 'queue ' .. g .. ' has ' .. u .. ' in state ' .. tostring(st) end
	end
end
-- Every reservation, from both ends: a call offered names an agent offered
-- to it under the same token, and the other way round.
for _, n in ipairs(redis.call('ZRANGE', P .. 'nodes', 0, -1)) do
	for _, u in ipairs(redis.call('SMEMBERS', nodeKey(n) .. ':calls')) do
		local c = redis.call('HMGET', callKey(u), 'state', 'agent', 'token')
		if c[1] == 'offered' then
			local h = redis.call('HMGET', agentKey(c[2]), 'state', 'call', 'token')
			if h[1] ~= 'offered' then out[#out + 1] = 'reservation of ' .. c[2] .. ' in state ' .. tostring(h[1]) end
			if h[2] ~= u or h[3] ~= c[3] then out[#out + 1] = 'reservation of ' .. c[2] .. ' for ' .. u .. ' does not name it' end
		end
	end
	for _, e in ipairs(redis.call('SMEMBERS', nodeKey(n) .. ':agents')) do
		local h = redis.call('HMGET', agentKey(e), 'state', 'call', 'token')
		if h[1] == 'offered' and (not h[2] or redis.call('HGET', callKey(h[2]), 'token') ~= h[3]) then
			out[#out + 1] = 'reservation of ' .. e .. ' for ' .. tostring(h[2]) .. ' has no matching call'
		end
	end
end
for _, u in ipairs(redis.call('HKEYS', P .. 'strict')) do
	if redis.call('EXISTS', callKey(u)) == 0 then out[#out + 1] = 'strict call ' .. u .. ' is not in the pool' end
end
return out
