package cluster

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// counter counts the commands (round trips: one script is one) a client sends.
type counter struct{ n atomic.Int64 }

func (c *counter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *counter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { c.n.Add(1); return next(ctx, cmd) }
}
func (c *counter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { c.n.Add(1); return next(ctx, cmds) }
}

// BenchmarkClusterCrossNodeDispatch: an agent frees on node a while a call
// waits on node b. decision-p99 is a's Ready (the reservation made in the
// pool), offer-p99 until b holds the offer to originate.
func BenchmarkClusterCrossNodeDispatch(b *testing.B) {
	rdb, p := testPool(b)
	a, nb := join(b, rdb, p, "a", Options{}), join(b, rdb, p, "b", Options{})
	join(b, rdb, p, "c", Options{})
	ctx := context.Background()
	if _, err := a.Agent(ctx, "1001", Away, []string{"g"}, ""); err != nil {
		b.Fatal(err)
	}
	dec := make([]time.Duration, 0, b.N)
	deliv := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		u := fmt.Sprintf("x%d", i)
		if _, ok, err := nb.Enqueue(ctx, Call{UUID: u, Groups: []string{"g"}, Arrival: time.Now()}); err != nil || ok {
			b.Fatal("enqueue", ok, err)
		}
		t0 := time.Now()
		r, err := a.Agent(ctx, "1001", Ready, []string{"g"}, "")
		t1 := time.Now()
		if err != nil || r.State != "offered" {
			b.Fatal(r, err)
		}
		msg, ok, err := nb.Next(ctx, time.Second)
		t2 := time.Now()
		if err != nil || !ok || msg.Offer.Call != u {
			b.Fatal(msg, ok, err)
		}
		dec, deliv = append(dec, t1.Sub(t0)), append(deliv, t2.Sub(t0))
		if _, err := nb.Result(ctx, msg.Offer, Answered, 3, time.Minute, 0, true); err != nil {
			b.Fatal(err)
		}
		if err := nb.Finish(ctx, u, 0); err != nil {
			b.Fatal(err)
		}
		if _, err := a.Agent(ctx, "1001", Away, []string{"g"}, ""); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(pct(dec, 0.5), "decision-p50-µs")
	b.ReportMetric(pct(dec, 0.99), "decision-p99-µs")
	b.ReportMetric(pct(deliv, 0.5), "offer-p50-µs")
	b.ReportMetric(pct(deliv, 0.99), "offer-p99-µs")
}

func pct(d []time.Duration, q float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return float64(s[int(q*float64(len(s)-1))].Microseconds())
}

// BenchmarkClusterRoutedCalls: 3 nodes, each call entering on a node,
// reserved at once (an idle agent somewhere), answered and ended: calls/s
// across the cluster and Redis round trips per call. workers is the calls
// in flight per node: 3 (each operation nearly alone in its batch), and 64
// (a busy node: batches fill while one is in flight).
func BenchmarkClusterRoutedCalls(b *testing.B) {
	for _, w := range []int{3, 64} {
		b.Run(fmt.Sprintf("inflight=%d", 3*w), func(b *testing.B) { benchRouted(b, w) })
	}
}

func benchRouted(b *testing.B, workers int) {
	rdb, p := testPool(b)
	var cnt counter
	rdb.AddHook(&cnt)
	ctx := context.Background()
	const nodes = 3
	// Twice as many agents as calls in flight: every call finds one idle
	// and is routed (a queued call would not be).
	agents := max(60, 2*nodes*workers)
	ms := make([]*Member, nodes)
	for i := range ms {
		ms[i] = join(b, rdb, p, fmt.Sprintf("n%d", i), Options{})
	}
	for j := 0; j < agents; j++ {
		if _, err := ms[j%nodes].Agent(ctx, fmt.Sprintf("a%d", j), Ready, []string{"g1", "g2"}, ""); err != nil {
			b.Fatal(err)
		}
	}
	var next, routed atomic.Int64
	var wg sync.WaitGroup
	cnt.n.Store(0)
	b.ResetTimer()
	start := time.Now()
	for w := 0; w < nodes*workers; w++ {
		wg.Add(1)
		go func(m *Member) {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				u := fmt.Sprintf("c%d", i)
				o, ok, err := m.Enqueue(ctx, Call{UUID: u, Caller: "555", Groups: []string{"g1"}, Arrival: time.Now()})
				if err != nil {
					b.Error(err)
					return
				}
				if ok {
					routed.Add(1)
					if _, err := m.Result(ctx, o, Answered, 3, time.Minute, 0, false); err != nil {
						b.Error(err)
						return
					}
				}
				if err := m.Finish(ctx, u, 0); err != nil {
					b.Error(err)
					return
				}
			}
		}(ms[w%nodes])
	}
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	if routed.Load() != int64(b.N) {
		b.Fatalf("%d of %d calls routed at once", routed.Load(), b.N)
	}
	b.ReportMetric(float64(b.N)/el.Seconds(), "calls/s")
	b.ReportMetric(float64(cnt.n.Load())/float64(b.N), "round-trips/call")
}
