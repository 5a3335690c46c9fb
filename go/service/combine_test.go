package service

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/session"
)

// queued waits until n bodies are queued behind a combiner.
func queued(t *testing.T, s *Service, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.comb.mu.Lock()
		q, running := len(s.comb.queue), s.comb.running
		s.comb.mu.Unlock()
		if running && q == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("queued %d (combiner %v), want %d", q, running, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// combineBehindHolder makes n callers of s.combine find the lock held (the
// test holds it): the first becomes the combiner, the rest queue. It
// returns when all n wait, with each caller's answer (body(i) ran with the
// lock) and the most bodies that ran at once, valid after wg.Wait.
func combineBehindHolder(t *testing.T, s *Service, n int, body func(i int) int) (wg *sync.WaitGroup, got []int, most *int) {
	t.Helper()
	wg, got, most = &sync.WaitGroup{}, make([]int, n), new(int)
	inside := 0
	first := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i > 0 {
				<-first
			}
			s.combine(func() {
				inside++ // the lock is what guards these
				*most = max(*most, inside)
				got[i] = body(i)
				inside--
			})
		}()
		if i == 0 {
			queued(t, s, 0) // the first is the combiner, waiting for the lock
			close(first)
		}
	}
	queued(t, s, n-1)
	return wg, got, most
}

// Session calls that find the lock held wait for one acquisition, not one
// each: the first becomes the combiner and runs the others' bodies, each
// under the lock and each answered to its own caller.
func TestCombinedCallsWaitForOneLock(t *testing.T) {
	s, _, _, _ := newTest(t)
	s.lockWait = lockWaits{}
	const n = 16
	s.lock() // a holder the callers find
	wg, got, most := combineBehindHolder(t, s, n, func(i int) int { return i * i })
	s.unlock()
	wg.Wait()
	for i, v := range got {
		if v != i*i {
			t.Fatalf("caller %d got %d", i, v)
		}
	}
	if *most != 1 {
		t.Fatalf("%d bodies ran at once", *most)
	}
	if r := s.comb.ran.Load(); r != n-1 {
		t.Fatalf("%d bodies run by the combiner, want the %d queued", r, n-1)
	}
	if c := s.lockWait.contended.Load(); c != n {
		t.Fatalf("%d waits counted, want every caller's %d", c, n)
	}
	if s.comb.running || len(s.comb.queue) != 0 {
		t.Fatalf("combiner left running %v, queue %d", s.comb.running, len(s.comb.queue))
	}
	if !s.mu.TryLock() {
		t.Fatal("lock still held")
	}
	s.mu.Unlock()
}

// A combiner runs at most combineBatch queued bodies under one hold, then
// hands its role to the first thread still queued: the lock is let go
// between batches, and every caller still gets its own answer.
func TestCombinerHandsOverAfterABatch(t *testing.T) {
	s, _, _, _ := newTest(t)
	const n = 100
	s.lock()
	wg, got, most := combineBehindHolder(t, s, n, func(i int) int { return i + 1 })
	s.unlock()
	wg.Wait()
	for i, v := range got {
		if v != i+1 {
			t.Fatalf("caller %d got %d", i, v)
		}
	}
	if *most != 1 {
		t.Fatalf("%d bodies ran at once", *most)
	}
	// combiners: the first, then three promoted; each runs its own body and
	// up to a batch of others
	if r := s.comb.ran.Load(); r != 3*combineBatch {
		t.Fatalf("%d bodies run by combiners, want %d (a hand-over after each batch)", r, 3*combineBatch)
	}
	if s.comb.running || len(s.comb.queue) != 0 {
		t.Fatalf("combiner left running %v, queue %d", s.comb.running, len(s.comb.queue))
	}
}

// A body that panics on the combiner's thread panics its own caller only,
// and the lock and the queue carry on: a panic stays the session's, as
// when each took the lock itself.
func TestCombinedPanicReachesItsOwnCaller(t *testing.T) {
	for _, who := range []string{"combiner", "queued"} {
		t.Run(who, func(t *testing.T) {
			s, _, _, _ := newTest(t)
			s.lock()
			errs := make([]any, 3)
			ran := make([]bool, 3)
			var wg sync.WaitGroup
			call := func(i int) {
				defer wg.Done()
				defer func() { errs[i] = recover() }()
				s.combine(func() {
					ran[i] = true
					if (who == "combiner") == (i == 0) {
						panic(fmt.Sprint("boom ", i))
					}
				})
			}
			wg.Add(1)
			go call(0)
			queued(t, s, 0)
			wg.Add(2)
			go call(1)
			go call(2)
			queued(t, s, 2)
			s.unlock()
			wg.Wait()
			for i := range 3 {
				if !ran[i] {
					t.Fatalf("body %d never ran", i)
				}
				wantPanic := (who == "combiner") == (i == 0)
				if (errs[i] != nil) != wantPanic {
					t.Fatalf("caller %d: panic %v, want one: %v", i, errs[i], wantPanic)
				}
				if wantPanic && errs[i] != fmt.Sprint("boom ", i) {
					t.Fatalf("caller %d got another's panic: %v", i, errs[i])
				}
			}
			if !s.mu.TryLock() {
				t.Fatal("lock still held after a panic")
			}
			s.mu.Unlock()
			if s.comb.running {
				t.Fatal("combiner still marked running")
			}
			// and the service still answers
			if _, err := s.Extension("1011"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Many sessions at once through the real entry points: every call is
// entered and left exactly once, whichever thread ran its body. (Whether
// any body was combined depends on the scheduler; the two tests above
// force it.)
func TestCombinedSessionsUnderContention(t *testing.T) {
	s, _, _, _ := newTest(t)
	const workers, calls = 8, 50
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range calls {
				u := fmt.Sprintf("c-%d-%d", w, i)
				d := s.Enter(session.Call{Kind: session.Queue, UUID: u, Group: "120", CallerNumber: "138" + u, DestNumber: "9000"})
				if d.Action != session.Offer && d.Action != session.Wait {
					t.Errorf("%s entered with %v", u, d.Action)
				}
				if d2 := s.Enter(session.Call{Kind: session.Queue, UUID: u, Group: "120", CallerNumber: "1"}); vars(d2)["nwayacd_result"] != "error" {
					t.Errorf("%s entered twice: %v", u, d2.Action)
				}
				s.Leave(u)
			}
		}()
	}
	wg.Wait()
	s.lock()
	defer s.unlock()
	for u, ci := range s.calls {
		if !ci.left {
			t.Fatalf("call %s not left", u)
		}
	}
}
