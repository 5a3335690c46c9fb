package service

import (
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/sim"
)

// simService runs the service (core, directives, events, CDRs) against the
// simulated switch, exactly as the FreeSWITCH shim would drive it.
func simService(cfg sim.Config, p *pub) (*Service, *sim.Sim) {
	s := sim.New(cfg)
	opt := Options{Clock: s.Clock(), Switch: s, ManualTimers: true, SyncHost: true, Location: time.UTC,
		Core: acd.Config{WrapUp: 5 * time.Second, NoAnswerLimit: 3}}
	if p != nil {
		opt.Publisher = p
	}
	svc := New(opt)
	if err := s.Attach(svc); err != nil {
		panic(err)
	}
	return svc, s
}

func TestSimulatedTrafficThroughService(t *testing.T) {
	p := &pub{}
	cfg := sim.Config{Seed: 7, Groups: []sim.GroupSpec{{Number: "110", Mode: acd.ModeMemoryCyclic, Agents: 8}, {Number: "120", Mode: acd.ModeRandom, Agents: 4}},
		CallsPerSecond: 1.5, MaxCalls: 2000, Callers: 300, VIPRate: 0.1, AnswerRate: 0.8,
		AnswerDelay: [2]time.Duration{time.Second, 8 * time.Second}, TalkTime: [2]time.Duration{20 * time.Second, 120 * time.Second},
		Patience: [2]time.Duration{30 * time.Second, 300 * time.Second}}
	svc, s := simService(cfg, p)
	if !s.Drain(24 * time.Hour) {
		t.Fatalf("calls still in progress: %+v", s.Stats())
	}
	st := s.Stats()
	if st.Arrived != 2000 || st.Answered+st.Abandoned+st.GaveUp+st.Blacklisted != st.Arrived || st.Conflicts != 0 {
		t.Fatalf("stats %+v", st)
	}
	if st.Answered == 0 || st.Abandoned == 0 || st.NoAnswers == 0 {
		t.Fatalf("the traffic did not exercise answer, abandon and no-answer: %+v", st)
	}
	if n := len(p.cdrs()); n != st.Arrived {
		t.Fatalf("%d CDRs for %d calls", n, st.Arrived)
	}
	if c := svc.Status(); c.Calls != 0 || c.Waiting != 0 {
		t.Fatalf("service still holds calls: %+v", c)
	}
	seen := map[string]bool{}
	for _, c := range p.cdrs() {
		if seen[c.UUID] {
			t.Fatalf("two CDRs for %s", c.UUID)
		}
		seen[c.UUID] = true
	}
}

// BenchmarkServiceLifecycle: full call lifecycles through the service (core,
// directives, events built, CDR assembled) with the simulated switch, at
// about 50% agent occupancy (5 calls/s × 20 s talk on 200 agents).
func BenchmarkServiceLifecycle(b *testing.B) {
	cfg := sim.Config{Seed: 1, Groups: []sim.GroupSpec{{Number: "110", Mode: acd.ModeMemoryCyclic, Agents: 200}},
		CallsPerSecond: 5, AnswerRate: 1, AnswerDelay: [2]time.Duration{time.Second, 2 * time.Second},
		TalkTime: [2]time.Duration{10 * time.Second, 30 * time.Second}}
	_, s := simService(cfg, nil)
	b.ReportAllocs()
	b.ResetTimer()
	s.RunCalls(b.N)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lifecycles/s")
}
