package publish

import (
	"context"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/event"
	amqp "github.com/rabbitmq/amqp091-go"
)

// discard accepts everything without keeping it.
type discard struct{}

func (discard) connect(context.Context) error { return nil }
func (discard) close() error                  { return nil }
func (discard) alive(context.Context) error   { return nil }
func (discard) send(_ context.Context, fs []frame, ok []bool) error {
	for i := range fs {
		ok[i] = true
	}
	return nil
}

func discardHub(b *testing.B, transports int) *Hub {
	cfg := Config{Redis: &RedisConfig{}, SpoolPath: spoolPath(b), QueueSize: 1 << 16}
	if err := cfg.fill(); err != nil {
		b.Fatal(err)
	}
	var ws []*worker
	for i := range transports {
		ws = append(ws, &worker{name: "d" + string(rune('0'+i)), key: Message.Channel, body: Message.AppendRedis, t: discard{}})
	}
	h, err := newHub(cfg, ws)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		// Benchmarks leave far more behind than a real run; don't wait for it.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		h.Close(ctx)
	})
	return h
}

// BenchmarkPublish is the call-path cost of a non-CDR message with both
// transports configured (two queue sends).
func BenchmarkPublish(b *testing.B) {
	h := discardHub(b, 2)
	m := &event.Agent{Number: "1002", Status: "ready", Time: "2021-05-30 17:00:02"}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		h.Publish(m)
	}
	b.StopTimer()
	var dropped uint64
	for _, ts := range h.Stats().Transports {
		dropped += ts.Dropped.Total()
	}
	b.ReportMetric(float64(dropped)/float64(2*b.N), "dropped/msg")
}

// BenchmarkPublishParallel: many call threads publishing at once.
func BenchmarkPublishParallel(b *testing.B) {
	h := discardHub(b, 2)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		m := &event.Agent{Number: "1002", Status: "ready", Time: "2021-05-30 17:00:02"}
		for pb.Next() {
			h.Publish(m)
		}
	})
}

// BenchmarkPublishCDR is the call-path cost of a CDR (handed to the spool
// writer, not written inline).
func BenchmarkPublishCDR(b *testing.B) {
	h := discardHub(b, 2)
	m := &event.CDR{UUID: "c1", ACallerIDNumber: "18638737767", Group: "120"}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		h.Publish(m)
	}
}

// publishPaced publishes n messages from mk without overrunning the first
// transport's queue, so a throughput run measures the transport, not drops.
func publishPaced(h *Hub, n int, mk func(i int) Message) {
	q := h.workers[0].q
	for i := range n {
		for len(q) > cap(q)/2 {
			time.Sleep(20 * time.Microsecond)
		}
		h.Publish(mk(i))
	}
}

func waitPublished(b *testing.B, h *Hub, want uint64) {
	if !eventually(60*time.Second, func() bool { return h.Stats().Transports[0].Published.Total() >= want }) {
		b.Fatalf("published %+v of %d", h.Stats().Transports[0], want)
	}
}

// BenchmarkRedisThroughput: agent events through the hub into the local
// Redis (no subscriber), pipelined.
func BenchmarkRedisThroughput(b *testing.B) {
	needService(b, "redis", redisAddr)
	h, err := New(Config{Redis: &RedisConfig{Addr: redisAddr}, SpoolPath: spoolPath(b), QueueSize: 1 << 15, BatchSize: 512})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close(context.Background())
	msgs := make([]event.Agent, 1024)
	for i := range msgs {
		msgs[i] = event.Agent{Number: "bench" + string(rune('a'+i%26)), Status: "ready", Time: "2021-05-30 17:00:02"}
	}
	waitConnected(b, h)
	b.ResetTimer()
	start := time.Now()
	publishPaced(h, b.N, func(i int) Message { return &msgs[i%len(msgs)] })
	waitPublished(b, h, uint64(b.N))
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// BenchmarkRedisCDRThroughput: CDRs through the spool (fsync'd group
// commits) into Redis and out of the spool again.
func BenchmarkRedisCDRThroughput(b *testing.B) {
	needService(b, "redis", redisAddr)
	h, err := New(Config{Redis: &RedisConfig{Addr: redisAddr}, SpoolPath: spoolPath(b), BatchSize: 512})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close(context.Background())
	m := &event.CDR{UUID: "bench", ACallerIDNumber: "18638737767", Group: "bench", NoAnswerAgents: []string{"1011"}}
	waitConnected(b, h)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		h.Publish(m)
	}
	waitPublished(b, h, uint64(b.N))
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "cdrs/s")
}

// BenchmarkAMQPThroughput: agent events to RabbitMQ with publisher confirms.
// durable: routed to a durable queue, so persistent messages are confirmed
// only once on disk; transient: routed to a non-durable queue; unrouted: no
// binding, confirmed as soon as the exchange has them.
func BenchmarkAMQPThroughput(b *testing.B) {
	vh := vhost(b)
	url := amqpURL(vh)
	for _, mode := range []string{"durable", "transient", "unrouted"} {
		b.Run(mode, func(b *testing.B) {
			exchange := "bench_" + mode
			if mode != "unrouted" {
				conn, err := amqp.Dial(url)
				if err != nil {
					b.Fatal(err)
				}
				defer conn.Close()
				ch, err := conn.Channel()
				if err != nil {
					b.Fatal(err)
				}
				if err := ch.ExchangeDeclare(exchange, "topic", true, false, false, false, nil); err != nil {
					b.Fatal(err)
				}
				q, err := ch.QueueDeclare("", mode == "durable", false, mode != "durable", false, nil)
				if err != nil {
					b.Fatal(err)
				}
				defer ch.QueueDelete(q.Name, false, false, false)
				if err := ch.QueueBind(q.Name, "agent.#", exchange, false, nil); err != nil {
					b.Fatal(err)
				}
			}
			h, err := New(Config{AMQP: &AMQPConfig{URL: url, Exchange: exchange}, SpoolPath: spoolPath(b), QueueSize: 1 << 15, BatchSize: 512})
			if err != nil {
				b.Fatal(err)
			}
			defer h.Close(context.Background())
			m := &event.Agent{Number: "1002", Status: "ready", Time: "2021-05-30 17:00:02"}
			waitConnected(b, h)
			b.ResetTimer()
			start := time.Now()
			publishPaced(h, b.N, func(int) Message { return m })
			waitPublished(b, h, uint64(b.N))
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}

func waitConnected(b *testing.B, h *Hub) {
	if !eventually(10*time.Second, func() bool { return h.Stats().Transports[0].Connected }) {
		b.Fatalf("not connected: %+v", h.Stats())
	}
}
