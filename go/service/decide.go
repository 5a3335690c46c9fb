package service

import (
	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/cdr"
	"github.com/nwayacd/mod_nwayacd/go/event"
	"github.com/nwayacd/mod_nwayacd/go/publish"
	"github.com/nwayacd/mod_nwayacd/go/store"
)

// handle turns the core's decisions into effects. Called with mu held.
func (s *Service) handle(ds []acd.Decision) {
	if s.opt.Observer != nil && len(ds) > 0 {
		defer s.opt.Observer.Observe(ds)
	}
	defer s.closeHeld()
	for i := range ds {
		d := &ds[i]
		c := d.Call
		switch d.Kind {
		case acd.DAgent:
			s.publish(&event.Agent{Number: d.Ext, Status: d.Status, Time: s.stamp(d.At)})
			if s.opt.Journal != nil {
				s.opt.Journal.AppendAgentLog(store.AgentLog{Ext: d.Ext, Status: d.Status, At: d.At})
			}
		case acd.DQueueAdd, acd.DQueueRemove:
			if ci := s.calls[c.UUID]; ci != nil {
				ci.level = c.Level
			}
			m := event.QueueAdd
			if d.Kind == acd.DQueueRemove {
				m = event.QueueRemove
			}
			s.publish(&event.Queue{Method: m, UUID: c.UUID, Number: c.Number, Group: c.Group, Level: string(c.Level), CallinTime: s.stamp(c.CallinTime)})
		case acd.DOverflow, acd.DExit, acd.DFull:
			s.queueDecision(d)
		case acd.DCallbackScheduled:
			s.queueDecision(d)
			s.callbackScheduled(c, d.Status)
		case acd.DCallbackPlaced:
			s.queueDecision(d)
			s.placeCallback(d)
		case acd.DOfferCallout, acd.DOfferNoAnswer, acd.DOfferAnswered, acd.DOfferHangup:
			s.offerEvent(d)
		case acd.DWake:
			s.wake(c.UUID)
		case acd.DKill:
			if c.AgentUUID != "" { // a leg the switch named is left to the offer's own timeout
				s.host("uuid_kill", c.AgentUUID+" ORIGINATOR_CANCEL")
			}
		case acd.DEnded:
			s.ended(d)
			if s.book.Held(c.UUID) { // a callback given up while nobody was on the line
				s.closing = append(s.closing, c.UUID)
			}
		case acd.DMemory:
			if s.opt.Journal != nil && c.Group != "" { // direct calls have no group to remember in
				s.opt.Journal.PutMemory(store.Memory{Caller: c.Number, Group: c.Group, Ext: d.Ext, LastTime: d.At})
			}
		case acd.DCursor:
			if s.opt.Journal != nil && c.Group != "" {
				s.opt.Journal.SetCurrentExt(c.Group, d.Ext)
			}
		}
		if s.pool != nil {
			s.poolDecision(ds, i)
		}
	}
}

var queueMethods = map[acd.DecisionKind]event.QueueMethod{acd.DOverflow: event.QueueOverflow,
	acd.DExit: event.QueueExit, acd.DFull: event.QueueFull, acd.DCallbackScheduled: event.QueueCallback,
	acd.DCallbackPlaced: event.QueueCallbackPlaced}

// queueDecision publishes issue 12's queue decisions in the queue_* family.
func (s *Service) queueDecision(d *acd.Decision) {
	c := d.Call
	q := &event.Queue{Method: queueMethods[d.Kind], UUID: c.UUID, Number: c.Number, Group: c.Group,
		Level: string(c.Level), CallinTime: s.stamp(c.CallinTime), Callback: c.Callback}
	switch d.Kind {
	case acd.DOverflow:
		q.ToGroup = d.Status
		if ci := s.calls[c.UUID]; ci != nil {
			ci.group = d.Status // the call's CDR and done step name the group that has it
		}
	case acd.DCallbackScheduled:
		if q.Callback == "" {
			q.Callback = d.Status
		}
	case acd.DCallbackPlaced:
		q.Extension, q.Order = d.Ext, d.Status
	}
	s.publish(q)
}

// offerEvent publishes an agent-facing message and keeps the CDR's offers.
// The party offered is c.Agent: the agent, or a callout's outside number;
// d.Ext is the desk told (for a callout, the phone dialling out).
func (s *Service) offerEvent(d *acd.Decision) {
	c := d.Call
	ci := s.calls[c.UUID]
	if ci != nil && c.Level != "" {
		ci.level = c.Level
	}
	var m event.OfferMethod
	switch d.Kind {
	case acd.DOfferCallout:
		m = event.OfferCallout
		if ci != nil {
			ci.rec.Offered(c.Agent, d.At)
			ci.offerAt = d.At
		}
	case acd.DOfferNoAnswer:
		m = event.OfferNoAnswer
		// A callout whose own phone hung up first is no fault of the party.
		if ci != nil && c.Result != acd.ResultAbandoned {
			ci.rec.NoAnswer(c.Agent, d.At)
		}
	case acd.DOfferAnswered:
		m = event.OfferAnswered
		if ci != nil {
			ci.agent = c.Agent
			ci.answerAt = d.At
			ci.rec.Answered(c.Agent, cdr.Leg{UUID: c.AgentUUID, DestinationNumber: c.Agent, Start: ci.offerAt, Answer: d.At})
		}
	case acd.DOfferHangup:
		m = event.OfferHangup
		if ci != nil && ci.agent == c.Agent {
			ci.rec.AgentLeg(c.Agent, cdr.Leg{End: d.At})
		}
	}
	group := c.Group
	if ci != nil && group == "" {
		group = ci.group
	}
	s.publish(&event.Offer{Method: m, UUID: c.UUID, Number: c.Number, Group: group, Extension: d.Ext,
		Level: string(c.Level), CallinTime: s.stamp(c.CallinTime), CTIIP: s.ctiIP(), Callback: c.Callback})
}

func (s *Service) ended(d *acd.Decision) {
	c := d.Call
	ci := s.calls[c.UUID]
	if ci == nil {
		return
	}
	ci.result = c.Result
	ci.waited = c.Waited
	switch c.Result {
	case acd.ResultBlacklisted:
		ci.rec.Blacklisted()
	case acd.ResultAbandoned:
		ci.rec.Abandoned()
	case acd.ResultGaveUp:
		ci.rec.GaveUp("")
	case acd.ResultTimeout:
		ci.rec.GaveUp(cdr.FlagTimeout)
	}
}

// publish sends m to the brokers and to live subscribers. Called with mu held
// or not; both sinks are non-blocking.
func (s *Service) publish(m publish.Message) {
	if s.opt.Publisher != nil {
		s.opt.Publisher.Publish(m)
	}
	s.live.Send(m)
}

// closeHeld writes the CDRs of callbacks that ended without anyone on the
// line (after the batch: the book's emit forgets their callInfo).
func (s *Service) closeHeld() {
	for i, u := range s.closing {
		s.closing[i] = ""
		if ci := s.calls[u]; ci != nil {
			s.setCBLeg(ci, "")
			if ci.cbDeferred != nil {
				ci.cbDeferred = nil
				s.cbDeferred.Add(-1)
			}
		}
		s.dropCallback(u)
		s.book.Close(u)
		s.cbGone.add(u)
	}
	s.closing = s.closing[:0]
}
