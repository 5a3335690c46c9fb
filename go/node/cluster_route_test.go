package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/cluster"
	"github.com/nwayacd/mod_nwayacd/go/hostexec"
	"github.com/nwayacd/mod_nwayacd/go/internal/tcpproxy"
	"github.com/nwayacd/mod_nwayacd/go/logx"
	"github.com/nwayacd/mod_nwayacd/go/session"
	"github.com/nwayacd/mod_nwayacd/go/store/pgtest"
)

// pool3 is three cluster nodes in one process sharing one PostgreSQL
// database and one Redis key prefix; each has its own (silent) switch: the
// test plays the sessions.
type pool3 struct {
	t      testing.TB
	nodes  []*Node
	dsn    string
	prefix string
	rdb    *redis.Client
	view   *cluster.Member // a reader of the pool (joined as its own node)
	sw     map[string]*recSwitch
	px     map[string]*tcpproxy.Proxy // each node's way to Redis, when the test cuts it (startPool3Proxied)
	stop   map[string]func()          // each node's Stop, once
	dirs   map[string]string          // each node's fs-db-dir
}

// recSwitch records the API commands a node's service runs; it refuses
// those named in refused (a test sets it with refuse).
type recSwitch struct {
	mu      sync.Mutex
	cmds    []string
	refused map[string]bool
}

func (r *recSwitch) API(cmd, args string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cmds = append(r.cmds, cmd+" "+args)
	if r.refused[cmd] {
		return "-ERR No such channel!", nil
	}
	return "+OK", nil
}

func (r *recSwitch) refuse(cmd string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refused == nil {
		r.refused = map[string]bool{}
	}
	r.refused[cmd] = true
}

func (r *recSwitch) has(line string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.cmds {
		if c == line {
			return true
		}
	}
	return false
}

// hasPart reports whether a command sent to the switch contains part.
func (r *recSwitch) hasPart(part string) bool { return r.count(part) > 0 }

// count is how many commands sent to the switch contain part.
func (r *recSwitch) count(part string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.cmds {
		if strings.Contains(c, part) {
			n++
		}
	}
	return n
}

func (r *recSwitch) allow(cmd string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.refused, cmd)
}

func startPool3(t testing.TB) *pool3 { return startPool3With(t, false) }

// startPool3Proxied is startPool3 with each node reaching Redis through a
// TCP proxy of its own (p.px), which the test may cut.
func startPool3Proxied(t testing.TB) *pool3 { return startPool3With(t, true) }

func startPool3With(t testing.TB, proxied bool) *pool3 {
	need(t, "127.0.0.1:5432")
	need(t, "127.0.0.1:6379")
	_, dsn := pgtest.DB(t)
	p := &pool3{t: t, dsn: dsn, prefix: fmt.Sprintf("nwayacd:test:route:%x:", rand.Uint64()),
		rdb: redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"}), sw: map[string]*recSwitch{}, stop: map[string]func(){},
		dirs: map[string]string{}}
	if proxied {
		p.px = map[string]*tcpproxy.Proxy{}
		for _, id := range []string{"a", "b", "c"} {
			p.px[id] = tcpproxy.New(t, "127.0.0.1:6379")
		}
	}
	t.Cleanup(func() {
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
	p.sw[id] = &recSwitch{}
	addr := "127.0.0.1:6379"
	if px := p.px[id]; px != nil {
		addr = px.Addr()
	}
	prm := params(t, map[string]string{"db-dsn": p.dsn, "cluster-redis": addr,
		"cluster-node-id": id, "cluster-key-prefix": p.prefix, "cluster-lease-seconds": "1", "wrapup-seconds": "0"})
	if dir, ok := p.dirs[id]; ok {
		prm["fs-db-dir"] = dir // a new incarnation: the same folder (its journal)
	}
	p.dirs[id] = prm["fs-db-dir"]
	n, err := Start(prm,
		Options{Switch: p.sw[id], CDRGrace: 20 * time.Millisecond, Logger: logx.New(func(l int, line string) { t.Logf("[%s %d] %s", id, l, line) }, slog.LevelInfo)})
	if err != nil {
		t.Fatal(err)
	}
	p.stop[id] = sync.OnceFunc(n.Stop)
	t.Cleanup(p.stop[id]) // before its folders go (cleanups run last first)
	return n
}

// setup creates group 120 (mode) and the extensions on node a, waits until
// every node has them (LISTEN/NOTIFY) and logs each agent in on the node
// given, where its phone registers.
// onEvery waits until seen holds on every node of the pool.
func (p *pool3) onEvery(what string, seen func(n *Node) bool) {
	p.t.Helper()
	for _, n := range p.nodes {
		waitFor(p.t, what, func() bool { return seen(n) })
	}
}

func (p *pool3) setup(mode string, agents map[string]int) {
	t := p.t
	a := p.nodes[0]
	cmd(t, a, "nway_add_group", "120 "+mode)
	for ext := range agents {
		cmd(t, a, "nway_add_ext", ext+" J"+ext)
	}
	p.onEvery("the configuration on every node", func(n *Node) bool {
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
	// One at a time, in order, each seen logged in everywhere before the
	// next: every node then has the members in the same order.
	exts := make([]string, 0, len(agents))
	for ext := range agents {
		exts = append(exts, ext)
	}
	slices.Sort(exts)
	for _, ext := range exts {
		i := agents[ext]
		must(t, p.nodes[i].Service.SetRegistered(ext, true))
		cmd(t, p.nodes[i], "nway_login", ext+" 120")
		p.onEvery(ext+" logged in on every node", func(n *Node) bool {
			x, err := n.Service.Extension(ext)
			return err == nil && x.LoggedIn
		})
	}
	for ext := range agents {
		waitFor(t, "agent "+ext+" idle in the pool", func() bool {
			v, err := p.view.AgentView(context.Background(), ext)
			return err == nil && v.State == "idle"
		})
	}
}

func must(t testing.TB, err error) {
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

// callbackGroup gives group 120 a callback key (#), a gateway, one retry a
// second later, seen by every node, and sets 1001 away in the pool.
func (p *pool3) callbackGroup(a *Node) {
	t := p.t
	cmd(t, a, "nway_set_group", "120 callback_key #")
	cmd(t, a, "nway_set_group", "120 callback_gateway gw1")
	cmd(t, a, "nway_set_group", "120 callback_retry_delay 1")
	cmd(t, a, "nway_set_group", "120 callback_retries 1")
	p.onEvery("the callback key on every node", func(n *Node) bool {
		g, err := n.Service.Group("120")
		return err == nil && g.Options.CallbackKey == "#" && g.Options.CallbackGateway == "gw1" && g.Options.CallbackRetryDelay == time.Second &&
			g.Options.CallbackRetries == 1
	})
	cmd(t, a, "nway_busy", "1001")
	waitFor(t, "1001 away", func() bool {
		v, _ := p.view.AgentView(context.Background(), "1001")
		return v.State == "away"
	})
}

// poolCallback: caller uuid enters on n, presses the callback key and is
// told to hang up.
func poolCallback(t *testing.T, n *Node, uuid, caller string) {
	t.Helper()
	enter(t, n, uuid, caller)
	n.Service.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelDTMF, UUID: uuid, DTMF: "#"})
	waitFor(t, "the caller told to hang up", func() bool { return n.Service.Next(uuid).Action == session.Hangup })
}

func (p *pool3) cdrs(uuid string) int { return p.rows("nwayacd_cdr", uuid) }

func (p *pool3) callbacks(uuid string) int { return p.rows("nwayacd_callback", uuid) }

// rows counts table's rows for call uuid in the shared database.
func (p *pool3) rows(table, uuid string) int {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, p.dsn)
	if err != nil {
		p.t.Fatal(err)
	}
	defer conn.Close(ctx)
	var k int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+table+" WHERE uuid=$1", uuid).Scan(&k); err != nil {
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
	t0 := time.Now()
	enter(t, b, u, "13800000001")
	if got := offered(t, b, u); got != "1001" {
		t.Fatalf("offered to %q, want 1001", got)
	}
	// Status: b rings one grant; a has one agent registered.
	routing := func(n *Node) map[string]float64 {
		var st struct {
			Extra struct {
				Cluster struct{ Routing map[string]float64 }
			}
		}
		out := n.Command("nwayacd", "status json")
		if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &st); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return st.Extra.Cluster.Routing
	}
	if r := routing(b); r["ringing_grants"] != 1 || r["pooled_calls"] != 1 {
		t.Fatalf("b's routing status %v", r)
	}
	if r := routing(a); r["registered_agents"] != 1 || r["ringing_grants"] != 0 {
		t.Fatalf("a's routing status %v", r)
	}
	// Every node lists the ringing call as b lists it: held by b, offered to
	// 1001 (a real two-switch run showed it only on b: the others read the
	// waiting queues alone).
	p.onEvery("b's ringing call on every node's queue list", func(n *Node) bool {
		out := n.Command("nway_list_queue", "json")
		var qs []struct {
			UUID, Node, Group string
			OfferedTo         string `json:"offered_to"`
		}
		if err := json.Unmarshal([]byte(out[strings.Index(out, "["):]), &qs); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return len(qs) == 1 && qs[0].UUID == u && qs[0].Node == "b" && qs[0].OfferedTo == "1001" && qs[0].Group == "120"
	})
	b.Service.OfferResult(session.OfferResult{UUID: u, Agent: "1001", Outcome: session.Answered})
	waitFor(t, "1001 talking in the pool", func() bool {
		v, _ := p.view.AgentView(context.Background(), "1001")
		return v.State == "talking" && v.Call == u
	})
	if d := b.Service.Next(u); d.Action != session.Done {
		t.Fatalf("after the answer: %+v", d)
	}
	// Every node shows 1001 talking, registered on a.
	p.onEvery("1001 talking on a, as every node shows it", func(n *Node) bool {
		out := n.Command("nway_list_exts", "json")
		var xs []struct {
			Extension, Node string
			RegState        string `json:"reg_state"`
			CallState       string `json:"call_state"`
		}
		if err := json.Unmarshal([]byte(out[strings.Index(out, "["):]), &xs); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return len(xs) == 1 && xs[0].Node == "a" && xs[0].RegState == "reged" && xs[0].CallState == "talking"
	})
	// a, where 1001 is registered, dates its change by when a saw it, not
	// by its login (a real two-switch run showed the login time).
	x, err := a.Service.Extension("1001")
	if err != nil || x.LastStatusChange.Before(t0) {
		t.Fatalf("1001 on a: %+v, %v (the call entered at %v)", x, err, t0)
	}
	// Call control on a and c, for the call b holds, is forwarded to b.
	leg := ""
	waitFor(t, "1001's leg on b", func() bool {
		x, err := b.Service.Extension("1001")
		leg = x.CallLeg
		return err == nil && leg != ""
	})
	must(t, a.Service.Hold("1001"))
	must(t, p.nodes[2].Service.UnholdUUID(u))
	waitFor(t, "the hold and unhold run on b", func() bool {
		return p.sw["b"].has("uuid_hold "+leg) && p.sw["b"].has("uuid_hold off "+u)
	})
	if p.sw["a"].has("uuid_hold "+leg) || p.sw["c"].has("uuid_hold off "+u) {
		t.Fatal("call control ran on a node that does not hold the call")
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
	// Any node lists the cluster's waiting calls with the node holding each.
	p.onEvery("the cluster's queue on every node", func(n *Node) bool {
		out := n.Command("nway_list_queue", "json")
		var qs []struct{ UUID, Node string }
		if err := json.Unmarshal([]byte(out[strings.Index(out, "["):]), &qs); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		nodes := map[string]string{}
		for _, q := range qs {
			nodes[q.UUID] = q.Node
		}
		// In one order on every node: VIP, then oldest (a real run
		// listed each node's own calls first).
		return len(qs) == 3 && nodes[vip] == "c" && nodes[old] == "c" && nodes[newer] == "b" &&
			qs[0].UUID == vip && qs[1].UUID == old && qs[2].UUID == newer
	})
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
// the shared queues and its reservations are released; the agent that
// talked on one of its calls is lost until its own node sees it on no call
// and tells the pool, then takes calls again.
func TestClusterDeadNodeReaped(t *testing.T) {
	p := startPool3(t)
	p.setup("0", map[string]int{"1001": 0, "1002": 1})
	b, c := p.nodes[1], p.nodes[2]
	ctx := context.Background()
	talking := "33333333-0000-4000-8000-000000000001"
	ringing := "33333333-0000-4000-8000-000000000002"
	waiting := "33333333-0000-4000-8000-000000000003"
	enter(t, c, talking, "13800000021")
	x := offered(t, c, talking)
	c.Service.OfferResult(session.OfferResult{UUID: talking, Agent: x, Outcome: session.Answered})
	enter(t, c, ringing, "13800000022")
	y := offered(t, c, ringing)
	if x == y || x == "" || y == "" {
		t.Fatalf("offered to %q and %q", x, y)
	}
	enter(t, c, waiting, "13800000023")
	waitFor(t, "c's third call queued", func() bool {
		w, _ := p.view.Waiting(ctx, "120")
		return len(w) == 1
	})
	yx, err := c.Service.Extension(y)
	if err != nil || yx.CallLeg == "" {
		t.Fatalf("%s's leg on c: %+v %v", y, yx, err)
	}
	// c dies: no Leave, no more heartbeats (its Redis client is cut).
	c.cluster.rdb.Close()
	start := time.Now()
	waitFor(t, "c reaped", func() bool {
		w, _ := p.view.Waiting(ctx, "120")
		v, _ := p.view.AgentView(ctx, y)
		return len(w) == 0 && v.State == "idle"
	})
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("reaped after %v (lease 1 s)", el)
	}
	// c itself, unable to renew its lease, took its ring back at once
	// (consistency: the others may grant that agent again).
	waitFor(t, "c killing the ring it can no longer hold", func() bool {
		return p.sw["c"].has("uuid_kill " + yx.CallLeg + " ORIGINATOR_CANCEL")
	})
	waitFor(t, x+" free again", func() bool {
		v, _ := p.view.AgentView(ctx, x)
		return v.State == "idle"
	})
	// Both take calls on b.
	for i, u := range []string{"33333333-0000-4000-8000-000000000004", "33333333-0000-4000-8000-000000000005"} {
		enter(t, b, u, fmt.Sprint("1380000003", i))
		if got := offered(t, b, u); got != x && got != y {
			t.Fatalf("offered to %q", got)
		}
	}
}

// Calls enter the three nodes at random while agents registered on each
// answer, do not answer, hang up, go busy and ready again; the callers
// wait, abandon or talk. Checked throughout: no agent is ever rung for two
// calls cluster-wide; at the end every call has exactly one CDR and the
// pool holds nothing (its own audit finds no inconsistency).
func TestClusterRandomizedAcrossNodes(t *testing.T) {
	p := startPool3(t)
	agents := map[string]int{}
	for i := 0; i < 6; i++ {
		agents[fmt.Sprintf("10%02d", i+1)] = i % 3
	}
	p.setup("5", agents)
	ops := 3000
	if testing.Short() {
		ops = 600
	}
	rng := rand.New(rand.NewPCG(13, uint64(time.Now().UnixNano())))
	type live struct {
		node    *Node
		agent   string // rung or talking
		talking bool
	}
	calls := map[string]*live{}
	var all []string
	busyWith := map[string]string{} // agent → the call it rings or talks on, as the test saw it
	seat := map[string]bool{}       // agent set busy by the test
	exts := make([]string, 0, len(agents))
	for e := range agents {
		exts = append(exts, e)
	}
	free := func(l *live) {
		if l.agent != "" {
			delete(busyWith, l.agent)
			l.agent, l.talking = "", false
		}
	}
	gone := func(u string, l *live) {
		free(l)
		l.node.Service.Leave(u)
		delete(calls, u)
	}
	seen, cross := 0, 0
	for i := 0; i < ops; i++ {
		switch r := rng.IntN(100); {
		case r < 15 && len(calls) < 12:
			u := fmt.Sprintf("44444444-0000-4000-8000-%012d", len(all)+1)
			n := p.nodes[rng.IntN(3)]
			lvl := ""
			if rng.IntN(5) == 0 {
				lvl = "vip"
			}
			d := n.Service.Enter(session.Call{Kind: session.Queue, UUID: u, Group: "120", CallerNumber: fmt.Sprintf("1390000%04d", rng.IntN(50)), DestNumber: "120", Level: lvl})
			if d.Action == session.Hangup || d.Action == session.Done {
				t.Fatalf("enter %s: %+v", u, d)
			}
			calls[u] = &live{node: n}
			all = append(all, u)
		case r < 75:
			u, l := anyCall(rng, calls)
			if l == nil {
				continue
			}
			if l.talking {
				if rng.IntN(3) == 0 {
					l.node.Service.BridgeEnded(u)
					gone(u, l)
				}
				continue
			}
			if l.agent == "" {
				d := l.node.Service.Next(u)
				if d.Action != session.Offer {
					if rng.IntN(25) == 0 {
						gone(u, l) // the caller gives up waiting
					}
					continue
				}
				if other, ok := busyWith[d.Agent]; ok && other != u {
					t.Fatalf("op %d: agent %s rung for %s while on %s", i, d.Agent, u, other)
				}
				busyWith[d.Agent] = u
				l.agent = d.Agent
				seen++
				if p.nodes[agents[d.Agent]] != l.node {
					cross++
				}
				continue
			}
			switch rng.IntN(4) {
			case 0, 1:
				l.node.Service.OfferResult(session.OfferResult{UUID: u, Agent: l.agent, Outcome: session.Answered})
				l.talking = true
			case 2:
				l.node.Service.OfferResult(session.OfferResult{UUID: u, Agent: l.agent, Outcome: session.NoAnswer})
				free(l)
			case 3:
				l.node.Service.OfferResult(session.OfferResult{UUID: u, Agent: l.agent, Outcome: session.Canceled})
				gone(u, l)
			}
		case r < 80:
			e := exts[rng.IntN(len(exts))]
			n := p.nodes[agents[e]]
			if seat[e] {
				cmd(t, n, "nway_ready", e)
			} else {
				cmd(t, n, "nway_busy", e)
			}
			seat[e] = !seat[e]
		default:
			time.Sleep(time.Millisecond) // let the pool's answers arrive
		}
	}
	for u, l := range calls {
		if l.talking {
			l.node.Service.BridgeEnded(u)
		} else if l.agent != "" {
			l.node.Service.OfferResult(session.OfferResult{UUID: u, Agent: l.agent, Outcome: session.Canceled})
		}
		gone(u, l)
	}
	t.Logf("%d operations, %d calls, %d offers seen, %d of them across nodes", ops, len(all), seen, cross)
	if cross == 0 {
		t.Fatal("no offer was made across nodes")
	}
	for _, u := range all {
		u := u
		waitFor(t, "one CDR for "+u, func() bool { return p.cdrs(u) == 1 })
	}
	ctx := context.Background()
	waitFor(t, "the pool empty", func() bool {
		w, _ := p.view.Waiting(ctx, "120")
		return len(w) == 0
	})
	for _, e := range exts {
		waitFor(t, e+" not on a call in the pool", func() bool {
			v, _ := p.view.AgentView(ctx, e)
			return v.Call == "" && v.State != "offered" && v.State != "talking"
		})
	}
	if probs, err := p.view.Audit(ctx, []string{"120"}); err != nil || len(probs) > 0 {
		t.Fatalf("audit: %v %v", probs, err)
	}
	time.Sleep(100 * time.Millisecond)
	for _, u := range all {
		if k := p.cdrs(u); k != 1 {
			t.Fatalf("%d CDRs for %s", k, u)
		}
	}
}

// Redis loses the pool's data (a restart without persistence): every node
// is fenced, rejoins and puts back what it holds — the call waiting on b,
// the call talking on c, the agents registered on a and c — and routing
// resumes by itself.
func TestClusterPoolRebuiltAfterDataLoss(t *testing.T) {
	p := startPool3(t)
	p.setup("0", map[string]int{"1001": 0, "1002": 2})
	a, b, c := p.nodes[0], p.nodes[1], p.nodes[2]
	ctx := context.Background()
	cmd(t, a, "nway_busy", "1001")
	waitFor(t, "1001 away", func() bool {
		v, _ := p.view.AgentView(ctx, "1001")
		return v.State == "away"
	})
	talking := "55555555-0000-4000-8000-000000000001"
	waiting := "55555555-0000-4000-8000-000000000002"
	enter(t, c, talking, "13800000031")
	if got := offered(t, c, talking); got != "1002" {
		t.Fatalf("offered to %q", got)
	}
	c.Service.OfferResult(session.OfferResult{UUID: talking, Agent: "1002", Outcome: session.Answered})
	enter(t, b, waiting, "13800000032")
	waitFor(t, "b's call queued", func() bool {
		w, _ := p.view.Waiting(ctx, "120")
		return len(w) == 1
	})
	keys, err := p.rdb.Keys(ctx, p.prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	p.rdb.Del(ctx, keys...)
	waitFor(t, "the pool rebuilt from the nodes", func() bool {
		w, _ := p.view.Waiting(ctx, "120")
		v1, _ := p.view.AgentView(ctx, "1001")
		v2, _ := p.view.AgentView(ctx, "1002")
		return len(w) == 1 && w[0].UUID == waiting && w[0].Node == "b" && v1.State == "away" && v1.Node == "a" &&
			v2.State == "talking" && v2.Call == talking
	})
	cmd(t, a, "nway_ready", "1001")
	if got := offered(t, b, waiting); got != "1001" {
		t.Fatalf("offered to %q", got)
	}
	c.Service.BridgeEnded(talking)
	c.Service.Leave(talking)
	waitFor(t, "1002 idle", func() bool {
		v, _ := p.view.AgentView(ctx, "1002")
		return v.State == "idle"
	})
}

// A call through three nodes sharing one pool, end to end through the
// services: it enters node i%3, the pool reserves an agent registered on
// any node (Enqueue), the session rings it, it answers (Result), the call
// ends (Finish). Reported: calls/s one at a time, and the latency from the
// call's entry to its offer being ready for the session (p50, p99).
func BenchmarkClusterWiredCall(b *testing.B) {
	p := startPool3(b)
	agents := map[string]int{}
	for i := 0; i < 6; i++ {
		agents[fmt.Sprintf("10%02d", i+1)] = i % 3
	}
	p.setup("0", agents)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := p.nodes[i%3]
		u := fmt.Sprintf("66666666-0000-4000-8000-%012d", i)
		start := time.Now()
		d := n.Service.Enter(session.Call{Kind: session.Queue, UUID: u, Group: "120", CallerNumber: "13800000000", DestNumber: "120"})
		for d.Action != session.Offer {
			if time.Since(start) > 10*time.Second {
				b.Fatalf("no offer for %s: %+v", u, d)
			}
			time.Sleep(20 * time.Microsecond)
			d = n.Service.Next(u)
		}
		lat = append(lat, time.Since(start))
		n.Service.OfferResult(session.OfferResult{UUID: u, Agent: d.Agent, Outcome: session.Answered})
		n.Service.BridgeEnded(u)
		n.Service.Leave(u)
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "µs-p50-offer")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "µs-p99-offer")
}

// A direct call (nway_bridge) to an agent is not reserved through the pool:
// its node marks it away in the pool meanwhile, so that no other node's
// call is offered to it, and ready again after.
func TestClusterDirectCallKeepsAgentFromThePool(t *testing.T) {
	p := startPool3(t)
	p.setup("0", map[string]int{"1001": 0})
	a, b := p.nodes[0], p.nodes[1]
	ctx := context.Background()
	const direct = "77777777-0000-4000-8000-000000000001"
	d := a.Service.Enter(session.Call{Kind: session.Direct, UUID: direct, Target: "1001", CallerNumber: "13800000041"})
	for i := 0; d.Action != session.Offer && i < 10; i++ {
		d = a.Service.Next(direct)
	}
	if d.Action != session.Offer || d.Agent != "1001" {
		t.Fatalf("direct call: %+v", d)
	}
	waitFor(t, "1001 away in the pool", func() bool {
		v, _ := p.view.AgentView(ctx, "1001")
		return v.State == "away"
	})
	const queued = "77777777-0000-4000-8000-000000000002"
	enter(t, b, queued, "13800000042")
	time.Sleep(300 * time.Millisecond)
	if d := b.Service.Next(queued); d.Action == session.Offer {
		t.Fatalf("1001 offered b's call while it rings for a direct call: %+v", d)
	}
	a.Service.OfferResult(session.OfferResult{UUID: direct, Agent: "1001", Outcome: session.Answered})
	a.Service.BridgeEnded(direct)
	a.Service.Leave(direct)
	if got := offered(t, b, queued); got != "1001" {
		t.Fatalf("offered to %q", got)
	}
}

// Memory mode across nodes: the caller's second call, entering another
// node, goes to the agent who answered the first (the sequential order
// would pick the other one).
func TestClusterMemoryAcrossNodes(t *testing.T) {
	p := startPool3(t)
	p.setup("3", map[string]int{"1001": 0, "1002": 1})
	b, c := p.nodes[1], p.nodes[2]
	first := "88888888-0000-4000-8000-000000000001"
	enter(t, c, first, "13900000001")
	x := offered(t, c, first)
	c.Service.OfferResult(session.OfferResult{UUID: first, Agent: x, Outcome: session.NoAnswer})
	y := offered(t, c, first)
	if y == x {
		t.Fatalf("offered to %s again after its no-answer while another agent was idle", x)
	}
	c.Service.OfferResult(session.OfferResult{UUID: first, Agent: y, Outcome: session.Answered})
	c.Service.BridgeEnded(first)
	c.Service.Leave(first)
	waitFor(t, y+" idle again", func() bool {
		v, _ := p.view.AgentView(context.Background(), y)
		return v.State == "idle"
	})
	// Another caller: the sequential order (x first).
	other := "88888888-0000-4000-8000-000000000002"
	enter(t, b, other, "13900000002")
	if got := offered(t, b, other); got != x {
		t.Fatalf("another caller offered to %q, want %s (sequential)", got, x)
	}
	b.Service.OfferResult(session.OfferResult{UUID: other, Agent: x, Outcome: session.Answered})
	// The same caller again, on b: the remembered agent.
	again := "88888888-0000-4000-8000-000000000003"
	enter(t, b, again, "13900000001")
	if got := offered(t, b, again); got != y {
		t.Fatalf("the caller's second call offered to %q, want %s (memory)", got, y)
	}
}

// Call control forwarded to the node holding the call answers that node's
// outcome: OK once its switch did it, its switch's refusal, and a timeout
// when the holder does not answer.
func TestClusterForwardedControlReportsTheHoldersOutcome(t *testing.T) {
	p := startPool3(t)
	p.setup("0", map[string]int{"1001": 0})
	a, b := p.nodes[0], p.nodes[1]
	const u = "11111111-0000-4000-8000-000000000031"
	enter(t, b, u, "13800000031")
	if got := offered(t, b, u); got != "1001" {
		t.Fatalf("offered to %q, want 1001", got)
	}
	b.Service.OfferResult(session.OfferResult{UUID: u, Agent: "1001", Outcome: session.Answered})
	leg := ""
	waitFor(t, "1001's leg on b", func() bool {
		x, err := b.Service.Extension("1001")
		leg = x.CallLeg
		return err == nil && leg != ""
	})
	waitFor(t, "a sees 1001's call on b", func() bool {
		v, _ := p.view.AgentView(context.Background(), "1001")
		return v.State == "talking" && v.Call == u
	})
	// a's and c's views of the pool follow at their next tick (until then
	// the call is not theirs: no call). OK means it ran on b's switch
	// already.
	forwarded := func(what, line string, run func() error) {
		t.Helper()
		ran := false
		waitFor(t, what+" forwarded to b", func() bool {
			err := run()
			if err == nil {
				ran = p.sw["b"].has(line)
				return true
			}
			if c := acd.CodeOf(err); c != acd.ErrNoCall && c != acd.ErrUnknownCall {
				t.Fatalf("%s: %v", what, err)
			}
			return false
		})
		if !ran {
			t.Fatalf("%s answered OK before it ran on b", what)
		}
	}
	forwarded("a's hold", "uuid_hold "+leg, func() error { return a.Service.Hold("1001") })
	forwarded("c's unhold by uuid", "uuid_hold off "+u, func() error { return p.nodes[2].Service.UnholdUUID(u) })
	if p.sw["a"].has("uuid_hold "+leg) || p.sw["c"].has("uuid_hold off "+u) {
		t.Fatal("call control ran on a node that does not hold the call")
	}
	// b's switch refuses: a says so (REST 502, console -ERR).
	p.sw["b"].refuse("uuid_kill")
	err := a.Service.Hangup("1001")
	if !errors.Is(err, hostexec.ErrRefused) || !strings.Contains(err.Error(), "No such channel") {
		t.Fatalf("hangup b's switch refused answered %v", err)
	}
	if !p.sw["b"].has("uuid_kill " + leg + " NORMAL_CLEARING") {
		t.Fatal("the refused hangup never reached b's switch")
	}
	auth := restLogin(t, a)
	if code, body := get(t, "http://"+a.Addr()+"/api/hangup/1001", auth); code != 502 {
		t.Fatalf("REST hangup b's switch refused: %d %s", code, body)
	}
	p.sw["b"].refuse("uuid_hold")
	if out := p.nodes[2].Command("nway_uuid_hold", u); !strings.HasPrefix(out, "-ERR") || !strings.Contains(out, "Usage:") {
		t.Fatalf("console hold b's switch refused: %q", out)
	}
	// b's service stops (its node still in the pool, the call still on b):
	// nobody answers, a says it timed out (REST 504).
	b.Service.Stop()
	err = a.Service.Unhold("1001")
	if !errors.Is(err, hostexec.ErrTimeout) {
		t.Fatalf("unhold with b's service stopped answered %v", err)
	}
	if code, body := get(t, "http://"+a.Addr()+"/api/hold/1001", auth); code != 504 {
		t.Fatalf("REST hold with b's service stopped: %d %s", code, body)
	}
}

// anyCall picks one of calls at random ("" and nil when there is none).
func anyCall[V any](rng *rand.Rand, calls map[string]*V) (string, *V) {
	if len(calls) == 0 {
		return "", nil
	}
	k := rng.IntN(len(calls))
	for u, l := range calls {
		if k == 0 {
			return u, l
		}
		k--
	}
	return "", nil
}

// Skills across nodes: a call asking a skill waits while only an agent
// without it is idle (on another node), goes to the skilled agent when it
// frees up, and, once its requirement relaxes, to the agent it now
// qualifies for, at the relax step, through the pool.
func TestClusterSkillsAcrossNodes(t *testing.T) {
	p := startPool3(t)
	p.setup("0", map[string]int{"1001": 0, "1002": 1})
	a, b, c := p.nodes[0], p.nodes[1], p.nodes[2]
	ctx := context.Background()
	cmd(t, a, "nway_set_skill", "1001 uy 1")
	cmd(t, a, "nway_set_skill", "1002 uy 5")
	cmd(t, a, "nway_set_group", "120 relax_every 1")
	p.onEvery("skills and the relax step on every node", func(n *Node) bool {
		x, err := n.Service.Extension("1002")
		g, gerr := n.Service.Group("120")
		return err == nil && gerr == nil && len(x.Skills) == 1 && x.Skills[0].Level == 5 && g.Options.RelaxEvery == time.Second
	})
	cmd(t, b, "nway_busy", "1002")
	waitFor(t, "1002 away", func() bool {
		v, _ := p.view.AgentView(ctx, "1002")
		return v.State == "away"
	})
	// 1001 is idle, but has uy at 1: the call asking uy:5 waits.
	skilled := "99999999-0000-4000-8000-000000000001"
	if d := c.Service.Enter(session.Call{Kind: session.Queue, UUID: skilled, Group: "120", CallerNumber: "13900000011",
		DestNumber: "120", Skills: "uy:5"}); d.Action == session.Offer {
		t.Fatalf("offered to %s, who lacks the skill", d.Agent)
	}
	waitFor(t, "the skilled call in the shared queue", func() bool {
		w, _ := p.view.Waiting(ctx, "120")
		return len(w) == 1
	})
	time.Sleep(300 * time.Millisecond)
	if d := c.Service.Next(skilled); d.Action == session.Offer {
		t.Fatalf("offered to %s, who lacks the skill", d.Agent)
	}
	// A call anyone may take goes to 1001 meanwhile.
	plain := "99999999-0000-4000-8000-000000000002"
	enter(t, b, plain, "13900000012")
	if got := offered(t, b, plain); got != "1001" {
		t.Fatalf("plain call offered to %q", got)
	}
	b.Service.OfferResult(session.OfferResult{UUID: plain, Agent: "1001", Outcome: session.Answered})
	// 1002 ready: it takes the skilled call.
	cmd(t, b, "nway_ready", "1002")
	if got := offered(t, c, skilled); got != "1002" {
		t.Fatalf("skilled call offered to %q", got)
	}
	c.Service.OfferResult(session.OfferResult{UUID: skilled, Agent: "1002", Outcome: session.Answered})

	// Relaxing: uy:3 waits for 1002 (talking); 1001 frees up at once but
	// has uy:1; two relax steps (2 s) later the call asks uy:1, and the
	// pool gives it to 1001.
	b.Service.BridgeEnded(plain)
	b.Service.Leave(plain)
	waitFor(t, "1001 idle again", func() bool {
		v, _ := p.view.AgentView(ctx, "1001")
		return v.State == "idle"
	})
	relaxed := "99999999-0000-4000-8000-000000000003"
	in := time.Now()
	if d := c.Service.Enter(session.Call{Kind: session.Queue, UUID: relaxed, Group: "120", CallerNumber: "13900000013",
		DestNumber: "120", Skills: "uy:3"}); d.Action == session.Offer {
		t.Fatalf("offered to %s before its requirement relaxed", d.Agent)
	}
	if got := offered(t, c, relaxed); got != "1001" {
		t.Fatalf("relaxed call offered to %q", got)
	}
	if w := time.Since(in); w < 1900*time.Millisecond {
		t.Fatalf("offered to 1001 after %v, before the requirement relaxed to its level", w)
	}
	if pr, err := p.view.Audit(ctx, []string{"120"}); err != nil || len(pr) > 0 {
		t.Fatalf("pool audit: %v %v", pr, err)
	}
}

// Overflow after entry across nodes: a call waiting in 120 moves to 121
// after overflow_after, in the pool too, and an agent of 121 on another
// node takes it there.
func TestClusterOverflowAcrossNodes(t *testing.T) {
	p := startPool3(t)
	p.setup("0", map[string]int{"1001": 0})
	a, b, c := p.nodes[0], p.nodes[1], p.nodes[2]
	ctx := context.Background()
	cmd(t, a, "nway_add_group", "121 0")
	cmd(t, a, "nway_add_ext", "1003 J1003")
	cmd(t, a, "nway_set_group", "120 overflow 121")
	cmd(t, a, "nway_set_group", "120 overflow_after 1")
	p.onEvery("group 121, 1003 and the overflow on every node", func(n *Node) bool {
		g, err := n.Service.Group("120")
		_, err2 := n.Service.Group("121")
		_, err3 := n.Service.Extension("1003")
		return err == nil && err2 == nil && err3 == nil && g.Options.OverflowAfter == time.Second
	})
	must(t, b.Service.SetRegistered("1003", true))
	cmd(t, b, "nway_login", "1003 121")
	waitFor(t, "1003 idle in the pool", func() bool {
		v, err := p.view.AgentView(ctx, "1003")
		return err == nil && v.State == "idle"
	})
	cmd(t, a, "nway_busy", "1001")
	waitFor(t, "1001 away", func() bool {
		v, _ := p.view.AgentView(ctx, "1001")
		return v.State == "away"
	})
	u := "aaaaaaaa-0000-4000-8000-000000000001"
	in := time.Now()
	enter(t, c, u, "13900000021")
	waitFor(t, "the call waiting in 120", func() bool {
		w, _ := p.view.Waiting(ctx, "120")
		return len(w) == 1
	})
	if got := offered(t, c, u); got != "1003" {
		t.Fatalf("overflowed call offered to %q", got)
	}
	if w := time.Since(in); w < 900*time.Millisecond {
		t.Fatalf("offered after %v, before it overflowed", w)
	}
	if w, _ := p.view.Waiting(ctx, "120"); len(w) != 0 {
		t.Fatalf("still in 120's shared queue: %+v", w)
	}
	if pr, err := p.view.Audit(ctx, []string{"120", "121"}); err != nil || len(pr) > 0 {
		t.Fatalf("pool audit: %v %v", pr, err)
	}
}

// Callbacks in cluster mode: the caller asks for a callback and hangs up;
// the pool holds the call while its caller is on the line, then an agent
// freed on another node is reserved for it; the holding node calls the
// caller back, whose new leg is offered that agent.
func TestClusterCallbackAcrossNodes(t *testing.T) {
	p := startPool3(t)
	p.setup("0", map[string]int{"1001": 0})
	a, c := p.nodes[0], p.nodes[2]
	ctx := context.Background()
	p.callbackGroup(a)
	u := "bbbbbbbb-0000-4000-8000-000000000001"
	poolCallback(t, c, u, "13900000031")
	var d session.Directive
	// Held in the pool while the caller is still on the line.
	waitFor(t, "the call held in the pool", func() bool {
		v, _ := p.rdb.HGet(ctx, p.prefix+"strict", u).Result()
		return v == ","
	})
	cmd(t, a, "nway_ready", "1001")
	waitFor(t, "1001 idle", func() bool {
		v, _ := p.view.AgentView(ctx, "1001")
		return v.State == "idle"
	})
	if p.sw["c"].hasPart("origination_uuid=" + u) {
		t.Fatal("called back while the caller was still on the line")
	}
	// The first attempt is not answered: the agent is free again at once
	// and the call held in the pool until its retry time (1 s).
	p.sw["c"].refuse("originate")
	c.Service.Leave(u) // the caller hangs up: the callback is due
	waitFor(t, "the callback placed by the holding node", func() bool { return p.sw["c"].count("origination_uuid="+u) == 1 })
	if !p.sw["c"].hasPart("sofia/gateway/gw1/13900000031") {
		t.Fatalf("callback not dialled to the caller through gw1: %v", p.sw["c"].cmds)
	}
	waitFor(t, "1001 idle and the call held after the unanswered attempt", func() bool {
		v, _ := p.view.AgentView(ctx, "1001")
		h, _ := p.rdb.HGet(ctx, p.prefix+"strict", u).Result()
		return v.State == "idle" && h == ","
	})
	p.sw["c"].allow("originate")
	waitFor(t, "the second attempt after the retry delay", func() bool { return p.sw["c"].count("origination_uuid="+u) == 2 })
	// The caller answers: the callback leg enters as the call and is
	// offered the reserved agent.
	d = c.Service.Enter(session.Call{Kind: session.Queue, UUID: u, Group: "120", CallerNumber: "120", DestNumber: "120"})
	for i := 0; d.Action != session.Offer && i < 50; i++ {
		time.Sleep(10 * time.Millisecond)
		d = c.Service.Next(u)
	}
	if d.Action != session.Offer || d.Agent != "1001" {
		t.Fatalf("callback leg: %+v", d)
	}
	c.Service.OfferResult(session.OfferResult{UUID: u, Agent: "1001", Outcome: session.Answered})
	waitFor(t, "1001 talking in the pool", func() bool {
		v, _ := p.view.AgentView(ctx, "1001")
		return v.State == "talking"
	})
	if n, _ := p.rdb.HLen(ctx, p.prefix+"strict").Result(); n != 0 {
		t.Fatalf("the call still held in the pool: %d", n)
	}
}

// A callback waiting without a session survives its node's restart: the
// node restores it from the shared database (its own rows only) and hands
// it to the pool, which reserves an agent of another node for it.
func TestClusterCallbackRestoredAtStart(t *testing.T) {
	p := startPool3(t)
	p.setup("0", map[string]int{"1001": 0})
	a, c := p.nodes[0], p.nodes[2]
	ctx := context.Background()
	p.callbackGroup(a)
	u := "bbbbbbbb-0000-4000-8000-000000000002"
	poolCallback(t, c, u, "13900000032")
	c.Service.Leave(u)
	waitFor(t, "the callback journaled", func() bool { return p.callbacks(u) == 1 })
	p.stop["c"]()
	c = p.start("c")
	p.nodes[2] = c
	waitFor(t, "the restored callback in the pool", func() bool {
		w, _ := p.view.Waiting(ctx, "120")
		return len(w) == 1 && w[0].UUID == u && w[0].Node == "c"
	})
	cmd(t, a, "nway_ready", "1001")
	waitFor(t, "the callback placed by the restarted node", func() bool { return p.sw["c"].hasPart("origination_uuid=" + u) })
	for _, id := range []string{"a", "b"} {
		if p.sw[id].hasPart("origination_uuid=" + u) {
			t.Fatalf("node %s placed another node's callback", id)
		}
	}
}
