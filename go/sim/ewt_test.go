package sim

import (
	"math"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
)

// TestEWTError measures the estimated wait against the realised one: each
// call that queues is asked its position and EWT as it starts waiting; its
// realised wait runs until an agent answers it. Abandoned calls are left
// out (their wait is censored). The test asserts that the estimate is
// informative — its mean absolute error is well below that of always
// guessing the mean wait — and logs the figures.
func TestEWTError(t *testing.T) {
	cfg := Config{
		Seed:           11,
		Groups:         []GroupSpec{{Number: "300", Mode: acd.ModeLongestIdle, Agents: 20}},
		CallsPerSecond: 0.28, // about 97% of what 20 agents handle: queues form and drain
		MaxCalls:       4000,
		Callers:        5000,
		VIPRate:        0.1,
		AnswerRate:     0.9,
		AnswerDelay:    [2]time.Duration{time.Second, 6 * time.Second},
		TalkTime:       [2]time.Duration{20 * time.Second, 100 * time.Second},
		Patience:       [2]time.Duration{}, // callers wait as long as it takes
	}
	type est struct {
		at    time.Time
		ewt   time.Duration
		vip   bool
		known bool
	}
	var b *engineBoard
	asked := map[string]est{}
	var errs, waits [2][]float64 // [0] normal, [1] vip
	var bias float64             // sum of estimate − realised
	cfg.Trace = func(r Record) {
		switch r.What {
		case "directive":
			if r.Info != "wait" || b == nil {
				return
			}
			if _, seen := asked[r.UUID]; seen {
				return
			}
			pos, ewt, known, ok := b.e.Position(r.UUID)
			if !ok || pos == 0 {
				return
			}
			var vip bool
			for _, w := range b.e.Waiting() {
				if w.UUID == r.UUID {
					vip = w.Level == acd.LevelVIP
				}
			}
			asked[r.UUID] = est{at: r.At, ewt: ewt, vip: vip, known: known}
		case "answer":
			e, ok := asked[r.UUID]
			if !ok || !e.known {
				return
			}
			delete(asked, r.UUID)
			real := r.At.Sub(e.at).Seconds()
			k := 0
			if e.vip {
				k = 1
			}
			errs[k] = append(errs[k], math.Abs(e.ewt.Seconds()-real))
			bias += e.ewt.Seconds() - real
			waits[k] = append(waits[k], real)
		}
	}
	s, board := build(t, cfg, acd.Config{WrapUp: 5 * time.Second, NoAnswerLimit: -1, Seed: 3})
	b = board
	if err := s.Run(24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	mean := func(xs []float64) float64 {
		var sum float64
		for _, x := range xs {
			sum += x
		}
		return sum / float64(max(len(xs), 1))
	}
	all := append(append([]float64(nil), waits[0]...), waits[1]...)
	allErr := append(append([]float64(nil), errs[0]...), errs[1]...)
	mw := mean(all)
	var naive float64 // always guessing the mean realised wait
	for _, w := range all {
		naive += math.Abs(w - mw)
	}
	naive /= float64(max(len(all), 1))
	mae := mean(allErr)
	t.Logf("EWT over %d answered queued calls (%d VIP): MAE %.1f s (normal %.1f s, VIP %.1f s), mean error %+.1f s; mean realised wait %.1f s (normal %.1f s, VIP %.1f s); guessing the mean: MAE %.1f s",
		len(all), len(waits[1]), mae, mean(errs[0]), mean(errs[1]), bias/float64(max(len(all), 1)), mw, mean(waits[0]), mean(waits[1]), naive)
	if len(all) < 500 {
		t.Fatalf("only %d queued calls measured: the load is too light to test", len(all))
	}
	if mae >= 0.3*naive {
		t.Fatalf("EWT MAE %.1f s is no better than guessing the mean (%.1f s)", mae, naive)
	}
}
