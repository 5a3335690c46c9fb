package publish

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nwayacd/mod_nwayacd/go/event"
)

type sink struct {
	mu   sync.Mutex
	msgs []Message
}

func (s *sink) Publish(m Message) bool {
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	s.mu.Unlock()
	return true
}

// JSON renderings get seq and node; CSV payloads stay byte for byte.
func TestStampedRenderings(t *testing.T) {
	next := &sink{}
	sq := NewSequencer(StreamConfig{Node: "pbx1", CTIIP: "10.0.0.1"}, next)
	defer sq.Close()
	ag := &event.Agent{Number: "1002", Status: "ready", Time: "2026-11-30 10:00:00"}
	call := &event.Call{Name: 1, CallinNumber: "13800138000", DestNumber: "85733555"}
	sq.Publish(ag)
	sq.Publish(call)
	if len(next.msgs) != 2 {
		t.Fatalf("passed on %d", len(next.msgs))
	}
	a, c := next.msgs[0].(*Stamped), next.msgs[1].(*Stamped)
	if c.Seq != a.Seq+1 || a.Node != "pbx1" {
		t.Fatalf("seq %d then %d, node %q", a.Seq, c.Seq, a.Node)
	}
	for _, b := range [][]byte{a.AppendJSON(nil, "10.0.0.1"), a.AppendRedis(nil), c.AppendJSON(nil, "10.0.0.1")} {
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if m["node"] != "pbx1" || m["seq"] == nil {
			t.Fatalf("no seq/node in %s", b)
		}
	}
	if got, want := string(c.AppendRedis(nil)), string(call.AppendRedis(nil)); got != want || strings.Contains(got, "seq") {
		t.Fatalf("CSV changed:\n%s\n%s", got, want)
	}
	if got, want := string(a.AppendJSON(nil, "x")), string(ag.AppendJSON(nil, "x")); !strings.HasPrefix(got, want[:len(want)-1]+`,"seq":`) {
		t.Fatalf("existing fields changed:\n%s\n%s", got, want)
	}
}

// A reconnecting SSE client gets what came after its Last-Event-ID, then
// the live stream: no gap, no repeat.
func TestSubscribeSSEResumes(t *testing.T) {
	sq := NewSequencer(StreamConfig{Node: "n", RingSize: 90}, nil) // wraps around
	defer sq.Close()
	ch, stop := sq.SubscribeSSE("", 2000)
	for i := 0; i < 50; i++ {
		sq.Publish(&event.Agent{Number: strconv.Itoa(i), Status: "ready"})
	}
	var ids []uint64
	read := func(ch <-chan []byte, n int) bool {
		for len(ids) < n {
			select {
			case f, ok := <-ch:
				if !ok {
					return false // too slow: closed
				}
				line, _, _ := strings.Cut(string(f), "\n")
				id, err := strconv.ParseUint(strings.TrimPrefix(line, "id: "), 10, 64)
				if err != nil || !strings.Contains(string(f), "\ndata: {") {
					t.Fatalf("frame %q", f)
				}
				ids = append(ids, id)
			case <-time.After(5 * time.Second):
				t.Fatalf("got %d of %d", len(ids), n)
			}
		}
		return true
	}
	read(ch, 20)
	stop() // the browser goes away after 20
	last := ids[19]
	for i := 50; i < 80; i++ {
		sq.Publish(&event.Agent{Number: strconv.Itoa(i), Status: "busy"})
	}
	ch2, stop2 := sq.SubscribeSSE(strconv.FormatUint(last, 10), 10)
	defer stop2()
	for i := 80; i < 100; i++ { // more than it can buffer: its stream ends
		sq.Publish(&event.Agent{Number: strconv.Itoa(i), Status: "rest"})
	}
	settled(t, sq)
	if read(ch2, 100) {
		t.Fatal("a subscriber 10 messages behind was not cut off")
	}
	ch3, stop3 := sq.SubscribeSSE(strconv.FormatUint(ids[len(ids)-1], 10), 200) // reconnects from its last id
	defer stop3()
	if !read(ch3, 100) {
		t.Fatal("cut off again")
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] != ids[i-1]+1 {
			t.Fatalf("ids not consecutive at %d: %d after %d", i, ids[i], ids[i-1])
		}
	}
}

// settled waits until the sequencer delivered everything published.
func settled(t *testing.T, sq *Sequencer) {
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(time.Millisecond) {
		sq.mu.Lock()
		last := uint64(0)
		if sq.rLen > 0 {
			last = sq.ring[(sq.rHead+sq.rLen-1)%len(sq.ring)].seq
		}
		sq.mu.Unlock()
		if last == sq.Stats().Seq {
			return
		}
	}
	t.Fatal("sequencer did not settle")
}

// Every message goes to its family's Redis Stream; a consumer killed
// mid-stream and restarted from the last id it saw receives every message
// exactly once and in order.
func TestRedisStreamConsumerResumes(t *testing.T) {
	const db = 11 // away from the pub/sub tests' traffic
	ctx := context.Background()
	_, key := emptyStream(t, db, event.FamilyAgent)
	sq := NewSequencer(StreamConfig{Node: "pbx1", Redis: &RedisConfig{Addr: redisAddr, DB: db}, MaxLen: 100000}, nil)
	defer sq.Close()

	const total = 3000
	var got []uint64
	lastID := "0"
	// consume reads until it has want messages, or is killed after killAt.
	consume := func(killAt int) {
		c := redis.NewClient(&redis.Options{Addr: redisAddr, DB: db})
		defer c.Close() // the consumer dies: its connection goes with it
		for len(got) < total {
			res, err := c.XRead(ctx, &redis.XReadArgs{Streams: []string{key, lastID}, Count: 100, Block: 5 * time.Second}).Result()
			if err != nil {
				t.Fatalf("xread after %d: %v", len(got), err)
			}
			for _, m := range res[0].Messages {
				seq, _ := strconv.ParseUint(m.Values["seq"].(string), 10, 64)
				var body struct {
					Seq  uint64 `json:"seq"`
					Node string `json:"node"`
				}
				if err := json.Unmarshal([]byte(m.Values["data"].(string)), &body); err != nil || body.Seq != seq || body.Node != "pbx1" {
					t.Fatalf("entry %v: %v", m.Values, err)
				}
				got = append(got, seq)
				lastID = m.ID
				if len(got) == killAt {
					return // killed mid-batch: the rest of this batch was never processed
				}
			}
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < total; i++ {
			sq.Publish(&event.Agent{Number: fmt.Sprint(1000 + i%50), Status: "ready"})
			if i%500 == 0 {
				time.Sleep(20 * time.Millisecond) // let the consumer be mid-stream
			}
		}
	}()
	consume(1234)
	if len(got) != 1234 {
		t.Fatalf("first consumer read %d", len(got))
	}
	time.Sleep(50 * time.Millisecond) // down for a while: messages go on
	consume(-1)
	<-done
	if len(got) != total {
		t.Fatalf("received %d of %d", len(got), total)
	}
	for i := 1; i < len(got); i++ {
		if got[i] != got[i-1]+1 {
			t.Fatalf("message %d: seq %d after %d (repeat or gap)", i, got[i], got[i-1])
		}
	}
	if st := sq.Stats(); st.Appended != total || st.Lost != 0 || st.Drop != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// BenchmarkSequencerPublish: what stamping adds on the call path (no next
// publisher, no Redis: the stamp, the sequence number and the enqueue).
func BenchmarkSequencerPublish(b *testing.B) {
	sq := NewSequencer(StreamConfig{Node: "n", QueueSize: 1 << 20}, nil)
	defer sq.Close()
	m := &event.Agent{Number: "1002", Status: "ready", Time: "2026-11-30 10:00:00"}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		sq.Publish(m)
	}
}

// emptyStream returns a client of Redis database db and the stream key of
// family there, emptied; it skips (or fails, in CI) without Redis.
func emptyStream(t *testing.T, db int, f event.Family) (*redis.Client, string) {
	t.Helper()
	needService(t, "redis", redisAddr)
	adm := redis.NewClient(&redis.Options{Addr: redisAddr, DB: db})
	t.Cleanup(func() { adm.Close() })
	key := StreamKey(f)
	if err := adm.Del(context.Background(), key).Err(); err != nil {
		t.Fatal(err)
	}
	return adm, key
}

// The tap gets every message once, in order, rendered as RabbitMQ gets it,
// on the sequencer's goroutine: a tap that blocks holds up neither Publish
// nor its caller, and is never entered twice at once.
func TestTapGetsEveryMessageOffTheCallPath(t *testing.T) {
	_, _ = emptyStream(t, 11, event.FamilyAgent)
	release := make(chan struct{})
	var (
		mu      sync.Mutex
		got     [][]byte
		inside  int
		overlap bool
	)
	tap := func(data []byte) {
		mu.Lock()
		inside++
		overlap = overlap || inside > 1
		mu.Unlock()
		<-release
		mu.Lock()
		got = append(got, append([]byte(nil), data...))
		inside--
		mu.Unlock()
	}
	next := &sink{}
	sq := NewSequencer(StreamConfig{Node: "pbx1", CTIIP: "10.0.0.1", Redis: &RedisConfig{Addr: redisAddr, DB: 11},
		Linger: 40 * time.Millisecond, Tap: tap}, next)
	defer sq.Close()
	const n = 200
	published := make(chan struct{})
	go func() {
		defer close(published)
		for i := 0; i < n; i++ {
			sq.Publish(&event.Agent{Number: fmt.Sprint(1000 + i), Status: "ready"})
		}
	}()
	select {
	case <-published:
	case <-time.After(10 * time.Second):
		close(release)
		t.Fatal("Publish waited for the blocked tap")
	}
	close(release)
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		k := len(got)
		mu.Unlock()
		if k == n || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != n || overlap {
		t.Fatalf("tap got %d of %d, entered twice at once: %v", len(got), n, overlap)
	}
	for i, b := range got {
		want := next.msgs[i].AppendJSON(nil, "10.0.0.1")
		if string(b) != string(want) {
			t.Fatalf("message %d: tap got\n%s\nRabbitMQ gets\n%s", i, b, want)
		}
	}
}

// A Redis that accepts and never answers holds the stream's append for its
// timeout (seconds): SSE and the tap must go on meanwhile.
func TestTapGoesOnWhileRedisHangs(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // read nothing, answer nothing
			mu.Unlock()
		}
	}()
	got := make(chan string, 16)
	sq := NewSequencer(StreamConfig{Node: "pbx1", Redis: &RedisConfig{Addr: ln.Addr().String()},
		Linger: 40 * time.Millisecond, Tap: func(data []byte) { got <- string(data) }}, nil)
	defer func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close() // the hung append fails at once, so Close is quick
		}
		mu.Unlock()
		sq.Close()
	}()
	sq.Publish(&event.Agent{Number: "1001", Status: "ready"})
	select {
	case <-got:
	case <-time.After(3 * time.Second):
		t.Fatal("first message never reached the tap")
	}
	// The first append is under way now (its tick has passed), hanging.
	if !eventually(3*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(conns) > 0
	}) {
		t.Fatal("the sequencer never connected")
	}
	time.Sleep(100 * time.Millisecond)
	sq.Publish(&event.Agent{Number: "1002", Status: "ready"})
	select {
	case m := <-got:
		if !strings.Contains(m, `"1002"`) {
			t.Fatalf("tap got %s", m)
		}
	case <-time.After(2 * time.Second): // the append hangs for 5 s
		t.Fatal("the tap waited for a hung Redis append")
	}
}
