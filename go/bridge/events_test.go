package bridge

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/nwayacd/mod_nwayacd/go/session"
)

// goBlock stands in for a C event block in the fake source.
type goBlock struct {
	kind int
	uuid string
}

// fakeSource mirrors ring.c's contract in Go.
type fakeSource struct {
	mu      sync.Mutex
	open    bool
	cap     int
	q       []unsafe.Pointer
	freed   atomic.Int32
	dropCnt atomic.Uint64
	parked  atomic.Bool
	wake    chan struct{}
}

func newFakeSource(cap int) *fakeSource { return &fakeSource{cap: cap, wake: make(chan struct{}, 1)} }

func (s *fakeSource) setOpen(o bool) { s.mu.Lock(); s.open = o; s.mu.Unlock() }
func (s *fakeSource) push(b *goBlock) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.open || len(s.q) == s.cap {
		s.freed.Add(1)
		s.dropCnt.Add(1)
		return
	}
	s.q = append(s.q, unsafe.Pointer(b))
	if s.parked.Swap(false) {
		s.kick()
	}
}
func (s *fakeSource) pop(buf []unsafe.Pointer) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := copy(buf, s.q)
	s.q = s.q[n:]
	return n
}
func (s *fakeSource) free(buf []unsafe.Pointer) { s.freed.Add(int32(len(buf))) }
func (s *fakeSource) dropped() uint64           { return s.dropCnt.Load() }
func (s *fakeSource) park() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.q) > 0 {
		return false
	}
	s.parked.Store(true)
	return true
}
func (s *fakeSource) wait() { <-s.wake }
func (s *fakeSource) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func decodeGo(p unsafe.Pointer) *session.ChannelEvent {
	b := (*goBlock)(p)
	var f [efCount]string
	f[efUUID] = b.uuid
	return reduceEvent(b.kind, &f)
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
	src := newFakeSource(1000)
	q := newEventQueue(src, decodeGo)
	f := &fakeHandler{}
	q.start(f)
	for i := 0; i < 600; i++ { // more than one batch
		src.push(&goBlock{kind: int(session.ChannelAnswer), uuid: "u"})
	}
	waitFor(t, "600 events", func() bool { return q.handled.Load() == 600 })
	q.stop()
	if src.freed.Load() != 600 {
		t.Errorf("freed %d blocks, want 600", src.freed.Load())
	}
	if len(f.events) != 600 || f.events[0].Kind != session.ChannelAnswer || f.events[0].UUID != "u" {
		t.Errorf("handler got %d events, first %+v", len(f.events), f.events[0])
	}
}

func TestEventQueueStopDrainsPendingAndCloses(t *testing.T) {
	src := newFakeSource(100)
	q := newEventQueue(src, decodeGo)
	f := &fakeHandler{}
	q.start(f)
	for i := 0; i < 50; i++ {
		src.push(&goBlock{kind: 2})
	}
	q.stop()
	if src.freed.Load() != 50 || len(f.events) != 50 {
		t.Errorf("after stop: freed %d handled %d, want 50", src.freed.Load(), len(f.events))
	}
	src.push(&goBlock{kind: 2})
	if src.dropped() != 1 {
		t.Errorf("push after stop was not dropped")
	}
}

func TestEventQueueSurvivesHandlerPanicAndBadKind(t *testing.T) {
	src := newFakeSource(8)
	q := newEventQueue(src, decodeGo)
	f := &fakeHandler{panicOn: "ChannelEvent"}
	q.start(f)
	src.push(&goBlock{kind: 99}) // unknown kind: freed, not handled
	src.push(&goBlock{kind: 3})  // handler panics
	waitFor(t, "both freed", func() bool { return src.freed.Load() == 2 })
	f.setPanic("")
	src.push(&goBlock{kind: 3})
	waitFor(t, "the goroutine to keep going", func() bool { return q.handled.Load() == 1 })
	q.stop()
}

// The real C ring: blocks pushed through nwayacd_channel_event reach the
// Handler; closed or full, they are dropped and counted, never blocking.
func TestCRing(t *testing.T) {
	f := &fakeHandler{}
	startFake(t, f)
	h0, d0 := EventStats()
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ { // several FreeSWITCH event threads
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 250; i++ {
				pushTestEvent(int(session.ChannelHangup), "c-uuid")
			}
		}()
	}
	wg.Wait()
	waitFor(t, "1000 events through the C ring", func() bool { h, _ := EventStats(); return h-h0 == 1000 })
	f.mu.Lock()
	last := f.events[len(f.events)-1]
	f.mu.Unlock()
	if last.Kind != session.ChannelHangup || last.UUID != "c-uuid" {
		t.Errorf("decoded %+v", last)
	}
	stop()
	pushTestEvent(int(session.ChannelHangup), "late")
	if _, d := EventStats(); d != d0+1 {
		t.Errorf("dropped %d after stop, want 1", d-d0)
	}
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

func TestCRingFullDrops(t *testing.T) {
	stop()
	r := cRing{}
	r.setOpen(true)
	defer r.setOpen(false)
	_, d0 := EventStats()
	const size = 16384 // NW_RING_SIZE
	for i := 0; i < size+10; i++ {
		pushTestEvent(int(session.ChannelCreate), "x")
	}
	if _, d := EventStats(); d-d0 != 10 {
		t.Errorf("dropped %d on a full ring, want 10", d-d0)
	}
	buf := make([]unsafe.Pointer, 1000)
	got := 0
	for n := r.pop(buf); n > 0; n = r.pop(buf) {
		r.free(buf[:n])
		got += n
	}
	if got != size {
		t.Errorf("popped %d, want %d", got, size)
	}
}

// Idle, the reader sleeps on the C ring's eventfd instead of polling: it
// parks once, stays parked, and one push wakes it at once.
func TestCRingIdleReaderSleeps(t *testing.T) {
	before := events.sleeps.Load() // counts across runs
	startFake(t, &fakeHandler{})
	waitFor(t, "the reader to park", func() bool { return events.sleeps.Load() > before })
	s0 := events.sleeps.Load()
	time.Sleep(100 * time.Millisecond)
	if s := events.sleeps.Load(); s != s0 {
		t.Errorf("idle reader woke %d times in 100 ms", s-s0)
	}
	h0, _ := EventStats()
	pushTestEvent(int(session.ChannelAnswer), "wake-me")
	waitFor(t, "the pushed event", func() bool { h, _ := EventStats(); return h == h0+1 })
	waitFor(t, "the reader to park again", func() bool { return events.sleeps.Load() == s0+1 })
	time.Sleep(50 * time.Millisecond)
	if s := events.sleeps.Load(); s != s0+1 {
		t.Errorf("after one event the reader parked %d times, want once", s-s0)
	}
}
