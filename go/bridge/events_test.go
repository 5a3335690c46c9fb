package bridge

import (
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/nwayacd/mod_nwayacd/go/internal/tick"
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
	parked  atomic.Int32 // 0 awake, 1 deep, 2 timed (ring.c's states)
	urgent  uint64
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
	p := s.parked.Load()
	if (p == 1 || p == 2 && (s.urgent == 0 || s.urgent&(1<<uint(b.kind)) != 0)) && s.parked.Swap(0) != 0 {
		s.kick()
	}
}
func (s *fakeSource) setUrgent(mask uint64) { s.mu.Lock(); s.urgent = mask; s.mu.Unlock() }
func (s *fakeSource) ownThread() func()     { runtime.LockOSThread(); return func() {} }
func (s *fakeSource) pop(buf []unsafe.Pointer) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := copy(buf, s.q)
	s.q = s.q[n:]
	return n
}
func (s *fakeSource) free(buf []unsafe.Pointer) { s.freed.Add(int32(len(buf))) }
func (s *fakeSource) dropped() uint64           { return s.dropCnt.Load() }
func (s *fakeSource) park(timed bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.q) > 0 {
		return false
	}
	s.parked.Store(1)
	if timed {
		s.parked.Store(2)
	}
	return true
}

// wait never reports fd: packet feeds are tested on the C ring.
func (s *fakeSource) wait(deadline time.Time, _ int) (kicked, fdReady bool) {
	if deadline.IsZero() {
		<-s.wake
		return true, false
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-s.wake:
		return true, false
	case <-t.C:
		if s.parked.Swap(0) == 0 {
			<-s.wake // the kick that raced the deadline
		}
		return false, false
	}
}
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

// Event blocks come from the ring's pool and go back to it once decoded,
// dropped or popped; a block too large for the pool, and any while it is
// empty, is malloc'd, arrives intact and is freed, never pooled.
func TestCRingEventPool(t *testing.T) {
	const blocks = 4096 // NW_POOL_BLOCKS
	f := &fakeHandler{}
	startFake(t, f)
	if n := poolIdle(); n != blocks {
		t.Fatalf("pool has %d free blocks at the start, want %d", n, blocks)
	}
	h0, _ := EventStats()
	for i := 0; i < 3*blocks; i++ { // more than the pool holds, in turn
		if !pushTestEvent(int(session.ChannelCreate), "small") {
			t.Fatalf("push %d: a small block was not pooled with the reader keeping up", i)
		}
		if i%64 == 63 {
			waitFor(t, "the reader", func() bool { h, _ := EventStats(); return h-h0 == uint64(i+1) })
		}
	}
	big := strings.Repeat("u", 2000)
	if pushTestEvent(int(session.ChannelHangup), big) {
		t.Error("a 2 KB block came from the 1 KB pool")
	}
	waitFor(t, "every event", func() bool { h, _ := EventStats(); return h-h0 == 3*blocks+1 })
	f.mu.Lock()
	last := f.events[len(f.events)-1]
	f.mu.Unlock()
	if last.UUID != big {
		t.Errorf("the malloc'd block arrived with a %d-byte UUID", len(last.UUID))
	}
	if n := poolIdle(); n != blocks {
		t.Errorf("after the reader: %d free blocks, want %d", n, blocks)
	}
	stop()
	if !pushTestEvent(int(session.ChannelHangup), "late") {
		t.Error("not pooled after stop")
	}
	if n := poolIdle(); n != blocks {
		t.Errorf("a dropped block was not given back: %d free", n)
	}

	// No reader: the pool runs dry, the rest is malloc'd, and popping
	// gives back exactly the pool's blocks.
	r := cRing{}
	r.setOpen(true)
	defer r.setOpen(false)
	pooled := 0
	for i := 0; i < blocks+100; i++ {
		if pushTestEvent(int(session.ChannelCreate), "x") {
			pooled++
		}
	}
	if pooled != blocks || poolIdle() != 0 {
		t.Errorf("%d of %d pushes pooled, %d left free; want %d and 0", pooled, blocks+100, poolIdle(), blocks)
	}
	buf := make([]unsafe.Pointer, 256)
	for n := r.pop(buf); n > 0; n = r.pop(buf) {
		r.free(buf[:n])
	}
	if n := poolIdle(); n != blocks {
		t.Errorf("after popping: %d free blocks, want %d", n, blocks)
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

// Paced (SetEventPacing), lesser kinds wait in the C ring while the reader
// is parked timed, an urgent kind wakes it at once with them in order, and
// a tick that finds nothing puts it back to sleep until the next push.
func TestCRingPacedReaderWakesForUrgentKinds(t *testing.T) {
	SetEventPacing(10000*time.Hour, []session.EventKind{session.ChannelHangup}) // no tick comes in this test
	t.Cleanup(func() { SetEventPacing(0, nil) })
	f := &fakeHandler{}
	s0 := events.sleeps.Load() // counts across runs
	startFake(t, f)
	waitFor(t, "the reader to park", func() bool { return events.sleeps.Load() == s0+1 })
	h0, _ := EventStats()
	pushTestEvent(int(session.ChannelAnswer), "first") // reader parked deep: any push wakes it
	waitFor(t, "the first event", func() bool { h, _ := EventStats(); return h == h0+1 })
	waitFor(t, "the reader to park timed", func() bool { return events.sleeps.Load() == s0+2 })
	pushTestEvent(int(session.ChannelCreate), "lesser")
	pushTestEvent(int(session.ChannelBridge), "lesser")
	time.Sleep(50 * time.Millisecond)
	if h, _ := EventStats(); h != h0+1 {
		t.Fatalf("lesser events were handled while the reader was parked timed: %d", h-h0)
	}
	pushTestEvent(int(session.ChannelHangup), "urgent")
	waitFor(t, "the urgent event and those before it", func() bool { h, _ := EventStats(); return h == h0+4 })
	f.mu.Lock()
	var kinds []session.EventKind
	for _, ev := range f.events[len(f.events)-3:] {
		kinds = append(kinds, ev.Kind)
	}
	f.mu.Unlock()
	if kinds[0] != session.ChannelCreate || kinds[1] != session.ChannelBridge || kinds[2] != session.ChannelHangup {
		t.Errorf("handled out of order: %v", kinds)
	}
}

func TestCRingPacedReaderTicksThenSleeps(t *testing.T) {
	const period = 300 * time.Millisecond
	SetEventPacing(period, []session.EventKind{session.ChannelHangup})
	t.Cleanup(func() { SetEventPacing(0, nil) })
	startFake(t, &fakeHandler{})
	h0, _ := EventStats()
	t0 := events.ticks.Load()
	// Just past a grid instant an urgent event wakes the reader, which then
	// parks timed until the next instant, most of a period away.
	time.Sleep(time.Until(tick.Next(time.Now(), period)) + 5*time.Millisecond)
	pushTestEvent(int(session.ChannelHangup), "wake")
	waitFor(t, "the urgent event", func() bool { h, _ := EventStats(); return h == h0+1 })
	pushTestEvent(int(session.ChannelCreate), "lesser")
	pushed := time.Now()
	time.Sleep(period / 3)
	if h, _ := EventStats(); h != h0+1 && time.Since(pushed) < period*2/3 {
		t.Fatalf("a lesser event was handled before the tick")
	}
	waitFor(t, "the lesser event at the tick", func() bool { h, _ := EventStats(); return h == h0+2 })
	if d := time.Since(pushed); d > 2*time.Second {
		t.Errorf("a lesser event waited %v for a %v tick", d, period)
	}
	// The tick that handled it and, at most, one more that found the ring
	// empty; then the reader sleeps until a push.
	time.Sleep(3 * period)
	t1 := events.ticks.Load()
	if t1-t0 < 1 || t1-t0 > 3 {
		t.Errorf("%d ticks for one lesser event, want 1 to 3", t1-t0)
	}
	time.Sleep(3 * period)
	if t2 := events.ticks.Load(); t2 != t1 {
		t.Errorf("an idle reader kept ticking: %d more", t2-t1)
	}
}
