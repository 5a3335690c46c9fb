-- leave(node, epoch) -> 1 | 0
-- An orderly stop: the node reaps itself at once instead of waiting for
-- its lease to expire.
if not alive(ARGV[3], ARGV[4]) then return 0 end
reapNode(ARGV[3], now())
return 1
