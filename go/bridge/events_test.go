package bridge

import (
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/nwayacd/mod_nwayacd/go/session"
)

// goBlock stands in for a C event block in these tests.
type goBlock struct {
	kind  int
	uuid  string
	freed *atomic.Int32
}

func testQueue(n int) *eventQueue {
	return newEventQueue(n,
		func(p unsafe.Pointer) *session.ChannelEvent {
			b := (*goBlock)(p)
			var f [efCount]string
			f[efUUID] = b.uuid
			return reduceEvent(b.kind, &f)
		},
		func(p unsafe.Pointer) { (*goBlock)(p).freed.Add(1) })
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestEventQueueDeliversAndFrees(t *testing.T) {
	q := testQueue(16)
	f := &fakeHandler{}
	var freed atomic.Int32
	q.start(f)
	for i := 0; i < 10; i++ {
		q.push(unsafe.Pointer(&goBlock{kind: int(session.ChannelAnswer), uuid: "u", freed: &freed}))
	}
	waitFor(t, "10 events", func() bool { return q.handled.Load() == 10 })
	q.stop()
	if freed.Load() != 10 {
		t.Errorf("freed %d blocks, want 10", freed.Load())
	}
	if len(f.events) != 10 || f.events[0].Kind != session.ChannelAnswer || f.events[0].UUID != "u" {
		t.Errorf("handler got %d events, first %+v", len(f.events), f.events[0])
	}
}

func TestEventQueueDropsWhenStoppedOrFull(t *testing.T) {
	q := testQueue(2)
	var freed atomic.Int32
	q.push(unsafe.Pointer(&goBlock{kind: 1, freed: &freed}))
	if q.dropped.Load() != 1 || freed.Load() != 1 {
		t.Fatalf("push while stopped: dropped %d freed %d", q.dropped.Load(), freed.Load())
	}
	// Running but nobody drains: mark running without a consumer.
	q.running.Store(true)
	for i := 0; i < 5; i++ {
		q.push(unsafe.Pointer(&goBlock{kind: 1, freed: &freed}))
	}
	if q.dropped.Load() != 4 || freed.Load() != 4 || len(q.ch) != 2 {
		t.Errorf("full queue: dropped %d freed %d queued %d", q.dropped.Load(), freed.Load(), len(q.ch))
	}
}

func TestEventQueueStopDrainsPending(t *testing.T) {
	q := testQueue(64)
	f := &fakeHandler{}
	var freed atomic.Int32
	q.start(f)
	for i := 0; i < 50; i++ {
		q.push(unsafe.Pointer(&goBlock{kind: 2, freed: &freed}))
	}
	q.stop()
	if freed.Load() != 50 || len(f.events) != 50 {
		t.Errorf("after stop: freed %d handled %d, want 50", freed.Load(), len(f.events))
	}
}

func TestEventQueueSurvivesHandlerPanicAndBadKind(t *testing.T) {
	q := testQueue(8)
	f := &fakeHandler{panicOn: "ChannelEvent"}
	var freed atomic.Int32
	q.start(f)
	q.push(unsafe.Pointer(&goBlock{kind: 99, freed: &freed})) // unknown kind: freed, not handled
	q.push(unsafe.Pointer(&goBlock{kind: 3, freed: &freed}))  // handler panics
	waitFor(t, "both freed", func() bool { return freed.Load() == 2 })
	f.setPanic("")
	q.push(unsafe.Pointer(&goBlock{kind: 3, freed: &freed}))
	waitFor(t, "the goroutine to keep going", func() bool { return q.handled.Load() == 1 })
	q.stop()
}

func TestReduceEvent(t *testing.T) {
	var f [efCount]string
	f[efUUID], f[efStartUsec], f[efAnswerUsec], f[efEndUsec] = "u", "1764028800000000", "junk", "-5"
	f[efUser], f[efNwayCall] = "1000", "caller-uuid"
	ev := reduceEvent(int(session.SIPRegister), &f)
	if ev == nil || ev.Kind != session.SIPRegister || ev.UUID != "u" || ev.User != "1000" || ev.NwayCall != "caller-uuid" {
		t.Fatalf("reduceEvent = %+v", ev)
	}
	if ev.StartUsec != 1764028800000000 || ev.AnswerUsec != 0 || ev.EndUsec != 0 {
		t.Errorf("times = %d %d %d", ev.StartUsec, ev.AnswerUsec, ev.EndUsec)
	}
	if reduceEvent(0, &f) != nil || reduceEvent(int(session.SIPExpire)+1, &f) != nil {
		t.Error("out-of-range kinds were accepted")
	}
}
