package service

import (
	"fmt"
	"net/netip"
	"regexp"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/hep"
	"github.com/nwayacd/mod_nwayacd/go/session"
)

var (
	capFS    = netip.MustParseAddrPort("127.0.0.1:5060")
	capAgent = netip.MustParseAddrPort("127.0.0.1:5090")
)

func sipMsg(first, callID string) []byte {
	return fmt.Appendf(nil, "%s\r\nVia: SIP/2.0/UDP x;branch=z9hG4bK1\r\nCall-ID: %s\r\nCSeq: 1 X\r\nContent-Length: 0\r\n\r\n", first, callID)
}

// earlyByeCall: 1011 answers c1 (its leg returned), c2 waits for it.
func earlyByeCall(t *testing.T) (*Service, *host, *pub, string) {
	t.Helper()
	h, p := &host{}, &pub{}
	s := New(Options{Clock: &clock{t: t0}, Switch: h, Publisher: p, ManualTimers: true, SyncHost: true,
		Location: time.UTC, SIPCapture: true, Core: acd.Config{WrapUp: -1}})
	must(t, s.AddGroup("120", acd.ModeSequential))
	must(t, s.AddExtension("1011", "J1011"))
	must(t, s.SetRegistered("1011", true))
	must(t, s.Login("1011", []string{"120"}))
	d := s.Enter(session.Call{Kind: session.Queue, UUID: "c1", Group: "120", CallerNumber: "138"})
	m := regexp.MustCompile(`origination_uuid=([^,}]+),sip_invite_call_id=([^,}]+),`).FindStringSubmatch(d.Dial)
	if d.Action != session.Offer || m == nil || m[1] != m[2] {
		t.Fatalf("offer %+v: the leg's Call-ID is not its uuid", d)
	}
	leg := m[1]
	s.OfferResult(session.OfferResult{UUID: "c1", Agent: "1011", AgentUUID: leg, Outcome: session.Answered})
	if d := s.Enter(session.Call{Kind: session.Queue, UUID: "c2", Group: "120", CallerNumber: "139"}); d.Action != session.Wait {
		t.Fatalf("second caller %+v", d)
	}
	h.take()
	return s, h, p, leg
}

// The agent's BYE, as the switch's capture mirrors it on arrival, ends the
// bridge at once: the waiting caller is woken for the freed agent. The leg's
// own CHANNEL_HANGUP after it changes nothing, and the call keeps one CDR.
// Nothing else in the capture does anything.
func TestEarlyByeFreesAgentOnArrival(t *testing.T) {
	s, h, p, leg := earlyByeCall(t)
	talking := func(when string) {
		t.Helper()
		if x, _ := s.Extension("1011"); x.CallState != acd.CallTalking {
			t.Fatalf("%s: 1011 is %s", when, x.CallState)
		}
		if got := h.take(); len(got) != 0 {
			t.Fatalf("%s: commands %q", when, got)
		}
	}
	// Before the switch's INVITE is seen, its side of the dialog is unknown.
	s.Capture(hep.Encode(capAgent, capFS, sipMsg("BYE sip:x SIP/2.0", leg)))
	talking("a BYE before the INVITE")
	s.Capture(hep.Encode(capFS, capAgent, sipMsg("INVITE sip:1011@x SIP/2.0", leg)))
	for _, c := range []struct {
		what string
		pkt  []byte
	}{
		{"the switch's own BYE to the agent", hep.Encode(capFS, capAgent, sipMsg("BYE sip:x SIP/2.0", leg))},
		{"a BYE of another dialog", hep.Encode(capAgent, capFS, sipMsg("BYE sip:x SIP/2.0", "other-call-id"))},
		{"a 200 OK", hep.Encode(capAgent, capFS, sipMsg("SIP/2.0 200 OK", leg))},
		{"a re-INVITE", hep.Encode(capAgent, capFS, sipMsg("INVITE sip:x SIP/2.0", leg))},
		{"not HEP", []byte("BYE sip:x SIP/2.0\r\nCall-ID: " + leg + "\r\n\r\n")},
		{"a cut packet", hep.Encode(capAgent, capFS, sipMsg("BYE sip:x SIP/2.0", leg))[:40]},
	} {
		s.Capture(c.pkt)
		talking(c.what)
	}
	if _, _, bad := s.EarlyByes(); bad != 2 {
		t.Fatalf("%d bad packets counted, want 2", bad)
	}

	s.Capture(hep.Encode(capAgent, capFS, sipMsg("BYE sip:1000@x SIP/2.0", leg)))
	if got := h.take(); len(got) != 1 || got[0] != "uuid_break c2 all" {
		t.Fatalf("the agent's BYE did not wake the waiting caller: %q", got)
	}
	if n, _, _ := s.EarlyByes(); n != 1 {
		t.Fatalf("early byes %d", n)
	}
	if d := s.Next("c2"); d.Action != session.Offer || d.Agent != "1011" {
		t.Fatalf("second caller after the BYE: %+v", d)
	}
	// The switch's own report of the same hang-up, and a BYE retransmitted.
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelHangup, UUID: leg, NwayCall: "c1", HangupCause: "NORMAL_CLEARING"})
	s.Capture(hep.Encode(capAgent, capFS, sipMsg("BYE sip:1000@x SIP/2.0", leg)))
	if got := h.take(); len(got) != 0 {
		t.Fatalf("commands after the leg's own hang-up: %q", got)
	}
	if x, _ := s.Extension("1011"); x.CallState != acd.CallRing || x.CallUUID != "c2" {
		t.Fatalf("1011: %+v", x)
	}
	s.BridgeEnded("c1")
	s.Leave("c1")
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelHangupComplete, UUID: "c1", CallerNumber: "138", DestNumber: "120"})
	oneAnsweredCDR(t, p, "c1", "1011")
	if s.bye.legs[leg] != nil {
		t.Fatal("the ended leg is still followed")
	}
}

// A phone that transfers its caller (REFER) and then hangs up has not ended
// the call: the session reports the transfer.
func TestEarlyByeNotAfterRefer(t *testing.T) {
	s, h, _, leg := earlyByeCall(t)
	s.Capture(hep.Encode(capFS, capAgent, sipMsg("INVITE sip:1011@x SIP/2.0", leg)))
	s.Capture(hep.Encode(capAgent, capFS, sipMsg("REFER sip:1000@x SIP/2.0", leg)))
	s.Capture(hep.Encode(capAgent, capFS, sipMsg("BYE sip:1000@x SIP/2.0", leg)))
	if got := h.take(); len(got) != 0 {
		t.Fatalf("commands %q", got)
	}
	if x, _ := s.Extension("1011"); x.CallState != acd.CallTalking {
		t.Fatalf("1011 is %s after a REFER and a BYE", x.CallState)
	}
}

// Without SIPCapture the dial string is as before and nothing is followed.
func TestEarlyByeOff(t *testing.T) {
	s, h, _, _ := newTest(t)
	d := s.Enter(session.Call{Kind: session.Queue, UUID: "c1", Group: "120", CallerNumber: "138"})
	if d.Action != session.Offer || regexp.MustCompile(`sip_invite_call_id`).MatchString(d.Dial) || len(s.bye.legs) != 0 {
		t.Fatalf("offer %+v, %d legs followed", d, len(s.bye.legs))
	}
	h.take()
}
