package bridge

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/nwayacd/mod_nwayacd/go/session"
)

// eventQueueLen bounds the events waiting for the Handler; past it events
// are dropped (and counted) rather than stalling FreeSWITCH's event thread.
const eventQueueLen = 1 << 14

// eventQueue carries C event blocks from FreeSWITCH's event thread to one
// goroutine. The producer side only does a non-blocking channel send.
type eventQueue struct {
	ch      chan unsafe.Pointer
	decode  func(unsafe.Pointer) *session.ChannelEvent // copies out of the block
	free    func(unsafe.Pointer)
	running atomic.Bool
	dropped atomic.Uint64
	handled atomic.Uint64
	quit    chan struct{}
	wg      sync.WaitGroup
}

func newEventQueue(n int, decode func(unsafe.Pointer) *session.ChannelEvent, free func(unsafe.Pointer)) *eventQueue {
	return &eventQueue{ch: make(chan unsafe.Pointer, n), decode: decode, free: free}
}

// push takes ownership of p. It never blocks.
func (q *eventQueue) push(p unsafe.Pointer) {
	if !q.running.Load() {
		q.free(p)
		q.dropped.Add(1)
		return
	}
	select {
	case q.ch <- p:
	default:
		q.free(p)
		q.dropped.Add(1)
	}
}

func (q *eventQueue) start(hd Handler) {
	q.quit = make(chan struct{})
	q.wg.Add(1)
	go q.run(hd, q.quit)
	q.running.Store(true)
}

// stop ends the goroutine after it has handled what was queued.
func (q *eventQueue) stop() {
	if !q.running.Swap(false) {
		return
	}
	close(q.quit)
	q.wg.Wait()
}

// The consumer polls instead of blocking on the channel: a send to a channel
// with a parked receiver wakes it (a futex call, microseconds on
// FreeSWITCH's event thread); a send into the buffer alone does not.
const (
	pollMin = time.Millisecond
	pollMax = 10 * time.Millisecond
)

func (q *eventQueue) run(hd Handler, quit chan struct{}) {
	defer q.wg.Done()
	wait := pollMin
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		n := q.drain(hd)
		select {
		case <-quit:
			q.drain(hd)
			return
		default:
		}
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
	for n := 0; ; n++ {
		select {
		case p := <-q.ch:
			q.handle(hd, p)
		default:
			return n
		}
	}
}

func (q *eventQueue) handle(hd Handler, p unsafe.Pointer) {
	ev := q.decode(p)
	q.free(p)
	defer func() {
		if r := recover(); r != nil {
			logPanic("channel event", r)
		}
	}()
	if ev != nil {
		hd.ChannelEvent(ev)
		q.handled.Add(1)
	}
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
	return events.handled.Load(), events.dropped.Load()
}
