package sim

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/session"
)

func build(t testing.TB, cfg Config, ac acd.Config) (*Sim, *engineBoard) {
	t.Helper()
	s := New(cfg)
	b := newEngineBoard(ac, s.Clock(), s)
	if err := s.Attach(b); err != nil {
		t.Fatal(err)
	}
	return s, b
}

func checkConserved(t *testing.T, st Stats) {
	t.Helper()
	if sum := st.Answered + st.Abandoned + st.GaveUp + st.Blacklisted + st.InProgress; sum != st.Arrived {
		t.Errorf("answered+abandoned+gave_up+blacklisted+in_progress = %d, arrived %d: %+v", sum, st.Arrived, st)
	}
	if st.Finished+st.InProgress != st.Arrived {
		t.Errorf("finished %d + in progress %d != arrived %d", st.Finished, st.InProgress, st.Arrived)
	}
}

func mixedConfig(seed uint64) Config {
	return Config{
		Seed: seed,
		Groups: []GroupSpec{
			{Number: "110", Mode: acd.ModeMemoryCyclic, Agents: 6, Weight: 2},
			{Number: "120", Mode: acd.ModeRandom, Agents: 3},
			{Number: "130", Mode: acd.ModeSequential, Agents: 2},
		},
		CallsPerSecond: 0.25,
		MaxCalls:       3000,
		Callers:        100,
		VIPRate:        0.1,
		AnswerRate:     0.7,
		AnswerDelay:    [2]time.Duration{time.Second, 20 * time.Second},
		TalkTime:       [2]time.Duration{10 * time.Second, 90 * time.Second},
		Patience:       [2]time.Duration{20 * time.Second, 240 * time.Second},
		BreakEvery:     20 * time.Minute,
		BreakLength:    [2]time.Duration{time.Minute, 5 * time.Minute},
	}
}

var mixedACD = acd.Config{WrapUp: 15 * time.Second, NoAnswerLimit: 3, DefaultGiveUp: acd.GiveUp{MaxWait: 150 * time.Second}, Seed: 7}

// TestConservation: every arriving call finishes exactly once, in exactly
// one category, and the core holds nothing afterwards; along the way no
// agent ever rings or talks two calls at once.
func TestConservation(t *testing.T) {
	cfg := mixedConfig(1)
	busy := map[string]string{}  // ext → caller ringing or talking it
	holds := map[string]string{} // caller → ext
	left := map[string]int{}
	var violations int
	release := func(uuid string) {
		if ext, ok := holds[uuid]; ok {
			delete(busy, ext)
			delete(holds, uuid)
		}
	}
	cfg.Trace = func(r Record) {
		switch r.What {
		case "offer":
			if other := busy[r.Agent]; other != "" && r.Agent != "" {
				violations++
				return
			}
			if r.Agent != "" && r.Agent[0] == '1' {
				busy[r.Agent], holds[r.UUID] = r.UUID, r.Agent
			}
		case "noanswer", "cancel", "failed", "talkend":
			release(r.UUID)
		case "leave":
			release(r.UUID)
			left[r.UUID]++
		}
	}
	s, b := build(t, cfg, mixedACD)
	// A blacklisted caller in group 110.
	if err := b.e.SetListed(acd.Blacklist, "110", s.number(7), true); err != nil {
		t.Fatal(err)
	}
	if !s.Drain(48 * time.Hour) {
		t.Fatalf("not drained: %+v", s.Stats())
	}
	st := s.Stats()
	checkConserved(t, st)
	if st.Arrived != cfg.MaxCalls || st.Finished != cfg.MaxCalls || st.InProgress != 0 {
		t.Errorf("arrived %d finished %d in progress %d, want %d, %d, 0", st.Arrived, st.Finished, st.InProgress, cfg.MaxCalls, cfg.MaxCalls)
	}
	if len(left) != cfg.MaxCalls {
		t.Errorf("%d distinct calls left, want %d", len(left), cfg.MaxCalls)
	}
	for uuid, n := range left {
		if n != 1 {
			t.Errorf("call %s left %d times", uuid, n)
		}
	}
	t.Logf("%+v", st)
	if st.Answered == 0 || st.Abandoned == 0 || st.GaveUp == 0 || st.Blacklisted == 0 || st.NoAnswers == 0 || st.Canceled == 0 || st.Breaks == 0 {
		t.Errorf("a path was not exercised: %+v", st)
	}
	if st.Conflicts != 0 || violations != 0 {
		t.Errorf("an agent was offered two calls at once: conflicts %d, trace violations %d", st.Conflicts, violations)
	}
	if n := b.e.Counts(); n.Calls != 0 || n.Waiting != 0 {
		t.Errorf("core still holds %d calls, %d waiting", n.Calls, n.Waiting)
	}
	for _, x := range b.e.Extensions() {
		if x.CallUUID != "" {
			t.Errorf("extension %s still has call %s", x.Extension, x.CallUUID)
		}
	}
}

// doubleBooker offers every call to the same extension: the sim must see it.
type doubleBooker struct{ *engineBoard }

func (d doubleBooker) Enter(c session.Call) session.Directive {
	d.engineBoard.Enter(c)
	return session.Directive{Action: session.Offer, Agent: "10000", Dial: "user/10000", TimeoutMS: 30000}
}

func (d doubleBooker) Next(string) session.Directive {
	return session.Directive{Action: session.Hangup, Cause: "NORMAL_CLEARING"}
}

func TestConflictDetected(t *testing.T) {
	s := New(Config{Groups: []GroupSpec{{Number: "1", Agents: 1}}, AnswerRate: 1, AnswerDelay: [2]time.Duration{5 * time.Second, 5 * time.Second}, TalkTime: [2]time.Duration{time.Minute, time.Minute}})
	if err := s.Attach(doubleBooker{newEngineBoard(acd.Config{}, s.Clock(), s)}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.Place("1", "", false); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Run(time.Second); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.Conflicts != 1 || st.NoAnswers != 1 || st.GaveUp != 1 {
		t.Errorf("want 1 conflict refused busy and the call hung up: %+v", st)
	}
}

// unknownAgent offers every call to an extension the switch does not have.
type unknownAgent struct{ *engineBoard }

func (u unknownAgent) Enter(c session.Call) session.Directive {
	u.engineBoard.Enter(c)
	return session.Directive{Action: session.Offer, Agent: "77777", Dial: "user/77777", TimeoutMS: 30000}
}

func (u unknownAgent) Next(string) session.Directive {
	return session.Directive{Action: session.Done}
}

func TestUnknownAgentFails(t *testing.T) {
	s := New(Config{Groups: []GroupSpec{{Number: "1", Agents: 1}}, AnswerRate: 1})
	if err := s.Attach(unknownAgent{newEngineBoard(acd.Config{}, s.Clock(), s)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Place("1", "555", false); err != nil {
		t.Fatal(err)
	}
	mustRun(t, s, time.Second)
	if st := s.Stats(); st.Failed != 1 || st.Offered != 1 || st.GaveUp != 1 || st.Conflicts != 0 {
		t.Errorf("want one failed offer and the call ended by the board: %+v", st)
	}
}

// TestAllAnswered: agents that always answer at once and are never short:
// no call waits at all.
func TestAllAnswered(t *testing.T) {
	s, _ := build(t, Config{
		Seed:           3,
		Groups:         []GroupSpec{{Number: "200", Mode: acd.ModeMemoryCyclic, Agents: 120}},
		CallsPerSecond: 1,
		MaxCalls:       2000,
		AnswerRate:     1,
		TalkTime:       [2]time.Duration{30 * time.Second, 60 * time.Second},
		Patience:       [2]time.Duration{5 * time.Second, 10 * time.Second},
	}, acd.Config{WrapUp: 10 * time.Second})
	if !s.Drain(24 * time.Hour) {
		t.Fatalf("not drained: %+v", s.Stats())
	}
	st := s.Stats()
	checkConserved(t, st)
	if st.Answered != 2000 || st.MaxWait != 0 || st.TotalWait != 0 || st.NoAnswers != 0 || st.Offered != 2000 {
		t.Errorf("want 2000 answered with no wait and one offer each: %+v", st)
	}
}

// TestNoAgents: nobody to answer, so every caller waits out its patience.
func TestNoAgents(t *testing.T) {
	s, _ := build(t, Config{
		Seed:           4,
		Groups:         []GroupSpec{{Number: "300", Agents: 0}},
		CallsPerSecond: 0.5,
		MaxCalls:       500,
		Patience:       [2]time.Duration{10 * time.Second, 20 * time.Second},
	}, acd.Config{})
	if !s.Drain(24 * time.Hour) {
		t.Fatalf("not drained: %+v", s.Stats())
	}
	st := s.Stats()
	checkConserved(t, st)
	if st.Abandoned != 500 || st.Offered != 0 {
		t.Errorf("want 500 abandoned, no offers: %+v", st)
	}
	if st.MaxWait > 20*time.Second || st.TotalWait < 500*10*time.Second {
		t.Errorf("waits outside the patience range: max %v total %v", st.MaxWait, st.TotalWait)
	}
}

// TestBusyRingGiveUp: Wait with Loops plays the busy ring for its length;
// a welcome Play lasts PlayLength.
func TestBusyRingGiveUp(t *testing.T) {
	s, b := build(t, Config{
		Seed:           5,
		Groups:         []GroupSpec{{Number: "400"}},
		CallsPerSecond: 0.1,
		MaxCalls:       50,
		BusyRingLength: 7 * time.Second,
		PlayLength:     2 * time.Second,
	}, acd.Config{})
	err := b.e.UpdateGroup("400", func(g *acd.GroupSpec) {
		g.Rings.Busy, g.Rings.Welcome = "busy.wav", "welcome.wav"
		g.GiveUp = &acd.GiveUp{BusyRingTimes: 3}
	})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Drain(24 * time.Hour) {
		t.Fatalf("not drained: %+v", s.Stats())
	}
	st := s.Stats()
	const each = 2*time.Second + 3*7*time.Second
	if st.GaveUp != 50 || st.MaxWait != each || st.TotalWait != 50*each {
		t.Errorf("want 50 gave up after %v each: %+v", each, st)
	}
}

func TestDeterminism(t *testing.T) {
	run := func(seed uint64) (Stats, uint64) {
		cfg := mixedConfig(seed)
		cfg.MaxCalls = 800
		s, _ := build(t, cfg, mixedACD)
		s.Drain(48 * time.Hour)
		return s.Stats(), s.TraceHash()
	}
	s1, h1 := run(11)
	s2, h2 := run(11)
	if s1 != s2 || h1 != h2 {
		t.Errorf("same seed differs:\n%+v %x\n%+v %x", s1, h1, s2, h2)
	}
	s3, h3 := run(12)
	if h3 == h1 || s3 == s1 {
		t.Errorf("another seed gave the same run: %x", h3)
	}
}

// TestAPI: uuid_break wakes a waiting caller, uuid_kill hangs up a caller
// or ends a ringing agent leg, anything else is recorded.
func TestAPI(t *testing.T) {
	var legs, callers []string
	s := New(Config{
		Groups: []GroupSpec{{Number: "500", Agents: 1}, {Number: "600"}},
		Trace: func(r Record) {
			switch r.What {
			case "offer":
				legs = append(legs, r.Leg)
			case "arrive":
				callers = append(callers, r.UUID)
			}
		},
	})
	b := newEngineBoard(acd.Config{NoAnswerLimit: -1}, s.Clock(), s)
	if err := s.Attach(b); err != nil {
		t.Fatal(err)
	}
	// A caller waiting forever in 600 (no agents) is woken, and asks again.
	if err := s.Place("600", "123", false); err != nil {
		t.Fatal(err)
	}
	mustRun(t, s, time.Second)
	if _, err := s.API("uuid_break", callers[0]+" all"); err != nil {
		t.Fatal(err)
	}
	_, _ = s.API("uuid_break", "no-such-uuid")
	mustRun(t, s, time.Second)
	if st := s.Stats(); st.Wakes != 1 || st.InProgress != 1 {
		t.Errorf("want one wake, the call still waiting: %+v", st)
	}
	// Killing it hangs the caller up.
	_, _ = s.API("uuid_kill", callers[0])
	mustRun(t, s, time.Second)
	if st := s.Stats(); st.Kills != 1 || st.Abandoned != 1 || st.InProgress != 0 {
		t.Errorf("want the killed caller abandoned: %+v", st)
	}
	// A ringing leg killed: the offer ends NoAnswer; the core offers again.
	if err := s.Place("500", "124", false); err != nil {
		t.Fatal(err)
	}
	mustRun(t, s, time.Second)
	if len(legs) != 1 {
		t.Fatalf("want one offer, got legs %v", legs)
	}
	_, _ = s.API("uuid_kill", legs[0])
	mustRun(t, s, time.Second)
	st := s.Stats()
	if st.Kills != 2 || st.NoAnswers != 1 || st.Offered != 2 || st.InProgress != 1 {
		t.Errorf("want the leg killed and the call offered again: %+v", st)
	}
	if x, _ := b.e.Extension("10000"); x.CallState != acd.CallRing {
		t.Errorf("agent state %s, want ring", x.CallState)
	}
	if r, err := s.API("uuid_setvar", "x y z"); r != "+OK" || err != nil {
		t.Errorf("uuid_setvar: %q %v", r, err)
	}
	if log, n := s.APICalls(); len(log) != 1 || log[0].Cmd != "uuid_setvar" || log[0].Args != "x y z" || n["uuid_setvar"] != 1 {
		t.Errorf("recorded %v %v", log, n)
	}
	if _, err := s.API("uuid_kill", " "); err == nil {
		t.Error("uuid_kill without a uuid accepted")
	}
}

func mustRun(t *testing.T, s *Sim, d time.Duration) {
	t.Helper()
	if err := s.Run(d); err != nil {
		t.Fatal(err)
	}
}

func TestAttachErrors(t *testing.T) {
	s := New(Config{})
	if err := s.Attach(newEngineBoard(acd.Config{}, s.Clock(), s)); !errors.Is(err, ErrConfig) {
		t.Errorf("no groups: %v", err)
	}
	s = New(Config{Groups: []GroupSpec{{Number: "1"}}, Patience: [2]time.Duration{time.Minute, time.Second}})
	if err := s.Attach(newEngineBoard(acd.Config{}, s.Clock(), s)); !errors.Is(err, ErrConfig) {
		t.Errorf("inverted range: %v", err)
	}
	s = New(Config{Groups: []GroupSpec{{Number: "bad group"}}})
	if err := s.Attach(newEngineBoard(acd.Config{}, s.Clock(), s)); acd.CodeOf(err) != acd.ErrBadArgument {
		t.Errorf("board error not passed on: %v", err)
	}
	s = New(Config{Groups: []GroupSpec{{Number: "1"}}})
	if err := s.Run(time.Second); !errors.Is(err, ErrNotAttached) {
		t.Errorf("run before attach: %v", err)
	}
	b := newEngineBoard(acd.Config{}, s.Clock(), s)
	if err := s.Attach(b); err != nil {
		t.Fatal(err)
	}
	if err := s.Attach(b); !errors.Is(err, ErrAttached) {
		t.Errorf("second attach: %v", err)
	}
	if err := s.Place("2", "", false); !errors.Is(err, ErrUnknownGroup) {
		t.Errorf("place in unknown group: %v", err)
	}
}

// TestRealtime: the clock follows wall time and the loop stops with ctx;
// API calls from another goroutine are safe (run with -race).
func TestRealtime(t *testing.T) {
	s, _ := build(t, Config{
		Seed: 9, Groups: []GroupSpec{{Number: "700", Agents: 5}}, CallsPerSecond: 2,
		AnswerRate: 1, AnswerDelay: [2]time.Duration{time.Second, 2 * time.Second}, TalkTime: [2]time.Duration{5 * time.Second, 10 * time.Second},
	}, acd.Config{WrapUp: time.Second})
	start := s.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.RunRealtime(ctx, 200) }()
	for i := 0; i < 20; i++ {
		_, _ = s.API("uuid_break", "sim-c1")
		_ = s.Stats()
		_ = s.Clock().Now()
		time.Sleep(2 * time.Millisecond)
	}
	if err := <-done; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("RunRealtime returned %v", err)
	}
	if !s.Now().After(start) {
		t.Error("virtual clock did not move")
	}
	checkConserved(t, s.Stats())
	if err := s.RunRealtime(context.Background(), 0); err == nil {
		t.Error("speed 0 accepted")
	}
}

func TestOriginationUUID(t *testing.T) {
	for dial, want := range map[string]string{
		"{nwayacd_call=x,origination_uuid=abc}user/1": "abc",
		"{origination_uuid=abc}user/1":                "abc",
		"[origination_uuid=q]sofia/x":                 "q",
		"user/1":                                      "",
		"{xorigination_uuid=abc}user/1":               "",
	} {
		if got := originationUUID(dial); got != want {
			t.Errorf("%q: %q, want %q", dial, got, want)
		}
	}
}
