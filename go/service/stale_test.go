package service

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/cluster"
	"github.com/nwayacd/mod_nwayacd/go/internal/testsvc"
	"github.com/nwayacd/mod_nwayacd/go/session"
	"github.com/redis/go-redis/v9"
)

// staleAnswer is the pool as a node stalled past its lease finds it: by the
// time the answer's Result arrives, the grant has been taken back (the
// agent went off in the pool). Its inbox stays empty, so the revoke that
// release sends is not acted on: only the Result's staleness is.
type staleAnswer struct{ *cluster.Member }

func (p staleAnswer) Result(ctx context.Context, o cluster.Offer, out cluster.Outcome, limit int, mem, rest time.Duration, inbox bool) (cluster.Result, error) {
	if _, err := p.Member.Agent(ctx, o.Agent, cluster.Off, nil, ""); err != nil {
		return cluster.Result{}, err
	}
	return p.Member.Result(ctx, o, out, limit, mem, rest, inbox)
}

func (p staleAnswer) Next(ctx context.Context, wait time.Duration) (cluster.Msg, bool, error) {
	select {
	case <-ctx.Done():
	case <-time.After(wait):
	}
	return cluster.Msg{}, false, nil
}

// A call answered under a grant the pool had taken back goes on; the node
// puts it back in the pool as its truth, so the pool counts the agent busy
// on it again instead of free for another node's call.
func TestClusterStaleAnswerPutBack(t *testing.T) {
	_, _, m := poolMember(t)
	s := poolService(t, &clock{t: t0}, acd.Config{WrapUp: -1}, staleAnswer{m})
	ctx := context.Background()
	poll := func(what string, ok func() bool) { t.Helper(); pollFor(t, what, ok) }
	poll("1011 idle in the pool", func() bool { v, _ := m.AgentView(ctx, "1011"); return v.State == "idle" })
	if d := s.Enter(session.Call{Kind: session.Queue, UUID: "c1", Group: "120", CallerNumber: "138"}); d.Action != session.Wait {
		t.Fatalf("enter %+v", d)
	}
	var d session.Directive
	poll("the pool's grant offered", func() bool { d = s.Next("c1"); return d.Action == session.Offer })
	s.OfferResult(session.OfferResult{UUID: "c1", Agent: "1011", AgentUUID: "leg1", Outcome: session.Answered})
	poll("1011 talking on c1 in the pool", func() bool {
		v, _ := m.AgentView(ctx, "1011")
		return v.State == "talking" && v.Call == "c1"
	})
	if p, err := m.Audit(ctx, []string{"120"}); err != nil || len(p) > 0 {
		t.Fatalf("audit %v %v", p, err)
	}
}

// On a saturated switch a failed offer is not held against the agent in a
// shared pool either: the pool is told Rested (not counted, the agent out
// of matching), the call is not offered to it again during the rest, and
// it takes the call once the rest is over. On an idle switch the same
// failure counts (no-answer limit 1: no_ready).
func TestClusterSaturatedOfferRests(t *testing.T) {
	rdb, prefix, m := poolMember(t)
	clk := &clock{t: t0}
	s := poolService(t, clk, acd.Config{WrapUp: -1, NoAnswerLimit: 1, NoAnswerIdleCPU: 10}, m)
	ctx := context.Background()
	poll := func(what string, ok func() bool) { t.Helper(); pollFor(t, what, ok) }
	pool := func() cluster.AgentView { v, _ := m.AgentView(ctx, "1011"); return v }
	poll("1011 idle in the pool", func() bool { return pool().State == "idle" })
	if d := s.Enter(session.Call{Kind: session.Queue, UUID: "c1", Group: "120", CallerNumber: "138", CPUBusy: 95}); d.Action != session.Wait {
		t.Fatalf("enter %+v", d)
	}
	var d session.Directive
	poll("the pool's grant offered", func() bool { d = s.Next("c1"); return d.Action == session.Offer })
	s.OfferResult(session.OfferResult{UUID: "c1", Agent: "1011", Outcome: session.NoAnswer, Cause: "NORMAL_TEMPORARY_FAILURE", CPUBusy: 97})
	if x, _ := s.Extension("1011"); x.CallState != acd.CallNoAnswer {
		t.Fatalf("1011 is %s after a failure on a saturated switch, want no_answer (resting)", x.CallState)
	}
	poll("1011 out of matching in the pool", func() bool { st := pool().State; return st == "wrap" || st == "away" })
	if n, _ := rdb.HGet(ctx, prefix+"agent:1011", "noans").Int(); n != 0 {
		t.Fatalf("the pool counted the excused failure: noans %d", n)
	}
	time.Sleep(100 * time.Millisecond) // room for a wrong re-offer to arrive
	if d = s.Next("c1"); d.Action != session.Wait {
		t.Fatalf("offered again during the rest: %+v", d)
	}
	clk.add(acd.OverloadRest)
	s.Tick()
	poll("c1 offered to 1011 after its rest", func() bool { d = s.Next("c1"); return d.Action == session.Offer && d.Agent == "1011" })

	// The switch idle again: the same failure counts, and limit 1 takes
	// 1011 out of the pool.
	s.OfferResult(session.OfferResult{UUID: "c1", Agent: "1011", Outcome: session.NoAnswer, Cause: "NO_ANSWER", CPUBusy: 30})
	if x, _ := s.Extension("1011"); x.CallState != acd.CallNoReady {
		t.Fatalf("1011 is %s after a counted failure with limit 1, want no_ready", x.CallState)
	}
	poll("1011 away in the pool", func() bool { return pool().State == "away" })
	s.Leave("c1")
}

// poolMember joins a pool of the test's own (a key prefix removed
// afterwards, which it returns) on the shared Redis as node "a".
func poolMember(t *testing.T) (redis.UniversalClient, string, *cluster.Member) {
	t.Helper()
	const addr = "127.0.0.1:6379"
	testsvc.Need(t, "redis", addr)
	rdb, err := cluster.NewClient(cluster.RedisConfig{Addrs: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	prefix := fmt.Sprintf("nwayacd:test:svc:%x:", rand.Uint64())
	t.Cleanup(func() {
		ctx := context.Background()
		if keys, _ := rdb.Keys(ctx, prefix+"*").Result(); len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
		rdb.Close()
	})
	m, err := cluster.Join(context.Background(), rdb, cluster.Options{Node: "a", Addr: "a:8085", Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	return rdb, prefix, m
}

// poolService is a started service in pool mode with group 120 and agent
// 1011 logged in to it, registered here.
func poolService(t *testing.T, clk *clock, core acd.Config, p Pool) *Service {
	t.Helper()
	s := New(Options{Clock: clk, Switch: &host{}, Publisher: &pub{}, ManualTimers: true, SyncHost: true,
		Location: time.UTC, Core: core})
	must(t, s.AddGroup("120", acd.ModeSequential))
	must(t, s.AddExtension("1011", "J1011"))
	must(t, s.SetRegistered("1011", true))
	must(t, s.Login("1011", []string{"120"}))
	s.UsePool(p, "a")
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// pollFor waits (5 s at most) until ok.
func pollFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %s", what)
		}
	}
}
