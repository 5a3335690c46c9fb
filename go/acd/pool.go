package acd

import (
	"cmp"
	"slices"
)

// Pool mode (cluster-redis, docs/cluster.md): several nodes share one pool
// of agents, and an agent is reserved for a call only by the pool, which
// sees every node's agents. The core keeps its rules — which agents, in its
// routing mode's order (Candidates) — but never offers on its own: a call
// that starts waiting is a DReserve decision, and the pool's answer comes
// back as a fact (Grant, Revoke). A freed agent is not dispatched here
// either: its node tells the pool, which hands it the best waiting call of
// the cluster. Without SetPool(true) nothing of this runs.

// maxCandidates bounds the agents a DReserve names (the pool tries them in
// order, then falls back to its longest-idle member).
const maxCandidates = 16

// SetPool turns pool mode on or off (before any call enters).
func (e *Engine) SetPool(on bool) { e.pool = on }

// Pool reports whether pool mode is on.
func (e *Engine) Pool() bool { return e.pool }

// poolWait queues c on this node and, the first time, hands it to the pool.
func (e *Engine) poolWait(c *call) {
	c.phase = phaseWaiting
	if !c.queued {
		c.g.enqueue(c)
		e.emit(Decision{Kind: DQueueAdd, Call: c.view(), At: e.now()})
	}
	if !c.pooled {
		c.pooled = true
		e.emit(Decision{Kind: DReserve, Call: c.view(), At: e.now()})
	}
	e.armNext(c)
}

// Reservation is what the pool needs of a call that starts waiting.
type Reservation struct {
	Groups []string
	VIP    bool
	// MemoryFirst: the pool tries the caller's remembered agent first.
	MemoryFirst bool
	// Rotate names the group whose cyclic cursor starts Candidates
	// (Candidates are then the members in order).
	Rotate string
	// Candidates: this node's idle qualified agents, in the group's mode order.
	Candidates []string
	// Strict: only Eligible may take the call (see Eligible).
	Strict   bool
	Eligible []string
}

// Eligible is the group queued call uuid waits in now (overflow moves it)
// and who may take it there by its skills (as they relax) and the group's
// tiers, rules the pool does not judge itself. strict is false when any
// member of the group may; else exts are the members (logged in, on any
// node) that qualify, idle or not.
func (e *Engine) Eligible(uuid string) (group string, exts []string, strict, ok bool) {
	c := e.calls[uuid]
	if c == nil || c.kind != kindQueued {
		return "", nil, false, false
	}
	g := c.g
	now := e.now()
	if c.held(now) { // a callback: not before its caller hung up, nor before its retry time
		return g.num, []string{}, true, true
	}
	m := e.matcherFor(c, now)
	if m.any {
		return g.num, nil, false, true
	}
	for i, a := range g.members {
		if m.ok(a, g.mtier[i]) {
			exts = append(exts, a.ext)
		}
	}
	return g.num, exts, true, true
}

// requalify tells the driver that c's group or who may take it may have
// changed (pool mode: the pool holds both for calls that wait or ring).
func (e *Engine) requalify(c *call) {
	if e.pool && c.pooled && c.kind == kindQueued && (c.phase == phaseWaiting || c.phase == phaseOffering) {
		e.emit(Decision{Kind: DRequalify, Call: c.view(), At: e.now()})
	}
}

// requalifyGroups: g's members, or their skills, changed.
func (e *Engine) requalifyGroups(gs ...*group) {
	if !e.pool {
		return
	}
	for _, g := range gs {
		for l := 0; l < 2; l++ {
			for c := g.q[l].head; c != nil; c = c.next {
				e.requalify(c)
			}
		}
	}
}

// Candidates is what the pool needs to reserve an agent for waiting call
// uuid: its agents in its group's routing-mode order (this node's view:
// the pool tries them first, each only if still idle cluster-wide).
func (e *Engine) Candidates(uuid string) (Reservation, bool) {
	c := e.calls[uuid]
	if c == nil || c.kind != kindQueued {
		return Reservation{}, false
	}
	g := c.g
	r := Reservation{Groups: []string{g.num}, VIP: c.level == LevelVIP,
		MemoryFirst: g.mode.UsesMemory() || g.opt.MemoryFirst}
	_, r.Eligible, r.Strict, _ = e.Eligible(uuid)
	if g.mode.Fallback() == ModeSequential && len(c.reqs) == 0 && g.maxTier <= 1 {
		// Sequential, nothing to qualify: every member in order, those of
		// other nodes too (logins are shared); the pool takes the first idle.
		for _, a := range g.members {
			if len(r.Candidates) == maxCandidates*4 {
				break
			}
			if a.jobOn {
				r.Candidates = append(r.Candidates, a.ext)
			}
		}
		return r, true
	}
	if g.mode.Fallback() == ModeCyclic {
		r.Rotate = g.num
		for _, a := range g.members {
			if len(r.Candidates) == maxCandidates*4 {
				break
			}
			r.Candidates = append(r.Candidates, a.ext)
		}
		return r, true
	}
	// pick in a loop, each chosen agent held aside so the next pick sees
	// the others: the mode's own order, one source of the rule.
	var held []*agent
	aside := &call{}
	for len(held) < maxCandidates {
		a := e.pick(c)
		if a == nil {
			break
		}
		held = append(held, a)
		a.call = aside
		r.Candidates = append(r.Candidates, a.ext)
	}
	for _, a := range held {
		a.call = nil
	}
	return r, true
}

// Grant is the pool's reservation of agent ext for waiting call uuid (the
// answer to DReserve, or an offer from the pool's inbox): the core offers
// the call to ext as it would have offered it itself. ext may be an agent
// logged in on another node (every node knows every extension). An error
// means the offer cannot be made here (the call left or is ringing
// someone): the driver reports it failed to the pool.
func (e *Engine) Grant(uuid, ext string) error {
	c := e.calls[uuid]
	if c == nil {
		return Errorf(ErrUnknownCall, "no queued call %s", uuid)
	}
	if c.kind != kindQueued || c.phase != phaseWaiting || c.agent != nil {
		return Errorf(ErrState, "call %s is not waiting", uuid)
	}
	if c.held(e.now()) {
		return Errorf(ErrState, "callback %s is not due", uuid)
	}
	a, err := e.agent(ext)
	if err != nil {
		return err
	}
	if a.call != nil {
		return Errorf(ErrState, "extension %s is on a call here", ext)
	}
	if c.cb { // a callback waiting without a session: the service places it
		e.placeCallback(c, a)
		return nil
	}
	e.offer(c, a)
	e.wake(c)
	return nil
}

// Revoke is the pool taking back the offer of call uuid to ext (the pool
// reaped it): the agent's leg is killed and the call waits again.
func (e *Engine) Revoke(uuid, ext string) error {
	c := e.calls[uuid]
	if c == nil || c.phase != phaseOffering || c.agent == nil || c.agent.ext != ext {
		return Errorf(ErrState, "call %s is not ringing extension %s", uuid, ext)
	}
	a := c.agent
	e.takeBack(c)
	if a.seat == SeatBusy {
		e.setState(a, CallBusy)
	} else {
		e.setState(a, CallReady)
	}
	return nil
}

// PoolState is what the pool must know of an agent whose phone is
// registered on this node (logins are shared through the database, a
// registration is the node's own):
// "ready" (idle: it may be reserved), "away" (logged in, not taking
// calls, or on a direct call or callout, which the pool does not
// reserve), "off" (logged out), or "" while it is on a call the pool
// granted (the pool follows those itself). groups are the groups it is logged in to.
func (e *Engine) PoolState(ext string) (op string, groups []string) {
	a := e.agents[ext]
	if a == nil || !a.loggedIn || a.reg != Reged {
		return "off", nil
	}
	for _, g := range a.groups {
		groups = append(groups, g.num)
	}
	switch {
	case a.call != nil && !a.call.pooled:
		// A direct call or a callout, which the pool does not reserve:
		// not available to the cluster meanwhile.
		return "away", groups
	case a.call != nil:
		return "", groups
	case a.idle():
		return "ready", groups
	case a.state == CallTyping || a.state == CallRing || a.state == CallTalking:
		return "", groups
	}
	return "away", groups
}

// Repool hands every call waiting unoffered on this node to the pool again
// (a new incarnation after the pool lost this node: DReserve each, VIP
// then oldest).
func (e *Engine) Repool() {
	var cs []*call
	for _, g := range e.groups {
		for l := 0; l < 2; l++ {
			for c := g.q[l].head; c != nil; c = c.next {
				if c.kind == kindQueued && c.phase == phaseWaiting && c.agent == nil {
					cs = append(cs, c)
				}
			}
		}
	}
	slices.SortFunc(cs, func(a, b *call) int {
		if d := levelIndex(a.level) - levelIndex(b.level); d != 0 {
			return d
		}
		return cmp.Compare(a.seq, b.seq)
	})
	now := e.now()
	for _, c := range cs {
		c.pooled = true
		e.emit(Decision{Kind: DReserve, Call: c.view(), At: now})
	}
}

// BridgedCall is a queued call talking with an agent.
type BridgedCall struct {
	Call  CallView
	Agent string
}

// Bridged lists the queued calls talking with an agent on this node (put
// back in the pool after a new incarnation).
func (e *Engine) Bridged() []BridgedCall {
	var out []BridgedCall
	for _, c := range e.calls {
		if c.kind == kindQueued && c.phase == phaseBridged && c.agent != nil {
			out = append(out, BridgedCall{Call: c.view(), Agent: c.agent.ext})
		}
	}
	return out
}

// OnCall reports whether ext rings, talks or dials out on a call here.
func (e *Engine) OnCall(ext string) bool {
	a := e.agents[ext]
	return a != nil && a.call != nil
}
