-- audit(groups) -> list of problems (empty when the pool is consistent)
-- Read-only, atomic: no group has a waiting call and an idle agent at once
-- (outside a hold);
-- idle sets hold only idle agents, queues only waiting calls; a reservation
-- names the same token on agent and call.
local out = {}
for _, g in ipairs(split(ARGV[3])) do
	local w = redis.call('ZRANGE', P .. 'wait:' .. g, 0, -1)
	local i = redis.call('ZRANGE', P .. 'idle:' .. g, 0, -1)
	if #w > 0 and #i > 0 and not redis.call('GET', P .. 'hold') then out[#out + 1] = 'group ' .. g .. ': ' .. #w .. ' waiting while ' .. i[1] .. ' idle' end
	for _, e in ipairs(i) do
		local st = redis.call('HGET', agentKey(e), 'state')
		if st ~= 'idle' then out[#out + 1] = 'idle set ' .. g .. ' has ' .. e .. ' in state ' .. tostring(st) end
	end
	for _, u in ipairs(w) do
		local st = redis.call('HGET', callKey(u), 'state')
		if st ~= 'waiting' then out[#out + 1] = 'queue ' .. g .. ' has ' .. u .. ' in state ' .. tostring(st) end
	end
end
for _, e in ipairs(redis.call('ZRANGE', P .. 'res', 0, -1)) do
	local h = redis.call('HMGET', agentKey(e), 'state', 'call', 'token')
	if h[1] ~= 'offered' then out[#out + 1] = 'reservation of ' .. e .. ' in state ' .. tostring(h[1]) end
	if h[2] and redis.call('HGET', callKey(h[2]), 'token') ~= h[3] then
		out[#out + 1] = 'reservation of ' .. e .. ' for ' .. h[2] .. ' has no matching call'
	end
end
return out
