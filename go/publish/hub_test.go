package publish

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/event"
)

// memTransport is an in-process transport for the hub's own logic (queueing,
// drop accounting, retry order, Close); broker behaviour is tested against
// the real brokers in redis_test.go, amqp_test.go and fault_test.go.
type memTransport struct {
	mu      sync.Mutex
	stall   chan struct{} // when non-nil, send waits for it to close
	refuse  int           // refuse the CDRs of this many upcoming batches (ok=false, no error)
	got     []string      // key + " " + body, in delivery order
	batches int
	deaf    bool // a stalled send ignores ctx, like a blocked socket write
}

func (m *memTransport) connect(context.Context) error { return nil }
func (m *memTransport) close() error                  { return nil }
func (m *memTransport) alive(context.Context) error   { return nil }

func (m *memTransport) send(ctx context.Context, fs []frame, ok []bool) error {
	m.mu.Lock()
	stall := m.stall
	m.mu.Unlock()
	if stall != nil {
		done := ctx.Done()
		if m.deaf {
			done = nil
		}
		select {
		case <-stall:
		case <-done:
			clear(ok[:len(fs)])
			return ctx.Err()
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.batches++
	refuse := false
	for _, f := range fs {
		if f.seq != 0 && m.refuse > 0 {
			refuse = true
		}
	}
	if refuse {
		m.refuse--
	}
	for i, f := range fs {
		if f.seq != 0 && refuse {
			ok[i] = false
			continue
		}
		ok[i] = true
		m.got = append(m.got, f.key+" "+string(f.body))
	}
	return nil
}

func (m *memTransport) delivered() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.got...)
}

func memHub(t testing.TB, cfg Config, mt *memTransport) *Hub {
	t.Helper()
	if cfg.SpoolPath == "" {
		cfg.SpoolPath = spoolPath(t)
	}
	cfg.Redis = &RedisConfig{} // satisfies fill; replaced by mt below
	if err := cfg.fill(); err != nil {
		t.Fatal(err)
	}
	h, err := newHub(cfg, []*worker{{name: "mem", key: Message.Channel, body: Message.AppendRedis, t: mt}})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestConfigErrors(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no transport": {SpoolPath: "x.db"},
		"no spool":     {Redis: &RedisConfig{}},
	} {
		if _, err := New(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: err = %v, want ErrConfig", name, err)
		}
	}
}

func TestSpoolLockedByOtherHub(t *testing.T) {
	path := spoolPath(t)
	h := memHub(t, Config{SpoolPath: path}, &memTransport{})
	defer closeHub(t, h)
	start := time.Now()
	if _, err := New(Config{Redis: &RedisConfig{}, SpoolPath: path}); err == nil {
		t.Fatal("second hub opened a spool already in use")
	}
	t.Logf("second open failed after %v", time.Since(start))
}

// TestFullQueueDropsAndCounts stalls the transport and checks that Publish
// keeps returning at once, that every message is either delivered or counted
// as dropped, and that drops are logged.
func TestFullQueueDropsAndCounts(t *testing.T) {
	stall := make(chan struct{})
	mt := &memTransport{stall: stall}
	logs := &logSink{t: t}
	h := memHub(t, Config{QueueSize: 8, BatchSize: 4, LogInterval: 20 * time.Millisecond, Logger: logs.logger()}, mt)
	defer closeHub(t, h)

	const n = 200
	refused := 0
	var slowest time.Duration
	for i := range n {
		fam := []event.Family{event.FamilyEvent, event.FamilyQueue, event.FamilyAgent}[i%3]
		start := time.Now()
		if !h.Publish(&testMsg{fam: fam, ent: "1", tok: "t", id: i}) {
			refused++
		}
		slowest = max(slowest, time.Since(start))
	}
	// CDRs are never refused, even with the transport stuck.
	for i := range 20 {
		if !h.Publish(&testMsg{fam: event.FamilyCDR, ent: "1", tok: "t", id: 1000 + i}) {
			t.Fatalf("CDR %d refused", i)
		}
	}
	if slowest > 100*time.Millisecond {
		t.Errorf("Publish took %v with the transport stalled", slowest)
	}
	st := transportStats(h, "mem")
	if refused == 0 || uint64(refused) != st.Dropped.Total() {
		t.Fatalf("Publish refused %d, stats dropped %+v", refused, st.Dropped)
	}
	if st.Dropped.Event == 0 || st.Dropped.Queue == 0 || st.Dropped.Agent == 0 || st.Dropped.CDR != 0 {
		t.Errorf("per-family drops %+v", st.Dropped)
	}
	if !eventually(5*time.Second, func() bool { return logs.has("publish: dropped (queue full or broker down) transport=mem event=") }) {
		t.Errorf("drops never logged")
	}
	close(stall)
	if !eventually(5*time.Second, func() bool {
		st := transportStats(h, "mem")
		return st.Published.Total()+st.Dropped.Total() == n+20 && st.Spooled == 0
	}) {
		t.Fatalf("not settled: %+v", transportStats(h, "mem"))
	}
	if got := len(mt.delivered()); got != n+20-refused {
		t.Errorf("delivered %d, want %d", got, n+20-refused)
	}
}

// TestRefusedCDRsRetriedInOrder has the transport refuse whole batches of
// CDRs (as PUBLISH with no subscriber does) and checks they are retried, in
// order, and removed from the spool only once accepted.
func TestRefusedCDRsRetriedInOrder(t *testing.T) {
	mt := &memTransport{refuse: 5}
	h := memHub(t, Config{BatchSize: 8, ReconnectMin: 5 * time.Millisecond, ReconnectMax: 20 * time.Millisecond}, mt)
	defer closeHub(t, h)
	const n = 40
	for i := range n {
		h.Publish(&testMsg{fam: event.FamilyCDR, ent: "9", tok: "t", id: i})
	}
	if !eventually(10*time.Second, func() bool { return len(mt.delivered()) >= n }) {
		t.Fatalf("delivered %d of %d", len(mt.delivered()), n)
	}
	got := mt.delivered()
	if len(got) != n {
		t.Fatalf("delivered %d, want %d: %v", len(got), n, got)
	}
	for i, s := range got {
		if want := "cdr_9 t," + strconv.Itoa(i); s != want {
			t.Fatalf("position %d = %q, want %q (all: %v)", i, s, want, got)
		}
	}
	// The spool delete follows the send; give it a moment.
	if !eventually(5*time.Second, func() bool { return transportStats(h, "mem").Spooled == 0 }) {
		t.Errorf("still spooled: %+v", transportStats(h, "mem"))
	}
	if st := transportStats(h, "mem"); st.Published.CDR != n {
		t.Errorf("stats %+v", st)
	}
	mt.mu.Lock()
	defer mt.mu.Unlock()
	if mt.refuse != 0 || mt.batches < 6 {
		t.Errorf("refusals left %d after %d batches: retries did not happen", mt.refuse, mt.batches)
	}
}

// TestCloseFlushes publishes and closes at once: everything queued or spooled
// must be delivered before Close returns.
func TestCloseFlushes(t *testing.T) {
	mt := &memTransport{}
	h := memHub(t, Config{QueueSize: 4096}, mt)
	for i := range 1000 {
		fam := event.FamilyAgent
		if i%10 == 0 {
			fam = event.FamilyCDR
		}
		if !h.Publish(&testMsg{fam: fam, ent: "1", tok: "t", id: i}) {
			t.Fatalf("Publish %d refused", i)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := len(mt.delivered()); got != 1000 {
		t.Errorf("delivered %d of 1000 by Close", got)
	}
	if err := h.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestCloseGivesUp: with the transport stuck, Close returns when ctx ends and
// says what it left behind; the CDRs stay on disk for the next hub.
func TestCloseGivesUp(t *testing.T) {
	path := spoolPath(t)
	h := memHub(t, Config{SpoolPath: path}, &memTransport{stall: make(chan struct{})})
	for i := range 5 {
		h.Publish(&testMsg{fam: event.FamilyCDR, ent: "1", tok: "t", id: i})
		h.Publish(&testMsg{fam: event.FamilyAgent, ent: "1", tok: "t", id: i})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := h.Close(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v, want deadline exceeded", err)
	}
	mt := &memTransport{}
	h2 := memHub(t, Config{SpoolPath: path}, mt)
	defer closeHub(t, h2)
	if !eventually(5*time.Second, func() bool { return len(mt.delivered()) == 5 }) {
		t.Fatalf("replayed %v", mt.delivered())
	}
}

func TestDefaultCTIIP(t *testing.T) {
	ip := net.ParseIP(DefaultCTIIP())
	if ip == nil || ip.To4() == nil {
		t.Fatalf("DefaultCTIIP() = %q, not IPv4", DefaultCTIIP())
	}
	if ip.IsLoopback() {
		// Only acceptable when the machine has no other IPv4 address.
		addrs, _ := net.InterfaceAddrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
				t.Errorf("DefaultCTIIP() = loopback, but %v exists", n.IP)
			}
		}
	}
}

// panicky is a Message whose rendering panics, like a nil field deref would.
type panicky struct{ fam event.Family }

func (p *panicky) Family() event.Family             { return p.fam }
func (p *panicky) Channel() string                  { return "event_x" }
func (p *panicky) RoutingKey() string               { return "event.x" }
func (p *panicky) AppendRedis([]byte) []byte        { panic("bad message") }
func (p *panicky) AppendJSON([]byte, string) []byte { panic("bad message") }

// TestPanickingMessage: a broken Message is dropped and counted; it neither
// kills the process nor blocks the messages behind it.
func TestPanickingMessage(t *testing.T) {
	mt := &memTransport{}
	logs := &logSink{t: t}
	h := memHub(t, Config{Logger: logs.logger()}, mt)
	defer closeHub(t, h)
	if h.Publish(nil) {
		t.Errorf("Publish(nil) accepted")
	}
	h.Publish(&panicky{fam: event.FamilyAgent})
	h.Publish(&panicky{fam: event.FamilyCDR})
	h.Publish(&testMsg{fam: event.FamilyAgent, ent: "1", tok: "t", id: 1})
	h.Publish(&testMsg{fam: event.FamilyCDR, ent: "1", tok: "t", id: 2})
	if !eventually(5*time.Second, func() bool { return len(mt.delivered()) == 2 }) {
		t.Fatalf("delivered %v", mt.delivered())
	}
	st := transportStats(h, "mem")
	if st.Dropped.Agent != 1 || st.Dropped.CDR != 1 {
		t.Errorf("dropped %+v, want one agent and one CDR", st.Dropped)
	}
	if !logs.has("rendering panicked") {
		t.Errorf("panic not logged")
	}
}

// TestCloseAbandonsStuckTransport: a send that ignores its context cannot
// hold Close past its deadline plus a grace; the CDR stays on disk.
func TestCloseAbandonsStuckTransport(t *testing.T) {
	path := spoolPath(t)
	stall := make(chan struct{})
	mt := &memTransport{stall: stall, deaf: true}
	h := memHub(t, Config{SpoolPath: path}, mt)
	h.Publish(&testMsg{fam: event.FamilyCDR, ent: "1", tok: "t", id: 1})
	if !eventually(5*time.Second, func() bool { return transportStats(h, "mem").Spooled == 1 }) {
		t.Fatal("CDR never spooled")
	}
	time.Sleep(50 * time.Millisecond) // let the worker enter its send
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := h.Close(ctx)
	if err == nil || !strings.Contains(err.Error(), "stuck") {
		t.Fatalf("Close = %v, want a stuck-transport error", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Close took %v", d)
	}
	close(stall) // the abandoned worker wakes up to a closed spool
	mt2 := &memTransport{}
	h2 := memHub(t, Config{SpoolPath: path}, mt2)
	defer closeHub(t, h2)
	if !eventually(5*time.Second, func() bool { return len(mt2.delivered()) == 1 }) {
		t.Fatalf("CDR not replayed by the next hub: %v", mt2.delivered())
	}
}
