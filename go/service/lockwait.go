package service

import (
	"sync/atomic"
	"time"
)

// lockWaits counts how long callers waited for the service's lock. The
// uncontended path (TryLock) costs nothing extra. Past saturation a holder
// on one of Go's normal threads gets only what the switch's realtime
// threads leave, while switch threads calling in (sessions, the event
// reader) queue behind it: this is where that shows (status).
type lockWaits struct {
	contended atomic.Uint64
	over      [3]atomic.Uint64 // ≥ 1 ms, ≥ 10 ms, ≥ 100 ms
	longest   atomic.Int64     // ns
}

var lockWaitSteps = [3]time.Duration{time.Millisecond, 10 * time.Millisecond, 100 * time.Millisecond}

func (w *lockWaits) note(d time.Duration) {
	w.contended.Add(1)
	for i, step := range lockWaitSteps {
		if d >= step {
			w.over[i].Add(1)
		}
	}
	for {
		cur := w.longest.Load()
		if int64(d) <= cur || w.longest.CompareAndSwap(cur, int64(d)) {
			return
		}
	}
}

// view is the counts as status shows them.
func (w *lockWaits) view() map[string]any {
	return map[string]any{
		"contended":  w.contended.Load(),
		"over_1ms":   w.over[0].Load(),
		"over_10ms":  w.over[1].Load(),
		"over_100ms": w.over[2].Load(),
		"longest_ms": float64(w.longest.Load()/1e3) / 1e3,
	}
}

// lock takes s.mu, counting a wait for it (real time, whatever the
// service's clock).
func (s *Service) lock() {
	if s.mu.TryLock() {
		return
	}
	t0 := time.Now()
	s.mu.Lock()
	s.lockWait.note(time.Since(t0))
}
