// Package publish pushes the event families of SPEC.md §7 to Redis pub/sub
// and RabbitMQ without ever blocking the call path.
//
// Each transport has a bounded in-memory queue and one goroutine that owns its
// connection, renders messages and sends them in batches. When a queue is full
// a non-CDR message is dropped and counted. CDRs never go through that queue:
// they are written to a spool file (an append-only log, spool.go; one bucket
// per transport) and leave it only once that transport's broker accepted
// them, so they survive broker outages and restarts.
//
// Guarantees for a CDR:
//   - Publish appends it to an in-memory list and returns; a spool goroutine
//     writes the list to disk in one fsync'd transaction a moment later (group
//     commit). A CDR is durable from that commit on; the process dying
//     between Publish and the commit (one fsync, typically a few ms) loses
//     it. Close always flushes the list to disk first. If the disk fails,
//     CDRs wait in memory and the write is retried.
//   - It is removed from a transport's bucket only after Redis answered the
//     PUBLISH without error (and, with RedisConfig.CDRNeedsSubscriber, reached
//     at least one subscriber) or RabbitMQ confirmed it with ack=true.
//   - Each transport delivers its bucket oldest first, so CDRs spooled during
//     an outage or left by an earlier process go out, in order, before newer
//     ones. A CDR nacked on its own may be retried after later ones.
//   - Delivery is exactly once in normal operation and at least once at the
//     edges: a batch whose replies were lost with the connection, a crash
//     after the broker acked but before the delivery mark was written, or a
//     machine (not process) crash that lost the mark (it is not fsynced), is
//     sent again. On
//     RabbitMQ a resent CDR carries the same message-id ("<spool id>-<seq>"),
//     so consumers can drop the repeat.
package publish

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/nwayacd/mod_nwayacd/go/event"
	"github.com/nwayacd/mod_nwayacd/go/logx"
	"github.com/nwayacd/mod_nwayacd/go/publish/amqppub"
	"github.com/nwayacd/mod_nwayacd/go/publish/redispub"
)

// Message is one event of §7. Publish keeps m and renders it later on a
// transport goroutine, so the caller must not modify m after Publish.
type Message interface {
	Family() event.Family                       // from github.com/nwayacd/mod_nwayacd/go/event
	Channel() string                            // Redis channel, e.g. "agent_1002"
	RoutingKey() string                         // AMQP routing key, e.g. "agent.1002"
	AppendRedis(dst []byte) []byte              // Redis payload
	AppendJSON(dst []byte, ctiIP string) []byte // RabbitMQ JSON
}

// RedisConfig enables the Redis transport.
type RedisConfig struct {
	Addr     string // host:port; default 127.0.0.1:6379
	Username string
	Password string
	DB       int
	// CDRNeedsSubscriber keeps a CDR in the spool until a PUBLISH of it
	// reaches at least one subscriber. Redis drops messages nobody listens
	// to, e.g. while a CDR consumer reconnects after a Redis restart.
	CDRNeedsSubscriber bool
}

// AMQPConfig enables the RabbitMQ transport.
type AMQPConfig struct {
	URL      string // default amqp://guest:guest@127.0.0.1:5672/
	Exchange string // durable topic exchange; default "nwayacd"
	// ConnectionName is shown by rabbitmqctl list_connections; default "nwayacd".
	ConnectionName string
}

// Config configures a Hub. Zero values take the defaults noted.
type Config struct {
	Redis *RedisConfig // nil: no Redis transport
	AMQP  *AMQPConfig  // nil: no RabbitMQ transport

	SpoolPath string // the CDR spool's file (an older bbolt spool there is imported); required
	CTIIP     string // cti_ip in JSON messages; default DefaultCTIIP()

	QueueSize    int           // per-transport queue of non-CDR messages; default 8192
	BatchSize    int           // messages per pipeline / confirm round; default 256
	ReconnectMin time.Duration // first reconnect delay; default 100ms
	ReconnectMax time.Duration // reconnect delay cap; default 10s
	SendTimeout  time.Duration // one batch, or one connect; default 10s
	LogInterval  time.Duration // drop summaries at most this often; default 10s
	// HealthInterval is how long a transport may sit idle before it checks
	// its connection (PING; AMQP close notification); default 10s. Each
	// check wakes the Go runtime inside an idle switch (and its sysmon for
	// a millisecond of 20 µs naps): at 2 s they were most of the idle
	// module's CPU; a lost connection is also found by the next send.
	HealthInterval time.Duration
	// Linger: a transport that was idle waits after the first message until
	// the next multiple of Linger (go/internal/tick; at once when the
	// message came from that instant's own wake) before it sends, so
	// that the events of one moment of a call (a leg's create, progress,
	// answer, bridge …) go in one pipeline: one write and one reply instead
	// of one each. On the shared grid the transports, the stream and the
	// bridge's event reader wake together: one wake of the Go runtime
	// inside the switch instead of one each. 0: send at once.
	Linger time.Duration

	// Logger receives losses of connection, drop summaries and spool errors
	// (warnings) and routine news (info). Default: discard.
	Logger *slog.Logger
}

// ErrConfig marks an unusable Config.
var ErrConfig = errors.New("publish: bad config")

const nFamilies = int(event.FamilyAgent) + 1

// Counts is a per-family counter set.
type Counts struct {
	Event, CDR, Queue, Agent uint64
}

// Total sums the families.
func (c Counts) Total() uint64 { return c.Event + c.CDR + c.Queue + c.Agent }

// TransportStats describes one transport.
type TransportStats struct {
	Name      string // "redis" or "amqp"
	Connected bool
	LastError string // last connection or send error; kept after recovery
	Queued    int    // non-CDR messages waiting in memory
	Spooled   int    // CDRs on disk not yet accepted by this broker
	Published Counts // accepted by the broker
	Dropped   Counts // never delivered: queue full, send failed, or closed
}

// Stats is a snapshot for `nwayacd status`.
type Stats struct {
	Transports   []TransportStats
	SpoolPending int // CDRs accepted by Publish, not yet written to the spool
}

// Hub fans messages out to the configured transports.
type Hub struct {
	cfg     Config
	spool   *spool
	workers []*worker

	mu     sync.RWMutex // Publish holds it shared; Close takes it to stop intake
	closed bool

	cdrMu     sync.Mutex
	pending   []Message // CDRs not yet on disk
	pendingN  atomic.Int64
	spoolKick chan struct{}
	spoolStop chan struct{}
	spoolDone chan struct{}

	drain    chan struct{} // closed once the spool is flushed: workers finish
	abortCtx context.Context
	abort    context.CancelFunc
	monStop  chan struct{}
	monDone  chan struct{}

	closeOnce sync.Once
	closeErr  error
}

// New opens the spool and starts one goroutine per transport. Brokers need
// not be reachable: transports connect (and reconnect) in the background.
func New(cfg Config) (*Hub, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	var ts []*worker
	if r := cfg.Redis; r != nil {
		ts = append(ts, &worker{
			name: "redis",
			key:  Message.Channel,
			body: Message.AppendRedis,
			t: &redisTransport{
				c: redispub.New(redispub.Config{
					Addr: r.Addr, Username: r.Username, Password: r.Password, DB: r.DB,
					IOTimeout: cfg.SendTimeout,
				}),
				needSub: r.CDRNeedsSubscriber,
			},
		})
	}
	if a := cfg.AMQP; a != nil {
		ip := cfg.CTIIP
		ts = append(ts, &worker{
			name: "amqp",
			key:  Message.RoutingKey,
			body: func(m Message, dst []byte) []byte { return m.AppendJSON(dst, ip) },
			t: &amqpTransport{c: amqppub.New(amqppub.Config{
				URL: a.URL, Exchange: a.Exchange, ConnectionName: a.ConnectionName,
				ConfirmTimeout: cfg.SendTimeout,
			})},
		})
	}
	return newHub(cfg, ts)
}

func (c *Config) fill() error {
	if c.Redis == nil && c.AMQP == nil {
		return fmt.Errorf("%w: no transport (Redis or AMQP)", ErrConfig)
	}
	if c.SpoolPath == "" {
		return fmt.Errorf("%w: SpoolPath is required", ErrConfig)
	}
	if c.CTIIP == "" {
		c.CTIIP = DefaultCTIIP()
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.QueueSize, 8192)
	def(&c.BatchSize, 256)
	defd(&c.ReconnectMin, 100*time.Millisecond)
	defd(&c.ReconnectMax, 10*time.Second)
	defd(&c.SendTimeout, 10*time.Second)
	defd(&c.LogInterval, 10*time.Second)
	defd(&c.HealthInterval, 10*time.Second)
	if c.ReconnectMax < c.ReconnectMin {
		c.ReconnectMax = c.ReconnectMin
	}
	c.Logger = logx.OrDiscard(c.Logger)
	return nil
}

// newHub starts a hub over already-built workers (tests add their own).
func newHub(cfg Config, ws []*worker) (*Hub, error) {
	names := make([]string, len(ws))
	for i, w := range ws {
		names[i] = w.name
	}
	sp, counts, err := openSpool(cfg.SpoolPath, names)
	if err != nil {
		return nil, err
	}
	h := &Hub{
		cfg:       cfg,
		spool:     sp,
		workers:   ws,
		spoolKick: make(chan struct{}, 1),
		spoolStop: make(chan struct{}),
		spoolDone: make(chan struct{}),
		drain:     make(chan struct{}),
		monStop:   make(chan struct{}),
		monDone:   make(chan struct{}),
	}
	h.abortCtx, h.abort = context.WithCancel(context.Background())
	for _, w := range ws {
		w.h = h
		w.q = make(chan Message, cfg.QueueSize)
		w.kick = make(chan struct{}, 1)
		w.done = make(chan struct{})
		w.ok = make([]bool, 2*cfg.BatchSize+1)
		w.spooled.Store(int64(counts[w.name]))
		if n := counts[w.name]; n > 0 {
			cfg.Logger.Info("publish: CDRs in spool to replay", "transport", w.name, "cdrs", n)
		}
		go w.run()
	}
	go h.spoolLoop()
	go h.monitor()
	return h, nil
}

// Publish hands m to every transport without blocking. It reports false if
// the hub is closed or some transport's queue was full (m was dropped there
// and counted). CDRs are never dropped while the hub is open.
func (h *Hub) Publish(m Message) bool {
	if m == nil {
		return false
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.closed {
		return false
	}
	f := m.Family()
	if f == event.FamilyCDR {
		h.cdrMu.Lock()
		h.pending = append(h.pending, m)
		h.cdrMu.Unlock()
		h.pendingN.Add(1)
		select {
		case h.spoolKick <- struct{}{}:
		default:
		}
		return true
	}
	if int(f) >= nFamilies {
		f = 0
	}
	ok := true
	for _, w := range h.workers {
		select {
		case w.q <- m:
		default:
			w.dropped[f].Add(1)
			ok = false
		}
	}
	return ok
}

// spoolLoop writes pending CDRs to disk in groups, then wakes the workers.
func (h *Hub) spoolLoop() {
	defer close(h.spoolDone)
	var spare []Message
	stop := h.spoolStop
	for {
		select {
		case <-h.spoolKick:
		case <-stop:
			stop = nil
		}
		for {
			h.cdrMu.Lock()
			cur := h.pending
			h.pending = spare[:0]
			h.cdrMu.Unlock()
			if len(cur) == 0 {
				spare = cur
				break
			}
			if !h.writeSpool(cur) {
				return
			}
			clear(cur)
			spare = cur
		}
		if stop == nil {
			return
		}
	}
}

// writeSpool retries a failing disk until it works or Close gives up.
func (h *Hub) writeSpool(cur []Message) bool {
	bo := h.newBackoff()
	for {
		err := h.spool.appendAll(h.workers, cur, h.renderPanic)
		if err == nil {
			break
		}
		h.cfg.Logger.Warn("publish: spool write failed, retrying", "cdrs", len(cur), "err", err)
		select {
		case <-time.After(bo.NextBackOff()):
		case <-h.abortCtx.Done():
			h.cfg.Logger.Error("publish: CDRs lost: spool unwritable at close", "cdrs", len(cur), "err", err)
			return false
		}
	}
	h.pendingN.Add(-int64(len(cur)))
	for _, w := range h.workers {
		w.spooled.Add(int64(len(cur)))
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
	return true
}

// renderPanic drops a message whose methods panic rather than let it take
// the process (FreeSWITCH) down.
func (h *Hub) renderPanic(w *worker, m Message, p any) {
	f := event.FamilyEvent
	func() {
		defer func() { _ = recover() }()
		if g := m.Family(); int(g) < nFamilies {
			f = g
		}
	}()
	w.dropped[f].Add(1)
	h.cfg.Logger.Error("publish: dropped a message whose rendering panicked", "transport", w.name, "type", fmt.Sprintf("%T", m), "panic", p)
}

// monitor logs drops at most once per LogInterval.
func (h *Hub) monitor() {
	defer close(h.monDone)
	t := time.NewTicker(h.cfg.LogInterval)
	defer t.Stop()
	last := make([]Counts, len(h.workers))
	report := func() {
		for i, w := range h.workers {
			d := w.counts(&w.dropped)
			if d != last[i] {
				h.cfg.Logger.Warn("publish: dropped (queue full or broker down)", "transport", w.name,
					"event", d.Event-last[i].Event, "queue", d.Queue-last[i].Queue, "agent", d.Agent-last[i].Agent, "in", h.cfg.LogInterval)
				last[i] = d
			}
		}
	}
	for {
		select {
		case <-t.C:
			report()
		case <-h.monStop:
			report()
			return
		}
	}
}

// newBackoff is the reconnect and retry delay: exponential from
// ReconnectMin to ReconnectMax with jitter, so many nodes do not reconnect in
// step after a broker restart.
func (h *Hub) newBackoff() *backoff.ExponentialBackOff {
	return backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(h.cfg.ReconnectMin),
		backoff.WithMaxInterval(h.cfg.ReconnectMax),
		backoff.WithMaxElapsedTime(0))
}

// Stats returns a snapshot of every transport.
func (h *Hub) Stats() Stats {
	s := Stats{SpoolPending: int(h.pendingN.Load())}
	for _, w := range h.workers {
		w.errMu.Lock()
		le := w.lastErr
		w.errMu.Unlock()
		s.Transports = append(s.Transports, TransportStats{
			Name:      w.name,
			Connected: w.connected.Load(),
			LastError: le,
			Queued:    len(w.q),
			Spooled:   int(w.spooled.Load()),
			Published: w.counts(&w.published),
			Dropped:   w.counts(&w.dropped),
		})
	}
	return s
}

// await waits for w to finish; once Close's context has ended it allows a
// short grace, since a write to a broker that stopped reading (e.g. RabbitMQ
// flow control) cannot be interrupted. An abandoned worker finds the spool
// closed and its CDRs stay on disk for the next Hub.
func (h *Hub) await(w *worker) bool {
	select {
	case <-w.done:
		return true
	case <-h.abortCtx.Done():
	}
	t := time.NewTimer(closeGrace)
	defer t.Stop()
	select {
	case <-w.done:
		return true
	case <-t.C:
		h.cfg.Logger.Warn("publish: still sending at close; abandoned", "transport", w.name)
		return false
	}
}

const closeGrace = 2 * time.Second

// Close stops intake, writes pending CDRs to the spool, and lets every
// transport deliver what it holds until ctx ends; then it closes the
// connections and the spool. Messages still queued when ctx ends are counted
// as dropped; undelivered CDRs stay in the spool for the next Hub. Calling
// Close again returns the first result.
func (h *Hub) Close(ctx context.Context) error {
	h.closeOnce.Do(func() {
		h.mu.Lock()
		h.closed = true
		h.mu.Unlock()
		finished := make(chan struct{})
		go func() {
			select {
			case <-ctx.Done():
				h.abort()
			case <-finished:
			}
		}()
		close(h.spoolStop)
		<-h.spoolDone
		close(h.drain)
		var stuck []string
		for _, w := range h.workers {
			if !h.await(w) {
				stuck = append(stuck, w.name)
			}
		}
		close(finished)
		close(h.monStop)
		<-h.monDone
		h.abort()
		var left int64
		var lost uint64
		for _, w := range h.workers {
			left += w.spooled.Load()
			if !slices.Contains(stuck, w.name) {
				lost += w.lostAtClose
			}
		}
		err := h.spool.close()
		switch {
		case err != nil:
			h.closeErr = fmt.Errorf("publish close spool: %w", err)
		case len(stuck) > 0:
			h.closeErr = fmt.Errorf("publish close: %v stuck in a broker write, abandoned: %w", stuck, context.Cause(ctx))
		case left > 0 || lost > 0:
			h.closeErr = fmt.Errorf("publish close: %d queued messages dropped, %d CDR deliveries left in spool: %w",
				lost, left, context.Cause(ctx))
		}
	})
	return h.closeErr
}
