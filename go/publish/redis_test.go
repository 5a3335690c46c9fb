package publish

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/event"
	"github.com/redis/go-redis/v9"
)

type redisRecv struct {
	pattern, channel, payload string
}

// subscribe starts a PSubscribe on patterns, waits for the confirmations,
// and returns everything received until the test ends.
func subscribe(t *testing.T, opt *redis.Options, patterns ...string) (<-chan redisRecv, *redis.PubSub) {
	t.Helper()
	rc := redis.NewClient(opt)
	t.Cleanup(func() { rc.Close() })
	ctx := context.Background()
	ps := rc.PSubscribe(ctx, patterns...)
	for range patterns {
		if _, err := ps.Receive(ctx); err != nil {
			t.Fatalf("psubscribe: %v", err)
		}
	}
	out := make(chan redisRecv, 100000)
	go func() {
		defer close(out)
		for {
			m, err := ps.ReceiveMessage(ctx)
			if err != nil {
				return // the subscriber ends with its connection
			}
			out <- redisRecv{m.Pattern, m.Channel, m.Payload}
		}
	}()
	t.Cleanup(func() { ps.Close() })
	return out, ps
}

func TestRedisDeliversEveryFamily(t *testing.T) {
	needService(t, "redis", redisAddr)
	tok := token()
	recv, _ := subscribe(t, &redis.Options{Addr: redisAddr}, "event_*", "cdr_*", "queue_*", "agent_*")
	h, err := New(Config{Redis: &RedisConfig{Addr: redisAddr}, SpoolPath: spoolPath(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer closeHub(t, h)

	msgs := []*testMsg{
		{fam: event.FamilyEvent, ent: "1001", tok: tok, id: 1},
		{fam: event.FamilyCDR, ent: "120", tok: tok, id: 2},
		{fam: event.FamilyQueue, ent: "120", tok: tok, id: 3},
		{fam: event.FamilyAgent, ent: "1002", tok: tok, id: 4},
	}
	for _, m := range msgs {
		if !h.Publish(m) {
			t.Fatalf("Publish(%d) = false", m.id)
		}
	}
	got := map[int]redisRecv{}
	timeout := time.After(10 * time.Second)
	for len(got) < len(msgs) {
		select {
		case r := <-recv:
			if id, ok := parseRedis(r.payload, tok); ok {
				got[id] = r
			}
		case <-timeout:
			t.Fatalf("received %d of %d messages", len(got), len(msgs))
		}
	}
	for _, m := range msgs {
		r := got[m.id]
		wantPat := m.fam.String() + "_*"
		if r.channel != m.Channel() || r.pattern != wantPat || r.payload != fmt.Sprintf("%s,%d", tok, m.id) {
			t.Errorf("message %d: got pattern %q channel %q payload %q, want %q %q", m.id, r.pattern, r.channel, r.payload, wantPat, m.Channel())
		}
	}
	if !eventually(5*time.Second, func() bool { return transportStats(h, "redis").Spooled == 0 }) {
		t.Errorf("CDR still spooled after delivery: %+v", transportStats(h, "redis"))
	}
	st := transportStats(h, "redis")
	if !st.Connected || st.Published != (Counts{1, 1, 1, 1}) || st.Dropped.Total() != 0 {
		t.Errorf("stats = %+v", st)
	}
}

// TestRedisRealEventTypes sends the go/event types through the hub and checks
// that subscribers get exactly what the types render.
func TestRedisRealEventTypes(t *testing.T) {
	needService(t, "redis", redisAddr)
	tok := token()
	recv, _ := subscribe(t, &redis.Options{Addr: redisAddr}, "event_*", "cdr_*", "queue_*", "agent_*")
	h, err := New(Config{Redis: &RedisConfig{Addr: redisAddr}, SpoolPath: spoolPath(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer closeHub(t, h)
	msgs := []Message{
		&event.Call{Name: event.EventAnswer, CallinNumber: "18638737767", DestNumber: "9" + tok, Direction: "inbound", AUUID: "a-" + tok, BUUID: "b-" + tok},
		&event.Offer{Method: event.OfferCallout, UUID: "a-" + tok, Number: "18638737767", Group: "120", Extension: "1" + tok, Level: "normal", CallinTime: "2021-05-30 17:00:02"},
		&event.CDR{UUID: "c-" + tok, ACallerIDNumber: "18638737767", ADestinationNumber: "4000", Group: "g" + tok, NoAnswerAgents: []string{"1011", "1012"}},
		&event.Queue{Method: event.QueueAdd, UUID: "q-" + tok, Number: "18638737767", Group: "g" + tok, Level: "vip", CallinTime: "2021-05-30 17:00:02"},
		&event.Agent{Number: "a" + tok, Status: "ready", Time: "2021-05-30 17:00:02"},
	}
	want := map[string]string{} // payload → channel
	for _, m := range msgs {
		want[string(m.AppendRedis(nil))] = m.Channel()
		if !h.Publish(m) {
			t.Fatalf("Publish(%T) = false", m)
		}
	}
	timeout := time.After(10 * time.Second)
	for len(want) > 0 {
		select {
		case r := <-recv:
			if ch, ok := want[r.payload]; ok {
				if ch != r.channel {
					t.Errorf("payload %q on channel %q, want %q", r.payload, r.channel, ch)
				}
				delete(want, r.payload)
			}
		case <-timeout:
			t.Fatalf("missing %d messages: %v", len(want), want)
		}
	}
}
