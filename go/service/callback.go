package service

import (
	"strconv"
	"strings"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/cdr"
	"github.com/nwayacd/mod_nwayacd/go/ident"
	"github.com/nwayacd/mod_nwayacd/go/session"
	"github.com/nwayacd/mod_nwayacd/go/store"
)

// Callbacks (issue 12, go/acd/callback.go). The caller asked to be called
// back and hung up: its call waits without a session (the CDR is held open,
// the callback persisted through the journal). When the core reserves an
// agent for it (DCallbackPlaced) the service places the calls with one
// originate, on a goroutine of its own (it lasts as long as the phones
// ring; the executor's workers carry the wakes):
//
//   - caller first (default): the caller's number is dialled with the
//     call's own uuid (origination_uuid) into `nwayacd <group>`: its session
//     enters as the same call (Enter → CallbackConnected) and is offered the
//     reserved agent like any caller. An originate that fails is the
//     caller's: retried as the group says.
//   - agent first: the agent is dialled (its leg named as for an offer)
//     into `bridge` to the caller's number, again with the call's uuid. A
//     failed originate is the agent's (a no-answer, no attempt spent); the
//     caller leg's answer is CallbackConnected, its hang-up before that the
//     caller's failure, its hang-up after that the end of the call.
//
// Nothing the caller keyed in reaches the dial string unchecked: the core
// takes only ident.Phone numbers, and the group and gateway are ident's.

// callbackRingSecs is how long a callback rings the caller; within the
// core's bound (acd.CalloutTimeout past the group's ring time).
const callbackRingSecs = 30

// CallbackJournal persists pending callbacks. A Journal that also
// implements it (writeback.Journal does) keeps them across a reload.
type CallbackJournal interface {
	PutCallback(c store.Callback)
	DeleteCallback(uuid string)
}

func (s *Service) callbackJournal() CallbackJournal {
	cj, _ := s.opt.Journal.(CallbackJournal)
	return cj
}

// saveCallback journals call uuid's pending callback as the core has it.
// Called with mu held.
func (s *Service) saveCallback(uuid string) {
	cj := s.callbackJournal()
	if cj == nil {
		return
	}
	if sp, ok := s.eng.CallbackOf(uuid); ok {
		cj.PutCallback(store.Callback{UUID: sp.UUID, Group: sp.Group, Number: sp.Number, RealNumber: sp.RealNumber,
			Callback: sp.Callback, Level: string(sp.Level), CallinTime: sp.CallinTime, Tries: sp.Tries,
			Skills: acd.FormatSkills(sp.Skills), Node: s.opt.NodeName})
	}
}

func (s *Service) dropCallback(uuid string) {
	if cj := s.callbackJournal(); cj != nil {
		cj.DeleteCallback(uuid)
	}
}

// restoreCallbacks puts the persisted callbacks back in their queues (at
// start, after the configuration). One the core refuses is dropped.
// Called with mu held.
func (s *Service) restoreCallbacks(cbs []store.Callback) {
	now := s.clock.Now()
	for _, r := range cbs {
		if r.Node != "" && r.Node != s.opt.NodeName {
			continue // another node's, sharing the database
		}
		sp := acd.CallbackSpec{UUID: r.UUID, Group: r.Group, Number: r.Number, RealNumber: r.RealNumber, Callback: r.Callback,
			Level: acd.Level(r.Level), CallinTime: r.CallinTime, Tries: r.Tries}
		var err error
		if r.Skills != "" {
			sp.Skills, err = acd.ParseSkills(r.Skills)
		}
		if err == nil && s.calls[r.UUID] != nil {
			err = acd.Errorf(acd.ErrExists, "call %s exists", r.UUID)
		}
		if err == nil {
			ci := &callInfo{group: r.Group, number: r.Number, level: sp.Level, entered: r.CallinTime, left: true, cb: r.Callback}
			ci.rec = s.book.Open(r.UUID, r.Group, false)
			ci.rec.Caller(cdr.Leg{UUID: r.UUID, CallerIDNumber: r.Number, Start: r.CallinTime})
			ci.rec.Callback()
			s.book.Hold(r.UUID, now)
			s.calls[r.UUID] = ci
			if err = s.eng.RestoreCallback(sp); err != nil {
				delete(s.calls, r.UUID)
				s.book.Drop(r.UUID)
			}
		}
		if err != nil {
			s.log.Warn("pending callback dropped", "call", r.UUID, "group", r.Group, "err", err)
			s.dropCallback(r.UUID)
		}
	}
}

// callbackScheduled: the caller asked to be called back (decision).
func (s *Service) callbackScheduled(c acd.CallView, number string) {
	if ci := s.calls[c.UUID]; ci != nil {
		ci.cb = number
		ci.rec.Callback()
	}
}

// callbackDial is how the number is reached: the group's callback gateway,
// else as an extension is (the dial template).
func (s *Service) callbackDial(number, gateway string) string {
	if gateway != "" {
		return "sofia/gateway/" + gateway + "/" + number
	}
	return strings.ReplaceAll(s.opt.DialTemplate, "%s", number)
}

// placeCallback places the calls of a callback the core reserved agent
// d.Ext for. Called with mu held; the originate runs after it.
func (s *Service) placeCallback(d *acd.Decision) {
	c := d.Call
	ci := s.calls[c.UUID]
	g, err := s.eng.Group(c.Group)
	if ci == nil || err != nil || ident.Phone(c.Callback) != nil || ident.UUID(c.UUID) != nil {
		s.log.Warn("callback cannot be placed", "call", c.UUID, "group", c.Group)
		s.failCallbackLater(c.UUID, false)
		return
	}
	s.saveCallback(c.UUID)    // its attempts so far
	if ci.cbDeferred != nil { // an earlier attempt never went (timed out)
		ci.cbDeferred = nil
		s.cbDeferred.Add(-1)
	}
	ci.cbAttempt++
	s.setCBLeg(ci, "")
	group := varSafe(c.Group)
	caller := "{origination_uuid=" + c.UUID + ",nwayacd_callback=true,nwayacd_group=" + group +
		",origination_caller_id_number=" + group + ",origination_caller_id_name=" + group +
		",originate_timeout=" + strconv.Itoa(callbackRingSecs) + "}" + s.callbackDial(c.Callback, g.Options.CallbackGateway)
	agentFirst := d.Status == "agent_first"
	var args string
	if agentFirst {
		dial := s.opt.DialTemplate
		if x, err := s.eng.Extension(d.Ext); err == nil && x.DialString != "" {
			dial = x.DialString
		}
		s.setCBLeg(ci, s.opt.Core.NewUUID())
		ci.offerAt = d.At // the record counts the agent's answer or no-answer, not a caller's
		secs := int((g.CalloutTimeout + time.Second - 1) / time.Second)
		if secs <= 0 {
			secs = callbackRingSecs
		}
		args = s.dialVars(c.UUID, ci.cbLeg, c.Group, d.Ext, c.Callback, secs) + strings.ReplaceAll(dial, "%s", d.Ext) +
			" &bridge(" + caller + ")"
	} else {
		args = caller + " &nwayacd(" + c.Group + ")"
	}
	uuid, attempt := c.UUID, ci.cbAttempt
	cmd := hostCmd{cmd: "originate", args: args, done: func(_ string, err error) {
		s.callbackOriginated(uuid, attempt, agentFirst, err)
	}}
	if s.channelKnown(uuid) {
		// The caller's own channel is still there (it is hanging up): the
		// switch would refuse its uuid. The originate waits for its end.
		ci.cbDeferred = &cmd
		s.cbDeferred.Add(1)
		return
	}
	s.pending = append(s.pending, cmd)
}

// callbackChannelGone: a channel ended for good; a callback attempt that
// waited for its uuid goes now.
func (s *Service) callbackChannelGone(uuid string) {
	if s.cbDeferred.Load() <= 0 {
		return
	}
	s.lock()
	defer s.unlock()
	ci := s.calls[uuid]
	if ci == nil || ci.cbDeferred == nil {
		return
	}
	cmd := *ci.cbDeferred
	ci.cbDeferred = nil
	s.cbDeferred.Add(-1)
	if s.eng.CallbackPlacing(uuid) {
		s.pending = append(s.pending, cmd)
	}
}

// failCallbackLater reports a callback attempt failed once mu is released
// (the core is handling decisions now).
func (s *Service) failCallbackLater(uuid string, agentFault bool) {
	s.pending = append(s.pending, hostCmd{done: func(string, error) {
		s.lock()
		defer s.unlock()
		if s.eng.CallbackPlacing(uuid) {
			_ = s.eng.CallbackFailed(uuid, agentFault)
		}
	}})
}

// callbackOriginated is the originate's answer. A failure is the caller's
// (caller first) or the agent's (agent first). Success needs nothing: the
// callback leg's session (caller first) or its answer (agent first) says
// the callback connected.
func (s *Service) callbackOriginated(uuid string, attempt int, agentFirst bool, err error) {
	s.lock()
	defer s.unlock()
	ci := s.calls[uuid]
	if err == nil || ci == nil || ci.cbAttempt != attempt {
		return
	}
	s.setCBLeg(ci, "")
	if !s.eng.CallbackPlacing(uuid) {
		return
	}
	s.log.Info("callback attempt failed", "call", uuid, "agent_first", agentFirst, "err", err)
	if err := s.eng.CallbackFailed(uuid, agentFirst); err != nil {
		s.log.Debug("callback failure ignored", "call", uuid, "err", err)
	}
}

// callbackEnter is the caller-first callback leg entering nwayacd as the
// call itself: the call goes on, the reserved agent is offered.
func (s *Service) callbackEnter(c session.Call, ci *callInfo) session.Directive {
	st, err := s.eng.CallbackConnected(c.UUID, "")
	if err != nil {
		return s.errorDirective(err)
	}
	ci.left = false
	s.book.Back(c.UUID)
	s.dropCallback(c.UUID)
	return s.directive(c.UUID, ci, st)
}

// callbackAnswered: a channel answered; for an agent-first callback whose
// caller leg it is, caller and agent are now bridged.
func (s *Service) callbackAnswered(uuid string) {
	if s.agentFirst.Load() <= 0 {
		return
	}
	s.lock()
	defer s.unlock()
	ci := s.calls[uuid]
	if ci == nil || ci.cbLeg == "" || !s.eng.CallbackPlacing(uuid) {
		return
	}
	leg := ci.cbLeg
	s.setCBLeg(ci, "")
	if _, err := s.eng.CallbackConnected(uuid, leg); err != nil {
		s.log.Debug("callback answer ignored", "call", uuid, "err", err)
		return
	}
	ci.cbBridged = true
	ci.left = false
	s.book.Back(uuid)
	s.dropCallback(uuid)
}

// callbackBridgeGone: the caller leg of a connected agent-first callback
// ended (legFacts, mu held, before its facts): the call is over.
func (s *Service) callbackBridgeGone(uuid string, ci *callInfo) {
	ci.cbBridged = false
	_ = s.eng.BridgeEnded(uuid)
	s.eng.Leave(uuid)
	s.handle(s.eng.Decisions())
	ci.left = true
	s.book.Left(uuid, s.clock.Now())
}

// callbackAttemptGone: the caller leg of an agent-first attempt ended
// unanswered (legFacts, mu held, after its facts): the agent answered
// (else the originate fails first), the caller did not.
func (s *Service) callbackAttemptGone(uuid string, ci *callInfo) {
	s.setCBLeg(ci, "")
	if s.eng.CallbackPlacing(uuid) {
		_ = s.eng.CallbackFailed(uuid, false)
		s.handle(s.eng.Decisions())
	}
}

// setCBLeg names (or, with "", forgets) the agent leg of ci's agent-first
// attempt; s.agentFirst counts the named ones, so that channel events skip
// the lock while there are none.
func (s *Service) setCBLeg(ci *callInfo, leg string) {
	switch {
	case ci.cbLeg == "" && leg != "":
		s.agentFirst.Add(1)
	case ci.cbLeg != "" && leg == "":
		s.agentFirst.Add(-1)
	}
	ci.cbLeg = leg
}

// recentSet remembers the last recentCap uuids added (a ring): bounded
// whatever the traffic.
type recentSet struct {
	set  map[string]struct{}
	ring []string
	next int
}

const recentCap = 1024

func (r *recentSet) add(u string) {
	if r.set == nil {
		r.set, r.ring = make(map[string]struct{}, recentCap), make([]string, recentCap)
	}
	if old := r.ring[r.next]; old != "" {
		delete(r.set, old)
	}
	r.ring[r.next] = u
	r.next = (r.next + 1) % recentCap
	r.set[u] = struct{}{}
}

func (r *recentSet) has(u string) bool {
	_, ok := r.set[u]
	return ok
}
