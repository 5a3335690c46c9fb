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
	// RingWait (StepWait, StepOffer): the group's GroupOptions.RingWait; a
	// caller not yet answered stays ringing until that long after its
	// channel came up.
	RingWait time.Duration
	// StepWait in a group with GroupOptions.Announce: the call's place in
	// line and estimated wait (see WaitingInfo), for the session to set
	// nwayacd_position and nwayacd_ewt and announce them.
	Position int
	EWT      time.Duration
	EWTKnown bool
	// Announce: a StepPlay that speaks Position and EWT (GroupOptions.
	// AnnounceEvery); File is the group's AnnounceSounds ("" = say them in
	// the channel's language).
	Announce bool
	// Ring (ring-all, mode 9): every leg to ring at once, the primary
	// (Agent, Dial, Leg) first. The first to answer wins; the session's
	// originate cancels the others. Empty for a single offer.
	Ring []RingLeg
}

// CallIn is a call entering a group.
type CallIn struct {
	UUID       string
	Group      string
	Number     string // caller id number as presented
	RealNumber string // the original caller number ("" = Number)
	Level      Level  // "" = VIP when listed in the group's VIP list
	// Skills the call asks for (nwayacd_skills, see ParseSkills); nil =
	// the group's default requirement.
	Skills []SkillReq
	// CPUBusy is how busy the switch's CPU was as the call entered, in
	// percent (Config.OverloadIdleCPU); 0 = not known.
	CPUBusy float64
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
	e.NoteCPUBusy(in.CPUBusy) // the switch's word, whatever becomes of the call
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
	level := in.Level
	if level != LevelVIP && level != LevelNormal {
		level = LevelNormal
		if g.listed(g.vip, in.Number, in.RealNumber) {
			level = LevelVIP
		}
	}
	c := e.newCall()
	ring := c.ring[:0]
	reqs, err := e.resolve(c.reqs, in.Skills)
	if err != nil {
		c.reqs = reqs
		e.free = append(e.free, c)
		return Step{}, err
	}
	// Too many waiting: overflow first, then refuse when still full.
	var hops uint8
	for g.opt.OverflowGroup != "" && hops < maxHops && (g.opt.OverflowWaiting > 0 && g.waiting >= g.opt.OverflowWaiting ||
		g.opt.FullOverflow && g.opt.MaxWaiting > 0 && g.waiting >= g.opt.MaxWaiting) {
		to := e.groups[g.opt.OverflowGroup]
		if to == nil {
			break
		}
		v := CallView{UUID: in.UUID, Number: in.Number, RealNumber: in.RealNumber, Group: g.num, Level: level, CallinTime: now}
		e.emit(Decision{Kind: DOverflow, Status: to.num, Call: v, At: now})
		g = to
		hops++
	}
	if g.opt.MaxWaiting > 0 && g.waiting >= g.opt.MaxWaiting || e.overloaded(in) && !g.anyIdle() {
		c.reqs = reqs
		e.free = append(e.free, c)
		v := CallView{UUID: in.UUID, Number: in.Number, RealNumber: in.RealNumber, Group: g.num, Level: level, CallinTime: now}
		e.emit(Decision{Kind: DFull, Call: v, At: now})
		v.Result = ResultFull
		e.emit(Decision{Kind: DEnded, Call: v, At: now})
		return Step{Kind: StepHangup, File: g.rings.Busy, Cause: "USER_BUSY", Result: ResultFull}, nil
	}
	*c = call{uuid: in.UUID, number: in.Number, real: in.RealNumber, g: g, in: now, seq: e.gen(), level: level,
		reqs: reqs, ring: ring, life: e.gen(), hops: hops}
	if len(in.Skills) == 0 {
		c.reqs = append(c.reqs, g.skills...)
		c.defaultReqs = true
	}
	if level == LevelVIP {
		g.ewt.vipArrived(now)
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

// overloaded: the switch had less idle CPU than Config.OverloadIdleCPU as
// the call entered.
func (e *Engine) overloaded(in CallIn) bool {
	return e.cfg.OverloadIdleCPU > 0 && in.CPUBusy > 0 && 100-in.CPUBusy < e.cfg.OverloadIdleCPU
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
	wasWaiting := c.inWait && !c.annPlaying
	if c.annPlaying && c.g.opt.AnnounceEvery > 0 {
		// The interval runs from the announcement's end: one that lasts
		// longer than the interval (a long estimate said in full) still
		// leaves the caller its music between them.
		c.annAt = e.now().Add(c.g.opt.AnnounceEvery)
	}
	c.inWait, c.annPlaying = false, false
	switch c.phase {
	case phaseWelcome:
		e.route(c)
	case phaseWaiting:
		if wasWaiting && !e.announceDue(c) { // a wait cut short for an announcement is no busy-ring play
			c.plays++
		}
	}
	return e.step(c), nil
}

func (e *Engine) step(c *call) Step {
	g := c.g
	switch c.phase {
	case phaseWaiting:
		if c.cb { // the caller asked to be called back: its session hangs up
			return Step{Kind: StepHangup, Cause: "NORMAL_CLEARING", Result: ResultCallback}
		}
		if s, ok := e.announce(c); ok {
			return s
		}
		if n := g.giveUp.BusyRingTimes; n > 0 && g.rings.Busy != "" && c.plays >= n {
			e.end(c, ResultGaveUp) // the session is asking: no need to wake it
			return e.step(c)
		}
		c.inWait = true
		s := Step{Kind: StepWait, File: g.rings.Busy, Loops: 1, RingWait: g.opt.RingWait}
		if g.opt.Announce {
			s.Position, s.EWT, s.EWTKnown, _ = e.Position(c.uuid)
		}
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
		e.untilAnnounce(c, &s)
		return s
	case phaseOffering:
		if !c.delivered {
			c.legUUID = e.newLeg(c.agent.dial)
			for i := range c.ring {
				c.ring[i].leg = e.newLeg(c.ring[i].a.dial)
			}
			c.delivered = true
		}
		s := Step{Kind: StepOffer, Agent: c.agent.ext, Dial: c.agent.dial, Leg: c.legUUID, Timeout: g.timeout, RingWait: g.opt.RingWait}
		if len(c.ring) > 0 {
			s.Ring = make([]RingLeg, 0, len(c.ring)+1)
			s.Ring = append(s.Ring, RingLeg{Agent: c.agent.ext, Dial: c.agent.dial, Leg: c.legUUID})
			for _, r := range c.ring {
				s.Ring = append(s.Ring, RingLeg{Agent: r.a.ext, Dial: r.a.dial, Leg: r.leg})
			}
		}
		return s
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

// route offers c to an agent if one is idle and qualified (ring-all: to
// every such member), otherwise queues it.
func (e *Engine) route(c *call) {
	if e.pool && c.kind == kindQueued {
		e.poolWait(c)
		return
	}
	if c.g.mode == ModeRingAll && c.kind == kindQueued && !c.cb {
		if as := e.pickAll(c); len(as) > 0 {
			e.offerAll(c, as)
			return
		}
	} else if a := e.pick(c); a != nil {
		e.offer(c, a)
		return
	}
	c.phase = phaseWaiting
	if !c.queued {
		c.g.enqueue(c)
		e.emit(Decision{Kind: DQueueAdd, Call: c.view(), At: e.now()})
	}
	e.armNext(c)
}

func (e *Engine) offer(c *call, a *agent) {
	if c.cb {
		e.placeCallback(c, a)
		return
	}
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
// call across its groups that it qualifies for (skills, tier): VIP before
// normal, then oldest.
func (e *Engine) dispatchAgent(a *agent) {
	if !a.idle() || e.pool {
		return
	}
	var best *call
	now := e.now()
	for _, g := range a.groups {
		tier := g.tierOf(a)
		for lvl := 0; lvl < 2; lvl++ {
			if best != nil && levelIndex(best.level) < lvl {
				break
			}
			for c := g.q[lvl].head; c != nil; c = c.next {
				if c.agent != nil {
					continue // ringing someone already
				}
				if !e.canTake(c, a, tier, now) {
					continue
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
	if c.phase != phaseOffering || c.agent == nil {
		return Errorf(ErrState, "call %s is not ringing extension %s", uuid, ext)
	}
	if c.agent.ext != ext {
		// ring-all: any rung agent may win; a failure of the whole offer
		// may name any of them, or none.
		a := e.agents[ext]
		switch {
		case len(c.ring) > 0 && a != nil && c.ringing(a):
			if o == Answered {
				c.promote(a)
			}
		case len(c.ring) > 0 && ext == "" && o != Answered:
		default:
			return Errorf(ErrState, "call %s is not ringing extension %s", uuid, ext)
		}
	}
	if legUUID != "" && (c.agent.ext == ext || o != Answered && len(c.ring) == 0) {
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
	freed := e.cancelRing(c)
	c.phase = phaseBridged
	c.answerAt = now
	e.roll(a, now)
	a.answered++
	a.legUUID = c.legUUID
	a.streak = 0
	if c.queued {
		c.g.dequeue(c)
		e.emit(Decision{Kind: DQueueRemove, Call: c.view(), At: now})
	}
	if c.kind == kindQueued {
		c.g.ewt.answered(now, c.g.waiting > 0)
	}

	e.setState(a, CallTalking)
	e.emit(Decision{Kind: DOfferAnswered, Ext: a.ext, Call: c.view(), At: now})
	if c.number != "" {
		e.memory[c.number] = memo{ext: a.ext, at: now}
		e.emit(Decision{Kind: DMemory, Ext: a.ext, Call: c.view(), At: now})
	}
	for _, f := range freed {
		e.dispatchAgent(f)
	}
}

// offerFailed: the agent did not answer. Record it, move the call on, and
// let the agent (unless it hit the no-answer limit) take calls again.
func (e *Engine) offerFailed(c *call, byTimer bool) {
	if len(c.ring) > 0 {
		e.ringFailed(c, byTimer)
		return
	}
	a := c.agent
	now := e.now()
	if byTimer {
		e.emit(Decision{Kind: DKill, Ext: a.ext, Call: c.view(), At: now})
	}
	excused := e.Saturated()
	e.emit(Decision{Kind: DOfferNoAnswer, Ext: a.ext, Status: excusedStatus(excused), Call: c.view(), At: now})
	e.release(c)
	c.tried = append(c.tried, a.ext)
	if !excused {
		a.streak++
	}
	e.setState(a, CallNoAnswer)
	c.phase = phaseWaiting
	e.moveOn(c)
	e.afterFailedOffer(a, excused)
}

// NoteCPUBusy records how busy the switch's CPU is, in percent, as it
// measured it just now (a call's entry, an offer's end), as CallIn.CPUBusy
// carries it: 0 (or out of range) is not known.
func (e *Engine) NoteCPUBusy(busy float64) {
	if busy > 0 && busy <= 100 {
		e.idle, e.idleAt = 100-busy, e.now()
	}
}

// Saturated: the switch's idle CPU, as last measured within LoadFresh, is
// below Config.NoAnswerIdleCPU; an offer failing now is not held against
// its agent, who rests instead (in a shared pool too: the service reports
// the failure as cluster.Rested, which keeps the agent out of the pool's
// matching until this node's away and, after the rest, ready).
func (e *Engine) Saturated() bool {
	return e.cfg.NoAnswerIdleCPU > 0 && !e.idleAt.IsZero() && e.idle < e.cfg.NoAnswerIdleCPU &&
		e.now().Sub(e.idleAt) <= LoadFresh
}

// excusedStatus is a DOfferNoAnswer's Status: StatusExcused when excused.
func excusedStatus(excused bool) string {
	if excused {
		return StatusExcused
	}
	return ""
}

// afterFailedOffer: an agent excused its failed offer (a saturated switch)
// rests OverloadRest, then goes on as after a no-answer; otherwise at once.
func (e *Engine) afterFailedOffer(a *agent, excused bool) {
	if !excused {
		e.afterNoAnswer(a)
		return
	}
	a.wrapGen = e.gen()
	e.arm(timer{at: e.now().Add(OverloadRest), kind: tRest, gen: a.wrapGen, agent: a})
}

// ringFailed: nobody of a ring-all offer answered; each rung agent counts
// a no-answer (unless the switch is Saturated: then each rests).
func (e *Engine) ringFailed(c *call, byTimer bool) {
	now := e.now()
	rung := append(e.rungBuf[:0], c.agent) // scratch: nothing below fails a ring again
	defer func() { e.rungBuf = rung[:0] }()
	for _, r := range c.ring {
		rung = append(rung, r.a)
	}
	excused := e.Saturated()
	for _, a := range rung {
		v := c.viewFor(a)
		if byTimer {
			e.emit(Decision{Kind: DKill, Ext: a.ext, Call: v, At: now})
		}
		e.emit(Decision{Kind: DOfferNoAnswer, Ext: a.ext, Status: excusedStatus(excused), Call: v, At: now})
	}
	e.release(c)
	for _, r := range c.ring {
		if r.a.call == c {
			r.a.call = nil
		}
	}
	c.ring = c.ring[:0]
	for _, a := range rung {
		c.tried = append(c.tried, a.ext)
		if !excused {
			a.streak++
		}
		e.setState(a, CallNoAnswer)
	}
	c.phase = phaseWaiting
	e.moveOn(c)
	for _, a := range rung {
		e.afterFailedOffer(a, excused)
	}
}

// moveOn: an offer of c failed; end it or route it again.
func (e *Engine) moveOn(c *call) {
	switch {
	case c.kind == kindDirect:
		e.finish(c, ResultNoAnswer) // a direct call has nobody else to try
	case c.overdue:
		e.end(c, ResultTimeout)
	default:
		e.route(c) // the failed agent is not idle, so it is not picked again at once
	}
}

// afterNoAnswer: the agent who did not answer is not ready (limit hit),
// busy, or ready for the next call.
func (e *Engine) afterNoAnswer(a *agent) {
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

// takeBackAgent withdraws agent a, which went away, from c's offer: a
// ring-all offer rings on with the others.
func (e *Engine) takeBackAgent(c *call, a *agent) {
	if e.dropRinger(c, a) {
		return
	}
	e.takeBack(c)
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
	var freed []*agent
	if len(c.ring) > 0 && c.phase == phaseOffering {
		for _, x := range c.ring {
			if c.delivered && r != ResultAbandoned {
				e.emit(Decision{Kind: DKill, Ext: x.a.ext, Call: c.viewFor(x.a), At: now})
			}
		}
		freed = e.cancelRing(c)
	}
	if a := c.agent; a != nil && c.phase == phaseCallback { // the service cancels its attempt
		e.emit(Decision{Kind: DOfferHangup, Ext: a.ext, Call: c.view(), At: now})
		e.release(c)
		if a.seat == SeatBusy {
			e.setState(a, CallBusy)
		} else {
			e.setState(a, CallReady)
			e.dispatchAgent(a)
		}
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
	for _, f := range freed {
		e.dispatchAgent(f)
	}
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
	e.callEnded(a, c)
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
	case phaseWaiting, phaseCallback:
		if c.cb && !c.left { // the caller hung up to be called back
			c.left = true
			e.reexamine(c) // it was held while the caller was on the line
			return true
		}
		e.end(c, ResultAbandoned) // a callback the service gives up, or a caller gone
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
	*c = call{reqs: c.reqs[:0], ring: c.ring[:0]} // keep the capacity
	e.free = append(e.free, c)
}
