package sim

import (
	"time"

	"github.com/nwayacd/mod_nwayacd/go/session"
)

type cstate uint8

const (
	csAsking  cstate = iota // inside a board call, or between steps
	csWaiting               // Wait: music or busy ring
	csPlaying               // Play
	csRinging               // Offer: the agent leg rings
	csTalking               // bridged
	csClosing               // Hangup: playing its file before hanging up
	csGone
)

type result uint8

const (
	resNone result = iota
	resAnswered
	resGaveUp
	resBlacklisted
	resAbandoned
)

// caller is one simulated caller session. Callers are reused; gen and life
// only grow, so events scheduled for an earlier state or life are dropped.
type caller struct {
	idx      int32
	uuid     string
	number   string
	arrived  int64
	waited   int64 // set when answered
	state    cstate
	gen      uint32    // step generation
	life     uint32    // bumped on reuse: patience events carry it
	agent    *agentSim // ringing or talking
	ext      string    // the extension last offered
	leg      string
	answered bool
	result   result
}

func (s *Sim) newCaller() *caller {
	if n := len(s.free); n > 0 {
		c := s.free[n-1]
		s.free = s.free[:n-1]
		return c
	}
	c := &caller{idx: int32(len(s.callerTab))}
	s.callerTab = append(s.callerTab, c)
	return c
}

func (s *Sim) handle(e *event) {
	switch e.kind {
	case evArrival:
		if !s.arriving {
			return
		}
		g := s.pickGroup()
		s.arrive(g, s.number(s.rng.IntN(len(s.numbers))), s.rng.Float64() < s.cfg.VIPRate)
		s.scheduleArrival()
	case evPlace:
		s.places--
		num := s.popStr()
		if num == "" {
			num = s.number(s.rng.IntN(len(s.numbers)))
		}
		s.arrive(s.groups[e.gen], num, e.vip)
	case evStepDone:
		if c := s.callerTab[e.ref]; c.gen == e.gen && (c.state == csWaiting || c.state == csPlaying) {
			s.ask(c)
		}
	case evAnswer:
		if c := s.callerTab[e.ref]; c.gen == e.gen && c.state == csRinging {
			s.answer(c)
		}
	case evNoAnswer, evRefused, evFailed:
		if c := s.callerTab[e.ref]; c.gen == e.gen && c.state == csRinging {
			switch e.kind {
			case evNoAnswer:
				s.endRing(c, session.NoAnswer, "NO_ANSWER")
			case evRefused:
				s.endRing(c, session.NoAnswer, "USER_BUSY")
			default:
				s.endRing(c, session.Failed, "USER_NOT_REGISTERED")
			}
		}
	case evTalkEnd:
		if c := s.callerTab[e.ref]; c.gen == e.gen && c.state == csTalking {
			s.note("talkend", c, c.agent, "")
			s.unbridge(c)
			s.ask(c)
		}
	case evPatience:
		if c := s.callerTab[e.ref]; c.life == e.gen && c.state != csGone && c.state != csTalking && !c.answered {
			s.callerHangup(c)
		}
	case evHangupDone:
		if c := s.callerTab[e.ref]; c.gen == e.gen && c.state == csClosing {
			s.leave(c)
		}
	case evWake:
		if c := s.calls[s.popStr()]; c != nil && (c.state == csWaiting || c.state == csPlaying) {
			s.note("wake", c, nil, "")
			s.count(func(st *Stats) { st.Wakes++ })
			s.ask(c)
		}
	case evKill:
		s.kill(s.popStr())
	case evBreak:
		a := s.agentList[e.ref]
		if !a.onBreak {
			a.onBreak = true
			s.note("break", nil, a, "")
			s.count(func(st *Stats) { st.Breaks++ })
			_ = s.board.SetBusy(a.ext)
			s.agentEvent(s.now+s.uniform(s.cfg.BreakLength), evBack, a)
		}
	case evBack:
		a := s.agentList[e.ref]
		a.onBreak = false
		s.note("back", nil, a, "")
		_ = s.board.SetReady(a.ext)
		s.agentEvent(s.now+s.expDur(s.cfg.BreakEvery), evBreak, a)
	}
}

func (s *Sim) count(f func(*Stats)) {
	s.statsMu.Lock()
	f(&s.stats)
	s.statsMu.Unlock()
}

func (s *Sim) pickGroup() *groupSim {
	if len(s.groups) == 1 {
		return s.groups[0]
	}
	x := s.rng.Float64() * s.weightSum
	for _, g := range s.groups {
		if x < g.weight {
			return g
		}
		x -= g.weight
	}
	return s.groups[len(s.groups)-1]
}

func (s *Sim) scheduleArrival() {
	if s.cfg.MaxCalls > 0 && s.arrivals >= s.cfg.MaxCalls {
		s.arriving = false
		return
	}
	s.arrivals++
	gap := int64(s.rng.ExpFloat64() * 1e9 / s.cfg.CallsPerSecond)
	s.push(event{at: s.now + gap, kind: evArrival})
}

func (s *Sim) arrive(g *groupSim, number string, vip bool) {
	c := s.newCaller()
	life := c.life + 1
	*c = caller{idx: c.idx, uuid: s.newUUID('c'), number: number, arrived: s.now, gen: c.gen + 1, life: life}
	s.calls[c.uuid] = c
	s.live++
	s.count(func(st *Stats) { st.Arrived++; st.InProgress++ })
	if p := s.uniform(s.cfg.Patience); s.cfg.Patience[1] > 0 {
		s.callerEvent(s.now+max(p, 1), evPatience, c, life)
	}
	s.note("arrive", c, nil, g.spec.Number)
	in := session.Call{Kind: session.Queue, UUID: c.uuid, Group: g.spec.Number, CallerNumber: number, DestNumber: g.spec.Number}
	if vip {
		in.Level = "vip"
	}
	s.apply(c, s.board.Enter(in))
}

// ask is the session asking the board for its next step.
func (s *Sim) ask(c *caller) {
	c.gen++
	c.state = csAsking
	s.apply(c, s.board.Next(c.uuid))
}

// apply carries out a directive, as the session thread would.
func (s *Sim) apply(c *caller, d session.Directive) {
	if c.state == csGone {
		return
	}
	c.gen++
	s.note("directive", c, nil, d.Action.String())
	switch d.Action {
	case session.Wait:
		c.state = csWaiting
		var dur int64 = never
		if d.Loops > 0 {
			dur = int64(d.Loops) * int64(s.cfg.BusyRingLength)
		}
		if d.TimeoutMS > 0 {
			dur = min(dur, int64(d.TimeoutMS)*1e6)
		}
		if dur != never {
			s.callerEvent(s.now+dur, evStepDone, c, c.gen)
		}
	case session.Play:
		c.state = csPlaying
		s.callerEvent(s.now+int64(max(d.Loops, 1))*int64(s.cfg.PlayLength), evStepDone, c, c.gen)
	case session.Offer:
		s.offer(c, d)
	case session.Hangup:
		s.decide(c, d)
		if d.File == "" {
			s.leave(c)
			return
		}
		c.state = csClosing
		s.callerEvent(s.now+int64(s.cfg.PlayLength), evHangupDone, c, c.gen)
	case session.Done:
		s.decide(c, d)
		s.leave(c)
	default:
		// A directive the shim would refuse: it hangs up.
		s.decide(c, session.Directive{Action: session.Hangup})
		s.leave(c)
	}
}

// decide records how the board ended the call.
func (s *Sim) decide(c *caller, d session.Directive) {
	if c.result != resNone {
		return
	}
	switch {
	case c.answered:
		c.result = resAnswered
	case d.Cause == "CALL_REJECTED" || varIs(d.Vars, "nwayacd_result", "blacklisted"):
		c.result = resBlacklisted
	default:
		c.result = resGaveUp
	}
}

func varIs(vars [][2]string, k, v string) bool {
	for _, kv := range vars {
		if kv[0] == k {
			return kv[1] == v
		}
	}
	return false
}

const defaultRingMS = 60000 // FreeSWITCH's originate default

func (s *Sim) offer(c *caller, d session.Directive) {
	c.state = csRinging
	c.leg = originationUUID(d.Dial)
	if c.leg == "" {
		c.leg = s.newUUID('a')
	}
	s.legs[c.leg] = c
	c.ext = d.Agent
	a := s.agents[d.Agent]
	s.count(func(st *Stats) { st.Offered++ })
	s.note("offer", c, a, d.Agent)
	if a == nil {
		s.callerEvent(s.now, evFailed, c, c.gen)
		return
	}
	if a.ringing != nil || a.talking != nil {
		// The board double-booked the agent: its phone is busy.
		s.count(func(st *Stats) { st.Conflicts++ })
		s.note("busy", c, a, "")
		s.callerEvent(s.now, evRefused, c, c.gen)
		return
	}
	c.agent = a
	a.ringing = c
	timeout := int64(d.TimeoutMS) * 1e6
	if d.TimeoutMS <= 0 {
		timeout = defaultRingMS * 1e6
	}
	if s.rng.Float64() < s.cfg.AnswerRate {
		if delay := s.uniform(s.cfg.AnswerDelay); delay < timeout {
			s.callerEvent(s.now+delay, evAnswer, c, c.gen)
			return
		}
	}
	s.callerEvent(s.now+timeout, evNoAnswer, c, c.gen)
}

// originationUUID finds origination_uuid in a dial string's {…} or […] variables.
func originationUUID(dial string) string {
	const key = "origination_uuid="
	for i := 0; i+len(key) <= len(dial); i++ {
		if dial[i] == '{' || dial[i] == '[' || dial[i] == ',' {
			if j := i + 1; len(dial)-j >= len(key) && dial[j:j+len(key)] == key {
				v := dial[j+len(key):]
				for k := 0; k < len(v); k++ {
					if v[k] == ',' || v[k] == '}' || v[k] == ']' {
						return v[:k]
					}
				}
				return v
			}
		}
	}
	return ""
}

func (s *Sim) answer(c *caller) {
	a := c.agent
	a.ringing = nil
	a.talking = c
	c.state = csTalking
	c.answered = true
	c.waited = s.now - c.arrived
	c.gen++
	s.note("answer", c, a, "")
	s.board.OfferResult(session.OfferResult{UUID: c.uuid, Agent: a.ext, AgentUUID: c.leg, Outcome: session.Answered})
	if c.state == csTalking {
		s.callerEvent(s.now+s.uniform(s.cfg.TalkTime), evTalkEnd, c, c.gen)
	}
}

// endRing ends a ringing offer other than by an answer and, unless the
// caller is gone, asks for the next step.
func (s *Sim) endRing(c *caller, o session.Outcome, cause string) {
	if a := c.agent; a != nil && a.ringing == c {
		a.ringing = nil
	}
	delete(s.legs, c.leg)
	leg := c.leg
	c.leg, c.agent = "", nil
	c.state = csAsking
	c.gen++
	switch o {
	case session.NoAnswer:
		s.count(func(st *Stats) { st.NoAnswers++ })
		s.note("noanswer", c, nil, cause)
	case session.Failed:
		s.count(func(st *Stats) { st.Failed++ })
		s.note("failed", c, nil, cause)
	case session.Canceled:
		s.count(func(st *Stats) { st.Canceled++ })
		s.note("cancel", c, nil, cause)
	}
	s.board.OfferResult(session.OfferResult{UUID: c.uuid, Agent: c.ext, AgentUUID: leg, Outcome: o, Cause: cause})
	if o != session.Canceled {
		s.ask(c)
	}
}

func (s *Sim) unbridge(c *caller) {
	if a := c.agent; a != nil && a.talking == c {
		a.talking = nil
	}
	delete(s.legs, c.leg)
	c.agent, c.leg = nil, ""
	c.state = csAsking
	s.board.BridgeEnded(c.uuid)
}

// callerHangup: the caller hangs up (patience ran out, or uuid_kill).
func (s *Sim) callerHangup(c *caller) {
	switch c.state {
	case csRinging:
		s.endRing(c, session.Canceled, "ORIGINATOR_CANCEL")
	case csTalking:
		s.unbridge(c)
	}
	if c.result == resNone {
		if c.answered {
			c.result = resAnswered
		} else {
			c.result = resAbandoned
		}
	}
	s.leave(c)
}

func (s *Sim) kill(uuid string) {
	if c := s.calls[uuid]; c != nil && c.state != csGone {
		s.count(func(st *Stats) { st.Kills++ })
		s.note("kill", c, nil, "caller")
		s.callerHangup(c)
		return
	}
	c := s.legs[uuid]
	if c == nil {
		return
	}
	s.count(func(st *Stats) { st.Kills++ })
	s.note("kill", c, c.agent, "leg")
	switch c.state {
	case csRinging:
		s.endRing(c, session.NoAnswer, "NORMAL_CLEARING")
	case csTalking:
		s.unbridge(c)
		s.ask(c)
	}
}

// leave is the application returning: the board forgets the call.
func (s *Sim) leave(c *caller) {
	if c.state == csGone {
		return
	}
	if c.result == resNone {
		c.result = resAbandoned
	}
	if c.state == csRinging || c.state == csTalking {
		if a := c.agent; a != nil {
			if a.ringing == c {
				a.ringing = nil
			}
			if a.talking == c {
				a.talking = nil
			}
		}
		delete(s.legs, c.leg)
	}
	c.state = csGone
	c.gen++
	s.live--
	delete(s.calls, c.uuid)
	wait := c.waited
	if !c.answered {
		wait = s.now - c.arrived
	}
	r := c.result
	s.statsMu.Lock()
	st := &s.stats
	switch r {
	case resAnswered:
		st.Answered++
	case resGaveUp:
		st.GaveUp++
	case resBlacklisted:
		st.Blacklisted++
	default:
		st.Abandoned++
	}
	st.Finished++
	st.InProgress--
	st.TotalWait += time.Duration(wait)
	st.MaxWait = max(st.MaxWait, time.Duration(wait))
	s.statsMu.Unlock()
	s.note("leave", c, nil, resultNames[r])
	s.board.Leave(c.uuid)
	c.agent, c.leg = nil, ""
	s.free = append(s.free, c)
}

var resultNames = [...]string{"", "answered", "gave_up", "blacklisted", "abandoned"}
