package publish

import (
	"bytes"
	"context"
	"github.com/nwayacd/mod_nwayacd/go/logx"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nwayacd/mod_nwayacd/go/event"
	"github.com/nwayacd/mod_nwayacd/go/internal/tick"
)

// Sequencer stamps every message with the node id and a per-node sequence
// number, passes it on (to the Hub), keeps the last ones for live
// subscribers that reconnect (SSE Last-Event-ID), and appends each to a
// Redis Stream per family ("nwayacd:stream:<family>", capped with MAXLEN ~),
// from which a consumer resumes with XREAD after the last id it saw.
//
// Only JSON renderings get the new fields ("seq", "node"); the Redis CSV
// payloads are unchanged. Sequence numbers start from the boot time in
// microseconds, so they also grow across restarts of the node (unless it
// sustained over a million messages a second).
type Sequencer struct {
	cfg  StreamConfig
	next interface{ Publish(Message) bool }

	seq     atomic.Uint64
	q       chan *Stamped
	dropped atomic.Uint64 // not kept for subscribers and the stream: queue full
	lost    atomic.Uint64 // not appended to the stream: Redis down too long
	added   atomic.Uint64

	mu    sync.Mutex
	ring  []frame2 // the last RingSize frames: a circular buffer
	rHead int      // index of the oldest
	rLen  int
	subs  map[*sseSub]struct{}

	rdb  *redis.Client
	stop chan struct{}
	wg   sync.WaitGroup
}

type frame2 struct {
	seq uint64
	sse []byte // the whole SSE frame
}

type sseSub struct{ ch chan []byte }

// StreamConfig configures a Sequencer; zero values take defaults.
type StreamConfig struct {
	Node  string // node id in every message; required
	CTIIP string // cti_ip of JSON renderings
	// Redis enables the streams; nil: none (sequence numbers and SSE resume only).
	Redis  *RedisConfig
	MaxLen int64 // entries kept per family, approximately; default 100000
	// RingSize is how many messages a reconnecting SSE client can catch up on; default 10000.
	RingSize  int
	QueueSize int // messages waiting for the sequencer goroutine; default 16384
	// Pending bounds messages held while Redis is down; the oldest go first; default 100000.
	Pending int
	// Linger: after the first message into an empty batch, wait for more
	// until the next multiple of Linger (Config.Linger; tick.Deadline).
	// Live SSE subscribers get the batch then too. 0: at once.
	Linger time.Duration
	// Tap, when set, gets every message's JSON (as Stamped.AppendJSON
	// renders it) on the sequencer's goroutine as the message is taken,
	// on the Linger grid when Redis streams are on. It must not modify data.
	// An in-process consumer (the switch's nwayacd::info events) rides the
	// sequencer's own wake this way instead of a goroutine hand-off per
	// message.
	Tap    func(data []byte)
	Logger *slog.Logger // nil: discard
}

// NewSequencer starts a sequencer passing stamped messages on to next (nil: none).
func NewSequencer(cfg StreamConfig, next interface{ Publish(Message) bool }) *Sequencer {
	if cfg.MaxLen <= 0 {
		cfg.MaxLen = 100000
	}
	if cfg.RingSize <= 0 {
		cfg.RingSize = 10000
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 16384
	}
	if cfg.Pending <= 0 {
		cfg.Pending = 100000
	}
	cfg.Logger = logx.OrDiscard(cfg.Logger)
	s := &Sequencer{cfg: cfg, next: next, q: make(chan *Stamped, cfg.QueueSize),
		subs: map[*sseSub]struct{}{}, stop: make(chan struct{}), ring: make([]frame2, cfg.RingSize)}
	s.seq.Store(uint64(time.Now().UnixMicro()))
	if r := cfg.Redis; r != nil {
		addr := r.Addr
		if addr == "" {
			addr = "127.0.0.1:6379"
		}
		s.rdb = redis.NewClient(&redis.Options{Addr: addr, Username: r.Username, Password: r.Password, DB: r.DB,
			DialTimeout: 2 * time.Second, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second,
			MaxRetries: -1, PoolSize: 2, DisableIdentity: true})
	}
	s.wg.Add(1)
	go s.loop()
	return s
}

// Stamped is a message with its sequence number and node.
type Stamped struct {
	Message
	Seq  uint64
	Node string
}

// AppendJSON renders the message's JSON with "seq" and "node" added.
func (m *Stamped) AppendJSON(dst []byte, ctiIP string) []byte {
	start := len(dst)
	return m.stamp(m.Message.AppendJSON(dst, ctiIP), start)
}

// AppendRedis renders the Redis payload; a JSON payload gets "seq" and
// "node", a CSV one is left exactly as it was.
func (m *Stamped) AppendRedis(dst []byte) []byte {
	start := len(dst)
	return m.stamp(m.Message.AppendRedis(dst), start)
}

func (m *Stamped) stamp(b []byte, start int) []byte {
	if len(b)-start < 2 || b[start] != '{' || b[len(b)-1] != '}' {
		return b
	}
	b = b[:len(b)-1]
	if len(b)-start > 1 {
		b = append(b, ',')
	}
	b = append(b, `"seq":`...)
	b = strconv.AppendUint(b, m.Seq, 10)
	b = append(b, `,"node":`...)
	b = strconv.AppendQuote(b, m.Node)
	return append(b, '}')
}

// Publish stamps m and passes it on; it never blocks.
func (s *Sequencer) Publish(m Message) bool {
	st := &Stamped{Message: m, Seq: s.seq.Add(1), Node: s.cfg.Node}
	ok := true
	if s.next != nil {
		ok = s.next.Publish(st)
	}
	select {
	case s.q <- st:
	default:
		s.dropped.Add(1)
	}
	return ok
}

// StreamStats are the sequencer's counters.
type StreamStats struct {
	Seq                  uint64 // last sequence number given
	Appended, Lost, Drop uint64
}

// Stats returns the counters.
func (s *Sequencer) Stats() StreamStats {
	return StreamStats{Seq: s.seq.Load(), Appended: s.added.Load(), Lost: s.lost.Load(), Drop: s.dropped.Load()}
}

// StreamKey is the Redis Stream of a family.
func StreamKey(f event.Family) string { return "nwayacd:stream:" + f.String() }

type pending struct {
	key  string
	seq  uint64
	ch   string
	data []byte
}

func (s *Sequencer) loop() {
	defer s.wg.Done()
	var out []pending
	backoff := 100 * time.Millisecond
	var retryAt time.Time
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	// The appends run on a goroutine of their own, one batch at a time:
	// a Redis that hangs (a dial or I/O timeout, seconds) must not hold up
	// SSE and the tap, which this loop feeds as messages come.
	var jobs chan []pending
	results := make(chan int, 1)
	inflight := 0 // out[:inflight] is being appended
	if s.rdb != nil {
		jobs = make(chan []pending, 1)
		defer close(jobs)
		go func() {
			for b := range jobs {
				results <- s.flush(b)
			}
		}()
	}
	take := func(st *Stamped) {
		data := st.AppendJSON(nil, s.cfg.CTIIP)
		s.deliver(st.Seq, data)
		if s.cfg.Tap != nil {
			s.cfg.Tap(data)
		}
		if s.rdb != nil {
			out = append(out, pending{key: StreamKey(st.Family()), seq: st.Seq, ch: st.Channel(), data: data})
			// Past Pending the oldest waiting go, never those in flight.
			if over := min(len(out)-s.cfg.Pending, len(out)-inflight); over > 0 {
				s.lost.Add(uint64(over))
				out = append(out[:inflight], out[inflight+over:]...)
			}
		}
	}
	drain := func() {
		for len(out) < streamBatch+inflight {
			select {
			case st := <-s.q:
				take(st)
			default:
				return
			}
		}
	}
	refused := false // Redis refused the last flush: retryAt is a backoff
	settle := func(n, tried int) {
		inflight = 0
		if n > 0 {
			out = append(out[:0], out[n:]...)
			backoff = 100 * time.Millisecond
		}
		// Back off only when Redis refused some: a full batch taken
		// with more waiting goes on at once (it waited 100 ms per 512).
		refused = n < tried
		if refused {
			retryAt = time.Now().Add(backoff)
			backoff = min(backoff*2, 5*time.Second)
		}
	}
	for {
		var wake <-chan time.Time
		if len(out) > 0 && inflight == 0 {
			timer.Reset(max(time.Until(retryAt), time.Millisecond))
			wake = timer.C
		}
		q := s.q
		if s.cfg.Linger > 0 && !refused && len(out) > 0 && len(out) < streamBatch && time.Now().Before(retryAt) {
			// Lingering: what comes meanwhile waits in q and is taken at
			// the tick, one wake for the batch instead of one per message.
			// A backlog (after an outage) keeps taking q as it drains.
			q = nil
		}
		select {
		case st := <-q:
			// A backlog of a batch or more goes on at once.
			if len(out) == 0 && s.cfg.Linger > 0 && len(s.q) < streamBatch {
				if t := tick.Deadline(time.Now(), s.cfg.Linger); t.After(retryAt) {
					retryAt = t
				}
			}
			take(st)
			drain()
		case <-wake:
			drain()
		case n := <-results:
			settle(n, inflight)
		case <-s.stop:
			for {
				select {
				case st := <-s.q:
					take(st)
					continue
				default:
				}
				break
			}
			if inflight > 0 {
				settle(<-results, inflight)
			}
			if len(out) > 0 {
				_ = s.flush(out) // one last try
			}
			return
		}
		if wake == nil {
			timer.Stop()
		}
		if len(out) > 0 && inflight == 0 && !time.Now().Before(retryAt) {
			// No copy: out[:inflight] is left alone until its result
			// (take and the Pending cut write past it).
			inflight = min(len(out), streamBatch)
			jobs <- out[:inflight:inflight]
		}
	}
}

// streamBatch is the most entries one pipeline appends.
const streamBatch = 512

// flush appends a batch with one pipeline; it returns how many (from the
// front, in order) Redis took.
func (s *Sequencer) flush(out []pending) int {
	n := min(len(out), streamBatch)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, n)
	for i := 0; i < n; i++ {
		p := &out[i]
		cmds[i] = pipe.XAdd(ctx, &redis.XAddArgs{Stream: p.key, MaxLen: s.cfg.MaxLen, Approx: true,
			Values: []any{"seq", strconv.FormatUint(p.seq, 10), "node", s.cfg.Node, "channel", p.ch, "data", p.data}})
	}
	_, err := pipe.Exec(ctx)
	done := 0
	for done < n && cmds[done].Err() == nil {
		done++
	}
	if err != nil && done < n {
		s.cfg.Logger.Warn("redis stream", "err", err, "waiting", len(out)-done)
	}
	s.added.Add(uint64(done))
	return done
}

// deliver keeps the frame for resumes and hands it to live subscribers.
func (s *Sequencer) deliver(seq uint64, data []byte) {
	f := frame2{seq: seq, sse: sseFrame(seq, data)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rLen == len(s.ring) {
		s.ring[s.rHead] = f
		s.rHead = (s.rHead + 1) % len(s.ring)
	} else {
		s.ring[(s.rHead+s.rLen)%len(s.ring)] = f
		s.rLen++
	}
	for sub := range s.subs {
		select {
		case sub.ch <- f.sse:
		default:
			// Too slow: end its stream rather than leave a silent gap; the
			// browser reconnects with Last-Event-ID and catches up.
			delete(s.subs, sub)
			close(sub.ch)
		}
	}
}

func sseFrame(seq uint64, data []byte) []byte {
	b := make([]byte, 0, len(data)+32)
	b = append(b, "id: "...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, '\n')
	for {
		i := bytes.IndexByte(data, '\n')
		line := data
		if i >= 0 {
			line = data[:i]
		}
		b = append(b, "data: "...)
		b = append(b, bytes.TrimSuffix(line, []byte{'\r'})...)
		b = append(b, '\n')
		if i < 0 {
			break
		}
		data = data[i+1:]
	}
	return append(b, '\n')
}

// SubscribeSSE streams complete Server-Sent Events frames ("id: <seq>",
// "data: <json>"). With lastID (a Last-Event-ID) it first replays the kept
// messages that came after it, then continues live, with no gap or repeat.
// A subscriber that falls buf messages behind has its channel closed (so
// its client reconnects from its last id) instead of missing messages.
func (s *Sequencer) SubscribeSSE(lastID string, buf int) (<-chan []byte, func()) {
	if buf <= 0 {
		buf = 256
	}
	s.mu.Lock()
	var backlog [][]byte
	if last, err := strconv.ParseUint(lastID, 10, 64); err == nil && lastID != "" {
		for i := 0; i < s.rLen; i++ {
			if f := s.ring[(s.rHead+i)%len(s.ring)]; f.seq > last {
				backlog = append(backlog, f.sse)
			}
		}
	}
	sub := &sseSub{ch: make(chan []byte, buf+len(backlog))}
	for _, b := range backlog {
		sub.ch <- b
	}
	s.subs[sub] = struct{}{}
	s.mu.Unlock()
	var once sync.Once
	return sub.ch, func() {
		once.Do(func() {
			s.mu.Lock()
			delete(s.subs, sub)
			s.mu.Unlock()
		})
	}
}

// Close stops the sequencer after appending what it holds (one try).
func (s *Sequencer) Close() {
	select {
	case <-s.stop:
		return
	default:
	}
	close(s.stop)
	s.wg.Wait()
	if s.rdb != nil {
		_ = s.rdb.Close()
	}
}
