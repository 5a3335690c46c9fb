package node

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/nwayacd/mod_nwayacd/go/cluster"
	"github.com/nwayacd/mod_nwayacd/go/logx"
	"github.com/nwayacd/mod_nwayacd/go/session"
	"github.com/nwayacd/mod_nwayacd/go/store/pgtest"
)

// pool3 is three cluster nodes in one process sharing one PostgreSQL
// database and one Redis key prefix; each has its own (silent) switch: the
// test plays the sessions.
type pool3 struct {
	t      *testing.T
	nodes  []*Node
	dsn    string
	prefix string
	rdb    *redis.Client
	view   *cluster.Member // a reader of the pool (joined as its own node)
}

func startPool3(t *testing.T) *pool3 {
	need(t, "127.0.0.1:5432")
	need(t, "127.0.0.1:6379")
	_, dsn := pgtest.DB(t)
	p := &pool3{t: t, dsn: dsn, prefix: fmt.Sprintf("nwayacd:test:route:%x:", rand.Uint64()),
		rdb: redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})}
	t.Cleanup(func() {
		for _, n := range p.nodes {
			n.Stop()
		}
		ctx := context.Background()
		keys, _ := p.rdb.Keys(ctx, p.prefix+"*").Result()
		if len(keys) > 0 {
			p.rdb.Del(ctx, keys...)
		}
		p.rdb.Close()
	})
	for _, id := range []string{"a", "b", "c"} {
		p.nodes = append(p.nodes, p.start(id))
	}
	var err error
	p.view, err = cluster.Join(context.Background(), p.rdb, cluster.Options{Node: "viewer", Prefix: p.prefix, NodeLease: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *pool3) start(id string) *Node {
	t := p.t
	n, err := Start(params(t, map[string]string{"db-dsn": p.dsn, "cluster-redis": "127.0.0.1:6379",
		"cluster-node-id": id, "cluster-key-prefix": p.prefix, "cluster-lease-seconds": "1", "wrapup-seconds": "0"}),
		Options{CDRGrace: 20 * time.Millisecond, Logger: logx.New(func(l int, line string) { t.Logf("[%s %d] %s", id, l, line) }, slog.LevelInfo)})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// setup creates group 120 (mode) and the extensions on node a, waits until
// every node has them (LISTEN/NOTIFY) and logs each agent in on the node
// given, where its phone registers.
func (p *pool3) setup(mode string, agents map[string]int) {
	t := p.t
	a := p.nodes[0]
	cmd(t, a, "nway_add_group", "120 "+mode)
	for ext := range agents {
		cmd(t, a, "nway_add_ext", ext+" J"+ext)
	}
	for _, n := range p.nodes {
		waitFor(t, "the configuration on every node", func() bool {
			if _, err := n.Service.Group("120"); err != nil {
				return false
			}
			for ext := range agents {
				if _, err := n.Service.Extension(ext); err != nil {
					return false
				}
			}
			return true
		})
	}
	for ext, i := range agents {
		must(t, p.nodes[i].Service.SetRegistered(ext, true))
		cmd(t, p.nodes[i], "nway_login", ext+" 120")
	}
	for ext := range agents {
		waitFor(t, "agent "+ext+" idle in the pool", func() bool {
			v, err := p.view.AgentView(context.Background(), ext)
			return err == nil && v.State == "idle"
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func enter(t *testing.T, n *Node, uuid, caller string) {
	t.Helper()
	d := n.Service.Enter(session.Call{Kind: session.Queue, UUID: uuid, Group: "120", CallerNumber: caller, DestNumber: "120"})
	if d.Action != session.Wait && d.Action != session.Play && d.Action != session.Offer {
		t.Fatalf("enter %s: %+v", uuid, d)
	}
}

// offered polls the call's session (as a woken session asks) until it is
// told to ring an agent, and returns that agent.
func offered(t *testing.T, n *Node, uuid string) string {
	t.Helper()
	var d session.Directive
	waitFor(t, "an offer for "+uuid, func() bool {
		d = n.Service.Next(uuid)
		return d.Action == session.Offer
	})
	return d.Agent
}

func (p *pool3) cdrs(uuid string) int {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, p.dsn)
	if err != nil {
		p.t.Fatal(err)
	}
	defer conn.Close(ctx)
	var k int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM nwayacd_cdr WHERE uuid=$1", uuid).Scan(&k); err != nil {
		p.t.Fatal(err)
	}
	return k
}

// A call entering node b is offered to the agent logged in (and
// registered) on node a; answered, it is bridged; its CDR is written once,
// by b.
func TestClusterCallOfferedAcrossNodes(t *testing.T) {
	p := startPool3(t)
	p.setup("0", map[string]int{"1001": 0})
	a, b := p.nodes[0], p.nodes[1]
	const u = "11111111-0000-4000-8000-000000000001"
	enter(t, b, u, "13800000001")
	if got := offered(t, b, u); got != "1001" {
		t.Fatalf("offered to %q, want 1001", got)
	}
	b.Service.OfferResult(session.OfferResult{UUID: u, Agent: "1001", Outcome: session.Answered})
	waitFor(t, "1001 talking in the pool", func() bool {
		v, _ := p.view.AgentView(context.Background(), "1001")
		return v.State == "talking" && v.Call == u
	})
	if d := b.Service.Next(u); d.Action != session.Done {
		t.Fatalf("after the answer: %+v", d)
	}
	// While it talks, a second call on c finds nobody.
	const u2 = "11111111-0000-4000-8000-000000000002"
	enter(t, p.nodes[2], u2, "13800000002")
	time.Sleep(200 * time.Millisecond)
	if d := p.nodes[2].Service.Next(u2); d.Action == session.Offer {
		t.Fatalf("1001 offered a second call while talking: %+v", d)
	}
	b.Service.BridgeEnded(u)
	b.Service.Leave(u)
	// Freed (no wrap-up), 1001 takes the call waiting on c.
	if got := offered(t, p.nodes[2], u2); got != "1001" {
		t.Fatalf("c's call offered to %q", got)
	}
	waitFor(t, "b's CDR", func() bool { return p.cdrs(u) == 1 })
	time.Sleep(100 * time.Millisecond)
	if k := p.cdrs(u); k != 1 {
		t.Fatalf("%d CDRs for %s", k, u)
	}
	_ = a
}

// An agent freeing on a takes the VIP, then the oldest, call waiting on c.
func TestClusterFreedAgentTakesBestWaitingCall(t *testing.T) {
	p := startPool3(t)
	p.setup("0", map[string]int{"1001": 0})
	a, c := p.nodes[0], p.nodes[2]
	cmd(t, a, "nway_busy", "1001")
	waitFor(t, "1001 away", func() bool {
		v, _ := p.view.AgentView(context.Background(), "1001")
		return v.State == "away"
	})
	old := "22222222-0000-4000-8000-000000000001"
	newer := "22222222-0000-4000-8000-000000000002"
	vip := "22222222-0000-4000-8000-000000000003"
	enter(t, c, old, "13800000011")
	time.Sleep(20 * time.Millisecond)
	enter(t, p.nodes[1], newer, "13800000012")
	time.Sleep(20 * time.Millisecond)
	d := c.Service.Enter(session.Call{Kind: session.Queue, UUID: vip, Group: "120", CallerNumber: "13800000013", DestNumber: "120", Level: "vip"})
	if d.Action == session.Offer {
		t.Fatalf("vip offered while nobody is ready")
	}
	waitFor(t, "three calls in the shared queue", func() bool {
		w, _ := p.view.Waiting(context.Background(), "120")
		return len(w) == 3
	})
	w, _ := p.view.Waiting(context.Background(), "120")
	if w[0].UUID != vip || w[0].Node != "c" || w[1].UUID != old || w[2].UUID != newer || w[2].Node != "b" {
		t.Fatalf("queue %+v", w)
	}
	cmd(t, a, "nway_ready", "1001")
	if got := offered(t, c, vip); got != "1001" {
		t.Fatalf("vip offered to %q", got)
	}
	// Not answered: the vip waits again, still first; 1001 (idle again,
	// under the no-answer limit) is offered it again.
	c.Service.OfferResult(session.OfferResult{UUID: vip, Agent: "1001", Outcome: session.NoAnswer})
	if got := offered(t, c, vip); got != "1001" {
		t.Fatalf("vip offered again to %q", got)
	}
	talk := func(n *Node, u string) {
		n.Service.OfferResult(session.OfferResult{UUID: u, Agent: "1001", Outcome: session.Answered})
		n.Service.BridgeEnded(u)
		n.Service.Leave(u)
	}
	talk(c, vip)
	// Then the oldest (on c), then the newer (on b).
	if got := offered(t, c, old); got != "1001" {
		t.Fatalf("oldest offered to %q", got)
	}
	if d := p.nodes[1].Service.Next(newer); d.Action == session.Offer {
		t.Fatalf("newer offered while 1001 rings for the oldest")
	}
	talk(c, old)
	if got := offered(t, p.nodes[1], newer); got != "1001" {
		t.Fatalf("newer offered to %q", got)
	}
}

// A node dropped without cleanup: within the lease its waiting calls leave
// the shared queues and its reservations are released.
func TestClusterDeadNodeReaped(t *testing.T) {
	p := startPool3(t)
	p.setup("0", map[string]int{"1001": 0})
	b, c := p.nodes[1], p.nodes[2]
	ringing := "33333333-0000-4000-8000-000000000001"
	waiting := "33333333-0000-4000-8000-000000000002"
	enter(t, c, ringing, "13800000021")
	if got := offered(t, c, ringing); got != "1001" {
		t.Fatalf("offered to %q", got)
	}
	enter(t, c, waiting, "13800000022")
	waitFor(t, "c's second call queued", func() bool {
		w, _ := p.view.Waiting(context.Background(), "120")
		return len(w) == 1
	})
	// c dies: no Leave, no more heartbeats (its membership goroutine is
	// stopped by cutting its Redis client).
	c.cluster.rdb.Close()
	start := time.Now()
	waitFor(t, "c reaped", func() bool {
		w, _ := p.view.Waiting(context.Background(), "120")
		v, _ := p.view.AgentView(context.Background(), "1001")
		return len(w) == 0 && v.State == "idle"
	})
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("reaped after %v (lease 1 s)", el)
	}
	// The freed agent takes a call on b.
	const u = "33333333-0000-4000-8000-000000000003"
	enter(t, b, u, "13800000023")
	if got := offered(t, b, u); got != "1001" {
		t.Fatalf("offered to %q", got)
	}
}
