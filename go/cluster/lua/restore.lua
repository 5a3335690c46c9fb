-- restore(node, epoch, uuid, caller, groups, score, ext) -> {'ok', token} | {'conflict'} | {'fenced'}
-- After a rejoin, a node puts back a call that is bridged to ext (its own
-- truth). Refused when the pool has ext on another call.
local node, epoch, uuid, caller, groups, score, ext = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
if not alive(node, epoch) then return {'fenced'} end
local tok = restoreCall(node, epoch, uuid, caller, groups, score, ext, now())
if not tok then return {'conflict'} end
return {'ok', tok}
