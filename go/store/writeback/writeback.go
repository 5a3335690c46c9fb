// Package writeback puts a journal in front of a store so that an
// acknowledged change is durable without the call path waiting on the
// database. Writes are queued without blocking; one goroutine appends them to
// a journal file in the node's folder, many per fsync (group commit), and
// Sync waits for that fsync — a few milliseconds, never the network. Another
// goroutine applies them in order to the store, many per transaction, each
// once, retrying with backoff while the store is down. After a crash, Open
// replays what the store had not yet taken.
//
// Exactly once relies on every store write being idempotent when repeated in
// order (see store.Writer); this journal fills AgentLog.ID before writing.
package writeback

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/nwayacd/mod_nwayacd/go/internal/record"
	"github.com/nwayacd/mod_nwayacd/go/logx"
	"github.com/nwayacd/mod_nwayacd/go/store"
)

// Target is the store the journal writes to.
type Target = store.Writer

// Batcher is a Target that can run many writes in one transaction: fn's
// writes use the ctx it is given. An error from fn rolls all of them back.
type Batcher interface {
	Batch(ctx context.Context, fn func(ctx context.Context) error) error
}

// DefaultLimit bounds the backlog of unapplied writes past which Full
// reports true (about a day of a busy node's writes).
const DefaultLimit = 1_000_000

// ErrFull is returned by Admit while the backlog is at Options.Limit: the
// store has been down for long, and an operator's change is refused rather
// than queued without bound.
var ErrFull = errors.New("writeback: journal full (the database has not taken writes for a long time)")

// ErrClosed is returned by Sync and Admit after Close.
var ErrClosed = errors.New("writeback: journal closed")

// Options tune a Journal; zero values take the defaults.
type Options struct {
	// Dir is the journal's folder. Empty keeps the queue in memory only:
	// nothing survives a crash and Sync returns at once (tests, tools).
	Dir        string
	Limit      int           // Admit refuses past this many unapplied writes, and at most this many stay in memory (DefaultLimit)
	BatchSize  int           // most writes per store transaction (512)
	Linger     time.Duration // least time between two store transactions that are not full (10ms; <0: none)
	MinBackoff time.Duration // first retry delay (100ms)
	MaxBackoff time.Duration // longest retry delay (5s)
	OpTimeout  time.Duration // one attempt's deadline (10s)
	Logger     *slog.Logger  // nil: discard
}

// Stats is the journal's state, for `nwayacd status`.
type Stats struct {
	Backlog   int    `json:"backlog"`    // accepted, not yet applied
	InMemory  int    `json:"in_memory"`  // of those, held in memory (the rest are read back from the file)
	Applied   uint64 `json:"applied"`    // written
	Replayed  int    `json:"replayed"`   // found unapplied in the journal file at open
	Dropped   uint64 `json:"dropped"`    // lost: enqueued after Close
	Rejected  uint64 `json:"rejected"`   // refused by the store for good (store.ErrRejected)
	Retries   uint64 `json:"retries"`    // failed attempts retried
	Commits   uint64 `json:"commits"`    // fsyncs of the journal file
	Down      bool   `json:"down"`       // the last attempt failed; retrying
	LastError string `json:"last_error"` // the last failure, if any
}

// Journal is the queue. Its write methods never block on I/O.
type Journal struct {
	t   Target
	opt Options
	log *slog.Logger
	w   *wal // nil in memory mode

	ctx  context.Context // cancelled when Close gives up
	stop context.CancelFunc

	commitWake, applyWake chan struct{}
	commitDone, applyDone chan struct{}

	mu        sync.Mutex
	q         []*op // unapplied, in seq order
	head      int
	pend      []byte // framed records not yet written
	enc       []byte // enqueue's encoding buffer, under mu
	pendFirst uint64 // seq of pend's first record
	seq       uint64 // last seq given out
	durable   uint64 // last seq fsynced
	written   uint64 // last seq written to the file (in the page cache: a killed process loses nothing)
	waiters   int    // Sync calls waiting: the next fsync goes at once
	applied   uint64 // last seq applied (or refused)
	durableCh chan struct{}
	appliedCh chan struct{}
	walErr    error  // sticky: the journal file failed
	spillFrom uint64 // > 0: writes from this seq on are in the file only
	retain    int    // > 0: applied writes stay in q (Retain)
	closed    bool
	st        Stats
}

// New opens (or creates) the journal in opt.Dir, queues what a previous run
// left unapplied ahead of everything else, and starts writing to t.
func New(t Target, opt Options) (*Journal, error) {
	if opt.Limit <= 0 {
		opt.Limit = DefaultLimit
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = 512
	}
	if opt.Linger == 0 {
		opt.Linger = 10 * time.Millisecond
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
	ctx, stop := context.WithCancel(context.Background())
	j := &Journal{t: t, opt: opt, log: logx.OrDiscard(opt.Logger), ctx: ctx, stop: stop,
		commitWake: make(chan struct{}, 1), applyWake: make(chan struct{}, 1),
		commitDone: make(chan struct{}), applyDone: make(chan struct{}),
		durableCh: make(chan struct{}), appliedCh: make(chan struct{})}
	if opt.Dir != "" {
		w, pending, applied, next, err := openWAL(opt.Dir)
		if err != nil {
			stop()
			return nil, err
		}
		j.w, j.q = w, pending
		j.applied, j.seq, j.durable = applied, next-1, next-1
		j.st.Replayed = len(pending)
		if len(pending) > 0 {
			j.applied = pending[0].Seq - 1
		}
		if len(pending) > opt.Limit { // the rest is read back when its turn comes
			j.spillFrom = pending[opt.Limit].Seq
			j.q = append([]*op(nil), pending[:opt.Limit]...)
		}
		if len(pending) > 0 {
			j.log.Warn("journal: replaying writes the store had not taken before the last stop", "writes", len(pending))
		}
		go j.committer()
	} else {
		close(j.commitDone)
	}
	go j.applier()
	return j, nil
}

func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func (j *Journal) enqueue(o *op) {
	j.mu.Lock()
	if j.closed {
		j.st.Dropped++
		j.mu.Unlock()
		j.log.Error("journal: write after close not kept", "op", o.name())
		return
	}
	j.seq++
	o.Seq = j.seq
	if j.w != nil {
		payload, err := o.appendJSON(j.enc[:0])
		if err != nil { // only plain records: cannot happen
			j.walErr = fmt.Errorf("journal encode %s: %w", o.name(), err)
		} else {
			if len(j.pend) == 0 {
				j.pendFirst = o.Seq
			}
			j.pend = record.Append(j.pend, payload)
			j.enc = payload
		}
	} else {
		j.durable = j.seq
	}
	switch {
	case j.w != nil && (j.spillFrom != 0 || len(j.q)-j.head >= j.opt.Limit):
		// The store is far behind: this write lives only in the journal
		// file until the applier reads it back, so memory stays bounded.
		if j.spillFrom == 0 {
			j.spillFrom = o.Seq
		}
	default:
		j.q = append(j.q, o)
	}
	j.mu.Unlock()
	if j.w != nil {
		wake(j.commitWake)
	} else {
		wake(j.applyWake)
	}
}

// syncLinger bounds how long a write made by a call (not acknowledged to
// anyone) stays written but not fsynced, so that one fsync covers the
// writes of several calls. The write itself goes to the file at once: a
// killed process loses nothing; only a crash of the machine within this
// window could. A Sync (an acknowledged change) is fsynced at once. At
// 20 ms a switch at 20 calls/s fsynced ~50 times a second, and each fsync
// kept the Go runtime's sysmon in its 20 µs naps while it lasted.
const syncLinger = 100 * time.Millisecond

// committer writes queued records to the file as they come and fsyncs them
// in groups: at once for a Sync waiting, else at most syncLinger later.
func (j *Journal) committer() {
	defer close(j.commitDone)
	var spare []byte
	var since time.Time // the oldest write not fsynced yet
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	defer linger.Stop()
	for {
		j.mu.Lock()
		batch, first, last, closed := j.pend, j.pendFirst, j.seq, j.closed
		if len(batch) > 0 {
			j.pend, spare = spare[:0], nil // the two buffers take turns
		}
		urgent := j.waiters > 0 || closed
		unsynced := j.written > j.durable
		broken := j.walErr != nil
		j.mu.Unlock()
		if broken {
			// The file failed for good: nothing more goes to it (the
			// applier takes what memory holds).
			spare = batch
			if closed {
				return
			}
			select {
			case <-j.commitWake:
			case <-j.ctx.Done():
				return
			}
			continue
		}
		if len(batch) > 0 {
			err := j.writeBatch(batch, first)
			spare = batch
			if err != nil {
				j.failed(err)
				continue
			}
			j.mu.Lock()
			j.written = last
			j.mu.Unlock()
			if !unsynced {
				since = time.Now()
			}
			unsynced = true
		}
		if unsynced && (urgent || time.Since(since) >= syncLinger) {
			j.mu.Lock()
			upto := j.written
			j.mu.Unlock()
			if err := j.w.sync(); err != nil {
				j.failed(err)
				continue
			}
			j.mu.Lock()
			j.durable = upto
			j.st.Commits++
			close(j.durableCh)
			j.durableCh = make(chan struct{})
			j.mu.Unlock()
			wake(j.applyWake)
			continue
		}
		if len(batch) > 0 {
			continue // more may have come meanwhile
		}
		if !unsynced && closed {
			return
		}
		var fire <-chan time.Time
		if unsynced {
			linger.Reset(max(syncLinger-time.Since(since), 0))
			fire = linger.C
		}
		select {
		case <-j.commitWake:
		case <-fire:
		case <-j.ctx.Done():
			return
		}
		if unsynced && !linger.Stop() {
			select { // drain a fired timer so that the next Reset starts clean
			case <-linger.C:
			default:
			}
		}
	}
}

// failed makes the journal file's first error sticky and wakes Sync.
func (j *Journal) failed(err error) {
	j.mu.Lock()
	if j.walErr == nil {
		j.walErr = err
		j.st.LastError = err.Error()
		j.log.Error("journal: cannot write the journal file; changes are refused from now on", "err", err)
	}
	close(j.durableCh)
	j.durableCh = make(chan struct{})
	j.mu.Unlock()
	wake(j.applyWake)
}

func (j *Journal) writeBatch(batch []byte, first uint64) error {
	j.mu.Lock()
	failed := j.walErr
	j.mu.Unlock()
	if failed != nil {
		return failed
	}
	if j.w.size >= segmentSize {
		// The segment closed is fsynced whole: a later sync covers only
		// the new one.
		if err := j.w.sync(); err != nil {
			return err
		}
		j.mu.Lock()
		err := j.w.roll(first)
		j.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return j.w.write(batch)
}

// urge has the committer fsync at once rather than after syncLinger, for
// a caller about to wait on it (Sync, Flush); called with mu held. The
// caller, without mu, calls what it returns when it stops waiting.
func (j *Journal) urge() (done func()) {
	j.waiters++
	wake(j.commitWake)
	return func() {
		j.mu.Lock()
		j.waiters--
		j.mu.Unlock()
	}
}

// Sync waits until every write queued before the call is in the journal
// file (fsynced). Call it after a change and before acknowledging it.
func (j *Journal) Sync(ctx context.Context) error {
	j.mu.Lock()
	target := j.seq
	defer j.urge()()
	for {
		if j.walErr != nil {
			err := j.walErr
			j.mu.Unlock()
			return err
		}
		if j.durable >= target {
			j.mu.Unlock()
			return nil
		}
		ch := j.durableCh
		j.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("journal sync: %w", ctx.Err())
		case <-j.commitDone:
			j.mu.Lock()
			if j.durable < target && j.walErr == nil {
				j.mu.Unlock()
				return ErrClosed
			}
			continue
		}
		j.mu.Lock()
	}
}

// Admit reports whether an operator's change may be made now: ErrFull while
// the store is so far behind that the backlog reached Options.Limit, or the
// journal file's error. Calls and CDRs are never refused.
func (j *Journal) Admit() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	switch {
	case j.closed:
		return ErrClosed
	case j.walErr != nil:
		return j.walErr
	case j.seq-j.applied >= uint64(j.opt.Limit):
		return ErrFull
	}
	return nil
}

// applier writes durable records to the target in batches, in order.
func (j *Journal) applier() {
	defer close(j.applyDone)
	commitDone := j.commitDone
	if j.w == nil {
		commitDone = nil
	}
	var last time.Time
	for {
		j.mu.Lock()
		limit := j.durable
		if j.walErr != nil {
			limit = j.seq // still apply what memory holds
		}
		if j.head == len(j.q) && j.spillFrom != 0 && j.spillFrom <= limit {
			j.mu.Unlock()
			if !j.readBack(limit) {
				return
			}
			continue
		}
		n := 0
		for j.head+n < len(j.q) && n < j.opt.BatchSize && j.q[j.head+n].Seq <= limit {
			n++
		}
		if n == 0 {
			done := j.closed && j.head == len(j.q) && j.spillFrom == 0
			j.mu.Unlock()
			if done {
				return
			}
			select {
			case <-j.applyWake:
			case <-commitDone:
				commitDone = nil // once: from now on everything queued is durable
			case <-j.ctx.Done():
				return
			}
			continue
		}
		if wait := j.opt.Linger - time.Since(last); n < j.opt.BatchSize && wait > 0 && !j.closed {
			// A small batch soon after the last one: let more gather, so the
			// store commits (and fsyncs) less often than the journal does.
			j.mu.Unlock()
			select {
			case <-time.After(wait):
			case <-j.ctx.Done():
				return
			}
			continue
		}
		last = time.Now()
		batch := append([]*op(nil), j.q[j.head:j.head+n]...)
		j.mu.Unlock()
		if !j.applyAll(batch) {
			return // Close gave up; the ops stay in the journal file
		}
		j.mu.Lock()
		j.head += n
		j.applied = batch[n-1].Seq
		if j.retain > 0 {
			// ReplayOnto may still need them; release clears them.
		} else if clear(j.q[j.head-n : j.head]); j.head == len(j.q) {
			j.q, j.head = j.q[:0], 0
		} else if j.head > 4096 && j.head*2 > len(j.q) {
			k := copy(j.q, j.q[j.head:])
			clear(j.q[k:])
			j.q, j.head = j.q[:k], 0
		}
		close(j.appliedCh)
		j.appliedCh = make(chan struct{})
		j.mu.Unlock()
		j.trim(false)
	}
}

// ErrNotInMemory is returned by ReplayOnto when some of the writes asked
// for are held only in the journal file (the store is far behind).
var ErrNotInMemory = errors.New("writeback: queued writes not all in memory")

// SnapshotWriter is what a store.Snapshot in memory can take (store.Overlay):
// the writes that change what Load returns.
type SnapshotWriter interface {
	UpsertExtension(ctx context.Context, e store.Extension) error
	DeleteExtension(ctx context.Context, number string) error
	UpsertGroup(ctx context.Context, g store.Group) error
	DeleteGroup(ctx context.Context, number string) error
	SetCurrentExt(ctx context.Context, group, ext string) error
	ReplaceMemberships(ctx context.Context, ext string, groups []string) error
	AddListEntry(ctx context.Context, l store.ListEntry) error
	RemoveListEntry(ctx context.Context, l store.ListEntry) error
	PutMemory(ctx context.Context, m store.Memory) error
}

// Retain returns the seq of the last write the store has taken, and keeps
// every later write in memory until release is called, for ReplayOnto.
// A snapshot loaded from the store after Retain holds every write up to
// that seq and maybe some later ones; replaying the later ones onto it in
// order gives the state the store will have once it has taken them all.
// Without that, a reload would show (and the next change would build on)
// a state that lacks acknowledged writes still queued.
func (j *Journal) Retain() (applied uint64, release func()) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.retain == 0 { // q[:head] is cleared: start q at head
		k := copy(j.q, j.q[j.head:])
		clear(j.q[k:])
		j.q, j.head = j.q[:k], 0
	}
	j.retain++
	var once sync.Once
	return j.applied, func() {
		once.Do(func() {
			j.mu.Lock()
			defer j.mu.Unlock()
			if j.retain--; j.retain == 0 {
				clear(j.q[:j.head])
				k := copy(j.q, j.q[j.head:])
				clear(j.q[k:])
				j.q, j.head = j.q[:k], 0
			}
		})
	}
}

// ReplayOnto applies to t, in order, every write queued after seq after
// (from Retain, whose release must not have been called yet) that changes
// a snapshot: configuration, logins, lists, memory. A write t refuses is
// skipped, as the store skips it. ErrNotInMemory (nothing applied) when
// some of them are only in the journal file; ReplayAllOnto reads those.
//
// Call it where no new write can be queued meanwhile (under the lock the
// writer holds while queuing), so that the result matches the writer's state.
func (j *Journal) ReplayOnto(ctx context.Context, t SnapshotWriter, after uint64) error {
	return j.replayOnto(ctx, t, after, false)
}

// ReplayAllOnto is ReplayOnto that also reads the writes held only in the
// journal file, which is slow with a long backlog: for a start, before
// anything else writes. On an error t may hold part of them.
func (j *Journal) ReplayAllOnto(ctx context.Context, t SnapshotWriter, after uint64) error {
	return j.replayOnto(ctx, t, after, true)
}

func (j *Journal) replayOnto(ctx context.Context, t SnapshotWriter, after uint64, file bool) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.seq <= after {
		return nil
	}
	missing := fmt.Errorf("%w: writes %d..%d", ErrNotInMemory, after+1, j.seq)
	i, _ := slices.BinarySearchFunc(j.q, after+1, func(o *op, seq uint64) int { return cmp.Compare(o.Seq, seq) })
	ops := j.q[i:]
	last := after // the last write of ops, which must follow one another
	for _, o := range ops {
		if o.Seq != last+1 {
			return missing
		}
		last++
	}
	if last < j.seq {
		// The rest can be read back only once it is all in the file.
		if !file || j.w == nil || len(j.pend) > 0 || j.durable < j.seq {
			return missing
		}
		segs := append([]segment(nil), j.w.segments...)
		var rest []*op
		for from := last + 1; from <= j.seq; {
			chunk, err := readFrom(segs, from, j.seq, max(j.opt.Limit/2, 1))
			if err != nil {
				return fmt.Errorf("%w: reading them back: %w", missing, err)
			}
			if len(chunk) == 0 || chunk[0].Seq != from {
				return missing
			}
			for _, o := range chunk {
				if o.Seq != from {
					return missing
				}
				from++
				rest = append(rest, o)
			}
			// Replay each chunk as read: memory stays bounded. Nothing of
			// ops is applied yet, so apply those first.
			for _, o := range ops {
				_ = o.replay(ctx, t)
			}
			ops = nil
			for _, o := range rest {
				_ = o.replay(ctx, t)
			}
			rest = rest[:0]
		}
		return nil
	}
	for _, o := range ops {
		_ = o.replay(ctx, t) // refused by the store too: skipped there as well
	}
	return nil
}

// readBack moves durable writes that spilled out of memory back into the
// queue, up to half the limit at a time; false when stopped.
func (j *Journal) readBack(upto uint64) bool {
	j.mu.Lock()
	from := j.spillFrom
	segs := append([]segment(nil), j.w.segments...)
	j.mu.Unlock()
	ops, err := readFrom(segs, from, upto, max(j.opt.Limit/2, 1))
	if err == nil && (len(ops) == 0 || ops[0].Seq != from) {
		err = fmt.Errorf("journal: write %d not found in the journal file", from)
	}
	if err != nil {
		j.log.Error("journal: reading spilled writes back", "err", err)
		select {
		case <-time.After(time.Second):
			return true
		case <-j.ctx.Done():
			return false
		}
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.retain > 0 { // keep what ReplayOnto may need
		j.q = append(j.q, ops...)
	} else {
		j.q = append(j.q[:0], ops...)
		j.head = 0
	}
	if last := ops[len(ops)-1].Seq; last == j.seq {
		j.spillFrom = 0 // caught up: new writes stay in memory again
	} else {
		j.spillFrom = last + 1
	}
	return true
}

// trim deletes the segments the store now holds entirely; all of them
// (the current one too) when final and nothing is left.
func (j *Journal) trim(final bool) {
	if j.w == nil {
		return
	}
	j.mu.Lock()
	applied := j.applied
	var dead []segment
	segs := j.w.segments
	for len(segs) > 1 && segs[1].first <= applied+1 {
		dead = append(dead, segs[0])
		segs = segs[1:]
	}
	if final && len(segs) == 1 && j.seq == applied && j.w.f == nil {
		dead = append(dead, segs[0])
		segs = segs[1:]
	}
	if len(dead) == 0 {
		j.mu.Unlock()
		return
	}
	j.w.segments = segs
	j.mu.Unlock()
	if err := writeApplied(j.w.dir, applied); err != nil {
		j.log.Warn("journal: recording progress", "err", err)
		return // keep the segments; a replay repeats them harmlessly
	}
	for _, s := range dead {
		if err := os.Remove(s.path); err != nil {
			j.log.Warn("journal: removing an applied segment", "err", err)
		}
	}
}

// applyAll writes batch in one transaction when the target can; otherwise
// one write at a time, so a retry repeats only the write that failed.
func (j *Journal) applyAll(batch []*op) bool {
	if _, ok := j.t.(Batcher); ok {
		return j.applyBatch(batch)
	}
	for _, o := range batch {
		if !j.applyBatch([]*op{o}) {
			return false
		}
	}
	return true
}

func (j *Journal) newBackoff() backoff.BackOff {
	b := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(j.opt.MinBackoff),
		backoff.WithMaxInterval(j.opt.MaxBackoff),
		backoff.WithMaxElapsedTime(0))
	return backoff.WithContext(b, j.ctx)
}

// applyBatch writes batch in one transaction when it can, retrying
// transient failures; a batch holding a write the store refuses is redone
// one write at a time so only that write is skipped. False: stopped.
func (j *Journal) applyBatch(batch []*op) bool {
	var bo backoff.BackOff // made on the first failure: the usual case has none
	for {
		err := j.try(batch)
		switch {
		case err == nil:
			j.ok(len(batch))
			return true
		case errors.Is(err, store.ErrRejected) && len(batch) > 1:
			for _, o := range batch {
				if !j.applyBatch([]*op{o}) {
					return false
				}
			}
			return true
		case errors.Is(err, store.ErrRejected):
			j.mu.Lock()
			j.st.Rejected++
			j.st.LastError = err.Error()
			j.mu.Unlock()
			j.log.Warn("journal: the store refused a write; skipped", "op", batch[0].name(), "err", err)
			return true
		case j.ctx.Err() != nil:
			return false
		}
		j.mu.Lock()
		j.st.Retries++
		j.st.LastError = err.Error()
		wasDown := j.st.Down
		j.st.Down = true
		j.mu.Unlock()
		if !wasDown {
			j.log.Warn("journal: store write failed, retrying until it answers", "op", batch[0].name(), "err", err)
		}
		if bo == nil {
			bo = j.newBackoff()
		}
		d := bo.NextBackOff()
		if d == backoff.Stop {
			return false
		}
		select {
		case <-time.After(d):
		case <-j.ctx.Done():
			return false
		}
	}
}

func (j *Journal) try(batch []*op) error {
	ctx, cancel := context.WithTimeout(j.ctx, j.opt.OpTimeout)
	defer cancel()
	all := func(ctx context.Context) error {
		for _, o := range batch {
			if err := o.apply(ctx, j.t); err != nil {
				return err
			}
		}
		return nil
	}
	if b, ok := j.t.(Batcher); ok && len(batch) > 1 {
		return b.Batch(ctx, all)
	}
	return all(ctx)
}

func (j *Journal) ok(n int) {
	j.mu.Lock()
	j.st.Applied += uint64(n)
	wasDown := j.st.Down
	j.st.Down = false
	j.mu.Unlock()
	if wasDown {
		j.log.Info("journal: store back, writing the backlog")
	}
}

// Flush waits until every write queued before the call has been applied to
// the store (or refused), e.g. before reloading from the store so the reload
// does not miss this node's own pending writes.
func (j *Journal) Flush(ctx context.Context) error {
	j.mu.Lock()
	target := j.seq
	if j.applied < target {
		defer j.urge()() // the store only gets what is fsynced
	}
	for j.applied < target {
		ch := j.appliedCh
		j.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("journal flush: %d writes pending: %w", j.Backlog(), ctx.Err())
		case <-j.applyDone:
			j.mu.Lock()
			if j.applied < target {
				j.mu.Unlock()
				return ErrClosed
			}
			continue
		}
		j.mu.Lock()
	}
	j.mu.Unlock()
	return nil
}

// Backlog is the number of writes not yet applied.
func (j *Journal) Backlog() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return int(j.seq - j.applied)
}

// Stats returns the counters.
func (j *Journal) Stats() Stats {
	j.mu.Lock()
	defer j.mu.Unlock()
	st := j.st
	st.Backlog = int(j.seq - j.applied)
	st.InMemory = len(j.q) - j.head
	return st
}

// Close stops accepting writes and waits until the backlog is applied or ctx
// ends. Writes left unapplied stay in the journal file for the next start;
// the error counts them. It does not close the target.
func (j *Journal) Close(ctx context.Context) error {
	j.mu.Lock()
	j.closed = true
	j.mu.Unlock()
	wake(j.commitWake)
	wake(j.applyWake)
	both := make(chan struct{})
	go func() {
		<-j.commitDone
		<-j.applyDone
		close(both)
	}()
	select {
	case <-both:
	case <-ctx.Done():
		j.stop()
		<-both
	}
	j.stop()
	if j.w != nil {
		j.mu.Lock()
		err := j.w.closeSegment()
		j.mu.Unlock()
		if err != nil {
			j.log.Warn("journal: closing the file", "err", err)
		}
		j.trim(true)
		j.mu.Lock()
		_ = j.w.close() // the lock, last
		j.mu.Unlock()
	}
	if n := j.Backlog(); n > 0 {
		if j.w != nil {
			return fmt.Errorf("writeback: %d writes not yet in the store; they stay in the journal for the next start: %w", n, ctx.Err())
		}
		return fmt.Errorf("writeback: %d writes not flushed: %w", n, ctx.Err())
	}
	return nil
}
