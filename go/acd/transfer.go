package acd

// Transferred is a bridged call moved to another party: by a REST or
// console transfer, or by a phone's own blind or attended transfer. id is
// the caller's channel or the answering agent's leg; ext is the extension
// now on the call, "" when that party is not an agent (an outside number, a
// queue, an IVR). An ext that is no extension is refused (ErrUnknownExtension)
// and nothing changes: the caller may report the transfer again with "".
//
// The agent who had the call hangs up and wraps up. ext is talking from now
// on, whatever its state or login (it is on the call), and is offered
// nothing until the call is over (TransferEnded) or the call enters
// nway_bridge again; an offer ringing it is taken back. An ext already
// bridged on another call keeps that one, and the transferred call holds no
// agent. The call's DEnded comes when it really ends, not at the transfer.
func (e *Engine) Transferred(id, ext string) error {
	c := e.callOf(id)
	if c == nil {
		return Errorf(ErrUnknownCall, "no call %s", id)
	}
	var to *agent
	if ext != "" {
		a, err := e.agent(ext)
		if err != nil {
			return err
		}
		to = a
	}
	if c.kind == kindCallout || (c.phase != phaseBridged && c.phase != phaseTransferred) {
		return Errorf(ErrState, "call %s is not bridged to an agent", c.uuid)
	}
	if c.phase == phaseBridged {
		if a := c.agent; a != nil { // the agent who answered leaves the call
			e.emit(Decision{Kind: DOfferHangup, Ext: a.ext, Call: c.view(), At: e.now()})
			e.dropAgent(c)
		}
	} else if c.agent != nil && c.agent != to { // transferred on
		e.dropAgent(c)
	}
	c.phase = phaseTransferred
	c.legUUID = "" // the new party's leg is the switch's, not one the core named
	if to == nil || to == c.agent {
		return nil
	}
	if other := to.call; other != nil {
		if other.phase != phaseOffering {
			return nil
		}
		e.takeBackAgent(other, to)
	}
	c.agent = to
	to.call = c
	to.wrapGen++
	e.setState(to, CallTalking)
	return nil
}

// callOf finds a call by its caller's channel or by the leg the core named
// for it. A scan: transfers are rare, and an index would cost every offer.
func (e *Engine) callOf(id string) *call {
	if c := e.calls[id]; c != nil {
		return c
	}
	if id == "" {
		return nil
	}
	for _, c := range e.calls {
		if c.legUUID == id {
			return c
		}
	}
	return nil
}

// dropAgent releases c's agent, which wraps up; the call goes on without it.
func (e *Engine) dropAgent(c *call) {
	if c.agent != nil && c.phase != phaseOffering {
		e.callEnded(c.agent, c)
	}
	a := e.release(c)
	if a != nil && e.agents[a.ext] == a {
		e.startWrapUp(a)
	}
}

// TransferEnded is a transferred call being over: its caller's channel
// ended (FreeSWITCH's hangup of it), or the channel enters a queue or a
// callout again. The agent on it wraps up, DEnded reports it answered, and
// the core forgets it once its session has left. Any other call is left
// alone: its session reports the end itself.
func (e *Engine) TransferEnded(uuid string) {
	c := e.calls[uuid]
	if c == nil || c.phase != phaseTransferred {
		return
	}
	e.endTransferred(c)
	if c.left {
		e.forget(c)
	}
}

// endTransferred finishes a transferred call.
func (e *Engine) endTransferred(c *call) {
	if c.agent != nil {
		e.callEnded(c.agent, c)
	}
	a := e.release(c)
	c.agent = a // the final view names the party it ended with
	e.finish(c, ResultAnswered)
	c.agent = nil
	if a != nil && e.agents[a.ext] == a {
		e.startWrapUp(a)
	}
}

// CallOf returns the caller channel of the call id names: the call's own
// uuid, or the agent leg the core named for it.
func (e *Engine) CallOf(id string) (string, bool) {
	if c := e.callOf(id); c != nil {
		return c.uuid, true
	}
	return "", false
}

// Held reports whether uuid is a transferred call the core still holds
// after its session left (a later nway_bridge continues it).
func (e *Engine) Held(uuid string) bool {
	c := e.calls[uuid]
	return c != nil && c.phase == phaseTransferred && c.left
}

// AgentOf returns the extension on call uuid now (ringing, talking, or the
// target of a transfer), or "".
func (e *Engine) AgentOf(uuid string) string {
	if c := e.calls[uuid]; c != nil && c.agent != nil {
		return c.agent.ext
	}
	return ""
}

// InTransfer reports whether call uuid has been transferred (and is not
// over): a later report of the same transfer changes nothing.
func (e *Engine) InTransfer(uuid string) bool {
	c := e.calls[uuid]
	return c != nil && c.phase == phaseTransferred
}
