package service

import (
	"testing"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/session"
)

// The answered agent leg's CHANNEL_HANGUP ends the bridge: the waiting
// caller is woken then, not after the first caller's session has left its
// bridge; that session's own reports change nothing and the call keeps one
// CDR.
func TestAgentLegHangupFreesAgentAtOnce(t *testing.T) {
	s, h, p, _ := newTest(t)
	must(t, s.SetBusy("1018"))
	s.eng.SetPolicies(acd.Config{WrapUp: -1}) // none
	d := s.Enter(session.Call{Kind: session.Queue, UUID: "c1", Group: "120", CallerNumber: "138"})
	if d.Action != session.Offer || d.Agent != "1011" {
		t.Fatalf("offer %+v", d)
	}
	s.OfferResult(session.OfferResult{UUID: "c1", Agent: "1011", AgentUUID: "leg1", Outcome: session.Answered})
	if d := s.Enter(session.Call{Kind: session.Queue, UUID: "c2", Group: "120", CallerNumber: "139"}); d.Action != session.Wait {
		t.Fatalf("second caller %+v", d)
	}
	h.take()

	// Hang-ups of a transfer, of another leg, or of the caller are left to the session.
	for _, ev := range []session.ChannelEvent{
		{Kind: session.ChannelHangup, UUID: "leg1", NwayCall: "c1", HangupCause: "BLIND_TRANSFER"},
		{Kind: session.ChannelHangup, UUID: "leg1", NwayCall: "c1", HangupCause: "ATTENDED_TRANSFER"},
		{Kind: session.ChannelHangup, UUID: "leg7", NwayCall: "c1", HangupCause: "NORMAL_CLEARING"},
		{Kind: session.ChannelHangup, UUID: "c1", NwayCall: "c1", HangupCause: "NORMAL_CLEARING"},
	} {
		s.ChannelEvent(&ev)
		if x, _ := s.Extension("1011"); x.CallState != acd.CallTalking {
			t.Fatalf("after %+v 1011 is %s", ev, x.CallState)
		}
	}
	if got := h.take(); len(got) != 0 {
		t.Fatalf("commands %q", got)
	}

	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelHangup, UUID: "leg1", NwayCall: "c1", HangupCause: "NORMAL_CLEARING"})
	if got := h.take(); len(got) != 1 || got[0] != "uuid_break c2 all" {
		t.Fatalf("the waiting caller is not woken by the agent leg's hang-up: %q", got)
	}
	if d := s.Next("c2"); d.Action != session.Offer || d.Agent != "1011" {
		t.Fatalf("second caller after the wake: %+v", d)
	}

	s.BridgeEnded("c1")
	if d := s.Next("c1"); vars(d)["nwayacd_result"] != "answered" || vars(d)["nwayacd_agent"] != "1011" {
		t.Fatalf("first caller's done %+v", d)
	}
	s.Leave("c1")
	if x, _ := s.Extension("1011"); x.CallState != acd.CallRing || x.CallUUID != "c2" {
		t.Fatalf("1011 after the first caller left: %+v", x)
	}
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelHangupComplete, UUID: "c1", CallerNumber: "138", DestNumber: "120"})
	n := 0
	for _, r := range p.cdrs() {
		if r.UUID == "c1" {
			n++
			if r.Flag != "正常接听" || r.DestinationNumber != "1011" {
				t.Fatalf("cdr %+v", r)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d CDRs for c1", n)
	}
}
