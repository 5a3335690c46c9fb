package bridge

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/nwayacd/mod_nwayacd/go/internal/tick"
	"github.com/nwayacd/mod_nwayacd/go/session"
)

// eventSource is where event blocks wait (the C ring in production, see
// ring.c; a Go fake in tests). pop, park and wait are only ever called by one
// goroutine.
type eventSource interface {
	setOpen(open bool) // closed: pushes are freed and counted as dropped
	pop([]unsafe.Pointer) int
	free([]unsafe.Pointer) // releases blocks after decoding
	dropped() uint64
	// park announces that the consumer is about to wait: false when blocks
	// came in meanwhile (pop again), true when the next push will end wait
	// (timed: the next urgent push, or wait's deadline).
	park(timed bool) bool
	// wait sleeps until a push after park, kick, fd (>= 0) readable, or
	// deadline (zero: none): kicked by a push or kick, fdReady when fd is
	// readable, neither when the deadline ended it.
	wait(deadline time.Time, fd int) (kicked, fdReady bool)
	kick() // ends a wait (stop)
	// setUrgent names the kinds (bit 1<<kind) that end a timed park; 0: all.
	setUrgent(mask uint64)
	// ownThread locks the reader to its thread and prepares it before its
	// first pop; release undoes it as the reader ends.
	ownThread() (release func())
}

// eventQueue drains an eventSource on one goroutine into Handler.ChannelEvent.
// It never polls: with the source empty it sleeps until the next push wakes
// it (ring.c: an eventfd, written only by the push that finds the consumer
// parked), so an idle module costs nothing.
type eventQueue struct {
	src     eventSource
	decode  func(unsafe.Pointer) *session.ChannelEvent // copies out of the block
	running bool
	// period > 0: with calls up the reader wakes on the tick grid, or for an
	// urgent kind, instead of for every event (SetEventPacing).
	period  time.Duration
	ticks   atomic.Uint64 // timed parks ended by their deadline
	handled atomic.Uint64
	sleeps  atomic.Uint64 // times the reader parked: no polling when idle
	quit    chan struct{}
	wg      sync.WaitGroup
	batch   []unsafe.Pointer
	feeds   feeds // a socket the reader drains too (feed.go)
}

const (
	batchSize = 256
	// spinFor is how long the reader keeps looking after the ring ran dry
	// before it parks. Events come in bursts (a call's create, progress,
	// answer, bridge … within microseconds); catching a burst's next event
	// here spares FreeSWITCH's thread the eventfd write(2) that waking a
	// parked reader costs. BenchmarkChannelEvent (go/cmd/mod_nwayacd) shows
	// the difference: without the spin, most pushes of a burst pay the write.
	spinFor = 20 * time.Microsecond
	// feedEvery is how often a reader the ring keeps from parking still
	// looks at its packet feed (feed.go).
	feedEvery = time.Millisecond
)

func newEventQueue(src eventSource, decode func(unsafe.Pointer) *session.ChannelEvent) *eventQueue {
	return &eventQueue{src: src, decode: decode, batch: make([]unsafe.Pointer, batchSize)}
}

// start and stop are serialized by the bridge's mu.
func (q *eventQueue) start(hd Handler) {
	if q.running {
		return
	}
	q.running = true
	q.quit = make(chan struct{})
	q.period = time.Duration(pacePeriod.Load())
	urgent := paceUrgent.Load()
	if q.period <= 0 {
		urgent = 0
	}
	q.src.setUrgent(urgent)
	q.src.setOpen(true)
	q.wg.Add(1)
	go q.run(hd, q.quit)
}

// stop closes the source, then ends the goroutine after it has handled what
// was queued.
func (q *eventQueue) stop() {
	if !q.running {
		return
	}
	q.running = false
	q.src.setOpen(false)
	close(q.quit)
	q.src.kick()
	q.wg.Wait()
}

// run drains, then parks. Having handled events since it last woke, it parks
// timed: lesser events (a call's create, progress, answer, bridge …) wait in
// the ring until the next tick, where the publisher's batch deadlines fall
// too, and only an urgent kind wakes it early. Woken by the tick to an empty
// ring, it parks until the next push: an idle module never ticks.
func (q *eventQueue) run(hd Handler, quit chan struct{}) {
	defer q.wg.Done()
	// Never unlocked: the thread ends with the goroutine, and one whose
	// scheduling ownThread changed never serves other goroutines.
	defer q.src.ownThread()()
	q.readerUp(true)
	defer q.readerUp(false)
	busy := false
	// The feed's last look: ppoll's at each wait (it reports every ready
	// descriptor), or the spin's while the ring keeps the reader from
	// parking.
	var fed time.Time
	for {
		// A plain spin: the reader is locked to its thread, where a
		// Gosched would hand the P to another thread and wake this one
		// back, two context switches a turn.
		for last := time.Now(); ; {
			if q.drain(hd) > 0 {
				last = time.Now()
				busy = true
			}
			now := time.Now()
			if now.Sub(last) >= spinFor {
				break
			}
			// a ring that never runs dry must not starve the feed
			if now.Sub(fed) >= feedEvery {
				fed = now
				if q.feedFD() >= 0 {
					q.drainFeed(now)
				}
			}
		}
		select {
		case <-quit:
			for q.drain(hd) > 0 {
			}
			return
		default:
		}
		timed := busy && q.period > 0
		if q.src.park(timed) {
			q.sleeps.Add(1)
			now := time.Now()
			var deadline time.Time
			if timed {
				deadline = tick.Next(now, q.period)
			}
			fd, deadline := q.feedWait(now, deadline)
			kicked, fdReady := q.src.wait(deadline, fd)
			if timed && !kicked && !fdReady {
				q.ticks.Add(1)
			}
			fed = time.Now()
			if fdReady {
				q.drainFeed(fed)
			}
			busy = false
		}
	}
}

// drain handles one batch of what is queued and reports how many: the
// reader's loop comes back for more, and looks at its feed between batches.
func (q *eventQueue) drain(hd Handler) int {
	n := q.src.pop(q.batch)
	if n == 0 {
		return 0
	}
	evs := make([]*session.ChannelEvent, n)
	for i, p := range q.batch[:n] {
		evs[i] = q.decode(p)
	}
	q.src.free(q.batch[:n])
	for _, ev := range evs {
		if ev != nil {
			q.handle(hd, ev)
		}
	}
	return n
}

func (q *eventQueue) handle(hd Handler, ev *session.ChannelEvent) {
	defer recovered("channel event", "", nil)
	hd.ChannelEvent(ev)
	q.handled.Add(1)
}

// Event field indexes, in nwayacd_event_field_t order.
const (
	efUUID = iota
	efOtherUUID
	efDirection
	efCallerNumber
	efDestNumber
	efDomain
	efDTMF
	efGateway
	efOrigCaller
	efOrigDest
	efHangupCause
	efSIPDisposition
	efRecordFile
	efStartUsec
	efAnswerUsec
	efEndUsec
	efUser
	efNwayCall
	efCount
)

// reduceEvent builds a ChannelEvent from the fields of an event block.
func reduceEvent(kind int, f *[efCount]string) *session.ChannelEvent {
	if kind < int(session.ChannelCreate) || kind > int(session.SIPExpire) {
		return nil
	}
	return &session.ChannelEvent{
		Kind:                 session.EventKind(kind),
		UUID:                 f[efUUID],
		OtherUUID:            f[efOtherUUID],
		Direction:            f[efDirection],
		CallerNumber:         f[efCallerNumber],
		DestNumber:           f[efDestNumber],
		Domain:               f[efDomain],
		DTMF:                 f[efDTMF],
		Gateway:              f[efGateway],
		OrigCallerNumber:     f[efOrigCaller],
		OrigDestNumber:       f[efOrigDest],
		HangupCause:          f[efHangupCause],
		SIPHangupDisposition: f[efSIPDisposition],
		RecordFile:           f[efRecordFile],
		StartUsec:            usec(f[efStartUsec]),
		AnswerUsec:           usec(f[efAnswerUsec]),
		EndUsec:              usec(f[efEndUsec]),
		User:                 f[efUser],
		NwayCall:             f[efNwayCall],
	}
}

// usec parses FreeSWITCH's microsecond timestamps; anything else is 0.
func usec(s string) int64 {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return 0
	}
	return v
}

var pacePeriod, paceUrgent atomic.Uint64

// SetEventPacing lets channel events other than urgent ones wait up to
// period (on the tick grid) before the event goroutine wakes for them; 0,
// the default, wakes it for every one. It applies from the event
// goroutine's next start, which follows Handler.Start: call it from there.
func SetEventPacing(period time.Duration, urgent []session.EventKind) {
	var mask uint64
	for _, k := range urgent {
		if k > 0 && k < 64 {
			mask |= 1 << uint(k)
		}
	}
	pacePeriod.Store(uint64(max(period, 0)))
	paceUrgent.Store(mask)
}

// EventStats reports how many channel events were handled and dropped.
func EventStats() (handled, dropped uint64) {
	return events.handled.Load(), events.src.dropped()
}
