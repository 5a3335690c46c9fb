// Command nwayacd-demo runs mod_nwayacd without FreeSWITCH: the real node
// (core, REST API on :8085, event push to Redis when it is reachable, an
// embedded store or PostgreSQL) driven by the simulated switch with synthetic
// callers and agents, in real time. Drive it with the seed's curl lines and
// watch it with `redis-cli psubscribe 'event_*' 'agent_*' 'queue_*' 'cdr_*'`.
// It starts on the folder of an earlier run, however that run ended.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/logx"
	"github.com/nwayacd/mod_nwayacd/go/node"
	"github.com/nwayacd/mod_nwayacd/go/service"
	"github.com/nwayacd/mod_nwayacd/go/sim"
)

type options struct {
	listen, redisAddr, dir, dsn string
	rate, speed                 float64
	dur, cdrGrace               time.Duration
	commands                    bool
	uuidPrefix                  string
}

func main() {
	var o options
	flag.StringVar(&o.listen, "listen", "127.0.0.1:8085", "REST address")
	flag.StringVar(&o.redisAddr, "redis", "127.0.0.1:6379", "Redis for the event push (skipped when unreachable or empty)")
	flag.StringVar(&o.dir, "dir", filepath.Join("build", "demo"), "folder for the embedded store, the journal and the CDR spool")
	flag.StringVar(&o.dsn, "dsn", "", "PostgreSQL instead of the embedded store (postgres://…)")
	flag.Float64Var(&o.rate, "rate", 0.2, "simulated calls per second")
	flag.Float64Var(&o.speed, "speed", 1, "simulated time per real time")
	flag.DurationVar(&o.dur, "duration", 0, "stop after this long (0: until Ctrl-C)")
	flag.BoolVar(&o.commands, "commands", false, "read fs_cli commands (\"name args\") from stdin; each reply is one JSON string line on stdout; demo_stats prints the simulator's counters, demo_sync waits until everything so far is on disk")
	flag.DurationVar(&o.cdrGrace, "cdr-grace", 20*time.Millisecond, "how long a finished call's CDR waits for a caller-leg hangup event, which the simulator never sends (the module waits 3 s)")
	flag.StringVar(&o.uuidPrefix, "uuid-prefix", "", "start of the simulated channels' uuids (default: new for each run)")
	flag.Parse()
	if err := run(o); err != nil {
		log.Fatal(err)
	}
}

// board is the service as the simulator sets it up: what an earlier run on
// the same folder already created is reused, not an error.
type board struct{ *service.Service }

func exists(err error) error {
	if acd.CodeOf(err) == acd.ErrExists {
		return nil
	}
	return err
}

func (b board) AddExtension(ext, job string) error {
	return exists(b.Service.AddExtension(ext, job))
}

func (b board) AddGroup(number string, mode acd.Mode) error {
	if g, err := b.Service.Group(number); err == nil && g.Mode != mode {
		if err := b.Service.RemoveGroup(number); err != nil {
			return err
		}
	}
	return exists(b.Service.AddGroup(number, mode))
}

// newSim is the demo's traffic: three groups, seven synthetic agents.
func newSim(o options) *sim.Sim {
	if o.uuidPrefix == "" {
		// A new prefix per run: the store keeps the CDRs of earlier runs.
		o.uuidPrefix = "sim-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "-"
	}
	return sim.New(sim.Config{
		Seed:  uint64(time.Now().UnixNano()),
		Start: time.Now(),
		Groups: []sim.GroupSpec{
			{Number: "110", Mode: acd.ModeMemoryCyclic, Agents: 3},
			{Number: "120", Mode: acd.ModeSequential, Agents: 2},
			{Number: "12345", Mode: acd.ModeRandom, Agents: 2},
		},
		CallsPerSecond: o.rate, Callers: 50, VIPRate: 0.1, AnswerRate: 0.8,
		AnswerDelay: [2]time.Duration{2 * time.Second, 8 * time.Second},
		TalkTime:    [2]time.Duration{15 * time.Second, 60 * time.Second},
		Patience:    [2]time.Duration{30 * time.Second, 120 * time.Second},
		BreakEvery:  5 * time.Minute, BreakLength: [2]time.Duration{20 * time.Second, 60 * time.Second},
		UUIDPrefix: o.uuidPrefix,
	})
}

func run(o options) error {
	s := newSim(o)
	publisher := "none"
	if o.redisAddr != "" {
		if c, err := net.DialTimeout("tcp", o.redisAddr, time.Second); err == nil {
			c.Close()
			publisher = "redis"
		}
	}
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return err
	}
	params := map[string]string{
		"rest-listen": o.listen, "publisher": publisher, "redis-addr": o.redisAddr, "fs-db-dir": o.dir, "fs-log-dir": o.dir,
		"wrapup-seconds": "10", "default-busy-ring-times": "0", "default-max-wait-seconds": "180",
	}
	if o.dsn != "" {
		params["db-dsn"] = o.dsn
	}
	logger := logx.Stderr(slog.LevelWarn)
	// The simulator sends no caller-leg hangup events for a CDR to wait for:
	// the grace is short unless a test wants the CDRs to wait.
	n, err := node.Start(params, node.Options{Switch: s, Clock: s.Clock(), Logger: logger, CDRGrace: o.cdrGrace})
	if err != nil {
		return err
	}
	defer n.Stop()
	if err := s.Attach(board{n.Service}); err != nil {
		return fmt.Errorf("simulator: %w", err)
	}
	for _, ext := range []string{"1001", "1002", "1003"} {
		if err := exists(n.Service.AddExtension(ext, "9"+ext)); err != nil {
			return fmt.Errorf("extension %s: %w", ext, err)
		}
	}
	if !o.commands {
		banner(n.Addr(), publisher, o.rate)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.dur > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.dur)
		defer cancel()
	}
	if o.commands {
		go commands(os.Stdin, os.Stdout, n, s)
	} else {
		go progress(ctx, s)
	}
	err = s.RunRealtime(ctx, o.speed)
	if err != nil && ctx.Err() == nil {
		return err
	}
	st := s.Stats()
	if !o.commands {
		fmt.Printf("demo stopped: %d calls, %d answered, %d abandoned, %d gave up\n", st.Arrived, st.Answered, st.Abandoned, st.GaveUp)
	}
	return nil
}

func banner(addr, publisher string, rate float64) {
	fmt.Printf(`mod_nwayacd demo: REST on http://%s, events to %s, %.1f simulated calls/s.
Agents 10000… answer simulated calls; extensions 1001-1003 are yours to drive:
  curl -d '{"username": "admin", "password": "admin"}' -H "Content-Type:application/json" http://%s/api/login
  curl -H "Content-Type: application/json" -d '{"Extension":"1002","Groups":"12345,110"}' -H "Authorization:Nway <token> " http://%s/api/agent_up
  curl -H "Authorization:Nway <token>" http://%s/api/queues
  redis-cli psubscribe 'event_*' 'agent_*' 'queue_*' 'cdr_*'
Ctrl-C stops it.
`, addr, publisher, rate, addr, addr, addr)
	fmt.Printf("Wallboard http://%[1]s/ui/, agent console http://%[1]s/ui/console.html, Prometheus http://%[1]s/metrics\n", addr)
}

func progress(ctx context.Context, s *sim.Sim) {
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
}

// commands runs fs_cli commands from r, one per line, and writes each reply
// to w as one JSON string line (tools and the fault suite drive it so).
func commands(r io.Reader, w io.Writer, n *node.Node, s *sim.Sim) {
	sc := bufio.NewScanner(r)
	enc := json.NewEncoder(w)
	for sc.Scan() {
		name, args, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		var reply string
		switch name {
		case "demo_sync": // everything so far on disk, CDRs included
			if err := n.Sync(); err != nil {
				reply = "-ERR " + err.Error()
			} else {
				reply = "+OK synced"
			}
		case "demo_stats":
			b, err := json.Marshal(s.Stats())
			if err != nil {
				reply = "-ERR " + err.Error()
			} else {
				reply = string(b)
			}
		default:
			reply = n.Command(name, args)
		}
		if err := enc.Encode(reply); err != nil {
			if !errors.Is(err, os.ErrClosed) {
				log.Printf("commands: %v", err)
			}
			return
		}
	}
}
