-- qualify(node, epoch, uuid, elig)
--   -> {'offer', ext, token, agentNode} | {'queued'} | {'gone'} | {'fenced'}
-- Who may take a call of node changed (its skills relaxed, a tier joined,
-- the members changed): elig names them (",ext,ext,"; '' for any member).
-- A waiting call is then taken by the longest-idle of them, if any is idle;
-- the offer is the caller's to make.
local node, epoch, uuid, elig = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
if elig == '' then elig = nil end
local t = now()
if not alive(node, epoch) then return {'fenced'} end
local h = redis.call('HMGET', callKey(uuid), 'node', 'state', 'groups')
if h[1] ~= node then return {'gone'} end
setElig(uuid, elig)
if h[2] ~= 'waiting' or held() then return {'queued'} end
local gl = split(h[3])
local ext = longestIdleFor(gl, elig)
if not ext then return {'queued'} end
local tok, an = reserve(ext, uuid, t, gl)
return {'offer', ext, tok, an or ''}
