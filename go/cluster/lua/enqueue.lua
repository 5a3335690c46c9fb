-- enqueue(node, epoch, uuid, caller, groups, score, memFirst, rotate, cands, elig)
--   -> {'offer', ext, token, agentNode} | {'queued'} | {'fenced'} | {'dup'}
-- A call starts waiting on node. The core's candidates (its routing mode's
-- order) are tried first, after the remembered agent when memFirst and from
-- the group's cyclic cursor when rotate names a group; the first still idle
-- is reserved. Else the longest-idle member takes it, else it queues.
-- elig (",ext,ext,"; '' for any member): only those may take the call
-- (a strict call, see setElig).
local node, epoch, uuid, caller = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local groups, score, memFirst, rotate = ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local t = now()
if not alive(node, epoch) then return {'fenced'} end
local c = callKey(uuid)
-- A call is in its node's set exactly while it is in the pool.
if redis.call('SADD', nodeKey(node) .. ':calls', uuid) == 0 then return {'dup'} end
local elig = ARGV[12]
if elig == '' then elig = nil end
if elig then setElig(uuid, elig) end
local cg, gl = {}, split(groups)
for _, g in ipairs(gl) do cg[g] = true end

-- The call is written once, when its fate is known.
local function offer(ext)
	local tok, an = reserve(ext, uuid, t, gl, true)
	redis.call('HSET', c, 'node', node, 'epoch', epoch, 'caller', caller, 'groups', groups, 'score', score,
		'state', 'offered', 'arrived', t, 'agent', ext, 'token', tok)
	return {'offer', ext, tok, an or ''}
end

local function try(ext)
	if not ext or held() or not mayTake(elig, ext) then return nil end
	local h = redis.call('HMGET', agentKey(ext), 'state', 'groups')
	if h[1] ~= 'idle' then return nil end
	for _, g in ipairs(split(h[2])) do
		if cg[g] then return offer(ext) end
	end
	return nil
end

if memFirst == '1' and caller ~= '' then
	local r = try(redis.call('GET', P .. 'mem:' .. caller))
	if r then return r end
end
local cands = split(ARGV[11])
local start = 1
if rotate ~= '' then
	local cur = redis.call('GET', P .. 'cur:' .. rotate)
	for i, e in ipairs(cands) do if e == cur then start = i + 1 end end
end
for k = 0, #cands - 1 do
	local ext = cands[((start - 1 + k) % #cands) + 1]
	local r = try(ext)
	if r then
		if rotate ~= '' then redis.call('SET', P .. 'cur:' .. rotate, ext) end
		return r
	end
end
local ext = nil
if not held() then ext = longestIdleFor(gl, elig) end
if ext then return offer(ext) end
redis.call('HSET', c, 'node', node, 'epoch', epoch, 'caller', caller, 'groups', groups, 'score', score,
	'state', 'waiting', 'arrived', t)
for _, g in ipairs(gl) do redis.call('ZADD', P .. 'wait:' .. g, score, uuid) end
return {'queued'}
