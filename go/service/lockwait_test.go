package service

import (
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
)

// A caller that has to wait for the service's lock is counted, with how
// long; one that does not is not.
func TestLockWaitsAreCounted(t *testing.T) {
	s, _, _, _ := newTest(t)
	s.lockWait = lockWaits{}
	if _, err := s.Extension("1011"); err != nil {
		t.Fatal(err)
	}
	if v := s.lockWait.view(); v["contended"] != uint64(0) {
		t.Fatalf("uncontended calls counted: %v", v)
	}
	s.mu.Lock()
	started, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		close(started)
		if _, err := s.Extension("1011"); err != nil {
			t.Error(err)
		}
	}()
	<-started
	time.Sleep(30 * time.Millisecond) // the holder, starved
	s.mu.Unlock()
	<-done
	v := s.Status().Extra["service_lock_waits"].(map[string]any)
	if v["contended"] != uint64(1) || v["over_1ms"] != uint64(1) || v["over_10ms"] != uint64(1) || v["over_100ms"] != uint64(0) {
		t.Fatalf("after one 30 ms wait: %v", v)
	}
	if ms := v["longest_ms"].(float64); ms < 29 || ms > 1000 {
		t.Fatalf("longest %v ms, want ~30", ms)
	}
}

// A long hold is counted and named by the function that held the lock.
func TestLockHoldsAreNamed(t *testing.T) {
	s, _, _, _ := newTest(t)
	s.lockWait = lockWaits{} // the set-up's holds do not count here
	s.lock()
	time.Sleep(15 * time.Millisecond)
	s.release()
	v := s.Status().Extra["service_lock_waits"].(map[string]any)
	if v["held_over_10ms"] != uint64(1) || v["held_over_100ms"] != uint64(0) {
		t.Fatalf("after one 15 ms hold: %v", v)
	}
	if by := v["longest_hold_by"]; by != "service.TestLockHoldsAreNamed" {
		t.Fatalf("longest hold by %v", by)
	}
	if ms := v["longest_hold_ms"].(float64); ms < 14 || ms > 1000 {
		t.Fatalf("longest hold %v ms", ms)
	}
}

// A hold through locked() (the admin operations) is named by its caller.
func TestLockHoldThroughLockedIsNamedByItsCaller(t *testing.T) {
	s, _, _, _ := newTest(t)
	s.lockWait = lockWaits{}
	if err := s.locked(func(*acd.Engine) error { time.Sleep(15 * time.Millisecond); return nil }); err != nil {
		t.Fatal(err)
	}
	v := s.Status().Extra["service_lock_waits"].(map[string]any)
	if by := v["longest_hold_by"]; by != "service.TestLockHoldThroughLockedIsNamedByItsCaller" {
		t.Fatalf("longest hold by %v", by)
	}
}

// The service's lock excludes under contention: many callers, some of them
// waiting in it past the uncontended path, each get it in turn.
func TestLockExcludesUnderContention(t *testing.T) {
	s, _, _, _ := newTest(t)
	const workers, rounds = 8, 2000
	n, inside := 0, 0
	done := make(chan struct{})
	for range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range rounds {
				s.lock()
				inside++
				if inside != 1 {
					t.Errorf("%d callers inside the lock", inside)
				}
				n++
				if i%100 == 0 {
					time.Sleep(200 * time.Microsecond) // the others wait
				}
				inside--
				s.release()
			}
		}()
	}
	for range workers {
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			t.Fatal("a caller never got the lock")
		}
	}
	if n != workers*rounds {
		t.Fatalf("%d increments, want %d", n, workers*rounds)
	}
}
