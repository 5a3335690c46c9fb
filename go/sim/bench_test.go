package sim

import (
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
)

// BenchmarkLifecycle: full call lifecycles (arrive → offer → answer → talk →
// hang up → wrap-up) through the core driven by the simulated switch.
func BenchmarkLifecycle(b *testing.B) {
	s, _ := build(b, Config{
		Seed:           1,
		Groups:         []GroupSpec{{Number: "100", Mode: acd.ModeMemoryCyclic, Agents: 200}},
		CallsPerSecond: 5,
		AnswerRate:     1,
		AnswerDelay:    [2]time.Duration{time.Second, 3 * time.Second},
		TalkTime:       [2]time.Duration{10 * time.Second, 30 * time.Second},
	}, acd.Config{WrapUp: 5 * time.Second})
	if !s.RunCalls(20000) { // warm up: steady state, pools filled
		b.Fatal("stalled in warm-up")
	}
	b.ReportAllocs()
	b.ResetTimer()
	if !s.RunCalls(b.N) {
		b.Fatal("stalled")
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lifecycles/s")
	if st := s.Stats(); st.Answered != st.Finished || st.Conflicts != 0 {
		b.Fatalf("not every call answered cleanly: %+v", st)
	}
}
