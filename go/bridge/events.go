package bridge

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/nwayacd/mod_nwayacd/go/session"
)

// eventSource is where event blocks wait (the C ring in production, see
// ring.c; a Go fake in tests). pop is only ever called by one goroutine.
type eventSource interface {
	setOpen(open bool) // closed: pushes are freed and counted as dropped
	pop([]unsafe.Pointer) int
	free([]unsafe.Pointer) // releases blocks after decoding
	dropped() uint64
}

// eventQueue drains an eventSource on one goroutine into Handler.ChannelEvent.
// It polls: waking a parked goroutine from FreeSWITCH's event thread would cost
// a futex call there, and the push side (C) never enters the Go runtime.
type eventQueue struct {
	src     eventSource
	decode  func(unsafe.Pointer) *session.ChannelEvent // copies out of the block
	running bool
	handled atomic.Uint64
	quit    chan struct{}
	wg      sync.WaitGroup
	batch   []unsafe.Pointer
}

const (
	pollMin   = time.Millisecond
	pollMax   = 10 * time.Millisecond
	batchSize = 256
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
	q.wg.Add(1)
	go q.run(hd, q.quit)
	q.src.setOpen(true)
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
	q.wg.Wait()
}

func (q *eventQueue) run(hd Handler, quit chan struct{}) {
	defer q.wg.Done()
	wait := pollMin
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		n := q.drain(hd)
		if n > 0 {
			wait = pollMin
		} else if wait < pollMax {
			wait *= 2
		}
		t.Reset(wait)
		select {
		case <-t.C:
		case <-quit:
			q.drain(hd)
			return
		}
	}
}

// drain handles what is queued now and reports how many.
func (q *eventQueue) drain(hd Handler) int {
	total := 0
	for {
		n := q.src.pop(q.batch)
		if n == 0 {
			return total
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
		total += n
	}
}

func (q *eventQueue) handle(hd Handler, ev *session.ChannelEvent) {
	defer func() {
		if r := recover(); r != nil {
			logPanic("channel event", r)
		}
	}()
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

// EventStats reports how many channel events were handled and dropped.
func EventStats() (handled, dropped uint64) {
	return events.handled.Load(), events.src.dropped()
}
