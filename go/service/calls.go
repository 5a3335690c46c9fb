package service

import (
	"strconv"
	"strings"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/cdr"
	"github.com/nwayacd/mod_nwayacd/go/event"
	"github.com/nwayacd/mod_nwayacd/go/session"
)

// Enter is a channel entering nwayacd, nwaycallout or nway_bridge.
func (s *Service) Enter(c session.Call) session.Directive {
	s.mu.Lock()
	defer s.unlock()
	now := s.clock.Now()
	if ci := s.calls[c.UUID]; ci != nil {
		if !ci.left {
			return s.errorDirective(acd.Errorf(acd.ErrExists, "call %s is already in nwayacd", c.UUID))
		}
		// The dialplan sends the same channel on (an overflow group after a
		// timeout, nway_bridge …): the first visit's record is complete.
		s.book.Close(c.UUID)
	}
	in := acd.CallIn{UUID: c.UUID, Group: c.Group, Number: c.CallerNumber, Level: acd.Level(strings.ToLower(c.Level))}
	ci := &callInfo{kind: uint8(c.Kind), group: c.Group, number: c.CallerNumber, entered: now}
	switch c.Kind {
	case session.Queue:
		ci.rec = s.book.Open(c.UUID, c.Group, false)
		ci.rec.Caller(cdr.Leg{UUID: c.UUID, CallerIDNumber: c.CallerNumber, DestinationNumber: c.DestNumber, Start: now})
		s.calls[c.UUID] = ci // before Enter: its decisions update ci
		st, err := s.eng.Enter(in)
		if err != nil {
			delete(s.calls, c.UUID)
			s.book.Drop(c.UUID)
			return s.errorDirective(err)
		}
		return s.directive(c.UUID, ci, st)
	case session.Direct:
		ci.group = ""
		ci.rec = s.book.Open(c.UUID, "", false)
		ci.rec.Caller(cdr.Leg{UUID: c.UUID, CallerIDNumber: c.CallerNumber, DestinationNumber: c.Target, Start: now})
		s.calls[c.UUID] = ci
		st, err := s.eng.EnterDirect(in, c.Target)
		if err != nil {
			delete(s.calls, c.UUID)
			s.book.Drop(c.UUID)
			if acd.CodeOf(err) == acd.ErrState {
				return session.Directive{Action: session.Hangup, Cause: "USER_BUSY", Vars: [][2]string{{"nwayacd_result", "busy"}}}
			}
			return s.errorDirective(err)
		}
		return s.directive(c.UUID, ci, st)
	case session.Callout:
		if err := acd.ValidNumber("number", c.Target); err != nil {
			return s.errorDirective(err)
		}
		if err := acd.ValidNumber("gateway", c.Gateway); err != nil {
			return s.errorDirective(err)
		}
		if _, err := s.eng.Group(c.Group); err != nil {
			return s.errorDirective(err)
		}
		ci.target = c.Target
		ci.rec = s.book.Open(c.UUID, c.Group, true)
		ci.rec.Caller(cdr.Leg{UUID: c.UUID, CallerIDNumber: c.CallerNumber, DestinationNumber: c.Target, Start: now})
		ci.rec.Offered(c.Target, now)
		ci.offerAt = now
		ci.legUUID = newUUID()
		s.calls[c.UUID] = ci
		// An agent dialling out is busy: no queued call is offered to it
		// meanwhile. Not an agent, or already busy: the call goes out anyway.
		if err := s.eng.Occupy(c.UUID, c.CallerNumber); err != nil {
			s.log.Debug("nwaycallout: caller is not a free agent", "caller", c.CallerNumber, "err", err)
		}
		s.calloutEvent(c.UUID, ci, event.OfferCallout)
		return session.Directive{
			Action:       session.Offer,
			Dial:         s.dialVars(c.UUID, ci.legUUID, c.Group, c.Target, c.CallerNumber, 60) + "sofia/gateway/" + c.Gateway + "/" + c.Target,
			Agent:        c.Target,
			CallerNumber: c.CallerNumber,
			TimeoutMS:    60_000,
		}
	}
	return s.errorDirective(acd.Errorf(acd.ErrBadArgument, "unknown application kind %d", c.Kind))
}

// Next is the session asking what to do after its last step.
func (s *Service) Next(uuid string) session.Directive {
	s.mu.Lock()
	defer s.unlock()
	ci := s.calls[uuid]
	if ci == nil {
		return s.errorDirective(acd.Errorf(acd.ErrUnknownCall, "no call %s in nwayacd", uuid))
	}
	if ci.kind == uint8(session.Callout) {
		return s.doneDirective(ci, ci.result)
	}
	st, err := s.eng.Next(uuid)
	if err != nil {
		return s.errorDirective(err)
	}
	return s.directive(uuid, ci, st)
}

// OfferResult is the session reporting how an offer ended.
func (s *Service) OfferResult(r session.OfferResult) {
	s.mu.Lock()
	defer s.unlock()
	ci := s.calls[r.UUID]
	if ci == nil {
		return
	}
	if r.AgentUUID != "" {
		ci.legUUID = r.AgentUUID
	}
	if ci.kind == uint8(session.Callout) {
		now := s.clock.Now()
		m := event.OfferNoAnswer
		switch r.Outcome {
		case session.Answered:
			m = event.OfferAnswered
			ci.answerAt = now
			ci.agent = ci.target
			ci.rec.Answered(ci.target, cdr.Leg{UUID: ci.legUUID, DestinationNumber: ci.target, Start: ci.offerAt, Answer: now})
			ci.result = acd.ResultAnswered
		case session.Canceled:
			ci.result = acd.ResultAbandoned
			ci.ended = true
		default:
			ci.rec.NoAnswer(ci.target, now)
			ci.result = acd.ResultNoAnswer
			ci.ended = true
		}
		s.calloutEvent(r.UUID, ci, m)
		return
	}
	o := map[session.Outcome]acd.Outcome{session.Answered: acd.Answered, session.NoAnswer: acd.NoAnswer,
		session.Failed: acd.Failed, session.Canceled: acd.Canceled}[r.Outcome]
	if o == 0 {
		s.log.Warn("offer result with unknown outcome", "call", r.UUID, "outcome", r.Outcome)
		o = acd.Failed
	}
	if err := s.eng.OfferResult(r.UUID, r.Agent, o, ci.legUUID); err != nil {
		s.log.Debug("offer result ignored", "err", err)
	}
}

// calloutEvent tells the dialling agent's desk about its outbound call: the
// number is the outside party, the extension the agent.
func (s *Service) calloutEvent(uuid string, ci *callInfo, m event.OfferMethod) {
	s.publish(&event.Offer{Method: m, UUID: uuid, Number: ci.target, Group: ci.group, Extension: ci.number,
		Level: string(acd.LevelNormal), CallinTime: s.stamp(ci.entered), CTIIP: s.ctiIP()})
}

// BridgeEnded is the session reporting that caller and agent are apart again.
func (s *Service) BridgeEnded(uuid string) {
	s.mu.Lock()
	defer s.unlock()
	ci := s.calls[uuid]
	if ci == nil {
		return
	}
	if ci.kind == uint8(session.Callout) {
		now := s.clock.Now()
		ci.rec.AgentLeg(ci.target, cdr.Leg{End: now})
		ci.ended = true
		s.calloutEvent(uuid, ci, event.OfferHangup)
		return
	}
	if err := s.eng.BridgeEnded(uuid); err != nil {
		s.log.Debug("bridge end ignored", "err", err)
	}
}

// Leave is the application returning; a call still waiting is abandoned.
func (s *Service) Leave(uuid string) {
	s.mu.Lock()
	defer s.unlock()
	ci := s.calls[uuid]
	if ci == nil {
		return
	}
	s.eng.Leave(uuid)
	s.handle(s.eng.Decisions()) // the abandon/ended decisions need ci
	ci.left = true
	// The CDR waits briefly for the caller leg's hangup event: it has
	// FreeSWITCH's own stamps, disposition and record file.
	s.book.Left(uuid, s.clock.Now())
}

// directive translates a core step for the session. Called with mu held.
func (s *Service) directive(uuid string, ci *callInfo, st acd.Step) session.Directive {
	switch st.Kind {
	case acd.StepPlay:
		return session.Directive{Action: session.Play, File: st.File, Loops: max(st.Loops, 1)}
	case acd.StepWait:
		f := st.File
		if f == "" {
			f = s.opt.HoldMusic
		}
		return session.Directive{Action: session.Wait, File: f, Loops: st.Loops, TimeoutMS: int(st.Timeout / time.Millisecond)}
	case acd.StepOffer:
		secs := int((st.Timeout + time.Second - 1) / time.Second)
		dial := st.Dial
		if dial == "" {
			dial = s.opt.DialTemplate
		}
		dial = strings.ReplaceAll(dial, "%s", st.Agent)
		ci.legUUID = ""
		if !strings.ContainsAny(dial, ",|") && !strings.Contains(dial, ":_:") { // one leg
			ci.legUUID = newUUID()
		}
		return session.Directive{
			Action:       session.Offer,
			File:         s.opt.HoldMusic,
			Dial:         s.dialVars(uuid, ci.legUUID, ci.group, st.Agent, ci.number, secs) + dial,
			Agent:        st.Agent,
			CallerNumber: ci.number,
			TimeoutMS:    int(st.Timeout / time.Millisecond),
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

// varSafe keeps a value from breaking FreeSWITCH's {k=v,…} syntax.
func varSafe(v string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ',', '{', '}', '[', ']', '\'', '"', ' ', '\t', '\n', '\r':
			return -1
		}
		return r
	}, v)
}
