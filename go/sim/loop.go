package sim

import (
	"context"
	"errors"
	"math"
	"time"
)

type evKind uint8

const (
	evArrival    evKind = iota + 1 // the next Poisson arrival
	evPlace                        // a call placed by Place
	evStepDone                     // a Wait or Play ended by itself
	evAnswer                       // the ringing agent answers
	evNoAnswer                     // the offer rang out
	evRefused                      // the agent was already on a call: busy
	evFailed                       // the offered extension does not exist
	evTalkEnd                      // the bridge ends
	evPatience                     // the caller gives up and hangs up
	evHangupDone                   // the Hangup file has played
	evWake                         // uuid_break
	evKill                         // uuid_kill
	evBreak                        // an agent goes on break
	evBack                         // an agent comes back
)

// event is one scheduled happening. gen ties it to the state of its caller
// (step or life generation) or agent at scheduling time: a stale event is
// dropped when the owner has moved on.
//
// Events hold no pointers, so the heap is not scanned by the GC and moving
// events costs no write barriers: callers and agents are referred to by index,
// and the strings of evPlace, evWake and evKill wait in a FIFO (they are all
// scheduled at now, so they pop in the order they were pushed).
type event struct {
	at   int64
	seq  uint64
	ref  int32  // the caller or agent index
	gen  uint32 // evPlace: the group index
	kind evKind
	vip  bool // evPlace
}

func (s *Sim) callerEvent(at int64, k evKind, c *caller, gen uint32) {
	s.push(event{at: at, kind: k, ref: c.idx, gen: gen})
}

func (s *Sim) agentEvent(at int64, k evKind, a *agentSim) {
	s.push(event{at: at, kind: k, ref: a.idx})
}

// strEvent schedules k at now with str waiting in the FIFO.
func (s *Sim) strEvent(k evKind, str string, gen uint32, vip bool) {
	s.strQ = append(s.strQ, str)
	s.push(event{at: s.now, kind: k, gen: gen, vip: vip})
}

func (s *Sim) popStr() string {
	str := s.strQ[s.strHead]
	s.strQ[s.strHead] = ""
	s.strHead++
	if s.strHead == len(s.strQ) {
		s.strQ, s.strHead = s.strQ[:0], 0
	}
	return str
}

// eventHeap is a binary min-heap by (at, seq); typed to avoid interface boxing.
type eventHeap []event

func (h eventHeap) less(i, j int) bool {
	return h[i].at < h[j].at || (h[i].at == h[j].at && h[i].seq < h[j].seq)
}

func (s *Sim) push(e event) {
	s.seq++
	e.seq = s.seq
	h := append(s.events, e)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	s.events = h
}

func (s *Sim) pop() event {
	h := s.events
	e := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h[n] = event{}
	h = h[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	s.events = h
	return e
}

const never = math.MaxInt64

func (s *Sim) setNow(t int64) {
	if t > s.now {
		s.now = t
		s.clock.off.Store(t)
		s.tickDone = false
	}
}

// nextAt is when something is next due: a sim event or a board timer, and
// whether it is the board's.
func (s *Sim) nextAt() (int64, bool) {
	at := int64(never)
	if len(s.events) > 0 {
		at = s.events[0].at
	}
	if s.board == nil {
		return at, false
	}
	if dl, ok := s.board.NextDeadline(); ok {
		d := int64(dl.Sub(s.cfg.Start))
		if d < s.now {
			d = s.now
		}
		// A deadline still due right after a Tick is one the board keeps
		// (it cannot fire yet): wait for time or a sim event to move on.
		if d <= at && !(d == s.now && s.tickDone) {
			return d, true
		}
	}
	return at, false
}

// runOne does the next thing due no later than limit; false if none.
func (s *Sim) runOne(limit int64) bool {
	s.drainInbox()
	at, board := s.nextAt()
	if at > limit || at == never {
		return false
	}
	s.setNow(at)
	if board {
		s.tickDone = true
		s.note("tick", nil, nil, "")
		s.board.Tick()
		s.drainInbox()
		return true
	}
	e := s.pop()
	s.tickDone = false
	s.handle(&e)
	s.drainInbox()
	return true
}

// ErrNotAttached is returned by the run methods before Attach.
var ErrNotAttached = errors.New("sim: no board attached")

// Run simulates d of virtual time.
func (s *Sim) Run(d time.Duration) error {
	if s.board == nil {
		return ErrNotAttached
	}
	end := s.now + int64(d)
	for s.runOne(end) {
	}
	s.setNow(end)
	return nil
}

// RunCalls runs until n more calls have finished. It returns false when the
// simulation cannot get there: nothing is scheduled, or no call is in
// progress and no more will arrive.
func (s *Sim) RunCalls(n int) bool {
	if s.board == nil {
		return false
	}
	target := s.finished() + n
	for s.finished() < target {
		if s.live == 0 && !s.arriving && !s.placePending() {
			return false
		}
		if !s.runOne(never - 1) {
			return false
		}
	}
	return true
}

func (s *Sim) finished() int {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	return s.stats.Finished
}

func (s *Sim) placePending() bool {
	return s.places > 0
}

// Drain runs until every call has left the board and none is still to
// come, or until limit of virtual time has passed; it reports whether all
// calls left. Arrivals bounded by Config.MaxCalls all happen first;
// unbounded arrivals are stopped.
func (s *Sim) Drain(limit time.Duration) bool {
	if s.board == nil {
		return false
	}
	if s.cfg.MaxCalls == 0 {
		s.arriving = false
	}
	end := s.now + int64(limit)
	for s.live > 0 || s.arriving || s.placePending() {
		if !s.runOne(end) {
			return false
		}
	}
	return true
}

// Place schedules one call into group now (in addition to the Poisson
// arrivals): number "" draws one from the caller pool.
func (s *Sim) Place(group, number string, vip bool) error {
	for i, g := range s.groups {
		if g.spec.Number == group {
			s.places++
			s.strEvent(evPlace, number, uint32(i), vip)
			return nil
		}
	}
	return ErrUnknownGroup
}

// ErrUnknownGroup is returned by Place for a group not in the Config.
var ErrUnknownGroup = errors.New("sim: unknown group")

// RunRealtime runs the same loop with the virtual clock following wall time
// (speed 1 = real time, 10 = ten times faster) until ctx ends. The clock
// also moves between events, so other goroutines see the time pass; they may
// use the board (which must then be goroutine-safe) and call API.
func (s *Sim) RunRealtime(ctx context.Context, speed float64) error {
	if s.board == nil {
		return ErrNotAttached
	}
	if !(speed > 0) || math.IsInf(speed, 0) {
		return errors.New("sim: realtime speed must be positive")
	}
	const poll = 50 * time.Millisecond // board timers armed from other goroutines are seen this late at most
	wall0, virt0 := time.Now(), s.now
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		virt := virt0 + int64(float64(time.Since(wall0))*speed)
		if s.runOne(virt) {
			continue
		}
		s.setNow(virt)
		at, _ := s.nextAt()
		wait := poll
		if at != never {
			if w := time.Duration(float64(at-virt) / speed); w < wait {
				wait = w
			}
		}
		timer.Reset(max(wait, time.Millisecond))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.kick:
		case <-timer.C:
		}
	}
}
