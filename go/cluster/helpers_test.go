package cluster

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/internal/testsvc"
	"github.com/redis/go-redis/v9"
)

const testRedis = "127.0.0.1:6379"

// testPool returns a client for the shared Redis and a key prefix of the
// test's own, removed afterwards, so tests never see each other's keys.
func testPool(t testing.TB) (redis.UniversalClient, string) {
	t.Helper()
	testsvc.Need(t, "redis", testRedis)
	rdb, err := NewClient(RedisConfig{Addrs: []string{testRedis}})
	if err != nil {
		t.Fatal(err)
	}
	prefix := fmt.Sprintf("nwayacd:test:%s:%x:", t.Name(), rand.Uint64())
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
		rdb.Close()
	})
	return rdb, prefix
}

func join(t testing.TB, rdb redis.UniversalClient, prefix, node string, o Options) *Member {
	t.Helper()
	o.Node, o.Prefix = node, prefix
	if o.Addr == "" {
		o.Addr = node + ":8085"
	}
	m, err := Join(context.Background(), rdb, o)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mustReady(t testing.TB, m *Member, ext string, groups ...string) AgentResult {
	t.Helper()
	r, err := m.Agent(context.Background(), ext, Ready, groups, "")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustEnqueue(t testing.TB, m *Member, c Call) (Offer, bool) {
	t.Helper()
	if c.Arrival.IsZero() {
		c.Arrival = time.Now()
	}
	o, ok, err := m.Enqueue(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return o, ok
}

// next waits (bounded) for the next inbox message of m.
func next(t testing.TB, m *Member) Msg {
	t.Helper()
	for i := 0; i < 5; i++ {
		msg, ok, err := m.Next(context.Background(), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			return msg
		}
	}
	t.Fatalf("%s: no message in 5 s", m.o.Node)
	return Msg{}
}

func noMsg(t testing.TB, m *Member) {
	t.Helper()
	n, err := m.rdb.LLen(context.Background(), m.o.Prefix+"inbox:"+m.o.Node).Result()
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%s: %d unexpected messages", m.o.Node, n)
	}
}

func audit(t testing.TB, m *Member, groups ...string) {
	t.Helper()
	p, err := m.Audit(context.Background(), groups)
	if err != nil {
		t.Fatal(err)
	}
	if len(p) > 0 {
		t.Fatalf("pool inconsistent: %v", p)
	}
}

func state(t testing.TB, m *Member, ext string) string {
	t.Helper()
	v, err := m.AgentView(context.Background(), ext)
	if err != nil {
		t.Fatal(err)
	}
	return v.State
}
