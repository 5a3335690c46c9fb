package service

import (
	"runtime"
	"strings"
	"sync/atomic"
	"time"
)

// lockWaits counts how long callers waited for the service's lock, and how
// long holders kept it (status). The uncontended path is a TryLock. Past
// saturation the switch's threads calling in (sessions, the event reader)
// wait there: measured at 50 calls/s on 2 cores, waits up to 3.6 s while
// no hold passed 190 ms, so what is slow is a waiter getting the CPU back,
// not a holder.
type lockWaits struct {
	contended atomic.Uint64
	over      [3]atomic.Uint64 // ≥ 1 ms, ≥ 10 ms, ≥ 100 ms
	longest   atomic.Int64     // ns
	// Holds, as a waiter's other half: what held the lock that long.
	heldOver    [2]atomic.Uint64 // ≥ 10 ms, ≥ 100 ms (lockWaitSteps[1:])
	longestHold atomic.Int64     // ns
	longestAt   atomic.Pointer[string]
}

var lockWaitSteps = [3]time.Duration{time.Millisecond, 10 * time.Millisecond, 100 * time.Millisecond}

func (w *lockWaits) note(d time.Duration) {
	w.contended.Add(1)
	for i, step := range lockWaitSteps {
		if d >= step {
			w.over[i].Add(1)
		}
	}
	raise(&w.longest, int64(d))
}

// held notes a hold of d; the function that held the lock is looked up
// only for a new longest.
func (w *lockWaits) held(d time.Duration) {
	for i, step := range lockWaitSteps[1:] {
		if d >= step {
			w.heldOver[i].Add(1)
		}
	}
	if raise(&w.longestHold, int64(d)) {
		at := holder()
		w.longestAt.Store(&at)
	}
}

// raise stores v in a when v is larger than what a holds, and says whether it did.
func raise(a *atomic.Int64, v int64) bool {
	for {
		cur := a.Load()
		if v <= cur {
			return false
		}
		if a.CompareAndSwap(cur, v) {
			return true
		}
	}
}

// holder names the function that is letting the lock go: the first
// caller outside the lock's own plumbing.
func holder() string {
	pc := make([]uintptr, 8)
	frames := runtime.CallersFrames(pc[:runtime.Callers(3, pc)])
	for {
		f, more := frames.Next()
		name := f.Function
		if i := strings.LastIndexByte(name, '/'); i >= 0 {
			name = name[i+1:]
		}
		if !more || !strings.HasSuffix(name, ".release") && !strings.HasSuffix(name, ".unlock") &&
			!strings.HasSuffix(name, ".locked") && !strings.HasSuffix(name, ".runCombined") &&
			!strings.HasSuffix(name, ".combine") && !strings.HasSuffix(name, "svcLocker.Unlock") &&
			!strings.HasPrefix(name, "runtime.") {
			return name
		}
	}
}

func ms(ns int64) float64 { return float64(ns/1e3) / 1e3 }

// view is the counts as status shows them.
func (w *lockWaits) view() map[string]any {
	v := map[string]any{
		"contended":       w.contended.Load(),
		"over_1ms":        w.over[0].Load(),
		"over_10ms":       w.over[1].Load(),
		"over_100ms":      w.over[2].Load(),
		"longest_ms":      ms(w.longest.Load()),
		"held_over_10ms":  w.heldOver[0].Load(),
		"held_over_100ms": w.heldOver[1].Load(),
		"longest_hold_ms": ms(w.longestHold.Load()),
	}
	if at := w.longestAt.Load(); at != nil {
		v["longest_hold_by"] = *at
	}
	return v
}

// lock takes s.mu, counting a wait for it (real time, whatever the
// service's clock).
func (s *Service) lock() {
	if s.tryLock() {
		return
	}
	t0 := time.Now()
	s.mu.Lock()
	s.lockedAt = time.Now()
	s.lockWait.note(s.lockedAt.Sub(t0))
}

// tryLock takes s.mu if it is free.
func (s *Service) tryLock() bool {
	if !s.mu.TryLock() {
		return false
	}
	s.lockedAt = time.Now()
	return true
}

// release lets s.mu go, counting how long it was held.
func (s *Service) release() {
	s.lockWait.held(time.Since(s.lockedAt))
	s.mu.Unlock()
}

// svcLocker is s.mu as the CDR book's grace timers take it, counted.
type svcLocker struct{ s *Service }

func (l svcLocker) Lock()   { l.s.lock() }
func (l svcLocker) Unlock() { l.s.release() }
