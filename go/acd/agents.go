package acd

import "slices"

// Login puts the extension in the groups (added to those it is in already),
// marks it logged in and ready to take calls.
func (e *Engine) Login(ext string, groups []string) error {
	a, err := e.agent(ext)
	if err != nil {
		return err
	}
	if len(groups) == 0 {
		return Errorf(ErrBadArgument, "no group to log in to")
	}
	gs := make([]*group, 0, len(groups))
	for _, n := range groups { // all or nothing
		g, err := e.group(n)
		if err != nil {
			return err
		}
		gs = append(gs, g)
	}
	for _, g := range gs {
		if !a.inGroup(g) {
			a.groups = append(a.groups, g)
			g.pos[a.ext] = len(g.members)
			g.members = append(g.members, a)
			m := g.cfgOf(a.ext)
			g.mtier = append(g.mtier, m.tier)
			g.mweight = append(g.mweight, m.weight)
			e.membersChanged(g)
		}
	}
	if !a.loggedIn {
		a.loggedIn = true
		a.seat = SeatIdle
		a.streak = 0
		if a.call == nil && a.state != CallTyping {
			a.state = CallReady
		}
		e.agentChanged(a, "login")
	}
	e.dispatchAgent(a)
	return nil
}

// Logout ends every membership of the extension.
func (e *Engine) Logout(ext string) error {
	a, err := e.agent(ext)
	if err != nil {
		return err
	}
	e.logout(a)
	return nil
}

func (e *Engine) logout(a *agent) {
	for _, g := range slices.Clone(a.groups) {
		e.leaveGroup(a, g)
	}
	if a.loggedIn {
		a.loggedIn = false
		e.agentChanged(a, "logout")
	}
}

func (e *Engine) leaveGroup(a *agent, g *group) {
	a.groups = slices.DeleteFunc(a.groups, func(x *group) bool { return x == g })
	i, ok := g.pos[a.ext]
	if !ok {
		return
	}
	g.members = slices.Delete(g.members, i, i+1)
	g.mtier = slices.Delete(g.mtier, i, i+1)
	g.mweight = slices.Delete(g.mweight, i, i+1)
	delete(g.pos, a.ext)
	e.membersChanged(g)
	for j := i; j < len(g.members); j++ {
		g.pos[g.members[j].ext] = j
	}
}

// SetReady makes the seat idle; a no-answer, not-ready, busy, rest or wrap-up
// state becomes ready. An agent on a transferred call is let go of it: the
// core cannot see that call's agent side end, the agent can.
func (e *Engine) SetReady(ext string) error {
	a, err := e.agent(ext)
	if err != nil {
		return err
	}
	if c := a.call; c != nil && c.phase == phaseTransferred {
		e.release(c)
	}
	a.seat = SeatIdle
	a.streak = 0
	a.wrapGen++
	if a.call == nil {
		e.setState(a, CallReady)
	} else {
		e.agentChanged(a, string(SeatIdle))
	}
	e.dispatchAgent(a)
	return nil
}

// SetBusy makes the seat busy; outside a call the call state becomes busy.
func (e *Engine) SetBusy(ext string) error {
	a, err := e.agent(ext)
	if err != nil {
		return err
	}
	a.seat = SeatBusy
	a.wrapGen++
	if a.call == nil {
		e.setState(a, CallBusy)
	} else {
		e.agentChanged(a, string(SeatBusy))
	}
	return nil
}

// SetCallState sets the call state by API (a CTI client reporting, e.g.,
// ring or talking for a call the agent dialled from its phone). Every SPEC §4
// value is accepted, with or without a call the core knows; any state but
// ready keeps queued calls away. ready also makes the seat idle, busy and
// rest make it busy, typing starts a wrap-up.
func (e *Engine) SetCallState(ext string, st CallState) error {
	a, err := e.agent(ext)
	if err != nil {
		return err
	}
	switch st {
	case CallReady:
		return e.SetReady(ext)
	case CallBusy, CallRest:
		a.seat = SeatBusy
	}
	a.wrapGen++
	e.setState(a, st)
	if st == CallTyping && a.call == nil {
		e.startWrapUp(a)
	}
	return nil
}

func (e *Engine) setState(a *agent, st CallState) {
	if a.state == st {
		return
	}
	a.state = st
	e.agentChanged(a, string(st))
}

func (e *Engine) agentChanged(a *agent, status string) {
	a.changed = e.now()
	e.emit(Decision{Kind: DAgent, Ext: a.ext, Status: status, At: a.changed})
}

func (e *Engine) startWrapUp(a *agent) {
	a.wrapGen++
	e.setState(a, CallTyping)
	if e.cfg.WrapUp <= 0 {
		e.afterWrapUp(a)
		return
	}
	e.arm(timer{at: e.now().Add(e.cfg.WrapUp), kind: tWrapUp, gen: a.wrapGen, agent: a})
}

func (e *Engine) afterWrapUp(a *agent) {
	if a.seat == SeatBusy {
		e.setState(a, CallBusy)
		return
	}
	e.setState(a, CallReady)
	e.dispatchAgent(a)
}
