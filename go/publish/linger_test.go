package publish

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nwayacd/mod_nwayacd/go/event"
	"github.com/nwayacd/mod_nwayacd/go/internal/tick"
)

// afterTick returns just past an instant of the linger's grid, so that the
// next is most of a linger away.
func afterTick(linger time.Duration) {
	time.Sleep(time.Until(tick.Next(time.Now(), linger)) + linger/20)
}

// With Linger, a transport that was idle holds the first message until the
// grid's next instant, and what came meanwhile goes with it: the events of
// one moment of a call cost one pipeline. Only the lower bound is checked
// (a slow machine delays, it never hastens).
func TestRedisLingerGathersAMoment(t *testing.T) {
	needService(t, "redis", redisAddr)
	tok := token()
	recv, _ := subscribe(t, &redis.Options{Addr: redisAddr}, "event_*")
	const linger = 800 * time.Millisecond
	h, err := New(Config{Redis: &RedisConfig{Addr: redisAddr}, SpoolPath: spoolPath(t), Linger: linger})
	if err != nil {
		t.Fatal(err)
	}
	defer closeHub(t, h)
	if !eventually(5*time.Second, func() bool { return transportStats(h, "redis").Connected }) {
		t.Fatal("not connected")
	}
	afterTick(linger)
	start := time.Now()
	h.Publish(&testMsg{fam: event.FamilyEvent, ent: "1001", tok: tok, id: 1})
	time.Sleep(linger / 4)
	h.Publish(&testMsg{fam: event.FamilyEvent, ent: "1001", tok: tok, id: 2})
	var at [3]time.Time
	timeout := time.After(10 * time.Second)
	for n := 0; n < 2; {
		select {
		case r := <-recv:
			if id, ok := parseRedis(r.payload, tok); ok && id <= 2 {
				at[id] = time.Now()
				n++
			}
		case <-timeout:
			t.Fatalf("received %d of 2 messages", n)
		}
	}
	if e := at[1].Sub(start); e < linger*3/4 {
		t.Errorf("the first message went out %v after Publish, before the linger (%v)", e, linger)
	}
	if at[2].Before(at[1]) {
		t.Errorf("out of order: %v, %v", at[1], at[2])
	}
	if !eventually(5*time.Second, func() bool { return transportStats(h, "redis").Published.Event == 2 }) {
		t.Errorf("stats = %+v", transportStats(h, "redis"))
	}
}

func TestStreamLingerGathersAMoment(t *testing.T) {
	const db = 12
	ctx := context.Background()
	adm, key := emptyStream(t, db, event.FamilyAgent)
	const linger = 800 * time.Millisecond
	sq := NewSequencer(StreamConfig{Node: "n", Redis: &RedisConfig{Addr: redisAddr, DB: db}, Linger: linger}, nil)
	defer sq.Close()
	afterTick(linger)
	sq.Publish(&event.Agent{Number: "1000", Status: "ready"})
	time.Sleep(linger / 4)
	sq.Publish(&event.Agent{Number: "1001", Status: "ready"})
	time.Sleep(linger / 4)
	if n, err := adm.XLen(ctx, key).Result(); err != nil || n != 0 {
		t.Fatalf("stream has %d entries (%v) before the linger passed", n, err)
	}
	if !eventually(10*time.Second, func() bool { n, _ := adm.XLen(ctx, key).Result(); return n == 2 }) {
		n, err := adm.XLen(ctx, key).Result()
		t.Fatalf("stream has %d of 2 entries (%v)", n, err)
	}
}
