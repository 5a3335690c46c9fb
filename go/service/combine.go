package service

import "sync"

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

// combineOp is one queued body and the wait of the thread that queued it.
type combineOp struct {
	fn    func()
	done  chan struct{}
	panic any // what fn panicked with, re-raised on its own thread
}

var combineOps = sync.Pool{New: func() any { return &combineOp{done: make(chan struct{}, 1)} }}

// combiner holds the queue; its own mutex is held for a few instructions.
type combiner struct {
	mu      sync.Mutex
	queue   []*combineOp
	running bool // a combiner is taking or holding s.mu for the queue
}

// combine runs fn with s.mu held, then the work of unlock, as a
// `s.lock(); defer s.unlock()` section would; fn may run on another
// session's thread. A panic in fn reaches the caller, as it would have.
func (s *Service) combine(fn func()) {
	c := &s.comb
	c.mu.Lock()
	if c.running {
		op := combineOps.Get().(*combineOp)
		op.fn, op.panic = fn, nil
		c.queue = append(c.queue, op)
		c.mu.Unlock()
		<-op.done
		p := op.panic
		op.fn, op.panic = nil, nil
		combineOps.Put(op)
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

// runCombined takes s.mu for the combiner's own fn and whatever queues
// until the queue is empty, releases it, and then wakes the queued threads.
func (s *Service) runCombined(fn func()) {
	c := &s.comb
	var ran []*combineOp
	finished := false
	defer func() {
		for _, op := range ran {
			op.done <- struct{}{}
		}
	}()
	s.lock()
	defer s.unlock()
	defer func() {
		if finished {
			return
		}
		// fn panicked: the queue is still ours to run, or its threads wait for ever.
		c.mu.Lock()
		rest := c.queue
		c.queue = nil
		c.running = false
		c.mu.Unlock()
		for _, op := range rest {
			s.runOp(op)
			ran = append(ran, op)
		}
	}()
	fn()
	s.handle(s.eng.Decisions()) // as fn's own unlock would, before the next body
	for {
		c.mu.Lock()
		batch := c.queue
		c.queue = nil
		if len(batch) == 0 {
			c.running = false
			c.mu.Unlock()
			finished = true
			return
		}
		c.mu.Unlock()
		for _, op := range batch {
			s.runOp(op)
			ran = append(ran, op)
		}
	}
}

// runOp runs one queued body with s.mu held, keeping a panic for its thread.
func (s *Service) runOp(op *combineOp) {
	defer func() {
		if r := recover(); r != nil {
			op.panic = r
		}
	}()
	op.fn()
	s.handle(s.eng.Decisions())
}
