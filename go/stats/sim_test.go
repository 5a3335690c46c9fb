package stats_test

import (
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/service"
	"github.com/nwayacd/mod_nwayacd/go/sim"
	"github.com/nwayacd/mod_nwayacd/go/stats"
)

// The figures agree with what the simulated callers experienced, through the
// real service and core.
func TestAgreesWithSimulation(t *testing.T) {
	s := sim.New(sim.Config{Seed: 11, Groups: []sim.GroupSpec{{Number: "110", Mode: acd.ModeMemoryCyclic, Agents: 6}, {Number: "120", Mode: acd.ModeSequential, Agents: 3}},
		CallsPerSecond: 0.3, AnswerRate: 0.8, AnswerDelay: [2]time.Duration{time.Second, 6 * time.Second},
		TalkTime: [2]time.Duration{10 * time.Second, 90 * time.Second}, Patience: [2]time.Duration{5 * time.Second, 120 * time.Second}})
	st := stats.New(stats.Config{Location: time.UTC, Now: s.Clock().Now})
	svc := service.New(service.Options{Clock: s.Clock(), Switch: s, ManualTimers: true, SyncHost: true, Observer: st,
		Core: acd.Config{WrapUp: 5 * time.Second, DefaultGiveUp: acd.GiveUp{MaxWait: 100 * time.Second}}})
	st.SetSource(svc)
	if err := s.Attach(svc); err != nil {
		t.Fatal(err)
	}
	if !s.RunCalls(400) || !s.Drain(time.Hour) {
		t.Fatal("simulation stalled")
	}
	want := s.Stats()
	var got stats.Window
	var sumWait float64
	for _, g := range st.Groups("") {
		w := g.Today
		got.Offered += w.Offered
		got.Answered += w.Answered
		got.Abandoned += w.Abandoned
		got.GaveUp += w.GaveUp + w.Timeout
		got.Blacklisted += w.Blacklisted
		got.Handled += w.Handled
		sumWait += w.ASA * float64(w.Answered)
		if g.Waiting != 0 {
			t.Errorf("group %s: %d still waiting after the drain", g.Group, g.Waiting)
		}
	}
	t.Logf("sim %+v", want)
	t.Logf("stats %+v", got)
	if got.Answered != int64(want.Answered) || got.Handled != int64(want.Answered) || got.Abandoned != int64(want.Abandoned) ||
		got.GaveUp != int64(want.GaveUp) || got.Offered != int64(want.Finished-want.Blacklisted) {
		t.Fatalf("stats disagree with the simulation:\nsim   %+v\nstats %+v", want, got)
	}
	var calls, noAnswers int64
	var talk float64
	for _, a := range st.Agents("") {
		calls += a.Today.Calls
		noAnswers += a.Today.NoAnswers
		talk += a.Today.TalkSeconds
		if a.Today.Occupancy < 0 || a.Today.Occupancy > 100 {
			t.Errorf("agent %s occupancy %v", a.Extension, a.Today.Occupancy)
		}
	}
	if calls != int64(want.Answered) {
		t.Fatalf("agents' calls %d, answered %d", calls, want.Answered)
	}
	if talk < 10*float64(want.Answered) {
		t.Fatalf("talk %v s for %d calls of at least 10 s", talk, want.Answered)
	}
}
