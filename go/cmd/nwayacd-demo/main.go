// Command nwayacd-demo runs mod_nwayacd without FreeSWITCH: the real node
// (core, REST API on :8085, event push to Redis when it is reachable, an
// embedded store) driven by the simulated switch with synthetic callers and
// agents, in real time. Drive it with the seed's curl lines and watch it with
// `redis-cli psubscribe 'event_*' 'agent_*' 'queue_*' 'cdr_*'`.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/node"
	"github.com/nwayacd/mod_nwayacd/go/sim"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8085", "REST address")
	redisAddr := flag.String("redis", "127.0.0.1:6379", "Redis for the event push (skipped when unreachable)")
	dir := flag.String("dir", filepath.Join("build", "demo"), "folder for the embedded store and the CDR spool")
	rate := flag.Float64("rate", 0.2, "simulated calls per second")
	speed := flag.Float64("speed", 1, "simulated time per real time")
	dur := flag.Duration("duration", 0, "stop after this long (0: until Ctrl-C)")
	flag.Parse()
	if err := run(*listen, *redisAddr, *dir, *rate, *speed, *dur); err != nil {
		log.Fatal(err)
	}
}

func run(listen, redisAddr, dir string, rate, speed float64, dur time.Duration) error {
	s := sim.New(sim.Config{
		Seed:  uint64(time.Now().UnixNano()),
		Start: time.Now(),
		Groups: []sim.GroupSpec{
			{Number: "110", Mode: acd.ModeMemoryCyclic, Agents: 3},
			{Number: "120", Mode: acd.ModeSequential, Agents: 2},
			{Number: "12345", Mode: acd.ModeRandom, Agents: 2},
		},
		CallsPerSecond: rate, Callers: 50, VIPRate: 0.1, AnswerRate: 0.8,
		AnswerDelay: [2]time.Duration{2 * time.Second, 8 * time.Second},
		TalkTime:    [2]time.Duration{15 * time.Second, 60 * time.Second},
		Patience:    [2]time.Duration{30 * time.Second, 120 * time.Second},
		BreakEvery:  5 * time.Minute, BreakLength: [2]time.Duration{20 * time.Second, 60 * time.Second},
	})
	publisher := "none"
	if c, err := net.DialTimeout("tcp", redisAddr, time.Second); err == nil {
		c.Close()
		publisher = "redis"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	logf := func(level int, f string, a ...any) {
		if level <= 4 {
			log.Printf(f, a...)
		}
	}
	n, err := node.Start(map[string]string{
		"rest-listen": listen, "publisher": publisher, "redis-addr": redisAddr, "fs-db-dir": dir, "fs-log-dir": dir,
		"wrapup-seconds": "10", "default-busy-ring-times": "0", "default-max-wait-seconds": "180",
	}, node.Options{Switch: s, Clock: s.Clock(), Logf: logf})
	if err != nil {
		return err
	}
	defer n.Stop()
	// The demo's store may already hold the groups from a previous run.
	for _, g := range []string{"110", "120", "12345"} {
		_ = n.Service.RemoveGroup(g)
	}
	if err := s.Attach(n.Service); err != nil {
		return fmt.Errorf("simulator: %w", err)
	}
	for _, ext := range []string{"1001", "1002", "1003"} {
		_ = n.Service.AddExtension(ext, "9"+ext)
	}
	fmt.Printf(`mod_nwayacd demo: REST on http://%s, events to %s, %.1f simulated calls/s.
Agents 10000… answer simulated calls; extensions 1001-1003 are yours to drive:
  curl -d '{"username": "admin", "password": "admin"}' -H "Content-Type:application/json" http://%s/api/login
  curl -H "Content-Type: application/json" -d '{"Extension":"1002","Groups":"12345,110"}' -H "Authorization:Nway <token> " http://%s/api/agent_up
  curl -H "Authorization:Nway <token>" http://%s/api/queues
  redis-cli psubscribe 'event_*' 'agent_*' 'queue_*' 'cdr_*'
Ctrl-C stops it.
`, n.Addr(), publisher, rate, n.Addr(), n.Addr(), n.Addr())
	fmt.Printf("Wallboard http://%[1]s/ui/, agent console http://%[1]s/ui/console.html, Prometheus http://%[1]s/metrics\n", n.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if dur > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, dur)
		defer cancel()
	}
	go func() {
		t := time.NewTicker(30 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				st := s.Stats()
				log.Printf("calls %d: answered %d, abandoned %d, gave up %d, in progress %d", st.Arrived, st.Answered, st.Abandoned, st.GaveUp, st.InProgress)
			}
		}
	}()
	err = s.RunRealtime(ctx, speed)
	if err != nil && ctx.Err() == nil {
		return err
	}
	st := s.Stats()
	fmt.Printf("demo stopped: %d calls, %d answered, %d abandoned, %d gave up\n", st.Arrived, st.Answered, st.Abandoned, st.GaveUp)
	return nil
}
