package service

import (
	"strings"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/event"
	"github.com/nwayacd/mod_nwayacd/go/session"
)

// routingTest: group 110 in best-skill mode with agents 1000 (zh:3) and
// 1001 (zh:8); group 130 with nobody; options per test.
func routingTest(t *testing.T) (*Service, *host, *pub) {
	t.Helper()
	h, p := &host{}, &pub{}
	s := New(Options{Clock: &clock{t: t0}, Switch: h, Publisher: p, ManualTimers: true, SyncHost: true, Location: time.UTC})
	must(t, s.AddGroup("110", acd.ModeBestSkill))
	must(t, s.AddGroup("130", acd.ModeSequential))
	for _, x := range []struct {
		ext   string
		level int
	}{{"1000", 3}, {"1001", 8}} {
		must(t, s.AddExtension(x.ext, ""))
		must(t, s.SetRegistered(x.ext, true))
		must(t, s.Login(x.ext, []string{"110"}))
		must(t, s.SetSkill(x.ext, "zh", x.level))
	}
	return s, h, p
}

func queueMsgs(p *pub, method string) []string {
	var out []string
	for _, m := range p.redis(event.FamilyQueue) {
		if strings.Contains(m, `"method":"`+method+`"`) {
			out = append(out, m)
		}
	}
	return out
}

func TestCallSkillsFromChannel(t *testing.T) {
	s, _, _ := routingTest(t)
	d := s.Enter(session.Call{Kind: session.Queue, UUID: "sk1", Group: "110", CallerNumber: "139", Skills: "zh:5"})
	if d.Action != session.Offer || d.Agent != "1001" {
		t.Fatalf("zh:5 call: %v to %q, want an offer to 1001", d.Action, d.Agent)
	}
	// Bad input is ignored (the group's default: none), never fatal.
	d = s.Enter(session.Call{Kind: session.Queue, UUID: "sk2", Group: "110", CallerNumber: "139", Skills: "zh:99,,"})
	if d.Action != session.Offer || d.Agent != "1000" {
		t.Fatalf("bad skills: %v to %q, want an offer to the other idle agent", d.Action, d.Agent)
	}
}

func TestAnnouncePositionAndEWT(t *testing.T) {
	s, _, _ := routingTest(t)
	must(t, s.SetGroupOptions("130", func(o *acd.GroupOptions) { o.Announce = true }))
	s.Enter(session.Call{Kind: session.Queue, UUID: "a1", Group: "130", CallerNumber: "139"})
	d := s.Next("a1")
	for d.Action == session.Play {
		d = s.Next("a1")
	}
	d2 := s.Enter(session.Call{Kind: session.Queue, UUID: "a2", Group: "130", CallerNumber: "138"})
	for d2.Action == session.Play {
		d2 = s.Next("a2")
	}
	if d.Action != session.Wait || vars(d)["nwayacd_position"] != "1" || vars(d2)["nwayacd_position"] != "2" {
		t.Fatalf("wait steps %+v / %+v", d, d2)
	}
	if v, ok := vars(d2)["nwayacd_ewt"]; !ok || v != "" {
		t.Fatalf("no answers measured yet: nwayacd_ewt %q (set %v), want empty", v, ok)
	}
	// Without Announce a wait carries no such variables.
	must(t, s.SetGroupOptions("130", func(o *acd.GroupOptions) { o.Announce = false }))
	if d := s.Next("a2"); len(d.Vars) != 0 {
		t.Fatalf("no announce: vars %v", d.Vars)
	}
}

func TestExitKey(t *testing.T) {
	s, h, p := routingTest(t)
	must(t, s.SetGroupOptions("130", func(o *acd.GroupOptions) { o.ExitKey = "#" }))
	d := s.Enter(session.Call{Kind: session.Queue, UUID: "x1", Group: "130", CallerNumber: "139"})
	for d.Action == session.Play {
		d = s.Next("x1")
	}
	if d.Action != session.Wait {
		t.Fatalf("want a wait, got %+v", d)
	}
	h.take()
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelDTMF, UUID: "x1", DTMF: "5"}) // not the key
	if got := h.take(); len(got) != 0 {
		t.Fatalf("another digit woke the session: %q", got)
	}
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelDTMF, UUID: "x1", DTMF: "#"})
	if got := h.take(); len(got) != 1 || got[0] != "uuid_break x1 all" {
		t.Fatalf("exit key: host commands %q, want the session woken", got)
	}
	d = s.Next("x1")
	if d.Action != session.Done || vars(d)["nwayacd_result"] != "exit" {
		t.Fatalf("after the exit key: %+v", d)
	}
	if m := queueMsgs(p, "nway_queue_exit"); len(m) != 1 || !strings.Contains(m[0], `"group":"130"`) {
		t.Fatalf("queue_exit messages %q", m)
	}
}

func TestFullQueue(t *testing.T) {
	s, _, p := routingTest(t)
	must(t, s.SetGroupOptions("130", func(o *acd.GroupOptions) { o.MaxWaiting = 1 }))
	s.Enter(session.Call{Kind: session.Queue, UUID: "f1", Group: "130", CallerNumber: "139"})
	d := s.Enter(session.Call{Kind: session.Queue, UUID: "f2", Group: "130", CallerNumber: "138"})
	for d.Action == session.Play {
		d = s.Next("f2")
	}
	if d.Action != session.Hangup || d.Cause != "USER_BUSY" || vars(d)["nwayacd_result"] != "full" {
		t.Fatalf("full queue: %+v", d)
	}
	if m := queueMsgs(p, "nway_queue_full"); len(m) != 1 || !strings.Contains(m[0], `"uuid":"f2"`) {
		t.Fatalf("queue_full messages %q", m)
	}
}

func TestOverflowPublished(t *testing.T) {
	s, _, p := routingTest(t)
	must(t, s.AddGroup("140", acd.ModeSequential))
	must(t, s.SetGroupOptions("130", func(o *acd.GroupOptions) { o.OverflowGroup, o.OverflowWaiting = "140", 1 }))
	s.Enter(session.Call{Kind: session.Queue, UUID: "o1", Group: "130", CallerNumber: "139"})
	s.Enter(session.Call{Kind: session.Queue, UUID: "o2", Group: "130", CallerNumber: "138"})
	m := queueMsgs(p, "nway_queue_overflow")
	if len(m) != 1 || !strings.Contains(m[0], `"uuid":"o2"`) || !strings.Contains(m[0], `"group":"130"`) ||
		!strings.Contains(m[0], `"to_group":"140"`) {
		t.Fatalf("queue_overflow messages %q", m)
	}
}

// ring_wait reaches the session as the wait's RingMS (the shim leaves the
// caller ringing that long after its channel came up); 0 answers at once.
func TestRingWaitDirective(t *testing.T) {
	s, _, _ := routingTest(t)
	must(t, s.SetGroupOptions("130", func(o *acd.GroupOptions) { o.RingWait = 20 * time.Second }))
	d := s.Enter(session.Call{Kind: session.Queue, UUID: "r1", Group: "130", CallerNumber: "139"})
	if d.Action != session.Wait || d.RingMS != 20000 {
		t.Fatalf("ring_wait 20: %+v", d)
	}
	must(t, s.SetGroupOptions("130", func(o *acd.GroupOptions) { o.RingWait = 0 }))
	if d = s.Next("r1"); d.Action != session.Wait || d.RingMS != 0 {
		t.Fatalf("ring_wait 0: %+v", d)
	}
	if err := s.SetGroupOptions("130", func(o *acd.GroupOptions) { o.RingWait = -time.Second }); err == nil {
		t.Fatal("a negative ring_wait was taken")
	}
}
