-- result(node, uuid, ext, token, outcome, noAnswerLimit, memoryMs, ack, restMs)
--   -> {'talking'} | {'waiting', noAnswers, agentState} | {'stale'}
-- The holding node reports how an offer ended. Refused unless token is
-- still the current reservation of both agent and call (fencing).
-- outcome 'rest': the switch, not the agent, failed the offer (saturated);
-- the agent is not counted and sits out restMs in wrap (tick ends it), so
-- that a failure that comes back at once cannot loop.
local node, uuid, ext, tok, outcome = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local limit, mem, ack, rest = tonumber(ARGV[8]), tonumber(ARGV[9]), ARGV[10], tonumber(ARGV[11]) or 0
if ack ~= '' then redis.call('LREM', P .. 'proc:' .. node, 1, ack) end
local t = now()
local a, c = agentKey(ext), callKey(uuid)
local ch = redis.call('HMGET', c, 'token', 'caller')
if redis.call('HGET', a, 'token') ~= tok or ch[1] ~= tok then return {'stale'} end
if outcome == 'answered' then
	redis.call('HSET', a, 'state', 'talking', 'noans', 0)
	redis.call('HSET', c, 'state', 'bridged')
	local caller = ch[2]
	if caller and caller ~= '' then
		if mem > 0 then
			redis.call('SET', P .. 'mem:' .. caller, ext, 'PX', mem)
		else
			redis.call('SET', P .. 'mem:' .. caller, ext)
		end
	end
	return {'talking'}
end
redis.call('HDEL', a, 'call', 'token')
local n = 0
if outcome == 'noanswer' then n = redis.call('HINCRBY', a, 'noans', 1) end
local st = 'idle'
if limit > 0 and n >= limit then st = 'away' end
if outcome == 'rest' and rest > 0 then
	n = tonumber(redis.call('HGET', a, 'noans')) or 0
	st = 'wrap'
	redis.call('ZADD', P .. 'wrap', t + rest, ext)
end
redis.call('HSET', a, 'state', st, 'since', t)
-- The call first, so that another idle agent takes it before the one that
-- did not answer is offered anything.
requeue(uuid, t)
if st == 'idle' then matchAgent(ext, t) end
return {'waiting', n, st}
