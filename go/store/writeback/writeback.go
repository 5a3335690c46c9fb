// Package writeback puts a write-behind journal in front of a store so that
// the call path never waits on the database: writes are queued in memory
// without blocking and applied in order, each once, by one goroutine that
// retries with backoff while the database is down.
//
// Exactly once relies on every store write being idempotent when retried
// after an unknown outcome (upserts, deletes, CDRs keyed by uuid, agent log
// rows keyed by a client-made id — this journal fills AgentLog.ID).
package writeback

import (
	"context"
	"errors"
	"fmt"
	"log"
	"sync"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/event"
	"github.com/nwayacd/mod_nwayacd/go/store"
)

// Target is the store the journal writes to.
type Target interface {
	UpsertExtension(ctx context.Context, e store.Extension) error
	DeleteExtension(ctx context.Context, number string) error
	UpsertGroup(ctx context.Context, g store.Group) error
	DeleteGroup(ctx context.Context, number string) error
	SetCurrentExt(ctx context.Context, group, ext string) error
	ReplaceMemberships(ctx context.Context, ext string, groups []string) error
	AddListEntry(ctx context.Context, l store.ListEntry) error
	RemoveListEntry(ctx context.Context, l store.ListEntry) error
	PutMemory(ctx context.Context, m store.Memory) error
	InsertCDR(ctx context.Context, c event.CDR) error
	AppendAgentLog(ctx context.Context, a store.AgentLog) error
}

// DefaultLimit bounds the backlog: about a day of a busy node's writes.
const DefaultLimit = 1_000_000

// Options tune a Journal; zero values take the defaults.
type Options struct {
	Limit      int                              // most queued ops; more are dropped and counted (DefaultLimit)
	MinBackoff time.Duration                    // first retry delay (100ms)
	MaxBackoff time.Duration                    // longest retry delay (5s)
	OpTimeout  time.Duration                    // one attempt's deadline (10s)
	Logf       func(format string, args ...any) // log.Printf
}

// Stats is the journal's state, for `nwayacd status`.
type Stats struct {
	Backlog   int    `json:"backlog"`    // queued, including the one being written
	Applied   uint64 `json:"applied"`    // written
	Dropped   uint64 `json:"dropped"`    // lost: queue full, or enqueued after Close
	Rejected  uint64 `json:"rejected"`   // refused by the store for good (store.ErrRejected)
	Retries   uint64 `json:"retries"`    // failed attempts retried
	Down      bool   `json:"down"`       // the last attempt failed; retrying
	LastError string `json:"last_error"` // the last failure, if any
}

type op struct {
	name string
	fn   func(ctx context.Context, t Target) error
}

// Journal is the write-behind queue. Its write methods never block on I/O.
type Journal struct {
	t    Target
	opt  Options
	wake chan struct{}
	done chan struct{}
	ctx  context.Context // cancelled when Close gives up
	stop context.CancelFunc

	mu       sync.Mutex
	q        []op
	head     int
	closed   bool
	st       Stats
	queued   uint64   // ops ever accepted
	finished uint64   // ops finished (written or refused)
	waiters  []waiter // Flush calls
}

type waiter struct {
	upto uint64
	ch   chan struct{}
}

// New starts a journal writing to t.
func New(t Target, opt Options) *Journal {
	if opt.Limit <= 0 {
		opt.Limit = DefaultLimit
	}
	if opt.MinBackoff <= 0 {
		opt.MinBackoff = 100 * time.Millisecond
	}
	if opt.MaxBackoff < opt.MinBackoff {
		opt.MaxBackoff = max(5*time.Second, opt.MinBackoff)
	}
	if opt.OpTimeout <= 0 {
		opt.OpTimeout = 10 * time.Second
	}
	if opt.Logf == nil {
		opt.Logf = log.Printf
	}
	ctx, stop := context.WithCancel(context.Background())
	j := &Journal{t: t, opt: opt, wake: make(chan struct{}, 1), done: make(chan struct{}), ctx: ctx, stop: stop}
	go j.run()
	return j
}

func (j *Journal) enqueue(o op) {
	j.mu.Lock()
	switch {
	case j.closed:
		j.st.Dropped++
		n := j.st.Dropped
		j.mu.Unlock()
		j.opt.Logf("nwayacd writeback: closed, %s not written (%d lost)", o.name, n)
		return
	case len(j.q)-j.head >= j.opt.Limit:
		j.st.Dropped++
		n := j.st.Dropped
		j.mu.Unlock()
		if n == 1 || n%10000 == 0 {
			j.opt.Logf("nwayacd writeback: backlog full (%d ops, database down?): %s not written; %d writes lost so far", j.opt.Limit, o.name, n)
		}
		return
	}
	j.q = append(j.q, o)
	j.queued++
	j.mu.Unlock()
	select {
	case j.wake <- struct{}{}:
	default:
	}
}

// peek returns the oldest op without removing it (it stays in the backlog
// while it is written); ok is false once closed and empty.
func (j *Journal) peek() (op, bool) {
	for {
		j.mu.Lock()
		if j.head < len(j.q) {
			o := j.q[j.head]
			j.mu.Unlock()
			return o, true
		}
		closed := j.closed
		j.mu.Unlock()
		if closed {
			return op{}, false
		}
		select {
		case <-j.wake:
		case <-j.ctx.Done():
			return op{}, false
		}
	}
}

func (j *Journal) pop() {
	j.mu.Lock()
	j.q[j.head] = op{} // let the op's data go
	j.head++
	j.finished++
	if len(j.waiters) > 0 {
		kept := j.waiters[:0]
		for _, w := range j.waiters {
			if j.finished >= w.upto {
				close(w.ch)
			} else {
				kept = append(kept, w)
			}
		}
		j.waiters = kept
	}
	if j.head == len(j.q) {
		j.q, j.head = j.q[:0], 0
	} else if j.head > 4096 && j.head*2 > len(j.q) {
		n := copy(j.q, j.q[j.head:])
		clear(j.q[n:])
		j.q, j.head = j.q[:n], 0
	}
	j.mu.Unlock()
}

func (j *Journal) run() {
	defer close(j.done)
	for {
		o, ok := j.peek()
		if !ok {
			return
		}
		if !j.apply(o) {
			return // Close gave up; the op stays in the backlog
		}
		j.pop()
	}
}

// apply writes o, retrying transient failures until it is written, refused
// for good, or the journal is stopped (false).
func (j *Journal) apply(o op) bool {
	backoff := j.opt.MinBackoff
	for {
		ctx, cancel := context.WithTimeout(j.ctx, j.opt.OpTimeout)
		err := o.fn(ctx, j.t)
		cancel()
		j.mu.Lock()
		switch {
		case err == nil:
			j.st.Applied++
			wasDown := j.st.Down
			j.st.Down = false
			j.mu.Unlock()
			if wasDown {
				j.opt.Logf("nwayacd writeback: database back, writing the backlog")
			}
			return true
		case errors.Is(err, store.ErrRejected):
			j.st.Rejected++
			j.st.LastError = err.Error()
			j.mu.Unlock()
			j.opt.Logf("nwayacd writeback: %s refused, skipped: %v", o.name, err)
			return true
		case j.ctx.Err() != nil:
			j.mu.Unlock()
			return false
		}
		j.st.Retries++
		j.st.LastError = err.Error()
		wasDown := j.st.Down
		j.st.Down = true
		j.mu.Unlock()
		if !wasDown {
			j.opt.Logf("nwayacd writeback: %s failed, retrying until the database answers: %v", o.name, err)
		}
		select {
		case <-time.After(backoff):
		case <-j.ctx.Done():
			return false
		}
		backoff = min(backoff*2, j.opt.MaxBackoff)
	}
}

// Flush waits until every write queued before the call has been applied (or
// refused), e.g. before reloading from the store so the reload does not miss
// this node's own pending writes. It returns ctx's error when ctx ends first.
func (j *Journal) Flush(ctx context.Context) error {
	j.mu.Lock()
	if j.finished >= j.queued {
		j.mu.Unlock()
		return nil
	}
	w := waiter{upto: j.queued, ch: make(chan struct{})}
	j.waiters = append(j.waiters, w)
	j.mu.Unlock()
	select {
	case <-w.ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("writeback flush: %d writes pending: %w", j.Backlog(), ctx.Err())
	}
}

// Backlog is the number of writes not yet applied.
func (j *Journal) Backlog() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.q) - j.head
}

// Stats returns the counters.
func (j *Journal) Stats() Stats {
	j.mu.Lock()
	defer j.mu.Unlock()
	st := j.st
	st.Backlog = len(j.q) - j.head
	return st
}

// Close stops accepting writes and waits until the backlog is written or ctx
// ends; then it returns an error counting the writes left unwritten. It does
// not close the target.
func (j *Journal) Close(ctx context.Context) error {
	j.mu.Lock()
	j.closed = true
	j.mu.Unlock()
	select {
	case j.wake <- struct{}{}:
	default:
	}
	select {
	case <-j.done:
		j.stop()
		return nil
	case <-ctx.Done():
	}
	j.stop()
	<-j.done
	if n := j.Backlog(); n > 0 {
		return fmt.Errorf("writeback: %d writes not flushed: %w", n, ctx.Err())
	}
	return nil
}

// UpsertExtension queues store.UpsertExtension.
func (j *Journal) UpsertExtension(e store.Extension) {
	j.enqueue(op{"upsert extension " + e.Number, func(ctx context.Context, t Target) error { return t.UpsertExtension(ctx, e) }})
}

// DeleteExtension queues store.DeleteExtension.
func (j *Journal) DeleteExtension(number string) {
	j.enqueue(op{"delete extension " + number, func(ctx context.Context, t Target) error { return t.DeleteExtension(ctx, number) }})
}

// UpsertGroup queues store.UpsertGroup.
func (j *Journal) UpsertGroup(g store.Group) {
	j.enqueue(op{"upsert group " + g.Number, func(ctx context.Context, t Target) error { return t.UpsertGroup(ctx, g) }})
}

// DeleteGroup queues store.DeleteGroup.
func (j *Journal) DeleteGroup(number string) {
	j.enqueue(op{"delete group " + number, func(ctx context.Context, t Target) error { return t.DeleteGroup(ctx, number) }})
}

// SetCurrentExt queues store.SetCurrentExt.
func (j *Journal) SetCurrentExt(group, ext string) {
	j.enqueue(op{"set current ext of " + group, func(ctx context.Context, t Target) error { return t.SetCurrentExt(ctx, group, ext) }})
}

// ReplaceMemberships queues store.ReplaceMemberships; groups is copied.
func (j *Journal) ReplaceMemberships(ext string, groups []string) {
	groups = append([]string(nil), groups...)
	j.enqueue(op{"memberships of " + ext, func(ctx context.Context, t Target) error { return t.ReplaceMemberships(ctx, ext, groups) }})
}

// AddListEntry queues store.AddListEntry.
func (j *Journal) AddListEntry(l store.ListEntry) {
	j.enqueue(op{"add " + string(l.Kind) + " entry", func(ctx context.Context, t Target) error { return t.AddListEntry(ctx, l) }})
}

// RemoveListEntry queues store.RemoveListEntry.
func (j *Journal) RemoveListEntry(l store.ListEntry) {
	j.enqueue(op{"remove " + string(l.Kind) + " entry", func(ctx context.Context, t Target) error { return t.RemoveListEntry(ctx, l) }})
}

// PutMemory queues store.PutMemory.
func (j *Journal) PutMemory(m store.Memory) {
	j.enqueue(op{"memory", func(ctx context.Context, t Target) error { return t.PutMemory(ctx, m) }})
}

// InsertCDR queues store.InsertCDR; NoAnswerAgents is copied.
func (j *Journal) InsertCDR(c event.CDR) {
	c.NoAnswerAgents = append([]string(nil), c.NoAnswerAgents...)
	if len(c.NoAnswerAgents) == 0 {
		c.NoAnswerAgents = nil
	}
	j.enqueue(op{"cdr " + c.UUID, func(ctx context.Context, t Target) error { return t.InsertCDR(ctx, c) }})
}

// AppendAgentLog queues store.AppendAgentLog, giving a an ID first when it
// has none so that a retry cannot add the row twice.
func (j *Journal) AppendAgentLog(a store.AgentLog) {
	if a.ID == "" {
		a.ID = store.NewID()
	}
	j.enqueue(op{"agent log of " + a.Ext, func(ctx context.Context, t Target) error { return t.AppendAgentLog(ctx, a) }})
}
