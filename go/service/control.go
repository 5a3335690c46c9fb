package service

import (
	"github.com/nwayacd/mod_nwayacd/go/ident"
	"strings"

	"github.com/nwayacd/mod_nwayacd/go/acd"
)

// channelOf finds the channel an extension is on, among the channels that
// really belong to it: the agent leg the module originated for its current
// call, otherwise the newest channel of its own phone (authenticated as, or
// dialled as, that extension; see track). Never a channel found by caller ID:
// the far end sets that, and an outside caller calling as "1018" must not be
// hung up, held or overheard by hangup/1018.
func (s *Service) channelOf(ext string) (string, error) {
	if err := acd.ValidNumber("extension", ext); err != nil {
		return "", err
	}
	s.lock()
	x, err := s.eng.Extension(ext)
	if err == nil && x.AgentUUID == "" {
		x.AgentUUID = x.CallLeg
	}
	s.release()
	if err == nil && x.AgentUUID != "" && s.channelKnown(x.AgentUUID) {
		return x.AgentUUID, nil
	}
	if u := s.latestOwned(ext); u != "" {
		return u, nil
	}
	if err == nil && x.AgentUUID != "" {
		return x.AgentUUID, nil
	}
	return "", acd.Errorf(acd.ErrNoCall, "extension %s has no call", ext)
}

// knownChannel refuses a uuid FreeSWITCH never told us about, so that
// `nway_uuid_hold nope` answers -ERR instead of +OK for a command that can
// only fail. (A channel older than the module's load is unknown too.)
func (s *Service) knownChannel(uuid string) error {
	if err := validUUIDArg(uuid); err != nil {
		return err
	}
	s.lock()
	_, call := s.calls[uuid]
	s.release()
	if call || s.channelKnown(uuid) {
		return nil
	}
	return acd.Errorf(acd.ErrUnknownCall, "no channel %s", uuid)
}

func validUUIDArg(uuid string) error {
	if err := ident.UUID(uuid); err != nil {
		return acd.Errorf(acd.ErrBadArgument, "%v", err)
	}
	return nil
}

// run sends a call-control command and waits, for at most HostWait and never
// under the core's lock, for FreeSWITCH's answer: nil means it happened.
// Otherwise a *hostexec.Error says why (refused, timed out, queue full).
func (s *Service) run(cmd, args string) error {
	if s.opt.Switch == nil {
		return acd.Errorf(acd.ErrUnavailable, "no FreeSWITCH to run %s", cmd)
	}
	if s.opt.SyncHost {
		_, err := s.exec.Run(cmd, args)
		return err
	}
	if !s.exec.Running() {
		return acd.Errorf(acd.ErrUnavailable, "the module is not running")
	}
	_, err := s.exec.DoWithin(s.opt.HostWait, cmd, args)
	return err
}

// dialTo is how to reach a number: through a gateway when one is given,
// otherwise as an extension.
func (s *Service) dialTo(number, gateway string) (string, error) {
	if err := acd.ValidNumber("number", number); err != nil {
		return "", err
	}
	if gateway != "" {
		if err := acd.ValidNumber("gateway", gateway); err != nil {
			return "", err
		}
		return "sofia/gateway/" + gateway + "/" + number, nil
	}
	s.lock()
	x, err := s.eng.Extension(number)
	s.release()
	tmpl := s.opt.DialTemplate
	if err == nil && x.DialString != "" {
		tmpl = x.DialString
	}
	return strings.ReplaceAll(tmpl, "%s", number), nil
}

// Transfer moves the party ext is talking with to `to` (via gateway when set);
// ext's own leg is released by FreeSWITCH.
func (s *Service) transferExt(ext, to, gateway string) error {
	u, err := s.channelOf(ext)
	if err != nil {
		return err
	}
	return s.transfer(u, to, gateway)
}

// TransferUUID moves a call to `to` (nwayacd_transfer). The uuid clients know
// is the caller's (offer and queue events): that channel itself moves and its
// agent is released; any other channel's partner moves, as for an extension.
func (s *Service) transferUUID(uuid, to string) error {
	if err := s.knownChannel(uuid); err != nil {
		return err
	}
	s.lock()
	_, caller := s.calls[uuid]
	s.release()
	if caller {
		if err := acd.ValidNumber("number", to); err != nil {
			return err
		}
		s.noteTransfer(uuid, to, true)
		return s.run("uuid_transfer", uuid+" "+to+" XML "+s.opt.Context)
	}
	return s.transfer(uuid, to, "")
}

func (s *Service) transfer(uuid, to, gateway string) error {
	if err := acd.ValidNumber("number", to); err != nil {
		return err
	}
	if gateway != "" {
		if err := acd.ValidNumber("gateway", gateway); err != nil {
			return err
		}
		s.noteTransfer(uuid, to, false) // through a gateway: an outside party, whatever the number looks like
		return s.run("uuid_transfer", uuid+" -bleg 'bridge:sofia/gateway/"+gateway+"/"+to+"' inline")
	}
	s.noteTransfer(uuid, to, true)
	return s.run("uuid_transfer", uuid+" -bleg "+to+" XML "+s.opt.Context)
}

// noteTransfer tells the core that the call uuid belongs to moves to `to`
// (an agent when local and `to` is an extension). It comes before the
// command: the caller's session leaves the application as the transfer runs,
// and the core must by then hold the call instead of ending it.
func (s *Service) noteTransfer(uuid, to string, local bool) {
	s.lock()
	defer s.unlock()
	s.transferred(uuid, to, local)
}

// Answer makes a ringing phone answer (SIP NOTIFY talk, for phones that support it).
func (s *Service) Answer(ext string) error {
	u, err := s.channelOf(ext)
	if err != nil {
		return err
	}
	return s.run("uuid_phone_event", u+" talk")
}

// Hangup hangs up the extension's call.
func (s *Service) hangup(ext string) error {
	u, err := s.channelOf(ext)
	if err != nil {
		return err
	}
	return s.run("uuid_kill", u+" NORMAL_CLEARING")
}

// Hold puts the extension's call on hold: the other party hears music.
func (s *Service) hold(ext string) error {
	u, err := s.channelOf(ext)
	if err != nil {
		return err
	}
	return s.run("uuid_hold", u)
}

// Unhold takes the extension's call off hold.
func (s *Service) unhold(ext string) error {
	u, err := s.channelOf(ext)
	if err != nil {
		return err
	}
	return s.run("uuid_hold", "off "+u)
}

// HoldUUID holds a channel by uuid.
func (s *Service) holdUUID(uuid string) error {
	if err := s.knownChannel(uuid); err != nil {
		return err
	}
	return s.run("uuid_hold", uuid)
}

// UnholdUUID unholds a channel by uuid.
func (s *Service) unholdUUID(uuid string) error {
	if err := s.knownChannel(uuid); err != nil {
		return err
	}
	return s.run("uuid_hold", "off "+uuid)
}

// PhoneHold makes the phone itself go on hold (SIP NOTIFY hold to the device).
func (s *Service) PhoneHold(ext string) error {
	u, err := s.channelOf(ext)
	if err != nil {
		return err
	}
	return s.run("uuid_phone_event", u+" hold")
}

// PhoneUnhold makes the phone resume (SIP NOTIFY talk).
func (s *Service) PhoneUnhold(ext string) error {
	u, err := s.channelOf(ext)
	if err != nil {
		return err
	}
	return s.run("uuid_phone_event", u+" talk")
}

// Eavesdrop calls listener (via gateway when set) and lets it listen to target's call.
func (s *Service) Eavesdrop(target, listener, gateway string) error {
	u, err := s.channelOf(target)
	if err != nil {
		return err
	}
	dial, err := s.dialTo(listener, gateway)
	if err != nil {
		return err
	}
	// bgapi: originate waits until the listener answers, which must not hold
	// an executor that uuid_break/uuid_kill need. So +OK here means
	// FreeSWITCH took the job, not that the listener answered.
	return s.run("bgapi", "originate {origination_caller_id_number="+varSafe(target)+"}"+dial+" &eavesdrop("+u+")")
}

// ThreeWay calls invitee (via gateway when set) into the call inCall is in.
func (s *Service) ThreeWay(invitee, inCall, gateway string) error {
	u, err := s.channelOf(inCall)
	if err != nil {
		return err
	}
	dial, err := s.dialTo(invitee, gateway)
	if err != nil {
		return err
	}
	return s.run("bgapi", "originate {origination_caller_id_number="+varSafe(inCall)+"}"+dial+" &three_way("+u+")")
}

// ThreeWayUUID calls number (via gateway) into the call of channel uuid.
func (s *Service) ThreeWayUUID(uuid, number, gateway string) error {
	if err := s.knownChannel(uuid); err != nil {
		return err
	}
	dial, err := s.dialTo(number, gateway)
	if err != nil {
		return err
	}
	return s.run("bgapi", "originate "+dial+" &three_way("+uuid+")")
}
