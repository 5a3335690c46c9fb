package acd

// AgentLegEnded is FreeSWITCH's hang-up of an agent leg, reported as soon
// as the switch knows it (the leg's CHANNEL_HANGUP), ahead of the caller's
// session noticing that its bridge ended (a frame or two later, plus the
// switch's own hang-up handling). When leg is the answered leg of a call
// still bridged to it, the bridge is over: the agent wraps up, and with no
// wrap-up takes the next waiting call at once. The session's own
// BridgeEnded that follows then changes nothing.
//
// A leg hung up by a transfer (transfer true: BLIND_TRANSFER or
// ATTENDED_TRANSFER, set when the caller is moved out of the bridge) is left
// to the session, which reports the transfer first; so is a call that is
// not bridged to that very leg (a transferred call, a callout, a stale or
// foreign leg). Reports whether the bridge was ended here.
func (e *Engine) AgentLegEnded(call, leg string, transfer bool) bool {
	c := e.calls[call]
	if c == nil || transfer || leg == "" || c.phase != phaseBridged || c.kind == kindCallout ||
		c.agent == nil || c.legUUID != leg || c.agent.legUUID != leg {
		return false
	}
	return e.BridgeEnded(call) == nil
}

// OfferPending reports whether call uuid waits in its session for an offer
// the core has just made (an agent freed up): its session has not yet been
// told. The service may then start that offer itself (Next gives it) rather
// than wait for the session to come back for it.
func (e *Engine) OfferPending(uuid string) bool {
	c := e.calls[uuid]
	return c != nil && c.inWait && c.phase == phaseOffering && !c.delivered
}
