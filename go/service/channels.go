package service

import (
	"time"

	"github.com/nwayacd/mod_nwayacd/go/cdr"
	"github.com/nwayacd/mod_nwayacd/go/event"
	"github.com/nwayacd/mod_nwayacd/go/session"
)

type channel struct {
	owner string // the extension the channel belongs to, or "" (see track)
}

const maxChannelsPerOwner = 16

// PromptEvents are the kinds ChannelEvent acts on at once: a hang-up frees
// an agent for a waiting call, a key is a caller's answer to a prompt, and
// registrations are rare. The rest (create, progress, answer, bridge …) feed
// call events, CDRs and bookkeeping that may wait a publish linger, so the
// bridge may batch them (bridge.SetEventPacing).
var PromptEvents = []session.EventKind{session.ChannelHangup, session.ChannelDTMF,
	session.SIPRegister, session.SIPUnregister, session.SIPExpire}

// ChannelEvent takes one FreeSWITCH fact (from the bridge's own goroutine,
// never FreeSWITCH's event thread): registrations feed the core, channel
// events become call events (§7a) and CDR facts.
func (s *Service) ChannelEvent(ev *session.ChannelEvent) {
	s.eventsIn.Add(1)
	switch ev.Kind {
	case session.SIPRegister, session.SIPUnregister, session.SIPExpire:
		if ev.User == "" {
			return
		}
		// Phones register whether or not they are agents: unknown users are fine.
		_ = s.SetRegistered(ev.User, ev.Kind == session.SIPRegister)
		return
	}
	s.track(ev)
	if name, ok := callEventName(ev); ok {
		s.publish(&event.Call{Name: name, CallinNumber: ev.CallerNumber, DestNumber: ev.DestNumber, Domain: ev.Domain,
			DTMF: ev.DTMF, Gateway: ev.Gateway, OriginateNumber: ev.OrigCallerNumber, Direction: ev.Direction,
			AUUID: ev.UUID, BUUID: ev.OtherUUID, OriginationDestNumber: ev.OrigDestNumber})
		if ev.Kind == session.ChannelBridge {
			s.publish(&event.Call{Name: event.EventTalking, CallinNumber: ev.CallerNumber, DestNumber: ev.DestNumber, Domain: ev.Domain,
				Gateway: ev.Gateway, OriginateNumber: ev.OrigCallerNumber, Direction: ev.Direction,
				AUUID: ev.UUID, BUUID: ev.OtherUUID, OriginationDestNumber: ev.OrigDestNumber})
		}
	}
	switch ev.Kind {
	case session.ChannelDTMF:
		s.key(ev.UUID, ev.DTMF)
	case session.ChannelHangup:
		if ev.NwayCall != "" && ev.NwayCall != ev.UUID {
			s.unwatchLeg(ev.UUID)
			s.agentLegEnded(ev)
		}
	case session.ChannelHangupComplete:
		s.legFacts(ev)
	case session.ChannelBridge:
		s.bridged(ev.UUID, ev.OtherUUID)
		s.bridged(ev.OtherUUID, ev.UUID)

	case session.ChannelAnswer:
		s.callbackAnswered(ev.UUID) // an agent-first callback's caller leg
	case session.ChannelDestroy:
		s.callbackChannelGone(ev.UUID)
	}
}

// bridged notices a phone's own transfer: a call of ours bridged to a channel
// that belongs to another agent than the one the core has on it (an attended
// transfer joins the caller with the consultation call's far end). Our own
// offers and transfers bridge to the agent the core already names.
func (s *Service) bridged(callUUID, otherUUID string) {
	owner := s.channelOwner(otherUUID)
	if owner == "" {
		return
	}
	s.lock()
	defer s.unlock()
	if s.calls[callUUID] == nil || s.eng.AgentOf(callUUID) == owner {
		return
	}
	if _, err := s.eng.Extension(owner); err != nil {
		return // a phone that is no agent: the call is not ours to move
	}
	s.transferred(callUUID, owner, true)
}

// Transferring is the caller's channel leaving the application because
// FreeSWITCH transferred it (a phone's blind transfer, uuid_transfer) to
// dest. A transfer the service made itself is already known; otherwise the
// core holds the call instead of ending it, so that its agent and its one CDR
// follow it to wherever it goes. Call before Leave.
func (s *Service) Transferring(uuid, dest string) {
	s.combine(func() { s.transferringLocked(uuid, dest) })
}

// transferringLocked is Transferring with mu held.
func (s *Service) transferringLocked(uuid, dest string) {
	if s.calls[uuid] == nil || s.eng.InTransfer(uuid) {
		return
	}
	_, err := s.eng.Extension(dest)
	s.transferred(uuid, dest, err == nil)
}

// agentLegEnded frees the agent of a call whose answered leg just hung up,
// from the switch's first word of it rather than after the caller's session
// has left its bridge (tens of milliseconds later): a waiting call reaches
// the freed agent that much sooner. Transfers hang the agent's leg up with a
// *_TRANSFER cause; those stay with the session's own report.
func (s *Service) agentLegEnded(ev *session.ChannelEvent) {
	transfer := ev.HangupCause == "BLIND_TRANSFER" || ev.HangupCause == "ATTENDED_TRANSFER"
	s.lock()
	defer s.unlock()
	if s.calls[ev.NwayCall] == nil {
		return
	}
	s.eng.AgentLegEnded(ev.NwayCall, ev.UUID, transfer)
}

// channelOwner is the extension a live channel belongs to, or "".
func (s *Service) channelOwner(uuid string) string {
	s.chMu.Lock()
	defer s.chMu.Unlock()
	if ch := s.channels[uuid]; ch != nil {
		return ch.owner
	}
	return ""
}

// callEventName maps a FreeSWITCH event to SPEC §7a's numbering.
func callEventName(ev *session.ChannelEvent) (event.CallEventName, bool) {
	switch ev.Kind {
	case session.ChannelCreate:
		if ev.Direction == "outbound" {
			return event.EventCallout, true
		}
		return event.EventCallin, true
	case session.ChannelProgress:
		if ev.Direction == "outbound" {
			return event.EventAlert, true // the far phone rings
		}
		return event.EventRing, true // the caller hears ringback
	case session.ChannelProgressMedia:
		// Early media from the far end (ringback detected); on an inbound
		// leg it is only our own music or prompts going out.
		return event.EventDA, ev.Direction == "outbound"
	case session.ChannelAnswer:
		return event.EventAnswer, true
	case session.ChannelHangup:
		return event.EventHangup, true
	case session.ChannelDTMF:
		return event.EventDTMF, true
	case session.PlaybackStart:
		return event.EventPlayRing, true
	case session.PlaybackStop:
		return event.EventPlayStop, true
	case session.ChannelPark:
		return event.EventPark, true
	case session.ChannelUnpark:
		return event.EventUnpark, true
	case session.ChannelHold:
		return event.EventHold, true
	case session.ChannelUnhold:
		return event.EventUnhold, true
	case session.ChannelBridge:
		return event.EventBridged, true
	case session.ChannelDestroy:
		return event.EventDestroy, true
	}
	return 0, false
}

// track keeps the live channels and, for each, the extension it belongs to:
// the SIP user it authenticated as (a call from the phone itself) or was
// dialled as (user/1018), both vouched for by FreeSWITCH (session.ChannelEvent
// User). Caller and destination numbers do not count: the far end sets them.
func (s *Service) track(ev *session.ChannelEvent) {
	if ev.UUID == "" {
		return
	}
	s.chMu.Lock()
	defer s.chMu.Unlock()
	ch := s.channels[ev.UUID]
	switch {
	case ev.Kind == session.ChannelDestroy:
		if ch != nil {
			delete(s.channels, ev.UUID)
			s.disown(ev.UUID, ch.owner)
		}
		return
	case ch == nil && ev.Kind == session.ChannelCreate:
		if len(s.channels) >= 1<<20 {
			return // a leak elsewhere must not grow this without bound
		}
		ch = &channel{}
		s.channels[ev.UUID] = ch
	}
	// The user may be known only on a later event (a variable set after
	// the channel was created); once known, it does not change.
	if ch != nil && ch.owner == "" && ev.User != "" {
		ch.owner = ev.User
		l := append(s.byOwner[ch.owner], ev.UUID)
		if len(l) > maxChannelsPerOwner {
			l = l[len(l)-maxChannelsPerOwner:]
		}
		s.byOwner[ch.owner] = l
	}
}

func (s *Service) disown(uuid, owner string) {
	if owner == "" {
		return
	}
	l := s.byOwner[owner]
	for i, u := range l {
		if u == uuid {
			l = append(l[:i:i], l[i+1:]...)
			break
		}
	}
	if len(l) == 0 {
		delete(s.byOwner, owner)
	} else {
		s.byOwner[owner] = l
	}
}

// latestOwned is the newest live channel that belongs to ext (see track).
func (s *Service) latestOwned(ext string) string {
	s.chMu.Lock()
	defer s.chMu.Unlock()
	if l := s.byOwner[ext]; len(l) > 0 {
		return l[len(l)-1]
	}
	return ""
}

func (s *Service) channelKnown(uuid string) bool {
	s.chMu.Lock()
	defer s.chMu.Unlock()
	return s.channels[uuid] != nil
}

func usec(v int64) time.Time {
	if v <= 0 {
		return time.Time{}
	}
	return time.UnixMicro(v)
}

// legFacts merges FreeSWITCH's own stamps of a finished leg into the CDR of
// the call it belongs to; a caller leg completes the record.
func (s *Service) legFacts(ev *session.ChannelEvent) {
	s.lock()
	defer s.unlock()
	leg := cdr.Leg{UUID: ev.UUID, CallerIDNumber: ev.CallerNumber, DestinationNumber: ev.DestNumber,
		Start: usec(ev.StartUsec), Answer: usec(ev.AnswerUsec), End: usec(ev.EndUsec),
		HangupDisposition: ev.SIPHangupDisposition, RecordFile: ev.RecordFile}
	if ci := s.calls[ev.UUID]; ci != nil {
		s.eng.TransferEnded(ev.UUID) // a transferred call ends with its caller
		s.handle(s.eng.Decisions())
		if ci.cbBridged {
			s.callbackBridgeGone(ev.UUID, ci)
		}
	}
	if ci := s.calls[ev.UUID]; s.book.CallerLeg(leg) {
		if ci != nil && ci.cbLeg != "" {
			s.callbackAttemptGone(ev.UUID, ci) // after its facts: it may end the record
		}
		return
	}
	if ev.NwayCall != "" {
		if ci := s.calls[ev.NwayCall]; ci != nil && ci.agent != "" {
			leg.DestinationNumber = ci.agent
			ci.rec.AgentLeg(ci.agent, leg)
		}
	}
}
