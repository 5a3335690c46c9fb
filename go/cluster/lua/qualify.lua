-- qualify(node, epoch, uuid, elig, groups)
--   -> {'offer', ext, token, agentNode} | {'queued'} | {'gone'} | {'fenced'}
-- Who may take a call of node changed (its skills relaxed, a tier joined,
-- the members changed): elig names them (",ext,ext,"; '' for any member);
-- or the call moved to other groups (overflow after entry): groups, ''
-- when unchanged. A waiting call is then taken by the longest-idle agent
-- that may, if any is idle, or waits in its groups' queues with its
-- place; the offer is the caller's to make.
local node, epoch, uuid, elig, groups = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
if elig == '' then elig = nil end
local t = now()
if not alive(node, epoch) then return {'fenced'} end
local c = callKey(uuid)
local h = redis.call('HMGET', c, 'node', 'state', 'groups', 'score')
if h[1] ~= node then return {'gone'} end
setElig(uuid, elig)
local moved = groups and groups ~= '' and groups ~= h[3]
if moved then
	if h[2] == 'waiting' then unwait(uuid, split(h[3])) end
	redis.call('HSET', c, 'groups', groups)
else
	groups = h[3]
end
if h[2] ~= 'waiting' then return {'queued'} end
local gl = split(groups)
local ext = nil
if not held() then ext = longestIdleFor(gl, elig) end
if ext then
	local tok, an = reserve(ext, uuid, t, gl)
	return {'offer', ext, tok, an or ''}
end
if moved then
	for _, g in ipairs(gl) do redis.call('ZADD', P .. 'wait:' .. g, h[4], uuid) end
end
return {'queued'}
