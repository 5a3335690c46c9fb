package publish

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/nwayacd/mod_nwayacd/go/event"
	"github.com/nwayacd/mod_nwayacd/go/internal/tick"
)

// frame is one rendered message; seq != 0 marks a spooled CDR, and id is
// then "<spool id>-<seq>": the same on every resend, so that consumers can
// drop the duplicates of the at-least-once edge (AMQP message-id).
type frame struct {
	key  string
	body []byte
	seq  uint64
	id   string
	fam  event.Family
}

// worker owns one transport: its queue, its connection and its spool bucket.
type worker struct {
	h    *Hub
	name string
	key  func(Message) string
	body func(m Message, dst []byte) []byte
	t    transport

	q    chan Message
	kick chan struct{} // new CDRs in the spool
	done chan struct{}

	connected atomic.Bool
	errMu     sync.Mutex
	lastErr   string
	published [nFamilies]atomic.Uint64
	dropped   [nFamilies]atomic.Uint64
	spooled   atomic.Int64

	// Owned by run.
	held        Message // taken from q while idle, sent next
	frames      []frame
	ok          []bool
	arena       []byte
	seqs        []uint64
	bad         []uint64
	retryAt     time.Time // spooled CDRs wait until then after a refusal
	cdrBackoff  *backoff.ExponentialBackOff
	draining    bool
	downLogged  bool
	lostAtClose uint64 // read by Close after done
}

func (w *worker) counts(a *[nFamilies]atomic.Uint64) Counts {
	return Counts{
		Event: a[event.FamilyEvent].Load() + a[0].Load(),
		CDR:   a[event.FamilyCDR].Load(),
		Queue: a[event.FamilyQueue].Load(),
		Agent: a[event.FamilyAgent].Load(),
	}
}

func (w *worker) run() {
	defer close(w.done)
	h := w.h
	bo := h.newBackoff()
	for {
		if !w.connected.Load() {
			if w.finished() {
				break
			}
			ctx, cancel := context.WithTimeout(h.abortCtx, h.cfg.SendTimeout)
			err := w.t.connect(ctx)
			cancel()
			if err != nil {
				w.setErr(err, false)
				if !w.downLogged {
					h.cfg.Logger.Warn("publish: cannot connect, retrying with backoff", "transport", w.name, "max_backoff", h.cfg.ReconnectMax, "err", err)
					w.downLogged = true
				}
				if !w.sleep(bo.NextBackOff()) {
					break
				}
				continue
			}
			bo.Reset()
			w.downLogged = false
			w.connected.Store(true)
			h.cfg.Logger.Info("publish: connected", "transport", w.name)
		}
		if w.fill() == 0 {
			if w.finished() || !w.wait() {
				break
			}
			if w.held != nil && h.cfg.Linger > 0 && len(w.q) < h.cfg.BatchSize && !w.sleepUntil(tick.Deadline(time.Now(), h.cfg.Linger)) {
				break
			}
			continue
		}
		ctx, cancel := context.WithTimeout(h.abortCtx, h.cfg.SendTimeout)
		err := w.t.send(ctx, w.frames, w.ok)
		cancel()
		w.settle(err != nil)
		if err != nil {
			w.setErr(err, true)
		}
	}
	w.dropQueued()
	if err := w.t.close(); err != nil {
		h.cfg.Logger.Warn("publish: closing the connection", "transport", w.name, "err", err)
	}
	w.connected.Store(false)
}

func (w *worker) setErr(err error, wasUp bool) {
	w.errMu.Lock()
	w.lastErr = err.Error()
	w.errMu.Unlock()
	if wasUp || w.connected.Load() {
		w.h.cfg.Logger.Warn("publish: disconnected", "transport", w.name, "err", err)
		w.downLogged = true
	}
	w.connected.Store(false)
}

// finished reports that Close may end this worker: the spool is flushed and
// nothing is left to deliver, or Close's context ended.
func (w *worker) finished() bool {
	if w.h.abortCtx.Err() != nil {
		return true
	}
	if !w.draining {
		select {
		case <-w.h.drain:
			w.draining = true
		default:
			return false
		}
	}
	return w.held == nil && len(w.q) == 0 && w.spooled.Load() == 0
}

// sleepUntil is sleep to t; at once, without a timer, when t has come.
func (w *worker) sleepUntil(t time.Time) bool {
	if d := time.Until(t); d > 0 {
		return w.sleep(d)
	}
	return w.h.abortCtx.Err() == nil
}

func (w *worker) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-w.h.abortCtx.Done():
		return false
	}
}

// wait blocks until there is something to send.
func (w *worker) wait() bool {
	var retry <-chan time.Time
	if w.spooled.Load() > 0 {
		t := time.NewTimer(max(time.Until(w.retryAt), 0))
		defer t.Stop()
		retry = t.C
	}
	var drain <-chan struct{}
	if !w.draining {
		drain = w.h.drain
	}
	health := time.NewTimer(w.h.cfg.HealthInterval)
	defer health.Stop()
	select {
	case <-health.C:
		ctx, cancel := context.WithTimeout(w.h.abortCtx, w.h.cfg.SendTimeout)
		err := w.t.alive(ctx)
		cancel()
		if err != nil {
			w.setErr(err, true)
		}
	case m := <-w.q:
		w.held = m
	case <-w.kick:
	case <-retry:
	case <-drain:
		w.draining = true
	case <-w.h.abortCtx.Done():
		return false
	}
	return true
}

// fill collects a batch: spooled CDRs first (oldest first), then queued
// messages, rendered into the worker's arena.
func (w *worker) fill() int {
	h := w.h
	w.frames = w.frames[:0]
	w.arena = w.arena[:0]
	if n := w.spooled.Load(); n > 0 && !time.Now().Before(w.retryAt) {
		found := 0
		w.bad = w.bad[:0]
		err := h.spool.head(w.name, h.cfg.BatchSize, func(seq uint64, key, body []byte) {
			found++
			if key == nil {
				w.bad = append(w.bad, seq)
				return
			}
			s := len(w.arena)
			w.arena = append(w.arena, body...)
			w.frames = append(w.frames, frame{
				key: string(key), body: w.arena[s:len(w.arena):len(w.arena)],
				seq: seq, fam: event.FamilyCDR,
				id: h.spool.id + "-" + strconv.FormatUint(seq, 10),
			})
		})
		switch {
		case err != nil:
			h.cfg.Logger.Warn("publish: spool read", "transport", w.name, "err", err)
			w.refused()
		case len(w.bad) > 0:
			h.cfg.Logger.Error("publish: dropping unreadable spool entries", "transport", w.name, "entries", len(w.bad))
			_ = h.spool.remove(w.name, w.bad) // gone from memory either way
			w.spooled.Add(-int64(len(w.bad)))
		case found == 0:
			// Count drifted (a safety net: the bucket is the truth).
			w.spooled.CompareAndSwap(n, 0)
		}
	}
	if w.held != nil {
		w.add(w.held)
		w.held = nil
	}
	for limit := len(w.frames) + h.cfg.BatchSize; len(w.frames) < limit; {
		select {
		case m := <-w.q:
			w.add(m)
			continue
		default:
		}
		break
	}
	return len(w.frames)
}

func (w *worker) add(m Message) {
	s := len(w.arena)
	defer func() {
		if p := recover(); p != nil {
			w.arena = w.arena[:s]
			w.h.renderPanic(w, m, p)
		}
	}()
	f := m.Family()
	if int(f) >= nFamilies {
		f = 0
	}
	key := w.key(m)
	w.arena = w.body(m, w.arena)
	w.frames = append(w.frames, frame{key: key, body: w.arena[s:len(w.arena):len(w.arena)], fam: f})
}

// settle counts a sent batch and removes delivered CDRs from the spool.
func (w *worker) settle(connFailed bool) {
	w.seqs = w.seqs[:0]
	refused := false
	for i := range w.frames {
		f := &w.frames[i]
		switch {
		case w.ok[i]:
			w.published[f.fam].Add(1)
			if f.seq != 0 {
				w.seqs = append(w.seqs, f.seq)
			}
		case f.seq == 0:
			// Events are not retried: after an outage they are stale, and
			// the queue bound keeps memory fixed.
			w.dropped[f.fam].Add(1)
		default:
			refused = true
		}
	}
	clear(w.frames)
	if len(w.seqs) > 0 {
		if err := w.h.spool.remove(w.name, w.seqs); err != nil {
			// The file still holds them: they go out again after a
			// restart (at least once, never lost).
			w.h.cfg.Logger.Warn("publish: spool delete", "transport", w.name, "err", err)
		}
		w.spooled.Add(-int64(len(w.seqs)))
	}
	switch {
	case refused && !connFailed:
		w.refused()
	case !refused:
		w.cdrBackoff = nil
	}
}

// refused delays the next spool attempt after the broker took the
// connection's word but not the CDR (nack, or no subscriber).
func (w *worker) refused() {
	if w.cdrBackoff == nil {
		w.cdrBackoff = w.h.newBackoff()
	}
	w.retryAt = time.Now().Add(w.cdrBackoff.NextBackOff())
}

// dropQueued counts what Close leaves behind in memory.
func (w *worker) dropQueued() {
	if w.held != nil {
		w.drop(w.held)
		w.held = nil
	}
	for {
		select {
		case m := <-w.q:
			w.drop(m)
		default:
			return
		}
	}
}

func (w *worker) drop(m Message) {
	f := m.Family()
	if int(f) >= nFamilies {
		f = 0
	}
	w.dropped[f].Add(1)
	w.lostAtClose++
}
