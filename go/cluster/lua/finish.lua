-- finish(uuid, wrapMs) -> 1 | 0
-- A call is over (its caller left). Idempotent: a second end, or the end of
-- a call already reaped, changes nothing.
return dropCall(ARGV[3], now(), tonumber(ARGV[4]), false)
