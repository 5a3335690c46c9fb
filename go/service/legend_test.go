package service

import (
	"errors"
	"testing"
	"time"

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
	oneAnsweredCDR(t, p, "c1", "1011")
}

// oneAnsweredCDR: call has exactly one CDR, answered by agent.
func oneAnsweredCDR(t *testing.T, p *pub, call, agent string) {
	t.Helper()
	n := 0
	for _, r := range p.cdrs() {
		if r.UUID == call {
			n++
			if r.Flag != "正常接听" || r.DestinationNumber != agent {
				t.Fatalf("cdr %+v", r)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d CDRs for %s", n, call)
	}
}

// offerHost is a switch that starts offers itself (bridge.Host does, through the shim).
type offerHost struct {
	host
	offers []string // uuid + " " + dial
	fail   bool
}

func (h *offerHost) Offer(uuid string, d session.Directive) error {
	if d.Action != session.Offer {
		return errors.New("not an offer")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.offers = append(h.offers, uuid+" "+d.Dial)
	if h.fail {
		return errors.New("declined")
	}
	return nil
}

// An agent freeing up starts the waiting caller's offer at once through the
// switch; the woken session's Next gets the same offer, legs and all, so it
// takes that one over instead of ringing the agent again.
func TestEarlyOfferOnWake(t *testing.T) {
	for _, tc := range []struct {
		name      string
		noEarly   bool
		fail      bool
		wantEarly bool
	}{{"early", false, false, true}, {"declined", false, true, true}, {"off", true, false, false}} {
		t.Run(tc.name, func(t *testing.T) {
			h := &offerHost{fail: tc.fail}
			s := New(Options{Clock: &clock{t: t0}, Switch: h, Publisher: &pub{}, ManualTimers: true, SyncHost: true,
				Location: time.UTC, NoEarlyOffer: tc.noEarly, Core: acd.Config{WrapUp: -1}})
			must(t, s.AddGroup("120", acd.ModeSequential))
			must(t, s.AddExtension("1011", "J1011"))
			must(t, s.SetRegistered("1011", true))
			must(t, s.Login("1011", []string{"120"}))
			must(t, s.SetBusy("1011"))
			if d := s.Enter(session.Call{Kind: session.Queue, UUID: "c1", Group: "120", CallerNumber: "138"}); d.Action != session.Wait {
				t.Fatalf("enter %+v", d)
			}
			if len(h.offers) != 0 {
				t.Fatalf("an offer before any agent was free: %q", h.offers)
			}
			must(t, s.SetReady("1011"))
			d := s.Next("c1")
			if d.Action != session.Offer || d.Agent != "1011" {
				t.Fatalf("the woken session's next step: %+v", d)
			}
			switch {
			case !tc.wantEarly && len(h.offers) != 0:
				t.Fatalf("early offer with NoEarlyOffer: %q", h.offers)
			case tc.wantEarly && (len(h.offers) != 1 || h.offers[0] != "c1 "+d.Dial):
				t.Fatalf("early offers %q, the session's offer dials %q", h.offers, d.Dial)
			}
			if d2 := s.Next("c1"); d2.Dial != d.Dial {
				t.Fatalf("a second Next names other legs: %q then %q", d.Dial, d2.Dial)
			}
			// The session is woken either way: it takes the offer over.
			if got := h.take(); len(got) != 1 || got[0] != "uuid_break c1 all" {
				t.Fatalf("commands %q, want the wake (uuid_break without a Waker)", got)
			}
		})
	}
}
