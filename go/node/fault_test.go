package node

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/publish"
	"github.com/nwayacd/mod_nwayacd/go/service"
	"github.com/nwayacd/mod_nwayacd/go/sim"
)

// privateRedis runs a redis-server of the test's own on a spare port.
type privateRedis struct {
	t    *testing.T
	port int
	cmd  *exec.Cmd
}

func spare(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func (r *privateRedis) start(args ...string) {
	r.t.Helper()
	a := append([]string{"--port", fmt.Sprint(r.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}, args...)
	r.cmd = exec.Command("redis-server", a...)
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", r.port)); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.t.Fatal("private redis-server did not start")
}

func (r *privateRedis) kill() {
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
}

// counting counts what the service hands the hub, per family.
type counting struct {
	hub *publish.Hub
	mu  sync.Mutex
	n   map[string]int
}

func (c *counting) Publish(m publish.Message) bool {
	c.mu.Lock()
	c.n[m.Family().String()]++
	c.mu.Unlock()
	return c.hub.Publish(m)
}

// TestBrokerOutageWhileCallsFlow: simulated calls keep flowing through the
// service while its Redis goes away and comes back. Calls never wait on the
// broker; every CDR arrives exactly once; every other message is either
// delivered or counted as dropped.
func TestBrokerOutageWhileCallsFlow(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		need(t, "no redis-server binary")
	}
	r := &privateRedis{t: t, port: spare(t)}
	r.start()
	defer func() { r.kill() }()
	addr := fmt.Sprintf("127.0.0.1:%d", r.port)

	hub, err := publish.New(publish.Config{
		Redis:     &publish.RedisConfig{Addr: addr, CDRNeedsSubscriber: true},
		SpoolPath: filepath.Join(t.TempDir(), "spool.db"), QueueSize: 64,
		ReconnectMin: 20 * time.Millisecond, ReconnectMax: 200 * time.Millisecond, SendTimeout: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	pub := &counting{hub: hub, n: map[string]int{}}

	// One subscriber for everything until the outage.
	rdb := redis.NewClient(&redis.Options{Addr: addr, Password: "", MinRetryBackoff: 10 * time.Millisecond})
	defer rdb.Close()
	sub := rdb.PSubscribe(context.Background(), "*")
	defer sub.Close()
	if _, err := sub.Receive(context.Background()); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	got := map[string]int{}  // family → messages received
	cdrs := map[string]int{} // CDR uuid → times received
	count := func(ch <-chan *redis.Message) {
		for m := range ch {
			fam, _, _ := strings.Cut(m.Channel, "_")
			mu.Lock()
			got[fam]++
			if fam == "cdr" {
				cdrs[strings.SplitN(m.Payload, ",", 2)[0]]++
			}
			mu.Unlock()
		}
	}
	go count(sub.Channel())

	s := sim.New(sim.Config{Seed: 3, Groups: []sim.GroupSpec{{Number: "110", Mode: acd.ModeMemoryCyclic, Agents: 10}},
		CallsPerSecond: 0.5, AnswerRate: 0.7, AnswerDelay: [2]time.Duration{time.Second, 5 * time.Second},
		TalkTime: [2]time.Duration{10 * time.Second, 60 * time.Second}, Patience: [2]time.Duration{20 * time.Second, 90 * time.Second}})
	svc := service.New(service.Options{Clock: s.Clock(), Switch: s, Publisher: pub, ManualTimers: true, SyncHost: true,
		Core: acd.Config{WrapUp: 5 * time.Second}})
	if err := s.Attach(svc); err != nil {
		t.Fatal(err)
	}
	run := func(n int) {
		t.Helper()
		start := time.Now()
		if !s.RunCalls(n) {
			t.Fatal("simulation stalled")
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("%d calls took %v: the call path waited on the broker", n, d)
		}
	}
	run(100)
	// Let what was published so far arrive: a message Redis accepted just
	// before a kill -9 but never flushed to its subscriber is lost without
	// anyone's knowledge (pub/sub is at most once); that is not the outage
	// this test is about.
	settle := time.Now().Add(10 * time.Second)
	for time.Now().Before(settle) {
		pub.mu.Lock()
		sent := pub.n["agent"] + pub.n["queue"] + pub.n["event"] + pub.n["cdr"]
		pub.mu.Unlock()
		mu.Lock()
		recv := got["agent"] + got["queue"] + got["event"] + got["cdr"]
		mu.Unlock()
		if recv >= sent {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.kill()        // mid-stream
	_ = sub.Close() // the second subscriber below takes over
	run(200)        // calls keep flowing while Redis is down
	// Back, but refusing the hub until the subscriber is listening again, so
	// nothing is published into an empty channel.
	r.start("--requirepass", "wait")
	adm := redis.NewClient(&redis.Options{Addr: addr, Password: "wait"})
	defer adm.Close()
	subCli := redis.NewClient(&redis.Options{Addr: addr, Password: "wait"})
	defer subCli.Close()
	sub2 := subCli.PSubscribe(context.Background(), "*")
	defer sub2.Close()
	if _, err := sub2.Receive(context.Background()); err != nil {
		t.Fatal(err)
	}
	go count(sub2.Channel())
	if err := adm.ConfigSet(context.Background(), "requirepass", "").Err(); err != nil {
		t.Fatal(err)
	}
	s.Drain(24 * time.Hour)
	st := s.Stats()

	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(cdrs)
		mu.Unlock()
		if n >= st.Finished || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hub.Close(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the last deliveries reach the subscriber
	mu.Lock()
	defer mu.Unlock()
	if len(cdrs) != st.Finished {
		t.Fatalf("%d calls finished, %d distinct CDRs received", st.Finished, len(cdrs))
	}
	for uuid, n := range cdrs {
		if n != 1 {
			t.Fatalf("CDR %s received %d times", uuid, n)
		}
	}
	var dropped publish.Counts
	for _, tr := range hub.Stats().Transports {
		dropped = tr.Dropped
	}
	pub.mu.Lock()
	defer pub.mu.Unlock()
	for fam, drop := range map[string]uint64{"agent": dropped.Agent, "queue": dropped.Queue, "event": dropped.Event} {
		if uint64(got[fam])+drop != uint64(pub.n[fam]) {
			t.Errorf("%s: published %d, received %d, dropped %d", fam, pub.n[fam], got[fam], drop)
		}
	}
	if dropped.Total() == 0 {
		t.Error("the outage dropped nothing: the test did not exercise the bounded queue")
	}
	t.Logf("%d calls, %d CDRs exactly once; dropped during the outage: %+v", st.Finished, len(cdrs), dropped)
}

// TestAMQPForceCloseWhileCallsFlow: simulated calls flow through the service
// while RabbitMQ force-closes its connection mid-stream. Every CDR arrives;
// a CDR resent after the close carries the same message-id, so consumers
// that dedupe by it see each exactly once.
func TestAMQPForceCloseWhileCallsFlow(t *testing.T) {
	need(t, "127.0.0.1:5672")
	if _, err := exec.LookPath("rabbitmqctl"); err != nil {
		need(t, "no rabbitmqctl")
	}
	vh := fmt.Sprintf("nwayacd_node_%d", time.Now().UnixNano())
	ctl := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("rabbitmqctl", args...).CombinedOutput(); err != nil {
			t.Fatalf("rabbitmqctl %v: %v %s", args, err, out)
		}
	}
	ctl("add_vhost", vh)
	defer func() { _ = exec.Command("rabbitmqctl", "delete_vhost", vh).Run() }()
	ctl("set_permissions", "-p", vh, "guest", ".*", ".*", ".*")
	url := "amqp://guest:guest@127.0.0.1:5672/" + vh

	// The consumer's queue outlives its connection: close_all_connections
	// closes the consumer too, which reconnects as a real one would.
	qname := vh + "_cdr"
	var mu sync.Mutex
	byUUID := map[string]map[string]int{} // CDR uuid → message-id → deliveries
	setup := func() (*amqp.Connection, <-chan amqp.Delivery, error) {
		conn, err := amqp.Dial(url)
		if err != nil {
			return nil, nil, err
		}
		ch, err := conn.Channel()
		if err == nil {
			err = ch.ExchangeDeclare("nwayacd", "topic", true, false, false, false, nil)
		}
		if err == nil {
			_, err = ch.QueueDeclare(qname, false, false, false, false, nil)
		}
		if err == nil {
			err = ch.QueueBind(qname, "cdr.#", "nwayacd", false, nil)
		}
		var d <-chan amqp.Delivery
		if err == nil {
			d, err = ch.Consume(qname, "", true, false, false, false, nil)
		}
		if err != nil {
			conn.Close()
			return nil, nil, err
		}
		return conn, d, nil
	}
	first, deliveries, err := setup()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		conn := first
		for {
			for d := range deliveries {
				var c struct{ UUID string }
				_ = json.Unmarshal(d.Body, &c)
				mu.Lock()
				if byUUID[c.UUID] == nil {
					byUUID[c.UUID] = map[string]int{}
				}
				byUUID[c.UUID][d.MessageId]++
				mu.Unlock()
			}
			conn.Close()
			for {
				select {
				case <-done:
					return
				case <-time.After(50 * time.Millisecond):
				}
				if conn, deliveries, err = setup(); err == nil {
					break
				}
			}
		}
	}()

	hub, err := publish.New(publish.Config{AMQP: &publish.AMQPConfig{URL: url, Exchange: "nwayacd", ConnectionName: "nwayacd-fault"},
		SpoolPath: filepath.Join(t.TempDir(), "spool.db"), ReconnectMin: 20 * time.Millisecond, ReconnectMax: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s := sim.New(sim.Config{Seed: 5, Groups: []sim.GroupSpec{{Number: "120", Mode: acd.ModeSequential, Agents: 10}},
		CallsPerSecond: 0.5, AnswerRate: 0.7, AnswerDelay: [2]time.Duration{time.Second, 5 * time.Second},
		TalkTime: [2]time.Duration{10 * time.Second, 60 * time.Second}, Patience: [2]time.Duration{20 * time.Second, 90 * time.Second}})
	svc := service.New(service.Options{Clock: s.Clock(), Switch: s, Publisher: hub, ManualTimers: true, SyncHost: true})
	if err := s.Attach(svc); err != nil {
		t.Fatal(err)
	}
	s.RunCalls(150)
	// Only the hub's connection is closed (by its name), mid-stream.
	ctl("close_all_connections", "-p", vh, "test")
	start := time.Now()
	s.RunCalls(150)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("150 calls took %v while the connection was down", d)
	}
	s.Drain(24 * time.Hour)
	finished := s.Stats().Finished
	waitFor(t, "every CDR at the consumer", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(byUUID) >= finished
	})
	if tr := hub.Stats().Transports; len(tr) != 1 || tr[0].LastError == "" {
		t.Fatalf("the publisher never saw its connection closed: %+v", tr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hub.Close(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(byUUID) != finished {
		t.Fatalf("%d calls, %d distinct CDRs", finished, len(byUUID))
	}
	resent := 0
	for uuid, ids := range byUUID {
		if len(ids) != 1 {
			t.Fatalf("CDR %s arrived under %d message-ids: %v", uuid, len(ids), ids)
		}
		for _, n := range ids {
			resent += n - 1
		}
	}
	t.Logf("%d calls, %d CDRs, each under one message-id (%d resent copies)", finished, len(byUUID), resent)
}
