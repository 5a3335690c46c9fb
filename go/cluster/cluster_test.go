package cluster

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestClusterOneReservationPerAgent(t *testing.T) {
	rdb, p := testPool(t)
	ms := []*Member{join(t, rdb, p, "a", Options{}), join(t, rdb, p, "b", Options{}), join(t, rdb, p, "c", Options{})}
	if r := mustReady(t, ms[0], "1001", "g"); r.State != "idle" {
		t.Fatalf("ready: %+v", r)
	}
	var mu sync.Mutex
	var offers []Offer
	var wg sync.WaitGroup
	for i := 0; i < 60; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			o, ok := mustEnqueue(t, ms[i%3], Call{UUID: "call-" + string(rune('A'+i%26)) + string(rune('a'+i/26)), Groups: []string{"g"}, Candidates: []string{"1001"}})
			if ok {
				mu.Lock()
				offers = append(offers, o)
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	if len(offers) != 1 {
		t.Fatalf("agent reserved %d times: %+v", len(offers), offers)
	}
	if offers[0].AgentNode != "a" || offers[0].Token <= 0 {
		t.Fatalf("offer %+v", offers[0])
	}
	ws, _ := ms[1].Waiting(context.Background(), "g")
	if len(ws) != 59 {
		t.Fatalf("%d waiting, want 59", len(ws))
	}
	audit(t, ms[0], "g")
}

func TestClusterFreedAgentTakesBestCallAnywhere(t *testing.T) {
	rdb, p := testPool(t)
	a, b, c := join(t, rdb, p, "a", Options{}), join(t, rdb, p, "b", Options{}), join(t, rdb, p, "c", Options{})
	t0 := time.Now().Add(-time.Minute)
	mustEnqueue(t, b, Call{UUID: "old", Groups: []string{"g"}, Arrival: t0})
	mustEnqueue(t, c, Call{UUID: "older", Groups: []string{"h"}, Arrival: t0.Add(-time.Second)})
	mustEnqueue(t, b, Call{UUID: "vip", Groups: []string{"g"}, Arrival: t0.Add(time.Second), VIP: true})
	mustEnqueue(t, c, Call{UUID: "other", Groups: []string{"x"}, Arrival: t0.Add(-time.Hour)}) // not the agent's group
	ws, _ := a.Waiting(context.Background(), "g")
	if len(ws) != 2 || ws[0].UUID != "vip" || !ws[0].VIP || ws[0].Node != "b" {
		t.Fatalf("queue g: %+v", ws)
	}

	r := mustReady(t, a, "1001", "g", "h")
	if r.State != "offered" || r.Offer == nil || r.Offer.Call != "vip" {
		t.Fatalf("ready: %+v", r)
	}
	msg := next(t, b) // the node holding the caller makes the offer
	if msg.Kind != "offer" || msg.Offer.Call != "vip" || msg.Offer.Agent != "1001" || msg.Offer.Token != r.Offer.Token {
		t.Fatalf("b got %+v, want the VIP offer", msg)
	}
	noMsg(t, a)
	noMsg(t, c)
	res, err := b.Result(context.Background(), msg.Offer, Answered, 3, 0, 0, true)
	if err != nil || !res.Talking {
		t.Fatalf("result: %+v %v", res, err)
	}
	if pend, _ := b.Pending(context.Background()); len(pend) != 0 {
		t.Fatalf("acknowledged message still pending: %+v", pend)
	}
	// Its call over, the agent takes the oldest of its two groups, on c.
	if err := b.Finish(context.Background(), "vip", 0); err != nil {
		t.Fatal(err)
	}
	msg = next(t, c)
	if msg.Offer.Call != "older" || msg.Offer.Agent != "1001" {
		t.Fatalf("c got %+v, want the oldest call", msg)
	}
	audit(t, a, "g", "h", "x")
	// A second finish is a no-op.
	if err := b.Finish(context.Background(), "vip", 0); err != nil {
		t.Fatal(err)
	}
	if st := state(t, a, "1001"); st != "offered" {
		t.Fatalf("agent %s after a repeated finish", st)
	}
}

func TestClusterCandidatesMemoryAndCursor(t *testing.T) {
	rdb, p := testPool(t)
	a := join(t, rdb, p, "a", Options{})
	for _, e := range []string{"1001", "1002", "1003"} {
		mustReady(t, a, e, "g")
	}
	ctx := context.Background()
	// The core's order wins over longest idle.
	o, ok := mustEnqueue(t, a, Call{UUID: "c1", Caller: "555", Groups: []string{"g"}, Candidates: []string{"1003", "1001"}})
	if !ok || o.Agent != "1003" {
		t.Fatalf("offer %+v", o)
	}
	if _, err := a.Result(ctx, o, Answered, 3, time.Minute, 0, false); err != nil {
		t.Fatal(err)
	}
	if err := a.Finish(ctx, "c1", 0); err != nil {
		t.Fatal(err)
	}
	// Memory first: the caller gets 1003 again though the core named 1001.
	o, _ = mustEnqueue(t, a, Call{UUID: "c2", Caller: "555", Groups: []string{"g"}, MemoryFirst: true, Candidates: []string{"1001"}})
	if o.Agent != "1003" {
		t.Fatalf("memory: offered %s", o.Agent)
	}
	a.Finish(ctx, "c2", 0) // the caller hung up while it rang
	// Cyclic: the cursor moves on past the last one chosen, cluster-wide.
	var got []string
	for i, u := range []string{"r1", "r2", "r3"} {
		o, ok := mustEnqueue(t, a, Call{UUID: u, Groups: []string{"g"}, Rotate: "g", Candidates: []string{"1001", "1002", "1003"}})
		if !ok {
			t.Fatalf("call %d queued", i)
		}
		got = append(got, o.Agent)
	}
	if got[0] != "1001" || got[1] != "1002" || got[2] != "1003" {
		t.Fatalf("cyclic order %v", got)
	}
	if cur, _ := rdb.Get(ctx, p+"cur:g").Result(); cur != "1003" {
		t.Fatalf("cursor %q", cur)
	}
	// Candidates outside the call's groups are never reserved.
	mustReady(t, a, "2001", "other")
	if _, ok := mustEnqueue(t, a, Call{UUID: "r4", Groups: []string{"g"}, Candidates: []string{"2001"}}); ok {
		t.Fatal("reserved an agent of another group")
	}
	audit(t, a, "g", "other")
}

func TestClusterNoAnswerRequeuesAndCounts(t *testing.T) {
	rdb, p := testPool(t)
	a, b := join(t, rdb, p, "a", Options{}), join(t, rdb, p, "b", Options{})
	ctx := context.Background()
	mustReady(t, a, "1001", "g")
	o, ok := mustEnqueue(t, b, Call{UUID: "c1", Groups: []string{"g"}})
	if !ok {
		t.Fatal("not offered")
	}
	mustReady(t, a, "1002", "g") // idle while c1 rings 1001
	res, err := b.Result(ctx, o, NoAnswer, 2, 0, 0, false)
	if err != nil || res.NoAnswers != 1 || res.AgentState != "idle" {
		t.Fatalf("%+v %v", res, err)
	}
	// The call went to the other idle agent first, 1001 is idle.
	msg := next(t, b)
	if msg.Offer.Agent != "1002" || msg.Offer.Call != "c1" {
		t.Fatalf("requeued call went to %+v", msg)
	}
	if st := state(t, a, "1001"); st != "idle" {
		t.Fatalf("1001 %s", st)
	}
	// A stale token (the first offer) is refused.
	if res, _ := b.Result(ctx, o, Answered, 2, 0, 0, false); !res.Stale {
		t.Fatalf("stale result accepted: %+v", res)
	}
	res, _ = b.Result(ctx, msg.Offer, NoAnswer, 2, 0, 0, true)
	if res.AgentState != "idle" {
		t.Fatalf("%+v", res)
	}
	msg = next(t, b) // back to 1001
	res, _ = b.Result(ctx, msg.Offer, NoAnswer, 2, 0, 0, true)
	if msg.Offer.Agent != "1001" || res.NoAnswers != 2 || res.AgentState != "away" {
		t.Fatalf("%+v %+v", msg, res)
	}
	msg = next(t, b)
	if msg.Offer.Agent != "1002" {
		t.Fatalf("%+v", msg)
	}
	audit(t, a, "g")
}

// An offer that failed on a saturated switch (Rested) is not the agent's
// fault: its no-answers stay as they were, the call goes to another idle
// agent, and the agent sits out the rest in wrap (so a failure that comes
// back at once cannot loop) until a heartbeat frees it and matches it.
func TestClusterRestedAgentSitsOutWithoutCounting(t *testing.T) {
	rdb, p := testPool(t)
	a, b := join(t, rdb, p, "a", Options{}), join(t, rdb, p, "b", Options{})
	ctx := context.Background()
	mustReady(t, a, "1001", "g")
	o, ok := mustEnqueue(t, b, Call{UUID: "c1", Groups: []string{"g"}})
	if !ok || o.Agent != "1001" {
		t.Fatalf("not offered to 1001: %+v %v", o, ok)
	}
	res, err := b.Result(ctx, o, NoAnswer, 3, 0, 0, false) // one real no-answer first
	if err != nil || res.NoAnswers != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	msg := next(t, b) // 1001 idle again, and the only one: c1 back to it
	if msg.Offer.Agent != "1001" {
		t.Fatalf("%+v", msg)
	}
	const rest = 300 * time.Millisecond
	res, err = b.Result(ctx, msg.Offer, Rested, 3, 0, rest, true)
	if err != nil || res.AgentState != "wrap" || res.NoAnswers != 1 {
		t.Fatalf("rested: %+v %v", res, err)
	}
	if n, _ := rdb.HGet(ctx, p+"agent:1001", "noans").Int(); n != 1 {
		t.Fatalf("noans %d after a rest, want 1 (not counted)", n)
	}
	// c1 waits: its only agent rests, and a heartbeat before the rest is
	// over does not free it.
	if _, err := a.Tick(ctx, 0); err != nil {
		t.Fatal(err)
	}
	noMsg(t, b)
	if st := state(t, a, "1001"); st != "wrap" {
		t.Fatalf("1001 %s during its rest", st)
	}
	// Another agent coming ready takes c1 meanwhile.
	mustReady(t, a, "1002", "g")
	if msg = next(t, b); msg.Offer.Agent != "1002" || msg.Offer.Call != "c1" {
		t.Fatalf("%+v", msg)
	}
	mustEnqueue(t, b, Call{UUID: "c2", Groups: []string{"g"}})
	noMsg(t, b)
	time.Sleep(rest + 50*time.Millisecond)
	if _, err := a.Tick(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if msg = next(t, b); msg.Offer.Agent != "1001" || msg.Offer.Call != "c2" {
		t.Fatalf("after its rest 1001 took %+v", msg)
	}
	audit(t, a, "g")
}

// Redis lost its data: the first node to rejoin holds every grant for one
// lease (until every node has noticed and stopped ringing under the lost
// grants), then the pool matches what waits.
func TestClusterDataLossHoldsGrants(t *testing.T) {
	rd := startPrivateRedis(t)
	rdb, err := NewClient(RedisConfig{Addrs: []string{rd.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	ctx := context.Background()
	o := Options{NodeLease: 600 * time.Millisecond, Tick: 100 * time.Millisecond}
	a := join(t, rdb, "h:", "a", o)
	mustReady(t, a, "1001", "g")
	if _, ok := mustEnqueue(t, a, Call{UUID: "before", Groups: []string{"g"}}); !ok {
		t.Fatal("a fresh pool holds grants")
	}
	rd.restart()
	var err2 error
	for i := 0; i < 40; i++ {
		if _, err2 = a.Tick(ctx, 0); errors.Is(err2, ErrFenced) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !errors.Is(err2, ErrFenced) {
		t.Fatalf("tick after the data loss: %v", err2)
	}
	if err := a.Rejoin(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if r := mustReady(t, a, "1001", "g"); r.State != "held" {
		t.Fatalf("ready during the hold: %+v", r)
	}
	if _, ok := mustEnqueue(t, a, Call{UUID: "c1", Groups: []string{"g"}, Candidates: []string{"1001"}}); ok {
		t.Fatal("granted during the hold")
	}
	mustEnqueue(t, a, Call{UUID: "c2", Groups: []string{"g"}, VIP: true})
	audit(t, a, "g")
	for time.Since(start) < 2*time.Second {
		if _, err := a.Tick(ctx, 0); err != nil {
			t.Fatal(err)
		}
		if r := mustReady(t, a, "1001", "g"); r.State != "held" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if time.Since(start) < o.NodeLease/2 {
		t.Fatalf("hold ended after %v, want about the lease (%v)", time.Since(start), o.NodeLease)
	}
	mustReady(t, a, "1002", "g")
	got := map[string]string{}
	for i := 0; i < 2; i++ {
		m := next(t, a)
		got[m.Offer.Call] = m.Offer.Agent
	}
	if got["c1"] == "" || got["c2"] == "" || got["c1"] == got["c2"] {
		t.Fatalf("after the hold: %v", got)
	}
	audit(t, a, "g")
}

func TestClusterReaperFreesDeadNode(t *testing.T) {
	rdb, p := testPool(t)
	o := Options{NodeLease: 400 * time.Millisecond, Tick: 100 * time.Millisecond}
	a, b, c := join(t, rdb, p, "a", o), join(t, rdb, p, "b", o), join(t, rdb, p, "c", o)
	ctx := context.Background()
	mustReady(t, a, "1001", "g")
	mustReady(t, b, "2001", "g") // registered on b
	mustReady(t, a, "1002", "g")
	off, _ := mustEnqueue(t, b, Call{UUID: "b-ring", Groups: []string{"g"}, Candidates: []string{"1001"}})
	talk, _ := mustEnqueue(t, b, Call{UUID: "b-talk", Groups: []string{"g"}, Candidates: []string{"1002"}})
	if _, err := b.Result(ctx, talk, Answered, 3, 0, 0, false); err != nil {
		t.Fatal(err)
	}
	onB, _ := mustEnqueue(t, c, Call{UUID: "c-ring", Groups: []string{"g"}, Candidates: []string{"2001"}})
	mustEnqueue(t, b, Call{UUID: "b-wait", Groups: []string{"g"}})
	mustEnqueue(t, c, Call{UUID: "c-wait", Groups: []string{"g"}, Arrival: time.Now().Add(time.Second)})
	if off.Agent != "1001" || onB.Agent != "2001" {
		t.Fatalf("setup: %+v %+v", off, onB)
	}
	// b dies: no more ticks. a and c keep ticking.
	deadline := time.Now().Add(5 * time.Second)
	reaped := false
	for !reaped && time.Now().Before(deadline) {
		time.Sleep(o.Tick)
		for _, m := range []*Member{a, c} {
			d, err := m.Tick(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			reaped = reaped || len(d) > 0
		}
	}
	if !reaped {
		t.Fatal("b not reaped in 5 s")
	}
	ns, _ := a.Members(ctx)
	if len(ns) != 2 || ns[0].ID != "a" || ns[1].ID != "c" {
		t.Fatalf("members %+v", ns)
	}
	// b's calls are gone. 1001 (ringing for b) went to c's waiting call;
	// 2001's phone was on b: its offer is revoked and c-ring waits again.
	if ws, _ := a.Waiting(ctx, "g"); len(ws) != 1 || ws[0].UUID != "c-ring" {
		t.Fatalf("waiting %+v", ws)
	}
	got := map[string]Msg{}
	for i := 0; i < 2; i++ {
		m := next(t, c)
		got[m.Kind] = m
	}
	if m := got["revoke"]; m.Offer.Agent != "2001" || m.Offer.Call != "c-ring" {
		t.Fatalf("c got %+v, want 2001's revoke", got)
	}
	if m := got["offer"]; m.Offer.Agent != "1001" || m.Offer.Call != "c-wait" {
		t.Fatalf("c got %+v, want c-wait offered to 1001", got)
	}
	if st := state(t, a, "2001"); st != "off" {
		t.Fatalf("2001 (on b) is %s", st)
	}
	// 1002 talked on b's call: lost until its own node sees its leg end.
	if st := state(t, a, "1002"); st != "lost" {
		t.Fatalf("1002 is %s", st)
	}
	if r, _ := a.Agent(ctx, "1002", Ready, []string{"g"}, ""); r.State != "busy" {
		t.Fatalf("a lost agent was made ready: %+v", r)
	}
	r, err := a.Agent(ctx, "1002", LegEnd, nil, "b-talk")
	if err != nil || r.State != "offered" { // and it takes c's other call
		t.Fatalf("leg end: %+v %v", r, err)
	}
	// b comes back late: fenced everywhere.
	if _, err := b.Tick(ctx, 0); !errors.Is(err, ErrFenced) {
		t.Fatalf("tick of a reaped node: %v", err)
	}
	if _, _, err := b.Enqueue(ctx, Call{UUID: "late", Groups: []string{"g"}, Arrival: time.Now()}); !errors.Is(err, ErrFenced) {
		t.Fatalf("enqueue of a reaped node: %v", err)
	}
	if res, _ := b.Result(ctx, talk, NoAnswer, 3, 0, 0, false); !res.Stale {
		t.Fatal("a reaped node's result was applied")
	}
	if err := b.Rejoin(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Tick(ctx, 3); err != nil {
		t.Fatal(err)
	}
	audit(t, a, "g")
}

func TestClusterRestoreAfterRejoin(t *testing.T) {
	rdb, p := testPool(t)
	a := join(t, rdb, p, "a", Options{})
	ctx := context.Background()
	mustReady(t, a, "1001", "g")
	o, _ := mustEnqueue(t, a, Call{UUID: "c1", Groups: []string{"g"}})
	a.Result(ctx, o, Answered, 3, 0, 0, false)
	// a rejoins (its old incarnation is reaped): it puts back its bridged call.
	if err := a.Rejoin(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Restore(ctx, Call{UUID: "c1", Groups: []string{"g"}, Arrival: time.Now()}, "1001"); err != nil {
		t.Fatal(err)
	}
	if st := state(t, a, "1001"); st != "talking" {
		t.Fatalf("1001 %s", st)
	}
	mustReady(t, a, "1002", "g")
	o2, _ := mustEnqueue(t, a, Call{UUID: "c2", Groups: []string{"g"}})
	a.Result(ctx, o2, Answered, 3, 0, 0, false)
	if _, err := a.Restore(ctx, Call{UUID: "c3", Groups: []string{"g"}, Arrival: time.Now()}, "1002"); err == nil {
		t.Fatal("restored an agent onto a second call")
	}
	if err := a.Finish(ctx, "c1", 0); err != nil {
		t.Fatal(err)
	}
	if st := state(t, a, "1001"); st != "idle" {
		t.Fatalf("1001 %s", st)
	}
	audit(t, a, "g")
}

// A live node rejoining (a pool operation lost on the way: here its answer)
// puts its bridged calls back in the step that reaps its old incarnation:
// the agent it has talking is never free in the pool in between, where
// another node's waiting call would take it. One kept call whose agent the
// pool has on another call is skipped.
func TestClusterRejoinKeepsBridged(t *testing.T) {
	rdb, p := testPool(t)
	a := join(t, rdb, p, "a", Options{})
	b := join(t, rdb, p, "b", Options{})
	ctx := context.Background()
	mustReady(t, a, "1001", "g")
	mustReady(t, a, "1002", "g")
	o1, ok := mustEnqueue(t, b, Call{UUID: "b-talk", Groups: []string{"g"}, Candidates: []string{"1001"}})
	if !ok || o1.Agent != "1001" {
		t.Fatalf("b's call: %+v %v", o1, ok)
	}
	o2, ok := mustEnqueue(t, a, Call{UUID: "a-talk", Groups: []string{"g"}, Candidates: []string{"1002"}})
	if !ok || o2.Agent != "1002" {
		t.Fatalf("a's call: %+v %v", o2, ok)
	}
	if _, err := a.Result(ctx, o2, Answered, 3, 0, 0, false); err != nil {
		t.Fatal(err)
	}
	// b's answer for 1001 never reached the pool; a's next call waits.
	if _, ok := mustEnqueue(t, a, Call{UUID: "a-wait", Groups: []string{"g"}}); ok {
		t.Fatal("a-wait granted while both agents are busy")
	}
	keep := []Kept{
		{Call: Call{UUID: "b-talk", Groups: []string{"g"}, Arrival: time.Now()}, Ext: "1001"},
		{Call: Call{UUID: "b-stale", Groups: []string{"g"}, Arrival: time.Now()}, Ext: "1002"},
	}
	if err := b.Rejoin(ctx, keep...); err != nil {
		t.Fatal(err)
	}
	if v, err := a.AgentView(ctx, "1001"); err != nil || v.State != "talking" || v.Call != "b-talk" {
		t.Fatalf("1001 after b's rejoin: %+v %v", v, err)
	}
	if v, err := a.AgentView(ctx, "1002"); err != nil || v.State != "talking" || v.Call != "a-talk" {
		t.Fatalf("1002 after b's rejoin: %+v %v", v, err)
	}
	noMsg(t, a) // a-wait was not granted 1001
	audit(t, a, "g")
	if err := b.Finish(ctx, "b-talk", 0); err != nil {
		t.Fatal(err)
	}
	if m := next(t, a); m.Offer.Call != "a-wait" || m.Offer.Agent != "1001" {
		t.Fatalf("after b's call ended: %+v", m)
	}
	audit(t, a, "g")
}

// A call answered under a grant taken back is put back by its node while
// the pool has queued it again, or granted it to another agent: it leaves
// the queue, that agent's reservation ends (its node is told), and the
// answering agent is busy on it.
func TestClusterRestoreOverATakenBackGrant(t *testing.T) {
	rdb, p := testPool(t)
	a := join(t, rdb, p, "a", Options{})
	ctx := context.Background()
	mustReady(t, a, "1001", "g")
	o, _ := mustEnqueue(t, a, Call{UUID: "c1", Groups: []string{"g"}})
	// The grant is taken back (1001 goes off): c1 waits again.
	if _, err := a.Agent(ctx, "1001", Off, nil, ""); err != nil {
		t.Fatal(err)
	}
	if m := next(t, a); m.Kind != "revoke" {
		t.Fatalf("message %+v", m)
	}
	if r, err := a.Result(ctx, o, Answered, 3, 0, 0, false); err != nil || !r.Stale {
		t.Fatalf("result %+v %v", r, err)
	}
	if _, err := a.Restore(ctx, Call{UUID: "c1", Groups: []string{"g"}, Arrival: time.Now()}, "1001"); err != nil {
		t.Fatal(err)
	}
	if st := state(t, a, "1001"); st != "talking" {
		t.Fatalf("1001 %s", st)
	}
	audit(t, a, "g")
	// Again, with 1002 granted c2 meanwhile.
	mustReady(t, a, "1002", "g")
	mustReady(t, a, "1003", "g")
	o2, _ := mustEnqueue(t, a, Call{UUID: "c2", Groups: []string{"g"}})
	if _, err := a.Agent(ctx, o2.Agent, Off, nil, ""); err != nil {
		t.Fatal(err)
	}
	if m := next(t, a); m.Kind != "revoke" {
		t.Fatalf("message %+v", m)
	}
	other := next(t, a) // c2 granted to the other idle agent
	if other.Kind != "offer" || other.Offer.Call != "c2" || other.Offer.Agent == o2.Agent {
		t.Fatalf("message %+v", other)
	}
	if _, err := a.Restore(ctx, Call{UUID: "c2", Groups: []string{"g"}, Arrival: time.Now()}, o2.Agent); err != nil {
		t.Fatal(err)
	}
	if m := next(t, a); m.Kind != "revoke" || m.Offer.Agent != other.Offer.Agent {
		t.Fatalf("the other agent's node was not told: %+v", m)
	}
	if st := state(t, a, other.Offer.Agent); st != "idle" {
		t.Fatalf("%s %s", other.Offer.Agent, st)
	}
	if st := state(t, a, o2.Agent); st != "talking" {
		t.Fatalf("%s %s", o2.Agent, st)
	}
	audit(t, a, "g")
}

func TestClusterWrapUpEndsByTick(t *testing.T) {
	rdb, p := testPool(t)
	a := join(t, rdb, p, "a", Options{})
	ctx := context.Background()
	mustReady(t, a, "1001", "g")
	o, _ := mustEnqueue(t, a, Call{UUID: "c1", Groups: []string{"g"}})
	if r, err := a.Result(ctx, o, Answered, 3, 0, 0, false); err != nil || !r.Talking {
		t.Fatalf("%+v %v", r, err)
	}
	if err := a.Finish(ctx, "c1", 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if _, ok := mustEnqueue(t, a, Call{UUID: "c2", Groups: []string{"g"}}); ok {
		t.Fatal("offered during wrap-up")
	}
	time.Sleep(250 * time.Millisecond)
	a.Tick(ctx, 0)
	if msg := next(t, a); msg.Offer.Call != "c2" {
		t.Fatalf("%+v", msg)
	}
}

// A message taken from the inbox whose reply was lost stays in the
// processing list; after an error Next delivers it again, and Confirm says
// whether its grant still holds.
func TestClusterInboxRedeliversAfterAnError(t *testing.T) {
	_, px, rdb := proxied(t)
	ctx := context.Background()
	a, b := join(t, rdb, "i:", "a", Options{}), join(t, rdb, "i:", "b", Options{})
	mustEnqueue(t, b, Call{UUID: "c1", Groups: []string{"g"}})
	mustReady(t, a, "1001", "g")
	// Take the message as Next does, but lose it (as if the reply was lost).
	if _, err := rdb.LMove(ctx, "i:inbox:b", "i:proc:b", "LEFT", "RIGHT").Result(); err != nil {
		t.Fatal(err)
	}
	px.Cut()
	if _, _, err := b.Next(ctx, time.Second); err == nil {
		t.Fatal("Next through a cut proxy succeeded")
	}
	px.Restore()
	var msg Msg
	for i := 0; i < 20; i++ {
		m, ok, err := b.Next(ctx, time.Second)
		if err == nil && ok {
			msg = m
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if msg.Offer.Call != "c1" || msg.Offer.Agent != "1001" {
		t.Fatalf("redelivered %+v", msg)
	}
	if ok, err := b.Confirm(ctx, msg); err != nil || !ok {
		t.Fatalf("confirm of a current grant: %v %v", ok, err)
	}
	// The agent logs out: the grant is released and no longer confirmed.
	if _, err := a.Agent(ctx, "1001", Off, nil, ""); err != nil {
		t.Fatal(err)
	}
	if ok, _ := b.Confirm(ctx, msg); ok {
		t.Fatal("a released grant was confirmed")
	}
	if pend, _ := b.Pending(ctx); len(pend) != 0 {
		t.Fatalf("a refused offer stays pending: %+v", pend)
	}
}

// A strict call (the core's skills or tiers) goes only to the agents it
// names, whichever agent has waited longest; a freed agent passes over the
// strict calls it may not take to the best one it may; a relaxed call
// (Qualify) is taken at once by an agent it now names.
func TestClusterStrictCallOnlyToEligible(t *testing.T) {
	rdb, p := testPool(t)
	a, b := join(t, rdb, p, "a", Options{}), join(t, rdb, p, "b", Options{})
	ctx := context.Background()
	mustReady(t, a, "x", "g") // idle the longest
	mustReady(t, b, "y", "g")
	t0 := time.Now().Add(-time.Minute)
	o, ok := mustEnqueue(t, a, Call{UUID: "c1", Groups: []string{"g"}, Arrival: t0, Strict: true, Eligible: []string{"y"}})
	if !ok || o.Agent != "y" || o.AgentNode != "b" {
		t.Fatalf("c1: %+v %v, want y", o, ok)
	}
	// Its only agent rings: c2 waits though x is idle.
	if _, ok := mustEnqueue(t, a, Call{UUID: "c2", Groups: []string{"g"}, Arrival: t0.Add(time.Second), Strict: true, Eligible: []string{"y"}}); ok {
		t.Fatal("c2 reserved an agent it may not have")
	}
	audit(t, a, "g")
	// Nobody may take c0 yet (",").
	if _, ok := mustEnqueue(t, b, Call{UUID: "c0", Groups: []string{"g"}, Arrival: t0.Add(-time.Second), Strict: true}); ok {
		t.Fatal("c0 reserved with no one eligible")
	}
	// A call anyone may take goes to x.
	o3, ok := mustEnqueue(t, b, Call{UUID: "c3", Groups: []string{"g"}, Arrival: t0.Add(2 * time.Second)})
	if !ok || o3.Agent != "x" {
		t.Fatalf("c3: %+v %v, want x", o3, ok)
	}
	if _, err := b.Result(ctx, o3, Answered, 3, 0, 0, false); err != nil {
		t.Fatal(err)
	}
	mustEnqueue(t, b, Call{UUID: "c4", Groups: []string{"g"}, Arrival: t0.Add(3 * time.Second)})
	// x frees: c0 and c2 are older but not x's to take; c4 is.
	if err := b.Finish(ctx, "c3", 0); err != nil {
		t.Fatal(err)
	}
	if msg := next(t, b); msg.Offer.Call != "c4" || msg.Offer.Agent != "x" {
		t.Fatalf("x was offered %+v, want c4", msg)
	}
	// y's call ends: y takes c2, the oldest it may take (c0 names no one).
	if err := a.Finish(ctx, "c1", 0); err != nil {
		t.Fatal(err)
	}
	if msg := next(t, a); msg.Offer.Call != "c2" || msg.Offer.Agent != "y" {
		t.Fatalf("y was offered %+v, want c2", msg)
	}
	audit(t, a, "g")
	// Relaxed, c0 may go to anyone: a new agent idle takes it at once.
	mustReady(t, a, "z", "g")
	o0, ok, err := b.Qualify(ctx, Call{UUID: "c0"})
	if err != nil || !ok || o0.Agent != "z" {
		t.Fatalf("qualify c0: %+v %v %v, want z", o0, ok, err)
	}
	if _, _, err := a.Qualify(ctx, Call{UUID: "c0"}); !errors.Is(err, ErrGone) {
		t.Fatalf("another node qualified c0: %v", err)
	}
	for _, f := range []struct {
		m *Member
		u string
	}{{b, "c0"}, {a, "c2"}, {b, "c4"}} {
		if err := f.m.Finish(ctx, f.u, 0); err != nil {
			t.Fatal(err)
		}
	}
	audit(t, a, "g")
	if n, _ := rdb.HLen(ctx, p+"strict").Result(); n != 0 {
		t.Fatalf("%d strict entries outlive their calls", n)
	}
	// Names that would split the list are refused before Redis.
	if _, _, err := a.Enqueue(ctx, Call{UUID: "c5", Groups: []string{"g"}, Strict: true, Eligible: []string{"x,y"}}); err == nil {
		t.Fatal("an eligible name with a comma was accepted")
	}
}

// Overflow after entry: a waiting call moved to another group leaves its
// old queue, keeps its place (its score) in the new one, and an idle agent
// of the new group takes it at once.
func TestClusterQualifyMovesCall(t *testing.T) {
	rdb, p := testPool(t)
	a, b := join(t, rdb, p, "a", Options{}), join(t, rdb, p, "b", Options{})
	ctx := context.Background()
	t0 := time.Now().Add(-time.Minute)
	mustEnqueue(t, a, Call{UUID: "old", Groups: []string{"g"}, Arrival: t0})
	mustEnqueue(t, a, Call{UUID: "later", Groups: []string{"h"}, Arrival: t0.Add(time.Second)})
	if _, ok, err := a.Qualify(ctx, Call{UUID: "old", Groups: []string{"h"}}); err != nil || ok {
		t.Fatalf("move with nobody idle: %v %v", ok, err)
	}
	if ws, _ := a.Waiting(ctx, "g"); len(ws) != 0 {
		t.Fatalf("queue g after the move: %+v", ws)
	}
	if ws, _ := a.Waiting(ctx, "h"); len(ws) != 2 || ws[0].UUID != "old" {
		t.Fatalf("queue h after the move: %+v (want old first, by its arrival)", ws)
	}
	// An agent of h frees up on b: it takes the moved call, the older.
	r := mustReady(t, b, "y", "h")
	if r.Offer == nil || r.Offer.Call != "old" {
		t.Fatalf("ready y: %+v", r)
	}
	audit(t, a, "g", "h")
	// A second move, to a group with an agent idle: reserved at once.
	mustReady(t, b, "z", "k")
	o, ok, err := a.Qualify(ctx, Call{UUID: "later", Groups: []string{"k"}})
	if err != nil || !ok || o.Agent != "z" {
		t.Fatalf("move to k: %+v %v %v", o, ok, err)
	}
	if ws, _ := a.Waiting(ctx, "h"); len(ws) != 0 {
		t.Fatalf("queue h: %+v", ws)
	}
	audit(t, a, "g", "h", "k")
}
