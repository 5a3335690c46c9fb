package service

import (
	"sync"
	"sync/atomic"
	"time"
)

// Session threads (Enter, Next, OfferResult …) come in from FreeSWITCH's
// own threads, each locked to its goroutine. When they queue on s.mu, every
// hand-off has to wake one particular sleeping thread and wait until the
// kernel runs it before the next can go: past saturation (50 calls/s on 2
// cores) that chain made waits of seconds while no hold passed 230 ms.
//
// So under contention they combine instead: the thread that finds the lock
// busy and no combiner becomes the combiner, takes s.mu once and runs its
// own body and every body queued meanwhile, then wakes those threads
// together. A sleeper waits for one lock, not for every sleeper before it.
// Uncontended, a call runs as before: one TryLock, no hand-off.

// combineBatch bounds how many bodies one combiner runs under one hold of
// s.mu: the event reader, timers and REST wait for it too, and the threads
// of a batch are woken only when it ends. Past it the combiner hands its
// role to the first thread still queued.
const combineBatch = 32

// combineOp is one queued body and the wait of the thread that queued it.
type combineOp struct {
	fn       func()
	done     chan struct{}
	panic    any  // what fn panicked with, re-raised on its own thread
	promoted bool // fn has not run: its thread is the combiner now
}

var combineOps = sync.Pool{New: func() any { return &combineOp{done: make(chan struct{}, 1)} }}

// combiner holds the queue; its own mutex is held for a few instructions.
type combiner struct {
	mu      sync.Mutex
	queue   []*combineOp
	running bool          // a combiner is taking or holding s.mu for the queue
	ran     atomic.Uint64 // bodies run on another caller's thread (status)
}

// combine runs fn with s.mu held, then the work of unlock, as a
// `s.lock(); defer s.unlock()` section would; fn may run on another
// session's thread. A panic in fn reaches the caller, as it would have.
// Host commands that a batch's bodies queue run once the batch lets s.mu
// go; identical ones (one wake for the same channel) run once.
func (s *Service) combine(fn func()) {
	c := &s.comb
	c.mu.Lock()
	if c.running {
		op := combineOps.Get().(*combineOp)
		op.fn, op.panic, op.promoted = fn, nil, false
		c.queue = append(c.queue, op)
		c.mu.Unlock()
		t0 := time.Now()
		<-op.done
		s.lockWait.note(time.Since(t0)) // a wait for the lock, whoever took it
		p, promoted := op.panic, op.promoted
		op.fn, op.panic, op.promoted = nil, nil, false
		combineOps.Put(op)
		if promoted {
			s.runCombined(fn) // running stayed set for us
			return
		}
		if p != nil {
			panic(p)
		}
		return
	}
	if s.tryLock() { // uncontended: the plain path
		c.mu.Unlock()
		defer s.unlock()
		fn()
		return
	}
	c.running = true
	c.mu.Unlock()
	s.runCombined(fn)
}

// runCombined takes s.mu for the combiner's own fn and what queues, up to
// combineBatch bodies, releases it, and then wakes the queued threads; a
// queue left over goes to its first thread, promoted to combiner. A panic
// in fn, kept like a queued body's, reaches the caller once all are woken.
func (s *Service) runCombined(fn func()) {
	c := &s.comb
	own := &combineOp{fn: fn}
	var ran []*combineOp
	var next *combineOp
	s.lock()
	s.runOp(own)
	for next == nil {
		c.mu.Lock()
		if len(c.queue) == 0 {
			c.running = false
			c.mu.Unlock()
			break
		}
		if len(ran) >= combineBatch {
			next = c.queue[0] // running stays set: the role passes to it
			c.queue = c.queue[1:]
			c.mu.Unlock()
			break
		}
		batch := c.queue[:min(len(c.queue), combineBatch-len(ran))]
		c.queue = c.queue[len(batch):]
		c.mu.Unlock()
		for _, op := range batch {
			s.runOp(op)
			s.comb.ran.Add(1)
			ran = append(ran, op)
		}
	}
	defer func() { // after unlock, even should it panic
		for _, op := range ran {
			op.done <- struct{}{}
		}
		if next != nil {
			next.promoted = true
			next.done <- struct{}{}
		}
		if own.panic != nil {
			panic(own.panic)
		}
	}()
	s.unlock()
}

// runOp runs one body with s.mu held, then handles its decisions as its
// own unlock would (after a panic too), keeping a panic for its thread:
// nothing escapes it, so the combiner always finishes its queue.
func (s *Service) runOp(op *combineOp) {
	defer func() {
		if r := recover(); r != nil && op.panic == nil {
			op.panic = r
		}
	}()
	defer func() { s.handle(s.eng.Decisions()) }()
	op.fn()
}
