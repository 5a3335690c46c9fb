-- Shared by every script (prepended). ARGV[1] is the key prefix, ARGV[2]
-- is reserved. Keys are built here rather than passed in
-- KEYS: the pool is one standalone or Sentinel-managed Redis, never a
-- sharded Redis Cluster (see docs/cluster.md).
local P = ARGV[1]

-- memo: what a batch (lua/batch.lua) reads once for all its operations,
-- none of which changes it: the time and the hold. Empty in other scripts.
local memo = {}

-- Server time, so that every lease is measured by one clock.
local function now()
	if memo.t then return memo.t end
	local t = redis.call('TIME')
	return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- split: a comma list. A batch keeps each list it split (its callers only
-- read them): the same groups come up again and again.
local function split(s)
	local sp = memo.sp
	if sp and s and sp[s] then return sp[s] end
	local out = {}
	if not s then return out end
	for x in string.gmatch(s, '[^,]+') do out[#out + 1] = x end
	if sp then sp[s] = out end
	return out
end

local function nodeKey(n) return P .. 'node:' .. n end

-- held: no grant until the hold ends. Set when Redis lost its data, for one
-- lease, so that every node has noticed (and stopped ringing under grants
-- of the lost state) before an agent is granted again. It lasts until a
-- tick ends it and matches what waits in the same step.
local function held()
	if memo.held ~= nil then return memo.held end
	return redis.call('EXISTS', P .. 'hold') == 1
end
local function agentKey(e) return P .. 'agent:' .. e end
local function callKey(u) return P .. 'call:' .. u end

-- alive: node's incarnation epoch is current. A batch checks once: none
-- of its operations reaps a node.
local function alive(node, epoch)
	if memo.an == node and memo.ae == epoch then return memo.ok end
	local ok = redis.call('HGET', nodeKey(node), 'epoch') == epoch
	if memo.t then memo.an, memo.ae, memo.ok = node, epoch, ok end
	return ok
end

-- notify tells the node holding uuid (for the incarnation that queued it:
-- a message that outlives a rejoin is dropped by its epoch).
local function notify(kind, uuid, ext, tok)
	local h = redis.call('HMGET', callKey(uuid), 'node', 'epoch')
	if h[1] then
		redis.call('RPUSH', P .. 'inbox:' .. h[1], kind .. '\t' .. uuid .. '\t' .. ext .. '\t' .. tok .. '\t' .. h[2])
	end
end

local function unidle(ext, groups)
	for _, g in ipairs(groups) do redis.call('ZREM', P .. 'idle:' .. g, ext) end
end

local function unwait(uuid, groups)
	for _, g in ipairs(groups) do redis.call('ZREM', P .. 'wait:' .. g, uuid) end
end

-- reserve grants ext to uuid: a new fencing token, a lease, the call out of
-- the queues and the agent out of the idle sets. Every later write about
-- this offer names the token and is refused when it is not current.
-- nextToken: a fencing token, never below the clock (ms × 1000), so that a
-- failover to a replica that missed the last grants cannot hand one out
-- again. A string: Lua would print a number this large as 1.79e+15.
local function nextToken(t)
	local tok = redis.call('INCR', P .. 'token')
	if tok < t * 1000 then
		tok = t * 1000
		redis.call('SET', P .. 'token', tok)
	end
	return string.format('%d', tok)
end

-- Returns the token and the agent's node. cgroups: the call's groups when
-- the caller has them at hand (else read). fresh: the call is not in the
-- pool yet (enqueue writes it whole, offered, after this).
local function reserve(ext, uuid, t, cgroups, fresh)
	local tok = nextToken(t)
	local a = agentKey(ext)
	local ah = redis.call('HMGET', a, 'groups', 'node')
	unidle(ext, split(ah[1]))
	redis.call('HSET', a, 'state', 'offered', 'call', uuid, 'token', tok)
	if not fresh then
		local c = callKey(uuid)
		unwait(uuid, cgroups or split(redis.call('HGET', c, 'groups')))
		redis.call('HSET', c, 'state', 'offered', 'agent', ext, 'token', tok)
	end
	return tok, ah[2]
end

-- lowest: the member with the lowest score (then the lowest name) across
-- the groups' sets of one kind ('wait:' or 'idle:').
local function lowest(kind, groups)
	local best, bs
	for _, g in ipairs(groups) do
		local r = redis.call('ZRANGE', P .. kind .. g, 0, 0, 'WITHSCORES')
		if r[1] then
			local s = tonumber(r[2])
			if bs == nil or s < bs or (s == bs and r[1] < best) then best, bs = r[1], s end
		end
	end
	return best
end

-- bestCall: VIP first, then oldest (the score), across the groups.
local function bestCall(groups) return lowest('wait:', groups) end

-- longestIdle: the agent idle the longest across the groups.
local function longestIdle(groups) return lowest('idle:', groups) end

-- Strict calls: constraints the pool cannot judge (skills as they relax,
-- tiers) are the holding node's core's to judge. It names the agents that
-- may take such a call now in 'strict' (uuid -> ",ext,ext,"), and no one
-- else is reserved for it. anyStrict spares the usual case, no strict call
-- anywhere, every read of that hash (a batch reads its size once).
local function anyStrict()
	if memo.ns ~= nil then return memo.ns > 0 end
	return redis.call('HLEN', P .. 'strict') > 0
end

-- eligOf: the agents that may take uuid (",ext,ext,"), nil when any may.
local function eligOf(uuid)
	if not anyStrict() then return nil end
	return redis.call('HGET', P .. 'strict', uuid) or nil
end

-- setElig records who may take uuid (nil or '': any member).
local function setElig(uuid, elig)
	if elig and elig ~= '' then
		redis.call('HSET', P .. 'strict', uuid, elig)
		if memo.ns then memo.ns = memo.ns + 1 end
	elseif anyStrict() then
		redis.call('HDEL', P .. 'strict', uuid)
	end
end

local function mayTake(elig, ext)
	return not elig or string.find(elig, ',' .. ext .. ',', 1, true) ~= nil
end

-- longestIdleFor: the longest-idle agent of the groups that may take a
-- call of eligibility elig (nil: any).
local function longestIdleFor(groups, elig)
	if not elig then return longestIdle(groups) end
	local es = split(elig)
	if #es == 0 then return nil end
	local best, bs
	for _, g in ipairs(groups) do
		local r = redis.call('ZMSCORE', P .. 'idle:' .. g, unpack(es))
		for i = 1, #es do
			if r[i] then
				local s = tonumber(r[i])
				if bs == nil or s < bs or (s == bs and es[i] < best) then best, bs = es[i], s end
			end
		end
	end
	return best
end

-- strictScan bounds how far down a queue a freed agent looks for a strict
-- call it may take (docs/cluster.md); the page is what one read takes.
local strictScan, strictPage = 1024, 32

-- bestCallFor: the best waiting call of the groups that ext may take.
local function bestCallFor(ext, groups)
	if not anyStrict() then return bestCall(groups) end
	local best, bs
	for _, g in ipairs(groups) do
		local k, off = P .. 'wait:' .. g, 0
		while off < strictScan do
			local r = redis.call('ZRANGE', k, off, off + strictPage - 1, 'WITHSCORES')
			if not r[1] then break end
			local us = {}
			for i = 1, #r, 2 do us[#us + 1] = r[i] end
			local el = redis.call('HMGET', P .. 'strict', unpack(us))
			local found
			for j = 1, #us do
				if mayTake(el[j] or nil, ext) then found = j break end
			end
			if found then
				local u, s = us[found], tonumber(r[2 * found])
				if bs == nil or s < bs or (s == bs and u < best) then best, bs = u, s end
				break
			end
			off = off + strictPage
		end
	end
	return best
end

-- matchAgent: ext has just become idle. It takes the best waiting call of
-- its groups (the holding node is told to offer it), or joins the idle sets.
-- groups and since: the agent's, when the caller has them at hand.
local function matchAgent(ext, t, groups, since)
	if not groups then
		local h = redis.call('HMGET', agentKey(ext), 'groups', 'since')
		groups, since = split(h[1]), h[2]
	end
	local u = nil
	if not held() then u = bestCallFor(ext, groups) end
	if u then
		local tok = reserve(ext, u, t)
		notify('offer', u, ext, tok)
		return
	end
	since = since or t
	for _, g in ipairs(groups) do redis.call('ZADD', P .. 'idle:' .. g, since, ext) end
end

-- matchCall: uuid waits (again). The longest-idle agent of its groups takes
-- it, or it joins the queues. Returns ext, token, the agent's node when
-- reserved. groups: the call's groups when the caller has them at hand
-- (else read).
local function matchCall(uuid, t, groups)
	local c = callKey(uuid)
	groups = groups or split(redis.call('HGET', c, 'groups'))
	local ext = nil
	if not held() then ext = longestIdleFor(groups, eligOf(uuid)) end
	if ext then
		local tok, an = reserve(ext, uuid, t, groups)
		return ext, tok, an
	end
	local score = redis.call('HGET', c, 'score')
	redis.call('HSET', c, 'state', 'waiting')
	for _, g in ipairs(groups) do redis.call('ZADD', P .. 'wait:' .. g, score, uuid) end
	return nil
end

-- requeue: the offer of uuid is over without an answer; it waits again.
local function requeue(uuid, t)
	local c = callKey(uuid)
	redis.call('HDEL', c, 'agent', 'token')
	local ext, tok = matchCall(uuid, t)
	if ext then notify('offer', uuid, ext, tok) end
end

-- freeAgent: ext's call is over; wrap-up (ms) or idle at once. groups:
-- the agent's (a list) when the caller has them at hand.
local function freeAgent(ext, t, wrap, groups)
	local a = agentKey(ext)
	redis.call('HDEL', a, 'call', 'token')
	if wrap > 0 then
		redis.call('HSET', a, 'since', t, 'state', 'wrap')
		redis.call('ZADD', P .. 'wrap', t + wrap, ext)
	else
		redis.call('HSET', a, 'since', t, 'state', 'idle')
		if groups then matchAgent(ext, t, groups, t) else matchAgent(ext, t) end
	end
end

-- release takes back ext's reservation (the agent is gone, or its leg
-- ended): the holding node is told to drop the offer, the call waits again.
local function release(ext, t)
	local a = agentKey(ext)
	local h = redis.call('HMGET', a, 'call', 'token')
	redis.call('HDEL', a, 'call', 'token')
	if not h[1] then return end
	local c = callKey(h[1])
	if redis.call('HGET', c, 'token') == h[2] then
		notify('revoke', h[1], ext, h[2])
		requeue(h[1], t)
	end
end

-- offAgent: ext can no longer be reached (logged out, or its node died).
-- A call it talks on keeps it (state lost until that call ends).
local function offAgent(ext, t, state)
	local a = agentKey(ext)
	local h = redis.call('HMGET', a, 'state', 'groups', 'node')
	if h[1] == 'offered' then release(ext, t) end
	unidle(ext, split(h[2]))
	redis.call('ZREM', P .. 'wrap', ext)
	if h[1] == 'talking' or h[1] == 'lost' then
		redis.call('HSET', a, 'state', 'lost', 'off', 1)
	else
		redis.call('HSET', a, 'state', state)
	end
	if h[3] then redis.call('SREM', nodeKey(h[3]) .. ':agents', ext) end
end

-- dropCall: uuid is over (ended, or its node died). Its agent, if any, is
-- freed (wrap ms), or lost when the call's node died (its leg's end is
-- reported by the agent's own node).
local function dropCall(uuid, t, wrap, dead)
	local c = callKey(uuid)
	local h = redis.call('HMGET', c, 'groups', 'state', 'agent', 'token', 'node')
	if not h[2] then return 0 end
	-- Only a waiting call is in its groups' queues.
	if h[2] == 'waiting' then unwait(uuid, split(h[1])) end
	redis.call('SREM', nodeKey(h[5]) .. ':calls', uuid)
	redis.call('DEL', c)
	if anyStrict() then redis.call('HDEL', P .. 'strict', uuid) end
	if h[3] then
		local a = agentKey(h[3])
		local ah = redis.call('HMGET', a, 'token', 'state', 'off', 'groups')
		if ah[1] == h[4] then
			if ah[2] == 'offered' then
				freeAgent(h[3], t, 0, split(ah[4]))
			elseif ah[2] == 'talking' and dead then
				redis.call('HSET', a, 'state', 'lost')
			elseif ah[2] == 'talking' then
				freeAgent(h[3], t, wrap, split(ah[4]))
			elseif ah[2] == 'lost' then
				redis.call('HDEL', a, 'call', 'token', 'off')
				redis.call('HSET', a, 'state', ah[3] and 'off' or 'away')
			end
		end
	end
	return 1
end

-- reapNode removes every trace of a node whose lease expired.
local function reapNode(node, t)
	local nk = nodeKey(node)
	for _, u in ipairs(redis.call('SMEMBERS', nk .. ':calls')) do dropCall(u, t, 0, true) end
	for _, ext in ipairs(redis.call('SMEMBERS', nk .. ':agents')) do
		if redis.call('HGET', agentKey(ext), 'node') == node then offAgent(ext, t, 'off') end
	end
	redis.call('DEL', nk, nk .. ':calls', nk .. ':agents', P .. 'inbox:' .. node, P .. 'proc:' .. node)
	redis.call('ZREM', P .. 'nodes', node)
end

-- restoreCall puts back call uuid of node, bridged there to ext (that
-- node's own truth): the new token, or nil when the pool has ext on another
-- call.
local function restoreCall(node, epoch, uuid, caller, groups, score, ext, t)
	local a = agentKey(ext)
	local h = redis.call('HMGET', a, 'state', 'call', 'groups')
	if (h[1] == 'offered' or h[1] == 'talking' or h[1] == 'lost') and h[2] ~= uuid then return nil end
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
	return tok
end
