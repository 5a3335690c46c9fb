package acd

import (
	"slices"

	"github.com/nwayacd/mod_nwayacd/go/ident"
	"strings"
	"time"
)

// Callbacks: a waiting caller asks to be called back and hangs up; the call
// keeps its place in the queue without a session. When its turn comes and
// an agent is reserved for it, the core decides DCallbackPlaced and the
// service places the calls: the caller first, then the agent is offered
// (the default), or, with GroupOptions.CallbackAgentFirst, the agent first
// and then the caller. A failed attempt is retried CallbackRetries times,
// CallbackRetryDelay apart, keeping the call's place.

// DefaultCallbackRetryDelay is the pause between callback attempts when the
// group sets none.
const DefaultCallbackRetryDelay = time.Minute

// callbackTimeout bounds an attempt the service never reports.
const callbackTimeout = CalloutTimeout

// RequestCallback is a waiting caller asking to be called back at number
// ("" = the caller's own number): the call keeps its place and the session
// gets a hang-up step (result callback). The session's Leave then reports
// the call held. ErrState when the call is not waiting unoffered in a queue.
func (e *Engine) RequestCallback(uuid, number string) (Step, error) {
	c := e.calls[uuid]
	if c == nil {
		if err := validUUID(uuid); err != nil {
			return Step{}, err
		}
		return Step{}, Errorf(ErrUnknownCall, "no queued call %s", uuid)
	}
	if number == "" {
		number = c.real
		if number == "" {
			number = c.number
		}
	}
	if err := ident.Phone(number); err != nil {
		return Step{}, Errorf(ErrBadArgument, "%v", err)
	}
	if c.kind != kindQueued || c.phase != phaseWaiting || c.agent != nil || c.cb {
		return Step{}, Errorf(ErrState, "call %s is not waiting in a queue", uuid)
	}
	c.cb, c.wasCB, c.cbNumber = true, true, number
	c.inWait = false
	v := c.view()
	e.emit(Decision{Kind: DCallbackScheduled, Status: number, Call: v, At: e.now()})
	e.requalify(c) // pool mode: no agent for it while its caller is on the line
	return Step{Kind: StepHangup, Cause: "NORMAL_CLEARING", Result: ResultCallback}, nil
}

// placeCallback reserves a for callback call c.
func (e *Engine) placeCallback(c *call, a *agent) {
	now := e.now()
	a.call = c
	a.wrapGen = e.gen()
	c.agent = a
	c.phase = phaseCallback
	c.gen = e.gen()
	c.legUUID = ""
	c.cbTries++
	if c.g.cursor != a.ext {
		c.g.cursor = a.ext
		e.emit(Decision{Kind: DCursor, Ext: a.ext, Call: CallView{Group: c.g.num}, At: now})
	}
	e.setState(a, CallRing)
	order := "caller_first"
	if c.g.opt.CallbackAgentFirst {
		order = "agent_first"
	}
	e.emit(Decision{Kind: DCallbackPlaced, Ext: a.ext, Status: order, Call: c.view(), At: now})
	if c.g.opt.CallbackAgentFirst { // the agent's phone rings now: its desk is told, as for any offer
		e.emit(Decision{Kind: DOfferCallout, Ext: a.ext, Call: c.view(), At: now})
	}
	e.arm(timer{at: now.Add(c.g.timeout + callbackTimeout + e.cfg.OfferGrace), kind: tCallback, gen: c.gen, call: c})
}

// CallbackConnected reports a callback attempt's success. Caller first:
// the caller answered the callback leg, whose session now runs the call
// (agentLeg ""): the step offers the reserved agent, and the call goes on
// as any queued call. Agent first: the reserved agent (leg agentLeg) and
// then the caller answered and the service bridged them: the call is
// answered; the step is done (the service reports BridgeEnded, then Leave).
func (e *Engine) CallbackConnected(uuid, agentLeg string) (Step, error) {
	c := e.calls[uuid]
	if c == nil {
		return Step{}, Errorf(ErrUnknownCall, "no queued call %s", uuid)
	}
	if c.phase != phaseCallback || c.agent == nil {
		return Step{}, Errorf(ErrState, "call %s has no callback in progress", uuid)
	}
	c.cb = false
	c.left = false // a session (caller first) or the service (agent first) reports Leave
	if c.g.opt.CallbackAgentFirst {
		c.legUUID = agentLeg
		c.phase = phaseOffering
		e.answered(c)
		return Step{Kind: StepDone, Result: ResultAnswered}, nil
	}
	now := e.now()
	c.phase = phaseOffering
	c.delivered = false
	c.gen = e.gen()
	e.emit(Decision{Kind: DOfferCallout, Ext: c.agent.ext, Call: c.view(), At: now})
	e.arm(timer{at: now.Add(c.g.timeout + e.cfg.OfferGrace), kind: tOffer, gen: c.gen, call: c})
	return e.step(c), nil
}

// CallbackFailed reports a failed callback attempt. agentFault: the
// reserved agent did not answer (agent first): it counts a no-answer and
// the call is offered on without spending an attempt. Otherwise the caller
// did not answer: the call waits CallbackRetryDelay and tries again while
// attempts are left, else it ends (no_answer). The agent is free again.
func (e *Engine) CallbackFailed(uuid string, agentFault bool) error {
	c := e.calls[uuid]
	if c == nil {
		return Errorf(ErrUnknownCall, "no queued call %s", uuid)
	}
	if c.phase != phaseCallback || c.agent == nil {
		return Errorf(ErrState, "call %s has no callback in progress", uuid)
	}
	e.callbackFailed(c, agentFault)
	return nil
}

func (e *Engine) callbackFailed(c *call, agentFault bool) {
	a := c.agent
	now := e.now()
	if e.pool && !agentFault {
		// First, so that the pool holds the call until its retry time before
		// the agent's release puts it back in line.
		e.emit(Decision{Kind: DRequalify, Call: c.view(), At: now})
	}
	switch {
	case agentFault:
		e.emit(Decision{Kind: DOfferNoAnswer, Ext: a.ext, Call: c.view(), At: now})
	case c.g.opt.CallbackAgentFirst: // the caller's: the agent's offer is only withdrawn
		e.emit(Decision{Kind: DOfferHangup, Ext: a.ext, Call: c.view(), At: now})
	case e.pool: // caller first: the agent was only reserved, never offered; its desk heard nothing
		e.emit(Decision{Kind: DPoolRelease, Ext: a.ext, Call: c.view(), At: now})
	}
	e.release(c)
	c.phase = phaseWaiting
	if agentFault {
		c.tried = append(c.tried, a.ext)
		c.cbTries-- // not the caller's attempt
		a.streak++
		e.setState(a, CallNoAnswer)
		e.route(c)
		e.afterNoAnswer(a)
		return
	}
	if c.cbTries > c.g.opt.CallbackRetries {
		e.end(c, ResultNoAnswer)
		e.forget(c)
	} else {
		delay := c.g.opt.CallbackRetryDelay
		if delay <= 0 {
			delay = DefaultCallbackRetryDelay
		}
		c.cbHold = now.Add(delay)
		if !c.queued { // it was placed straight from an overflow: wait in line
			c.g.enqueue(c)
			e.emit(Decision{Kind: DQueueAdd, Call: c.view(), At: now})
		}
		e.arm(timer{at: c.cbHold, kind: tReexamine, gen: c.life, call: c})
		c.nextAt = c.cbHold
	}
	if a.seat == SeatBusy {
		e.setState(a, CallBusy)
	} else {
		e.setState(a, CallReady)
		e.dispatchAgent(a)
	}
}

// held: callback call c may not be offered before its retry time, nor
// while the caller who asked for it is still on the line (its session hangs
// up at its next step).
func (c *call) held(now time.Time) bool {
	return c.cb && (!c.left || now.Before(c.cbHold))
}

// CallbackSpec is a callback waiting without a session, as persisted so
// that it survives a reload (Callbacks lists them, RestoreCallback loads
// them).
type CallbackSpec struct {
	UUID       string
	Group      string
	Number     string // the caller's number as presented
	RealNumber string
	Callback   string // the number to call back
	Level      Level
	CallinTime time.Time // arrival: its place in the line
	Tries      int       // attempts already made
	Skills     []SkillReq
}

// Callbacks lists the callbacks waiting without a session, oldest first
// (not those being placed: the service holds those calls' legs).
func (e *Engine) Callbacks() []CallbackSpec {
	var out []CallbackSpec
	for _, c := range e.calls {
		if c.cb && c.left && c.phase == phaseWaiting {
			s := CallbackSpec{UUID: c.uuid, Group: c.g.num, Number: c.number, RealNumber: c.real, Callback: c.cbNumber,
				Level: c.level, CallinTime: c.in, Tries: c.cbTries}
			if !c.defaultReqs {
				s.Skills = e.skillReqs(c.reqs)
			}
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b CallbackSpec) int {
		if c := a.CallinTime.Compare(b.CallinTime); c != 0 {
			return c
		}
		return strings.Compare(a.UUID, b.UUID)
	})
	return out
}

// RestoreCallback loads a persisted callback (at start): it waits in its
// group, in its place by arrival time, without a session.
func (e *Engine) RestoreCallback(s CallbackSpec) error {
	if err := validUUID(s.UUID); err != nil {
		return err
	}
	g, err := e.group(s.Group)
	if err != nil {
		return err
	}
	if err := ident.Phone(s.Callback); err != nil {
		return Errorf(ErrBadArgument, "%v", err)
	}
	if e.calls[s.UUID] != nil {
		return Errorf(ErrExists, "call %s exists", s.UUID)
	}
	if s.Level != LevelVIP {
		s.Level = LevelNormal
	}
	if s.Tries < 0 {
		return Errorf(ErrBadArgument, "negative callback attempts")
	}
	c := e.newCall()
	reqs, err := e.resolve(c.reqs, s.Skills)
	if err != nil {
		c.reqs = reqs
		e.free = append(e.free, c)
		return err
	}
	// Its age is its arrival: a sequence number below every later arrival.
	*c = call{uuid: s.UUID, number: s.Number, real: s.RealNumber, g: g, in: s.CallinTime, seq: e.seqAt(s.CallinTime), level: s.Level,
		reqs: reqs, life: e.gen(), cb: true, wasCB: true, left: true, cbNumber: s.Callback, cbTries: s.Tries}
	if len(s.Skills) == 0 {
		c.reqs = append(c.reqs, g.skills...)
		c.defaultReqs = true
	}
	e.calls[s.UUID] = c
	c.phase = phaseWaiting
	g.enqueue(c)
	e.emit(Decision{Kind: DQueueAdd, Call: c.view(), At: e.now()})
	e.reexamine(c)
	return nil
}

// seqAt is an age for a call that arrived at t, placing it among the calls
// waiting now: just before the oldest call that arrived after t.
func (e *Engine) seqAt(t time.Time) uint64 {
	seq := e.gen()
	for _, c := range e.calls {
		if c.in.After(t) && c.seq <= seq && c.seq > 0 {
			seq = c.seq - 1 // sequence numbers are spaced by other gens; ties keep list order
		}
	}
	return seq
}

// CallbackPlacing reports whether a callback of call uuid is being placed
// (an agent is reserved; the service's attempt is under way).
func (e *Engine) CallbackPlacing(uuid string) bool {
	c := e.calls[uuid]
	return c != nil && c.phase == phaseCallback && c.agent != nil
}

// CallbackOf is call uuid's callback as persisted, while it has one waiting
// or being placed without a session; ok is false otherwise.
func (e *Engine) CallbackOf(uuid string) (s CallbackSpec, ok bool) {
	c := e.calls[uuid]
	if c == nil || !c.cb || !c.left {
		return CallbackSpec{}, false
	}
	s = CallbackSpec{UUID: c.uuid, Group: c.g.num, Number: c.number, RealNumber: c.real, Callback: c.cbNumber,
		Level: c.level, CallinTime: c.in, Tries: c.cbTries}
	if !c.defaultReqs {
		s.Skills = e.skillReqs(c.reqs)
	}
	return s, true
}
