package service

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/event"
	"github.com/nwayacd/mod_nwayacd/go/session"
)

func ringAllTest(t *testing.T) (*Service, *host, *pub) {
	t.Helper()
	h, p := &host{}, &pub{}
	s := New(Options{Clock: &clock{t: t0}, Switch: h, Publisher: p, ManualTimers: true, SyncHost: true, Location: time.UTC})
	must(t, s.AddGroup("150", acd.ModeRingAll))
	for _, ext := range []string{"1000", "1001", "1002"} {
		must(t, s.AddExtension(ext, ""))
		must(t, s.SetRegistered(ext, true))
		must(t, s.Login(ext, []string{"150"}))
	}
	// An agent's own dial string with {vars}: they become its leg's [vars].
	must(t, s.SetDialString("1002", "{ignore_early_media=true}sofia/internal/1002@10.0.0.2"))
	return s, h, p
}

var legRE = regexp.MustCompile(`\[origination_uuid=([0-9a-f-]{36}),nwayacd_agent=(\d+)[^\]]*\]`)

// TestRingAllOneOriginate: a ring-all step is one originate ringing every
// idle member at once; the leg that answers names the winner, the others are
// released without a no-answer.
func TestRingAllOneOriginate(t *testing.T) {
	s, _, p := ringAllTest(t)
	d := s.Enter(session.Call{Kind: session.Queue, UUID: "ra1", Group: "150", CallerNumber: "13900000000"})
	for d.Action == session.Play {
		d = s.Next("ra1")
	}
	if d.Action != session.Offer {
		t.Fatalf("want an offer, got %+v", d)
	}
	common := "{nwayacd_call=ra1,nwayacd_group=150,origination_caller_id_number=13900000000,origination_caller_id_name=13900000000,originate_timeout="
	if !strings.HasPrefix(d.Dial, common) || !strings.Contains(d.Dial, ",local_var_clobber=true}[origination_uuid=") {
		t.Fatalf("dial %q", d.Dial)
	}
	if strings.Count(d.Dial, "{") != 1 || strings.Contains(d.Dial[1:], "{") {
		t.Fatalf("only the first block may be {}: %q", d.Dial)
	}
	t.Log(d.Dial)
	legs := legRE.FindAllStringSubmatch(d.Dial, -1)
	if len(legs) != 3 || legs[0][2] != d.Agent {
		t.Fatalf("legs %q in %q (primary %s)", legs, d.Dial, d.Agent)
	}
	byAgent := map[string]string{}
	for _, l := range legs {
		byAgent[l[2]] = l[1]
	}
	if len(byAgent) != 3 || !strings.Contains(d.Dial, "nwayacd_agent=1002,ignore_early_media=true]sofia/internal/1002@10.0.0.2") ||
		!strings.Contains(d.Dial, "]user/1000") {
		t.Fatalf("per-leg blocks: %q", d.Dial)
	}
	// Every leg rings: three agents are in ring state.
	for _, ext := range []string{"1000", "1001", "1002"} {
		if x, _ := s.Extension(ext); x.CallState != acd.CallRing {
			t.Fatalf("%s is %s, want ring", ext, x.CallState)
		}
	}
	// The session reports the primary with the answering leg's uuid.
	winner := "1001"
	if d.Agent == winner {
		winner = "1002"
	}
	s.OfferResult(session.OfferResult{UUID: "ra1", Agent: d.Agent, AgentUUID: byAgent[winner], Outcome: session.Answered, Cause: "SUCCESS"})
	for _, ext := range []string{"1000", "1001", "1002"} {
		x, _ := s.Extension(ext)
		want := acd.CallReady
		if ext == winner {
			want = acd.CallTalking
		}
		if x.CallState != want {
			t.Fatalf("after %s answered: %s is %s, want %s", winner, ext, x.CallState, want)
		}
	}
	var answered, noanswer []string
	for _, m := range p.redis(event.FamilyEvent) {
		if strings.Contains(m, `"method":"answered"`) {
			answered = append(answered, m)
		}
		if strings.Contains(m, `"method":"noanswer"`) {
			noanswer = append(noanswer, m)
		}
	}
	if len(answered) != 1 || !strings.Contains(answered[0], `"extension":"`+winner+`"`) || len(noanswer) != 0 {
		t.Fatalf("answered %q, noanswer %q", answered, noanswer)
	}
	s.BridgeEnded("ra1")
	s.Leave("ra1")
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelHangupComplete, UUID: "ra1", CallerNumber: "13900000000",
		DestNumber: "150", StartUsec: t0.UnixMicro(), AnswerUsec: t0.UnixMicro(), EndUsec: t0.Add(time.Minute).UnixMicro()})
	// The CDR counts the losers as no no-answer either (FreeSWITCH 1.10.12
	// with sipp: the loser's 487 came out as 无应答后接听 naming it).
	cdrs := p.cdrs()
	if len(cdrs) != 1 {
		t.Fatalf("%d CDRs, want 1", len(cdrs))
	}
	if c := cdrs[0]; c.DestinationNumber != winner || c.StrNoAnswerAgents != "" || c.Flag != "正常接听" {
		t.Fatalf("CDR %+v", *c)
	}
}

// A ring-all offer nobody answers counts a no-answer for each agent rung.
func TestRingAllNobodyAnswers(t *testing.T) {
	s, _, p := ringAllTest(t)
	d := s.Enter(session.Call{Kind: session.Queue, UUID: "ra2", Group: "150", CallerNumber: "139"})
	for d.Action == session.Play {
		d = s.Next("ra2")
	}
	s.OfferResult(session.OfferResult{UUID: "ra2", Agent: d.Agent, Outcome: session.NoAnswer, Cause: "NO_ANSWER"})
	n := 0
	for _, m := range p.redis(event.FamilyEvent) {
		if strings.Contains(m, `"method":"noanswer"`) {
			n++
		}
	}
	if n != 3 {
		t.Fatalf("%d noanswer messages, want 3", n)
	}
}

func BenchmarkRingAllDial(b *testing.B) {
	s := New(Options{ManualTimers: true, SyncHost: true})
	ring := make([]acd.RingLeg, 10)
	for i := range ring {
		ring[i] = acd.RingLeg{Agent: "10" + string(rune('0'+i)), Leg: "574be549-69d7-46c4-a6eb-8f97505c4ede"}
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		s.ringAllDial("3f1c2d4e-0000-4000-8000-000000000001", "110", "13900000000", 15, ring)
	}
}
