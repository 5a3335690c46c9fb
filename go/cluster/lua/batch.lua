-- batch(name, n, arg1..argn, name, n, ...) -> {reply, ...}
-- A node's operations (enqueue, result, finish, agent, confirm) in one
-- step, in the order given, each answered as its own script would answer.
-- One request and one script run for many operations is what lets one
-- Redis route tens of thousands of calls a second. The time and the hold
-- are read once: no operation here changes the hold, and one atomic step
-- has one time. An operation that fails is answered {'err', message}; the
-- ones after it still run.
-- memo outlives a call where this runs as a Redis Function: start afresh.
memo.t, memo.held, memo.an, memo.ae, memo.ok, memo.sp, memo.ns = nil, nil, nil, nil, nil, {}, nil
memo.t = now()
memo.held = held()
memo.ns = redis.call('HLEN', P .. 'strict')
local out, i = {}, 3
while i <= #ARGV do
	local name, n = ARGV[i], tonumber(ARGV[i + 1]) or 0
	local a = {P, '0'}
	for k = 1, n do a[k + 2] = ARGV[i + 1 + k] end
	i = i + 2 + n
	local f = ops[name]
	local r
	if not f then
		r = {'err', 'unknown operation ' .. tostring(name)}
	else
		local ok, v = pcall(f, a)
		if ok then
			r = v
		elseif type(v) == 'table' and v.err then
			r = {'err', v.err}
		else
			r = {'err', tostring(v)}
		end
	end
	if type(r) == 'table' and r.err then r = {'err', r.err} end
	if r == nil then r = false end
	out[#out + 1] = r
end
return out
