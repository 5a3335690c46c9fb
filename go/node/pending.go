package node

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/nwayacd/mod_nwayacd/go/event"
	"github.com/nwayacd/mod_nwayacd/go/store"
	"github.com/nwayacd/mod_nwayacd/go/store/writeback"
)

// A call whose caller left has a provisional CDR in the store until its
// final CDR is written (cdr.Book's Keep, store.Writer.PutPendingCDR). What a
// crash leaves there is emitted at the next start, once: stored and
// published like any CDR, then deleted.

// keptJournal is the journal as the service writes to it. While the pending
// CDRs of an earlier run are still to be emitted in the background (the
// database was down at start), it remembers the calls this run keeps, so
// that they are not mistaken for that run's. The set grows by a uuid per
// call until then, far less than what the journal itself holds for the
// same calls meanwhile.
type keptJournal struct {
	*writeback.Journal
	node string // names this node's pending CDRs (nodeID): nodes sharing the store emit their own
	mu   sync.Mutex
	live map[string]struct{} // nil: no emission outstanding
}

func (k *keptJournal) PutPendingCDR(c event.CDR) {
	k.mu.Lock()
	if k.live != nil {
		k.live[c.UUID] = struct{}{}
	}
	k.mu.Unlock()
	k.Journal.PutPendingCDR(k.node, c)
}

func (k *keptJournal) isLive(uuid string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	_, ok := k.live[uuid]
	return ok
}

// pendingAttempt bounds one background attempt (a variable for tests).
var pendingAttempt = 10 * time.Second

// spoolWait bounds the wait for the publisher's spool to hold the emitted CDRs.
const spoolWait = 5 * time.Second

// emitPendingCDRs emits the CDRs an earlier run recorded only provisionally.
// The journal's backlog goes to the store first, so a final CDR or a delete
// that run journaled is seen. A CDR already stored was emitted before the
// crash: only its provisional record goes. The others are published first
// and, once the publisher's spool holds them, stored and deleted: a crash in
// between publishes one again rather than losing it.
func (n *Node) emitPendingCDRs(ctx context.Context) error {
	if err := n.journal.Flush(ctx); err != nil {
		return fmt.Errorf("pending cdrs: %w", err)
	}
	l, err := n.db.PendingCDRs(ctx, n.kept.node)
	if err != nil {
		return fmt.Errorf("pending cdrs: %w", err)
	}
	var emit, done []event.CDR
	for _, c := range l {
		if n.kept.isLive(c.UUID) {
			continue
		}
		switch _, err := n.db.CDR(ctx, c.UUID); {
		case err == nil:
			done = append(done, c)
		case errors.Is(err, store.ErrNotFound):
			emit = append(emit, c)
		default:
			return fmt.Errorf("pending cdr %s: %w", c.UUID, err)
		}
	}
	if len(emit)+len(done) == 0 {
		return nil
	}
	if n.hub != nil && len(emit) > 0 {
		fresh := 0
		for i := range emit {
			// An attempt that failed after publishing is retried: publish once.
			if !n.published[emit[i].UUID] {
				n.hub.Publish(&emit[i])
				n.published[emit[i].UUID] = true
				fresh++
			}
		}
		if fresh > 0 {
			if err := n.spooled(ctx); err != nil {
				// They are in the publisher's memory and reach the spool
				// soon: storing them now only widens the crash window.
				n.log.Warn("nwayacd: pending CDRs published, but the spool is slow to take them", "err", err)
			}
		}
	}
	for _, c := range emit {
		n.journal.InsertCDR(c)
		n.journal.DeletePendingCDR(c.UUID)
	}
	for _, c := range done {
		n.journal.DeletePendingCDR(c.UUID)
	}
	if err := n.journal.Flush(ctx); err != nil {
		return fmt.Errorf("pending cdrs: %w", err)
	}
	n.log.Warn("nwayacd: emitted the CDRs of calls that had ended before the last run stopped", "cdrs", len(emit), "already_written", len(done))
	return nil
}

// spooled waits until the publisher's spool holds every CDR published so
// far (under traffic that may not happen within spoolWait).
func (n *Node) spooled(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, spoolWait)
	defer cancel()
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for n.hub.Stats().SpoolPending > 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("publisher spool: %w", ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// recoverCDRs emits the pending CDRs at start, before the service runs;
// when the store cannot be read yet, it goes on in the background until it can.
func (n *Node) recoverCDRs(ready bool) {
	if ready {
		ctx, cancel := context.WithTimeout(n.ctx, n.opt.StartTimeout)
		err := n.emitPendingCDRs(ctx)
		cancel()
		if err == nil {
			return
		}
		n.log.Warn("nwayacd: emitting the CDRs an earlier run left pending; retrying in the background", "err", err)
	}
	n.kept.live = map[string]struct{}{} // the service has not started: no lock needed yet
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		bo := backoff.WithContext(backoff.NewExponentialBackOff(backoff.WithMaxElapsedTime(0),
			backoff.WithMaxInterval(30*time.Second)), n.ctx)
		err := backoff.Retry(func() error {
			ctx, cancel := context.WithTimeout(n.ctx, pendingAttempt)
			defer cancel()
			return n.emitPendingCDRs(ctx)
		}, bo)
		if err != nil {
			return // stopped: the next start emits them
		}
		n.kept.mu.Lock()
		n.kept.live = nil
		n.kept.mu.Unlock()
	}()
}
