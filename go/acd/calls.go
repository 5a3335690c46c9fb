package acd

import (
	"time"

	"github.com/nwayacd/mod_nwayacd/go/ident"
)

// StepKind is what a caller's session does next.
type StepKind uint8

const (
	StepPlay   StepKind = iota + 1 // play File Loops times, then ask Next
	StepWait                       // play File (busy ring; "" = hold music) until woken or Timeout, then ask Next
	StepOffer                      // ring Agent for Timeout and report OfferResult
	StepHangup                     // play File if set, hang up with Cause
	StepDone                       // return to the dialplan with Result
)

var stepNames = [...]string{"", "play", "wait", "offer", "hangup", "done"}

func (k StepKind) String() string {
	if int(k) < len(stepNames) {
		return stepNames[k]
	}
	return "unknown"
}

// Step is one instruction for a caller's session.
type Step struct {
	Kind    StepKind
	File    string
	Loops   int
	Timeout time.Duration
	Agent   string // StepOffer: the extension rung, or a callout's outside number
	Dial    string // StepOffer: the agent's own dial string ("" = the node's template), or a callout's gateway dial string
	Leg     string // StepOffer: the uuid the new leg must get; "" = the switch names it
	Outside bool   // StepOffer: a callout; the caller hears the far end, not music
	Cause   string
	Result  Result
}

// CallIn is a call entering a group.
type CallIn struct {
	UUID       string
	Group      string
	Number     string // caller id number as presented
	RealNumber string // the original caller number ("" = Number)
	Level      Level  // "" = VIP when listed in the group's VIP list
}

// Outcome is how an offer ended.
type Outcome uint8

const (
	Answered Outcome = iota + 1
	NoAnswer         // rang out or was rejected
	Failed           // could not be reached
	Canceled         // the caller hung up while it rang
)

func validUUID(u string) error {
	if err := ident.UUID(u); err != nil {
		return Errorf(ErrBadArgument, "%v", err)
	}
	return nil
}

func (e *Engine) gen() uint64 { e.seq++; return e.seq }

// wake asks a waiting session to come back for its next step. A session that
// is ringing an agent, talking or about to ask anyway is left alone: a stray
// wake would cut its next prompt short.
func (e *Engine) wake(c *call) {
	if c.inWait {
		e.emit(Decision{Kind: DWake, Call: c.view(), At: e.now()})
	}
}

func (e *Engine) newCall() *call {
	if n := len(e.free); n > 0 {
		c := e.free[n-1]
		e.free = e.free[:n-1]
		return c
	}
	return &call{}
}

// Enter is a call arriving in a group (the nwayacd application). A uuid the
// core still holds (a transferred call) is refused: TransferEnded ends it.
func (e *Engine) Enter(in CallIn) (Step, error) {
	if err := validUUID(in.UUID); err != nil {
		return Step{}, err
	}
	g, err := e.group(in.Group)
	if err != nil {
		return Step{}, err
	}
	if e.calls[in.UUID] != nil { // a transferred call entering again: TransferEnded first
		return Step{}, Errorf(ErrExists, "call %s is already in a queue", in.UUID)
	}
	if in.RealNumber == "" {
		in.RealNumber = in.Number
	}
	now := e.now()
	if g.listed(g.black, in.Number, in.RealNumber) {
		v := CallView{UUID: in.UUID, Number: in.Number, RealNumber: in.RealNumber, Group: g.num,
			Level: LevelNormal, CallinTime: now, Result: ResultBlacklisted}
		e.emit(Decision{Kind: DEnded, Call: v, At: now})
		return Step{Kind: StepHangup, File: g.rings.Blacklist, Cause: "CALL_REJECTED", Result: ResultBlacklisted}, nil
	}
	c := e.newCall()
	*c = call{uuid: in.UUID, number: in.Number, real: in.RealNumber, g: g, in: now, seq: e.gen(), level: in.Level}
	if c.level != LevelVIP && c.level != LevelNormal {
		c.level = LevelNormal
		if g.listed(g.vip, in.Number, in.RealNumber) {
			c.level = LevelVIP
		}
	}
	e.calls[in.UUID] = c
	// The maximum wait counts from arrival, whether or not the call is ever
	// queued: a call bouncing between agents who do not answer leaves too.
	if mw := g.giveUp.MaxWait; mw > 0 {
		c.waitGen = e.gen()
		e.arm(timer{at: c.in.Add(mw), kind: tMaxWait, gen: c.waitGen, call: c})
	}
	if g.rings.Welcome != "" {
		c.phase = phaseWelcome
		return Step{Kind: StepPlay, File: g.rings.Welcome, Loops: 1}, nil
	}
	e.route(c)
	return e.step(c), nil
}

func (g *group) listed(m map[string]struct{}, nums ...string) bool {
	if len(m) == 0 {
		return false
	}
	for _, n := range nums {
		if _, ok := m[n]; ok && n != "" {
			return true
		}
	}
	return false
}

// Next is the session asking what to do after its last step.
func (e *Engine) Next(uuid string) (Step, error) {
	c := e.calls[uuid]
	if c == nil {
		if err := validUUID(uuid); err != nil {
			return Step{}, err
		}
		return Step{}, Errorf(ErrUnknownCall, "no queued call %s", uuid)
	}
	wasWaiting := c.inWait
	c.inWait = false
	switch c.phase {
	case phaseWelcome:
		e.route(c)
	case phaseWaiting:
		if wasWaiting {
			c.plays++
		}
	}
	return e.step(c), nil
}

func (e *Engine) step(c *call) Step {
	g := c.g
	switch c.phase {
	case phaseWaiting:
		if n := g.giveUp.BusyRingTimes; n > 0 && g.rings.Busy != "" && c.plays >= n {
			e.end(c, ResultGaveUp) // the session is asking: no need to wake it
			return e.step(c)
		}
		c.inWait = true
		s := Step{Kind: StepWait, File: g.rings.Busy, Loops: 1}
		if g.giveUp.BusyRingTimes == 0 || g.rings.Busy == "" {
			s.Loops = 0 // until woken
		}
		if g.giveUp.MaxWait > 0 {
			left := c.in.Add(g.giveUp.MaxWait).Sub(e.now())
			if left <= 0 {
				e.end(c, ResultTimeout) // overdue: never send the session a zero wait
				return e.step(c)
			}
			s.Timeout = left
		}
		return s
	case phaseOffering:
		if !c.delivered {
			c.legUUID = e.newLeg(c.agent.dial)
			c.delivered = true
		}
		return Step{Kind: StepOffer, Agent: c.agent.ext, Dial: c.agent.dial, Leg: c.legUUID, Timeout: g.timeout}
	case phaseBridged, phaseTransferred:
		return Step{Kind: StepDone, Result: ResultAnswered}
	}
	switch c.result {
	case ResultGaveUp:
		return Step{Kind: StepHangup, Cause: "NORMAL_CLEARING", Result: c.result}
	case ResultAbandoned:
		return Step{Kind: StepHangup, Cause: "ORIGINATOR_CANCEL", Result: c.result}
	}
	return Step{Kind: StepDone, Result: c.result}
}

// route offers c to an agent if one is idle, otherwise queues it.
func (e *Engine) route(c *call) {
	if a := e.pick(c); a != nil {
		e.offer(c, a)
		return
	}
	c.phase = phaseWaiting
	if !c.queued {
		c.g.enqueue(c)
		e.emit(Decision{Kind: DQueueAdd, Call: c.view(), At: e.now()})
	}
}

// pick chooses an idle agent for c: memory first (modes 3–5), then the mode.
func (e *Engine) pick(c *call) *agent {
	g := c.g
	if g.mode.UsesMemory() && c.number != "" {
		if m, ok := e.memory[c.number]; ok && (e.cfg.MemoryExpiry <= 0 || e.now().Sub(m.at) < e.cfg.MemoryExpiry) {
			if a := e.agents[m.ext]; a != nil && a.idle() && a.inGroup(g) {
				return a
			}
		}
	}
	n := len(g.members)
	if n == 0 {
		return nil
	}
	switch g.mode.Fallback() {
	case ModeRandom:
		// Reservoir sampling: one pass, uniform over the idle members.
		var chosen *agent
		seen := 0
		for _, a := range g.members {
			if a.idle() {
				seen++
				if e.rng.IntN(seen) == 0 {
					chosen = a
				}
			}
		}
		if chosen != nil {
			return chosen
		}
		return nil
	case ModeCyclic:
		start := 0
		if i, ok := g.pos[g.cursor]; ok {
			start = i + 1
		}
		for i := 0; i < n; i++ {
			a := g.members[(start+i)%n]
			if a.idle() {
				return a
			}
		}
		return nil
	default:
		for _, a := range g.members {
			if a.idle() {
				return a
			}
		}
		return nil
	}
}

func (e *Engine) offer(c *call, a *agent) {
	now := e.now()
	a.call = c
	a.wrapGen = e.gen()
	c.agent = a
	c.phase = phaseOffering
	c.delivered = false
	c.gen = e.gen()
	c.legUUID = "" // named when the session gets the offer
	if c.g.cursor != a.ext && c.kind == kindQueued {
		c.g.cursor = a.ext
		e.emit(Decision{Kind: DCursor, Ext: a.ext, Call: CallView{Group: c.g.num}, At: now})
	}
	e.setState(a, CallRing)
	e.emit(Decision{Kind: DOfferCallout, Ext: a.ext, Call: c.view(), At: now})
	e.arm(timer{at: now.Add(c.g.timeout + e.cfg.OfferGrace), kind: tOffer, gen: c.gen, call: c})
}

// release frees c's agent (if any) without changing its state.
func (e *Engine) release(c *call) *agent {
	a := c.agent
	if a == nil {
		return nil
	}
	if a.call == c {
		a.call = nil
		a.legUUID = ""
	}
	c.agent = nil
	return a
}

// dispatchAgent gives an agent that may have become idle the best waiting
// call across its groups: VIP before normal, then oldest.
func (e *Engine) dispatchAgent(a *agent) {
	if !a.idle() {
		return
	}
	var best *call
	for _, g := range a.groups {
		for lvl := 0; lvl < 2; lvl++ {
			if best != nil && levelIndex(best.level) < lvl {
				break
			}
			for c := g.q[lvl].head; c != nil; c = c.next {
				if c.agent != nil {
					continue // ringing someone already
				}
				if best == nil || levelIndex(c.level) < levelIndex(best.level) || (c.level == best.level && c.seq < best.seq) {
					best = c
				}
				break
			}
		}
	}
	if best == nil {
		return
	}
	e.offer(best, a)
	e.wake(best)
}

// OfferResult is the session reporting how an offer ended; legUUID, when
// not empty, is the leg the switch actually created (it overrides the name
// the core gave). A report for an offer the core has already taken back is
// refused with ErrState.
func (e *Engine) OfferResult(uuid, ext string, o Outcome, legUUID string) error {
	c := e.calls[uuid]
	if c == nil {
		return Errorf(ErrUnknownCall, "no queued call %s", uuid)
	}
	if c.kind == kindCallout {
		return e.calloutResult(c, ext, o, legUUID)
	}
	if c.phase != phaseOffering || c.agent == nil || c.agent.ext != ext {
		return Errorf(ErrState, "call %s is not ringing extension %s", uuid, ext)
	}
	if legUUID != "" {
		c.legUUID = legUUID
	}
	switch o {
	case Answered:
		e.answered(c)
	case Canceled:
		e.end(c, ResultAbandoned)
	default:
		e.offerFailed(c, false)
	}
	return nil
}

// answered: the offered agent took the call.
func (e *Engine) answered(c *call) {
	a := c.agent
	now := e.now()
	c.phase = phaseBridged
	a.legUUID = c.legUUID
	a.streak = 0
	if c.queued {
		c.g.dequeue(c)
		e.emit(Decision{Kind: DQueueRemove, Call: c.view(), At: now})
	}
	e.setState(a, CallTalking)
	e.emit(Decision{Kind: DOfferAnswered, Ext: a.ext, Call: c.view(), At: now})
	if c.number != "" {
		e.memory[c.number] = memo{ext: a.ext, at: now}
		e.emit(Decision{Kind: DMemory, Ext: a.ext, Call: c.view(), At: now})
	}
}

// offerFailed: the agent did not answer. Record it, move the call on, and
// let the agent (unless it hit the no-answer limit) take calls again.
func (e *Engine) offerFailed(c *call, byTimer bool) {
	a := c.agent
	now := e.now()
	if byTimer {
		e.emit(Decision{Kind: DKill, Ext: a.ext, Call: c.view(), At: now})
	}
	e.emit(Decision{Kind: DOfferNoAnswer, Ext: a.ext, Call: c.view(), At: now})
	e.release(c)
	c.tried = append(c.tried, a.ext)
	a.streak++
	e.setState(a, CallNoAnswer)
	c.phase = phaseWaiting
	switch {
	case c.kind == kindDirect:
		e.finish(c, ResultNoAnswer) // a direct call has nobody else to try
	case c.overdue:
		e.end(c, ResultTimeout)
	default:
		e.route(c) // the failed agent is not idle, so it is not picked again at once
	}
	if e.cfg.NoAnswerLimit > 0 && a.streak >= e.cfg.NoAnswerLimit {
		e.setState(a, CallNoReady)
		return
	}
	if a.seat == SeatBusy {
		e.setState(a, CallBusy)
		return
	}
	e.setState(a, CallReady)
	e.dispatchAgent(a)
}

// takeBack withdraws an offer whose agent went away; the call is routed
// again, or, a direct call having nobody else, ends unanswered.
func (e *Engine) takeBack(c *call) {
	a := c.agent
	e.emit(Decision{Kind: DKill, Ext: a.ext, Call: c.view(), At: e.now()})
	e.emit(Decision{Kind: DOfferHangup, Ext: a.ext, Call: c.view(), At: e.now()})
	e.release(c)
	c.phase = phaseWaiting
	if c.kind == kindDirect {
		e.finish(c, ResultNoAnswer)
		e.wake(c)
		return
	}
	e.route(c)
	e.wake(c)
}

// giveUp ends a call that is still waiting (policy, timeout, group removed)
// and wakes its session so it learns the result.
func (e *Engine) giveUp(c *call, r Result) {
	e.end(c, r)
	e.wake(c)
}

// end finishes a call that is not talking: out of the queue, offer withdrawn.
func (e *Engine) end(c *call, r Result) {
	now := e.now()
	if c.queued {
		c.g.dequeue(c)
		e.emit(Decision{Kind: DQueueRemove, Call: c.view(), At: now})
	}
	if a := c.agent; a != nil && c.phase == phaseOffering {
		if c.delivered && r != ResultAbandoned {
			e.emit(Decision{Kind: DKill, Ext: a.ext, Call: c.view(), At: now})
		}
		e.emit(Decision{Kind: DOfferHangup, Ext: a.ext, Call: c.view(), At: now})
		e.release(c)
		if a.seat == SeatBusy {
			e.setState(a, CallBusy)
		} else {
			e.setState(a, CallReady)
			e.dispatchAgent(a)
		}
	}
	e.finish(c, r)
}

func (e *Engine) finish(c *call, r Result) {
	c.phase = phaseEnded
	c.result = r
	v := c.view()
	v.Result = r
	v.Tried = append([]string(nil), c.tried...)
	if c.kind != kindCallout { // a callout never waits for anyone
		v.Waited = e.now().Sub(c.in)
	}
	e.emit(Decision{Kind: DEnded, Call: v, At: e.now()})
}

// BridgeEnded is the session reporting that the caller and agent are no
// longer bridged: the agent wraps up, the call is finished. For a callout
// the dialling agent stays held until its phone leaves the application
// (Leave); for a transferred call the caller talks on with the new party
// and nothing changes until TransferEnded.
func (e *Engine) BridgeEnded(uuid string) error {
	c := e.calls[uuid]
	if c == nil {
		return Errorf(ErrUnknownCall, "no queued call %s", uuid)
	}
	if c.phase == phaseTransferred {
		return nil
	}
	if c.phase != phaseBridged {
		return Errorf(ErrState, "call %s is not bridged", uuid)
	}
	if c.kind == kindCallout {
		e.emit(Decision{Kind: DOfferHangup, Ext: c.from, Call: c.view(), At: e.now()})
		e.finish(c, ResultAnswered)
		return nil
	}
	a := c.agent
	e.emit(Decision{Kind: DOfferHangup, Ext: a.ext, Call: c.view(), At: e.now()})
	e.release(c)
	c.agent = a // keep the answering agent in the final view
	e.finish(c, ResultAnswered)
	c.agent = nil
	if e.agents[a.ext] == a {
		e.startWrapUp(a)
	}
	return nil
}

// Leave is the session's application returning, for whatever reason. A call
// still waiting or ringing is abandoned; a callout's dialling agent wraps up.
// The core then forgets the call, unless it was transferred: that call lives
// on without a session until TransferEnded, and Leave reports true.
func (e *Engine) Leave(uuid string) bool {
	c := e.calls[uuid]
	if c == nil {
		return false
	}
	switch c.phase {
	case phaseTransferred:
		c.left = true
		return true
	case phaseBridged:
		_ = e.BridgeEnded(uuid)
	case phaseEnded:
	case phaseDialing:
		e.finish(c, ResultAbandoned) // the dialling phone hung up before any result
	default:
		e.end(c, ResultAbandoned)
	}
	if c.kind == kindCallout && c.agent != nil {
		a := e.release(c)
		if e.agents[a.ext] == a {
			e.startWrapUp(a)
		}
	}
	e.forget(c)
	return false
}

func (e *Engine) forget(c *call) {
	delete(e.calls, c.uuid)
	*c = call{}
	e.free = append(e.free, c)
}
