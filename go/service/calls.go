package service

import (
	"github.com/nwayacd/mod_nwayacd/go/ident"
	"strconv"
	"strings"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/cdr"
	"github.com/nwayacd/mod_nwayacd/go/session"
)

// Enter is a channel entering nwayacd, nwaycallout or nway_bridge.
func (s *Service) Enter(c session.Call) (d session.Directive) {
	s.combine(func() { d = s.enterLocked(c) })
	return d
}

// enterLocked is Enter with mu held.
func (s *Service) enterLocked(c session.Call) session.Directive {
	if s.cbGone.has(c.UUID) {
		// A callback leg answering after its callback was given up: its
		// uuid is the ended call's (one CDR per uuid).
		return s.errorDirective(acd.Errorf(acd.ErrState, "the callback of call %s was given up", c.UUID))
	}
	if ci := s.calls[c.UUID]; ci != nil {
		if ci.left && ci.cb != "" && s.book.Held(c.UUID) {
			if s.eng.CallbackPlacing(c.UUID) && c.Kind == session.Queue {
				return s.callbackEnter(c, ci) // the callback leg, caller first
			}
			// A late or stray leg under a waiting callback's uuid: the
			// callback keeps its place.
			return s.errorDirective(acd.Errorf(acd.ErrState, "call %s waits for a callback", c.UUID))
		}
		if !ci.left {
			return s.errorDirective(acd.Errorf(acd.ErrExists, "call %s is already in nwayacd", c.UUID))
		}
		if c.Kind == session.Direct && s.eng.Held(c.UUID) {
			// A transfer's route runs nway_bridge: the same call goes on, with one CDR.
			return s.enterAgain(c, ci)
		}
		// The dialplan sends the same channel on (an overflow group after a
		// timeout, a transfer into a queue …): the first visit's record is complete.
		s.eng.TransferEnded(c.UUID)
		s.handle(s.eng.Decisions())
		s.book.Close(c.UUID)
	}
	now := s.clock.Now()
	ci := &callInfo{group: c.Group, number: c.CallerNumber, entered: now}
	dest := c.Target
	switch c.Kind {
	case session.Queue:
		dest = c.DestNumber
	case session.Direct:
		ci.group = ""
	case session.Callout:
	default:
		return s.errorDirective(acd.Errorf(acd.ErrBadArgument, "unknown application kind %d", c.Kind))
	}
	ci.rec = s.book.Open(c.UUID, ci.group, c.Kind == session.Callout)
	ci.rec.Caller(cdr.Leg{UUID: c.UUID, CallerIDNumber: c.CallerNumber, DestinationNumber: dest, Start: now})
	s.calls[c.UUID] = ci // before the core: its decisions update ci
	st, err := s.enterCore(c)
	if err != nil {
		delete(s.calls, c.UUID)
		s.book.Drop(c.UUID)
		if c.Kind == session.Direct && acd.CodeOf(err) == acd.ErrState {
			return busyDirective
		}
		return s.errorDirective(err)
	}
	return s.directive(c.UUID, ci, st)
}

var busyDirective = session.Directive{Action: session.Hangup, Cause: "USER_BUSY", Vars: [][2]string{{"nwayacd_result", "busy"}}}

func (s *Service) enterCore(c session.Call) (acd.Step, error) {
	switch c.Kind {
	case session.Direct:
		return s.eng.EnterDirect(acd.CallIn{UUID: c.UUID, Number: c.CallerNumber}, c.Target)
	case session.Callout:
		return s.eng.EnterCallout(acd.CalloutIn{UUID: c.UUID, Ext: c.CallerNumber, Group: c.Group, Target: c.Target, Gateway: c.Gateway})
	}
	return s.eng.Enter(acd.CallIn{UUID: c.UUID, Group: c.Group, Number: c.CallerNumber, Level: acd.Level(strings.ToLower(c.Level)),
		Skills: s.callSkills(c), CPUBusy: c.CPUBusy})
}

// callSkills parses the channel's nwayacd_skills; bad input is logged and
// ignored (the group's default applies), never fatal to the call.
func (s *Service) callSkills(c session.Call) []acd.SkillReq {
	if c.Skills == "" {
		return nil
	}
	sk, err := acd.ParseSkills(c.Skills)
	if err != nil {
		s.log.Warn("nwayacd_skills ignored", "call", c.UUID, "value", c.Skills, "err", err)
		return nil
	}
	return sk
}

// enterAgain continues a transferred call as a direct call to c.Target.
func (s *Service) enterAgain(c session.Call, ci *callInfo) session.Directive {
	st, err := s.eng.EnterDirect(acd.CallIn{UUID: c.UUID, Number: c.CallerNumber}, c.Target)
	if err != nil {
		if acd.CodeOf(err) == acd.ErrState {
			return busyDirective
		}
		return s.errorDirective(err)
	}
	ci.left = false
	s.book.Back(c.UUID)
	return s.directive(c.UUID, ci, st)
}

// Next is the session asking what to do after its last step.
func (s *Service) Next(uuid string) (d session.Directive) {
	s.combine(func() { d = s.nextLocked(uuid) })
	return d
}

// nextLocked is Next with mu held.
func (s *Service) nextLocked(uuid string) session.Directive {
	ci := s.calls[uuid]
	if ci == nil {
		return s.errorDirective(acd.Errorf(acd.ErrUnknownCall, "no call %s in nwayacd", uuid))
	}
	st, err := s.eng.Next(uuid)
	if err != nil {
		return s.errorDirective(err)
	}
	return s.directive(uuid, ci, st)
}

var outcomes = [...]acd.Outcome{session.Answered: acd.Answered, session.NoAnswer: acd.NoAnswer,
	session.Failed: acd.Failed, session.Canceled: acd.Canceled}

// OfferResult is the session reporting how an offer ended.
func (s *Service) OfferResult(r session.OfferResult) {
	s.combine(func() { s.offerResultLocked(r) })
}

// offerResultLocked is OfferResult with mu held.
func (s *Service) offerResultLocked(r session.OfferResult) {
	if s.calls[r.UUID] == nil {
		return
	}
	var o acd.Outcome
	if int(r.Outcome) < len(outcomes) {
		o = outcomes[r.Outcome]
	}
	if o == 0 {
		s.log.Warn("offer result with unknown outcome", "call", r.UUID, "outcome", r.Outcome)
		o = acd.Failed
	}
	if ci := s.calls[r.UUID]; ci.ringLegs != nil {
		// Ring-all: the leg that answered names the winner; the session
		// reports the offer's primary agent.
		if o == acd.Answered {
			if a, ok := ci.ringLegs[r.AgentUUID]; ok {
				r.Agent = a
			} else {
				s.log.Warn("ring-all: answered by a leg not named in the dial string", "call", r.UUID, "leg", r.AgentUUID, "reported", r.Agent)
			}
		}
		ci.ringLegs = nil
	}
	s.eng.NoteCPUBusy(r.CPUBusy)
	if err := s.eng.OfferResult(r.UUID, r.Agent, o, r.AgentUUID); err != nil {
		s.log.Debug("offer result ignored", "err", err)
	}
}

// BridgeEnded is the session reporting that caller and agent are apart again.
func (s *Service) BridgeEnded(uuid string) {
	s.combine(func() { s.bridgeEndedLocked(uuid) })
}

// bridgeEndedLocked is BridgeEnded with mu held.
func (s *Service) bridgeEndedLocked(uuid string) {
	if s.calls[uuid] == nil {
		return
	}
	if err := s.eng.BridgeEnded(uuid); err != nil {
		s.log.Debug("bridge end ignored", "err", err)
	}
}

// transferred records that the call id names (a caller channel or an agent
// leg the core named) was moved to `to`: the core takes the agent off it and
// puts `to` on it when `to` is an agent, and the CDR is flagged 转接.
// Called with mu held.
func (s *Service) transferred(id, to string, local bool) {
	agent := to
	if !local {
		agent = ""
	}
	u, _ := s.eng.CallOf(id) // before: the transfer forgets the leg id may name
	err := s.eng.Transferred(id, agent)
	if acd.CodeOf(err) == acd.ErrUnknownExtension {
		err = s.eng.Transferred(id, "") // to an outside number, a queue, an IVR …
	}
	if err != nil {
		s.log.Debug("transfer not recorded in the core", "call", id, "to", to, "err", err)
		return
	}
	// The record says 转接 only for a transfer the core took: a call still
	// ringing or one that already ended was not transferred.
	if ci := s.calls[u]; ci != nil {
		ci.rec.Transferred(to)
		ci.transfers++
	}
}

// Leave is the application returning; a call still waiting is abandoned.
func (s *Service) Leave(uuid string) {
	s.combine(func() { s.leaveLocked(uuid) })
}

// leaveLocked is Leave with mu held.
func (s *Service) leaveLocked(uuid string) {
	ci := s.calls[uuid]
	if ci == nil || ci.left { // left already: a refused leg under a waiting callback's uuid
		return
	}
	held := s.eng.Leave(uuid)
	s.handle(s.eng.Decisions()) // the abandon/ended decisions need ci
	ci.left = true
	if held && ci.cb != "" {
		if _, ok := s.eng.CallbackOf(uuid); ok { // hung up to be called back
			s.book.Hold(uuid, s.clock.Now())
			s.saveCallback(uuid)
			return
		}
	}
	if held {
		s.book.Away(uuid, s.clock.Now()) // transferred: the CDR waits for the caller's channel to end (legFacts)
		return
	}
	// The CDR waits briefly for the caller leg's hangup event: it has
	// FreeSWITCH's own stamps, disposition and record file.
	s.book.Left(uuid, s.clock.Now())
}

// directive translates a core step for the session. Called with mu held.
func (s *Service) directive(uuid string, ci *callInfo, st acd.Step) session.Directive {
	switch st.Kind {
	case acd.StepPlay:
		if st.Announce {
			return announceDirective(st)
		}
		return session.Directive{Action: session.Play, File: st.File, Loops: max(st.Loops, 1)}
	case acd.StepWait:
		f := st.File
		if f == "" {
			f = s.opt.HoldMusic
		}
		d := session.Directive{Action: session.Wait, File: f, Loops: st.Loops, TimeoutMS: int(st.Timeout / time.Millisecond),
			RingMS: int(st.RingWait / time.Millisecond)}
		if st.Position > 0 { // the group announces (GroupOptions.Announce)
			ewt := ""
			if st.EWTKnown {
				ewt = strconv.Itoa(int((st.EWT + time.Second - 1) / time.Second))
			}
			d.Vars = [][2]string{{"nwayacd_position", strconv.Itoa(st.Position)}, {"nwayacd_ewt", ewt}}
		}
		return d
	case acd.StepOffer:
		secs := int((st.Timeout + time.Second - 1) / time.Second)
		dial := st.Dial
		if dial == "" {
			dial = s.opt.DialTemplate
		}
		dial = strings.ReplaceAll(dial, "%s", st.Agent)
		music, ring := s.opt.HoldMusic, int(st.RingWait/time.Millisecond)
		if st.Outside {
			music, ring = "", 0 // a callout's caller hears the far end ring
		}
		ci.ringLegs = nil
		if len(st.Ring) > 1 {
			var all string
			all, ci.ringLegs = s.ringAllDial(uuid, ci.group, ci.number, secs, st.Ring)
			return session.Directive{Action: session.Offer, File: music, Dial: all, Agent: st.Agent,
				CallerNumber: ci.number, TimeoutMS: int(st.Timeout / time.Millisecond), RingMS: ring}
		}
		return session.Directive{
			Action:       session.Offer,
			File:         music,
			Dial:         s.dialVars(uuid, st.Leg, ci.group, st.Agent, ci.number, secs) + dial,
			Agent:        st.Agent,
			CallerNumber: ci.number,
			TimeoutMS:    int(st.Timeout / time.Millisecond),
			RingMS:       ring,
		}
	case acd.StepHangup:
		d := s.doneDirective(ci, st.Result)
		d.Action, d.File, d.Cause = session.Hangup, st.File, st.Cause
		return d
	}
	return s.doneDirective(ci, st.Result)
}

func (s *Service) doneDirective(ci *callInfo, r acd.Result) session.Directive {
	lvl := ci.level
	if lvl == "" {
		lvl = acd.LevelNormal
	}
	if r == acd.ResultExit {
		return s.exitDirective(ci, lvl)
	}
	return session.Directive{Action: session.Done, Vars: [][2]string{
		{"nwayacd_group", ci.group},
		{"nwayacd_agent", ci.agent},
		{"nwayacd_level", string(lvl)},
		{"nwayacd_result", string(r)},
		{"nwayacd_wait_seconds", strconv.Itoa(int(ci.waited / time.Second))},
	}}
}

func (s *Service) errorDirective(err error) session.Directive {
	r := "error"
	if acd.CodeOf(err) == acd.ErrUnknownGroup {
		r = string(acd.ResultNoGroup)
	}
	s.log.Warn("application refused", "err", err)
	return session.Directive{Action: session.Done, Vars: [][2]string{{"nwayacd_result", r}, {"nwayacd_error", err.Error()}}}
}

// dialVars prefixes a dial string with the variables that tie the agent leg to
// the call: a known uuid (so the core can take an offer back), the call it
// belongs to, and the caller's number as caller id.
func (s *Service) dialVars(callUUID, legUUID, group, agent, caller string, timeoutSecs int) string {
	var b strings.Builder
	b.WriteString("{")
	// {origination_uuid} would name only the first leg of a multi-leg dial
	// string; for those the core's take-back relies on the offer timeout.
	if legUUID != "" {
		b.WriteString("origination_uuid=")
		b.WriteString(legUUID)
		b.WriteString(",")
		if s.opt.SIPCapture {
			// The leg's SIP Call-ID is its uuid: the capture names it.
			b.WriteString("sip_invite_call_id=")
			b.WriteString(legUUID)
			b.WriteString(",")
			s.watchLeg(legUUID, callUUID)
		}
	}
	b.WriteString("nwayacd_call=")
	b.WriteString(callUUID)
	if group != "" {
		b.WriteString(",nwayacd_group=")
		b.WriteString(varSafe(group))
	}
	b.WriteString(",nwayacd_agent=")
	b.WriteString(varSafe(agent))
	if caller != "" {
		b.WriteString(",origination_caller_id_number=")
		b.WriteString(varSafe(caller))
		b.WriteString(",origination_caller_id_name=")
		b.WriteString(varSafe(caller))
	}
	b.WriteString(",originate_timeout=")
	b.WriteString(strconv.Itoa(timeoutSecs))
	b.WriteString("}")
	return b.String()
}

// varSafe makes a value safe inside FreeSWITCH's {k=v,…} block. Caller IDs
// come from anyone, so it keeps only what a number may hold (ident's
// alphabet) and at most ident.MaxNumber bytes: no separator, quote, blank,
// `$` expansion, `^^` delimiter change or backslash can pass.
func varSafe(v string) string {
	out := make([]byte, 0, min(len(v), ident.MaxNumber))
	for i := 0; i < len(v) && len(out) < ident.MaxNumber; i++ {
		c := v[i]
		if c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.IndexByte("+*#._-", c) >= 0 {
			out = append(out, c)
		}
	}
	return string(out)
}
