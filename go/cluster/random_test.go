package cluster

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The randomized cluster run: several nodes in this process, each with a
// simulated switch (callers, agents' phones, rings and talks on timers),
// share one real Redis through a TCP proxy of their own. A world model,
// outside every node, checks continuously:
//
//   - no agent is ever offered (rung) a second call, cluster-wide;
//   - a strict call (a fifth of them: skills, tiers) is offered only to an
//     agent it names; its list widens at random, as a relax step would;
//   - every call ends exactly once;
//   - the pool never has an idle agent and a call it could take waiting at
//     once (an atomic audit of Redis, every few ms: skew 0 in the pool);
//   - a freed agent takes the best call it could (VIP, then oldest) among
//     the calls waiting on healthy nodes longer than the skew: orderSkew
//     (2 s) plus the longest stall of a node's loop in the run (the delivery
//     of offers makes the skew, not the pool; the largest seen is reported).
//
// Faults: a node killed without cleanup (and restarted), a node's Redis
// connection cut and restored, Redis restarted without its data.
//
// NWAYACD_CLUSTER_OPS sets the number of pool operations (default 30,000
// with -short, 80,000 without: under a minute with -race here); 1,000,000
// is the full run (about 5 minutes without -race).

const orderSkew = 2 * time.Second

type world struct {
	mu         sync.Mutex
	agents     map[string]*wAgent
	calls      map[string]*wCall
	faults     map[string]time.Time // node → its last fault or recovery
	down       map[string]bool      // node → its calls are not in the pool
	suspects   map[string][]suspect // waiting call → offers of worse calls made meanwhile
	lease      time.Duration
	problems   []string
	ended      int
	offers     int
	maxInvert  time.Duration
	inversions int
}

type wAgent struct {
	ext, home string
	groups    []string
	offer     string // call it rings for
	talk      string // call it talks on
	offline   bool   // its node is dead
	needKick  bool   // the pool may hold it lost/off: its node re-registers it when its leg ends
}

type wCall struct {
	uuid, node string
	groups     []string
	score      int64
	// elig: a strict call's agents that may take it (only ever widened),
	// each with when the pool had it (zero: sent, not yet answered). An
	// agent passing over the call counts as an inversion only from then.
	elig    map[string]time.Time
	waiting bool
	since   time.Time
	ends    int
	hist    []string // what happened to it, for a failure's report
}

// busy reports whether ext rings or talks; a busy agent is marked to be
// re-registered by its node when its leg ends.
func (w *world) busy(ext string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	a := w.agents[ext]
	b := a.offer != "" || a.talk != ""
	if b {
		a.needKick = true
	}
	return b
}

// note records an event of call uuid (w.mu held).
func (w *world) note(uuid, format string, a ...any) {
	if c := w.calls[uuid]; c != nil && len(c.hist) < 64 {
		c.hist = append(c.hist, time.Now().Format("15:04:05.000")+" "+fmt.Sprintf(format, a...))
	}
}

// noteL is note taking w.mu.
func (w *world) noteL(uuid, format string, a ...any) {
	w.mu.Lock()
	w.note(uuid, format, a...)
	w.mu.Unlock()
}

type suspect struct {
	call  string
	token int64
	age   time.Duration
	desc  string
}

func (w *world) confirm(sp suspect) {
	w.inversions++
	if sp.age > w.maxInvert {
		w.maxInvert = sp.age
	}
	// The skew is the delivery of offers: a node's loop stalled by a starved
	// CPU delays it, so the bound grows by the longest stall seen.
	if lag := time.Duration(maxLag.Load()); sp.age > orderSkew+lag {
		var hist []string
		if c := w.calls[sp.call]; c != nil {
			hist = c.hist
		}
		w.fail("%s (longest stall %v); its history: %s", sp.desc, lag, strings.Join(hist, "; "))
	}
}

// unknown drops the suspicions about a call whose grant was taken back
// before it rang: when it stopped waiting in the pool is not known here.
//
// Its wait starts again from here: the pool had reserved it (the grant
// came, or was revoked), so it was not passed over before; it waits again
// since the pool took the grant back, at the latest now. (Counting from its
// first arrival blamed the pool for a grant to another call made while this
// one was reserved: a hold ended with both granted, this one's grant then
// taken back by its agent's node rejoining.)
func (w *world) unknown(uuid string) {
	w.mu.Lock()
	w.note(uuid, "unknown")
	if c := w.calls[uuid]; c != nil && c.waiting {
		c.since = time.Now()
	}
	delete(w.suspects, uuid)
	w.mu.Unlock()
}

func (w *world) fail(format string, a ...any) {
	if len(w.problems) < 20 {
		w.problems = append(w.problems, fmt.Sprintf(format, a...))
	}
}

// healthy: the node is up with its calls in the pool, and has been for a
// while (its last fault or recovery is older than two leases and the skew).
func (w *world) healthy(node string, now time.Time) bool {
	f, ok := w.faults[node]
	return !w.down[node] && (!ok || now.Sub(f) > 2*w.lease+orderSkew)
}

// up records a node's recovery (or a fault when false).
func (w *world) up(node string, ok bool) {
	w.mu.Lock()
	w.down[node] = !ok
	w.faults[node] = time.Now()
	w.mu.Unlock()
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func shares(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

// ring starts an offer; false: the agent cannot be reached (its node is dead).
func (w *world) ring(node string, o Offer, fromInbox bool) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	a, c := w.agents[o.Agent], w.calls[o.Call]
	if a.offer != "" || a.talk != "" {
		w.fail("agent %s offered %s (token %d) by %s while on offer %q / talk %q", o.Agent, o.Call, o.Token, node, a.offer, a.talk)
	}
	if _, ok := c.elig[o.Agent]; c.elig != nil && !ok {
		w.fail("agent %s offered strict call %s (token %d) by %s, which it may not take", o.Agent, o.Call, o.Token, node)
	}
	w.offers++
	now := time.Now()
	w.note(o.Call, "rung %s by %s token %d inbox %v", o.Agent, node, o.Token, fromInbox)
	// A ring that resolves earlier suspicions: a better call rung under an
	// older token was reserved first (its offer only arrived later).
	for _, sp := range w.suspects[o.Call] {
		if o.Token > sp.token {
			w.confirm(sp)
		}
	}
	delete(w.suspects, o.Call)
	if fromInbox && w.healthy(node, now) {
		// Order: a better call in the agent's groups waiting longer than the
		// skew is suspect; it is an inversion if the pool reserves it later.
		for _, x := range w.calls {
			since, may := x.since, x.elig == nil
			if t, ok := x.elig[o.Agent]; ok && !t.IsZero() {
				since, may = later(since, t), true
			}
			if x.waiting && x != c && x.score < c.score && shares(x.groups, a.groups) && may && w.healthy(x.node, now) {
				w.suspects[x.uuid] = append(w.suspects[x.uuid], suspect{call: x.uuid, token: o.Token, age: now.Sub(since),
					desc: fmt.Sprintf("agent %s (groups %v) took %s (score %d, groups %v, token %d) by %s while %s (score %d, groups %v) waited %v on %s",
						o.Agent, a.groups, o.Call, c.score, c.groups, o.Token, node, x.uuid, x.score, x.groups, now.Sub(x.since), x.node)})
			}
		}
	}
	c.waiting = false
	if a.offline {
		return false
	}
	a.offer = o.Call
	return true
}

// ringEnd ends the ring of o; it reports whether the agent could answer.
func (w *world) ringEnd(o Offer, requeue bool) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	a := w.agents[o.Agent]
	ok := a.offer == o.Call && !a.offline
	if a.offer == o.Call {
		a.offer = ""
	}
	if c := w.calls[o.Call]; c != nil && requeue {
		c.waiting, c.since = true, time.Now()
	}
	return ok
}

func (w *world) answer(o Offer) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	a := w.agents[o.Agent]
	if a.offer != o.Call || a.offline {
		return false
	}
	a.offer, a.talk = "", o.Call
	return true
}

func (w *world) queued(uuid string) {
	w.mu.Lock()
	if c := w.calls[uuid]; c != nil && !c.waiting {
		c.waiting, c.since = true, time.Now()
	}
	w.note(uuid, "waiting")
	w.mu.Unlock()
}

// end ends a call (once!) and frees its agent; it returns the agent's home
// node when that node must re-register the agent.
func (w *world) end(uuid, agent string) (home string, kick bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.calls[uuid]
	delete(w.suspects, uuid) // never rung: whether the pool had reserved it is unknown
	c.ends++
	if c.ends > 1 {
		w.fail("call %s ended %d times", uuid, c.ends)
	}
	c.waiting = false
	w.ended++
	if agent == "" {
		return "", false
	}
	a := w.agents[agent]
	if a.offer == uuid {
		a.offer = ""
	}
	if a.talk == uuid {
		a.talk = ""
	}
	k := a.needKick && !a.offline
	return a.home, k
}

type simNode struct {
	id     string
	w      *world
	t      *testing.T
	rdb    redis.UniversalClient
	opts   Options
	m      *Member
	mp     atomic.Pointer[Member] // m, for the inbox reader
	ops    *atomic.Int64
	peers  func(string) *simNode
	rng    *rand.Rand
	groups []string

	ev      chan func()
	inbox   chan Msg
	stop    chan struct{}
	done    sync.WaitGroup
	calls   map[string]*nCall
	agents  []string
	away    map[string]bool
	held    map[string]bool // Ready refused during a hold: asked again each tick
	healthy bool
	lastOK  time.Time
	seq     int
	arrive  bool
}

type nCall struct {
	Call
	state int // 0 waiting, 1 ringing, 2 bridged
	offer Offer
	inbox bool
}

var maxLag atomic.Int64 // the longest a node's event waited for its loop

func (n *simNode) post(d time.Duration, f func()) {
	due := time.Now().Add(d)
	time.AfterFunc(d, func() {
		g := func() {
			if l := int64(time.Since(due)); l > maxLag.Load() {
				maxLag.Store(l)
			}
			f()
		}
		select {
		case n.ev <- g:
		case <-n.stop:
		}
	})
}

func (n *simNode) op() { n.ops.Add(1) }

// failed counts a pool op and, when it failed, marks the node in doubt.
func (n *simNode) failed(err error) bool {
	n.op()
	if err != nil {
		n.doubt()
		return true
	}
	return false
}

func (n *simNode) start() {
	n.ev = make(chan func(), 1<<14)
	n.inbox = make(chan Msg, 1024)
	n.stop = make(chan struct{})
	n.calls = map[string]*nCall{}
	n.held = map[string]bool{}
	n.done.Add(2)
	go n.loop()
	go n.readInbox()
}

// kill stops the node without any cleanup (kill -9): the pool learns of it
// only when its lease expires.
func (n *simNode) kill() {
	close(n.stop)
	n.done.Wait()
}

func (n *simNode) readInbox() {
	defer n.done.Done()
	ctx := context.Background()
	for {
		select {
		case <-n.stop:
			return
		default:
		}
		m := n.mp.Load()
		if m == nil {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		msg, ok, err := m.Next(ctx, time.Second)
		if err != nil {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		if ok {
			select {
			case n.inbox <- msg:
			case <-n.stop:
				return
			}
		}
	}
}

func (n *simNode) loop() {
	defer n.done.Done()
	tick := time.NewTicker(n.opts.Tick)
	defer tick.Stop()
	arrive := time.NewTicker(time.Millisecond)
	defer arrive.Stop()
	for {
		select {
		case <-n.stop:
			return
		case f := <-n.ev:
			f()
		case msg := <-n.inbox:
			n.onMsg(msg)
		case <-tick.C:
			n.tick()
		case <-arrive.C:
			if n.arrive && n.healthy && len(n.calls) < 40 {
				n.newCall()
			}
			if n.healthy && n.rng.IntN(20) == 0 {
				n.toggleAgent()
			}
			if n.healthy && n.rng.IntN(10) == 0 && !n.relax() {
				n.doubt()
			}
		}
		if n.healthy && time.Since(n.lastOK) > n.opts.NodeLease/2 {
			n.doubt() // the lease may be gone: stop acting on shared agents
		}
	}
}

func (n *simNode) tick() {
	ctx := context.Background()
	if n.healthy {
		sent := time.Now()
		_, err := n.m.Tick(ctx, len(n.calls))
		if n.failed(err) {
			return
		}
		n.lastOK = sent
		n.retryHeld()
		return
	}
	sent := time.Now()
	if n.m == nil {
		m, err := Join(ctx, n.rdb, n.opts)
		n.op()
		if err != nil {
			return
		}
		n.m = m
		n.mp.Store(m)
	} else if err := n.m.Rejoin(ctx); err != nil {
		n.op()
		return
	}
	n.op()
	n.healthy, n.lastOK = true, sent
	if !n.rebuild() {
		n.doubt()
		return
	}
	n.w.up(n.id, true)
}

// doubt: a pool operation failed, or the lease may have expired. The node
// stops ringing shared agents at once and rejoins (a new epoch) when Redis
// answers again, putting back what it holds.
func (n *simNode) doubt() {
	if !n.healthy {
		return
	}
	n.healthy = false
	n.w.mu.Lock()
	n.w.faults[n.id] = time.Now()
	n.w.down[n.id] = true
	for _, c := range n.calls {
		if c.state == 2 {
			if a := n.w.agents[c.offer.Agent]; a.home != n.id {
				a.needKick = true // the pool holds it lost until its leg ends
			}
		}
	}
	n.w.mu.Unlock()
	for _, c := range n.calls {
		if c.state == 1 {
			n.w.ringEnd(c.offer, true)
			c.state = 0
		}
		// Whether the pool had granted it before the rejoin reaps it is
		// not known here.
		n.w.unknown(c.UUID)
	}
}

func (n *simNode) rebuild() bool {
	ctx := context.Background()
	for _, c := range n.calls {
		if c.state == 2 {
			_, err := n.m.Restore(ctx, c.Call, c.offer.Agent)
			n.op()
			if err != nil {
				if !errors.Is(err, ErrFenced) && !strings.Contains(err.Error(), "another call") {
					return false
				}
				if err != ErrFenced {
					n.w.mu.Lock()
					n.w.fail("%s: restore %s: %v", n.id, c.UUID, err)
					n.w.mu.Unlock()
				}
				return false
			}
		}
	}
	for _, ext := range n.agents {
		if n.w.busy(ext) {
			continue
		}
		if !n.agentOp(ext) {
			return false
		}
	}
	var ws []*nCall
	for _, c := range n.calls {
		if c.state == 0 {
			ws = append(ws, c)
		}
	}
	sort.Slice(ws, func(i, j int) bool { return ws[i].UUID < ws[j].UUID })
	for _, c := range ws {
		if !n.enqueue(c) {
			return false
		}
	}
	return true
}

func (n *simNode) agentOp(ext string) bool {
	op := Ready
	if n.away[ext] {
		op = Away
	}
	r, err := n.m.Agent(context.Background(), ext, op, n.w.agents[ext].groups, "")
	n.op()
	if err == nil && r.State == "held" {
		n.held[ext] = true
	}
	return err == nil
}

// retryHeld asks again for the agents refused during a hold, if still free.
func (n *simNode) retryHeld() {
	for ext := range n.held {
		delete(n.held, ext)
		if !n.w.busy(ext) && !n.agentOp(ext) {
			n.doubt()
			return
		}
	}
}

func (n *simNode) toggleAgent() {
	ext := n.agents[n.rng.IntN(len(n.agents))]
	n.w.mu.Lock()
	a := n.w.agents[ext]
	busy := a.offer != "" || a.talk != "" || a.needKick
	n.w.mu.Unlock()
	if busy {
		return
	}
	n.away[ext] = n.rng.IntN(3) == 0
	if !n.agentOp(ext) {
		n.doubt()
	}
}

func (n *simNode) newCall() {
	n.seq++
	g := []string{n.groups[n.rng.IntN(len(n.groups))]}
	if n.rng.IntN(3) == 0 {
		if h := n.groups[n.rng.IntN(len(n.groups))]; h != g[0] {
			g = append(g, h)
		}
	}
	c := &nCall{Call: Call{
		UUID:    fmt.Sprintf("%s-%d-%d", n.id, n.m.o.NodeLease.Nanoseconds()%7, n.seq),
		Caller:  strconv.Itoa(1000 + n.rng.IntN(50)),
		Groups:  g,
		VIP:     n.rng.IntN(10) == 0,
		Arrival: time.Now(),
	}}
	c.UUID = fmt.Sprintf("%s-%x-%d", n.id, n.rng.Uint32(), n.seq)
	c.MemoryFirst = n.rng.IntN(4) == 0
	n.w.mu.Lock()
	wc := &wCall{uuid: c.UUID, node: n.id, groups: g, score: Score(c.VIP, c.Arrival)}
	n.w.calls[c.UUID] = wc
	if n.rng.IntN(5) == 0 { // skills or tiers: only some agents may take it
		c.Strict, wc.elig = true, map[string]time.Time{}
		n.widen(c, wc, 1+n.rng.IntN(6))
	}
	n.w.mu.Unlock()
	n.calls[c.UUID] = c
	if n.rng.IntN(3) == 0 { // an impatient caller
		n.post(time.Duration(5+n.rng.IntN(100))*time.Millisecond, func() { n.hangup(c.UUID) })
	}
	if !n.enqueue(c) {
		n.doubt()
	}
}

// widen lets k more agents (at random) take strict call c, as a relax
// step does. Called with w.mu held.
func (n *simNode) widen(c *nCall, wc *wCall, k int) {
	exts := make([]string, 0, len(n.w.agents))
	for e := range n.w.agents {
		exts = append(exts, e)
	}
	sort.Strings(exts)
	for ; k > 0; k-- {
		if e := exts[n.rng.IntN(len(exts))]; !hasKey(wc.elig, e) {
			wc.elig[e] = time.Time{}
		}
	}
	c.Eligible = c.Eligible[:0]
	for e := range wc.elig {
		c.Eligible = append(c.Eligible, e)
	}
	sort.Strings(c.Eligible)
	n.w.note(c.UUID, "may go to %v", c.Eligible)
}

func hasKey(m map[string]time.Time, k string) bool {
	_, ok := m[k]
	return ok
}

// applied notes that the pool has c's list (its enqueue or qualify answered).
func (w *world) applied(uuid string) {
	w.mu.Lock()
	now := time.Now()
	if c := w.calls[uuid]; c != nil {
		for e, t := range c.elig {
			if t.IsZero() {
				c.elig[e] = now
			}
		}
	}
	w.mu.Unlock()
}

// relax widens a waiting strict call of this node and tells the pool.
func (n *simNode) relax() bool {
	for _, c := range n.calls {
		if !c.Strict || c.state != 0 {
			continue
		}
		n.w.mu.Lock()
		n.widen(c, n.w.calls[c.UUID], 1+n.rng.IntN(3))
		n.w.mu.Unlock()
		o, ok, err := n.m.Qualify(context.Background(), c.Call)
		n.w.noteL(c.UUID, "%s: qualify (epoch %s): %v %v %v", n.id, n.m.Epoch(), o, ok, err)
		n.op()
		if errors.Is(err, ErrGone) {
			err = nil
		}
		if err != nil {
			return false
		}
		n.w.applied(c.UUID)
		if ok {
			n.ring(c, o, false)
		}
		return true
	}
	return true
}

func (n *simNode) enqueue(c *nCall) bool {
	o, ok, err := n.m.Enqueue(context.Background(), c.Call)
	n.w.noteL(c.UUID, "%s: enqueue (epoch %s): %v %v %v", n.id, n.m.Epoch(), o, ok, err)
	n.op()
	if errors.Is(err, ErrDup) {
		err = nil
	}
	if err != nil {
		return false
	}
	n.w.applied(c.UUID)
	n.w.queued(c.UUID)
	if ok {
		n.ring(c, o, false)
	}
	return true
}

func (n *simNode) onMsg(msg Msg) {
	n.w.noteL(msg.Offer.Call, "%s: %s %s token %d (healthy %v, current %v)", n.id, msg.Kind, msg.Offer.Agent, msg.Offer.Token, n.healthy, n.m.Current(msg))
	if !n.healthy || !n.m.Current(msg) {
		n.w.unknown(msg.Offer.Call)
		return // an earlier incarnation's: the rejoin reaped its reservation
	}
	c := n.calls[msg.Offer.Call]
	switch msg.Kind {
	case "revoke":
		n.w.unknown(msg.Offer.Call)
		if c != nil && c.state == 1 && c.offer.Token == msg.Offer.Token {
			n.w.ringEnd(c.offer, true)
			c.state = 0
		}
		n.m.Ack(context.Background(), msg)
		n.op()
	case "offer":
		if c == nil || c.state != 0 {
			n.m.Ack(context.Background(), msg)
			n.op()
			return
		}
		ok, err := n.m.Confirm(context.Background(), msg)
		n.w.noteL(c.UUID, "confirm %v %v", ok, err)
		if n.failed(err) {
			return
		}
		if ok {
			n.ring(c, msg.Offer, true)
		} else {
			n.w.unknown(c.UUID)
		}
	}
}

func (n *simNode) ring(c *nCall, o Offer, inbox bool) {
	c.state, c.offer, c.inbox = 1, o, inbox
	out := Answered
	d := time.Duration(n.rng.IntN(2000)) * time.Microsecond
	reach := n.w.ring(n.id, o, inbox)
	if !reach {
		out, d = Failed, 0
	} else if r := n.rng.IntN(100); r < 10 {
		out = NoAnswer
	} else if r < 14 {
		out = Failed
	} else if r < 17 {
		out = Rested // a saturated switch: the agent sits out in wrap
	}
	n.post(d, func() { n.ringEnd(c.UUID, o.Token, out) })
}

func (n *simNode) ringEnd(uuid string, tok int64, out Outcome) {
	c := n.calls[uuid]
	if c == nil || c.state != 1 || c.offer.Token != tok || !n.healthy {
		return // the ring was stopped already
	}
	if out == Answered && !n.w.answer(c.offer) {
		out = Failed
	}
	if out != Answered {
		// The ring is over before the pool hears of it (the agent may be
		// offered elsewhere the moment it does).
		n.w.ringEnd(c.offer, false)
	}
	res, err := n.m.Result(context.Background(), c.offer, out, 3, time.Minute, 3*time.Millisecond, c.inbox)
	n.w.noteL(uuid, "result %d: %+v %v", out, res, err)
	n.op()
	switch {
	case err != nil:
		if out == Answered { // bridged, whatever the pool knows: a rejoin puts it back
			c.state = 2
			n.post(time.Duration(1+n.rng.IntN(8))*time.Millisecond, func() { n.talkEnd(uuid) })
		}
		n.doubt()
	case res.Stale:
		// The pool took the offer back (and told us, or will): hang up the leg.
		if out == Answered {
			n.w.mu.Lock()
			n.w.agents[c.offer.Agent].talk = ""
			n.w.mu.Unlock()
		}
		c.state = 0
		n.w.queued(uuid)
	case res.Talking:
		c.state = 2
		n.post(time.Duration(1+n.rng.IntN(8))*time.Millisecond, func() { n.talkEnd(uuid) })
	default:
		n.w.queued(uuid)
		c.state = 0
	}
}

func (n *simNode) hangup(uuid string) {
	c := n.calls[uuid]
	if c == nil || c.state == 2 {
		return
	}
	agent := ""
	if c.state == 1 {
		agent = c.offer.Agent
	}
	n.end(c, agent)
}

func (n *simNode) talkEnd(uuid string) {
	if c := n.calls[uuid]; c != nil && c.state == 2 {
		n.end(c, c.offer.Agent)
	}
}

func (n *simNode) end(c *nCall, agent string) {
	delete(n.calls, c.UUID)
	home, kick := n.w.end(c.UUID, agent)
	if n.healthy {
		n.failed(n.m.Finish(context.Background(), c.UUID, 0))
	}
	if kick {
		if h := n.peers(home); h != nil {
			h.post(0, func() { h.legEnd(agent, c.UUID) })
		}
	}
}

// legEnd: the agent's leg ended while the pool may hold it lost or off.
func (n *simNode) legEnd(ext, uuid string) {
	if !n.healthy {
		return // the rebuild re-registers it
	}
	n.w.mu.Lock()
	a := n.w.agents[ext]
	busy := a.offer != "" || a.talk != ""
	if !busy {
		a.needKick = false
	}
	n.w.mu.Unlock()
	if busy {
		return
	}
	_, err := n.m.Agent(context.Background(), ext, LegEnd, nil, uuid)
	if n.failed(err) {
		return
	}
	v, err := n.m.AgentView(context.Background(), ext)
	if n.failed(err) {
		return
	}
	if v.State != "idle" && v.State != "offered" && !n.agentOp(ext) {
		n.doubt()
	}
}

func opsTarget() int {
	if s := os.Getenv("NWAYACD_CLUSTER_OPS"); s != "" {
		n, _ := strconv.Atoi(s)
		return n
	}
	if testing.Short() {
		return 30_000
	}
	return 80_000
}

func TestClusterRandomized(t *testing.T) {
	rd := startPrivateRedis(t)
	target := int64(opsTarget())
	const nodes, agentsPer = 3, 6
	lease := 3 * time.Second // above the longest stall of a node loop seen on this shared machine
	groups := []string{"g1", "g2", "g3", "g4"}
	w := &world{agents: map[string]*wAgent{}, calls: map[string]*wCall{}, faults: map[string]time.Time{}, down: map[string]bool{}, suspects: map[string][]suspect{}, lease: lease}
	var ops atomic.Int64
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	seed := rng.Uint64()
	t.Logf("seed %d, %d operations", seed, target)

	ns := make([]*simNode, nodes)
	pxs := make([]*proxy, nodes)
	byID := func(id string) *simNode {
		for _, n := range ns {
			if n.id == id {
				return n
			}
		}
		return nil
	}
	var nsMu sync.Mutex
	peers := func(id string) *simNode { nsMu.Lock(); defer nsMu.Unlock(); return byID(id) }
	mk := func(i int) *simNode {
		id := fmt.Sprintf("n%d", i)
		rdb, err := NewClient(RedisConfig{Addrs: []string{pxs[i].Addr()}, IOTimeout: 200 * time.Millisecond, DialTimeout: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		n := &simNode{id: id, w: w, t: t, rdb: rdb, ops: &ops, peers: peers, groups: groups,
			opts: Options{Node: id, Prefix: "r:", NodeLease: lease, Tick: 100 * time.Millisecond},
			rng:  rand.New(rand.NewPCG(seed, uint64(i)+uint64(time.Now().UnixNano()))), away: map[string]bool{}, arrive: true}
		for j := 0; j < agentsPer; j++ {
			n.agents = append(n.agents, fmt.Sprintf("%s-%d", id, j))
		}
		return n
	}
	for i := range ns {
		pxs[i] = newProxy(t, rd.Addr())
		ns[i] = mk(i)
		for j, ext := range ns[i].agents {
			g := []string{groups[(i+j)%4]}
			if j%2 == 0 {
				g = append(g, groups[(i+j+1)%4])
			}
			w.agents[ext] = &wAgent{ext: ext, home: ns[i].id, groups: g}
		}
	}
	for _, n := range ns {
		n.start()
	}

	// The auditor: the pool's invariants, atomically, all the time.
	auditRdb := redis.NewClient(&redis.Options{Addr: rd.Addr(), MaxRetries: -1})
	defer auditRdb.Close()
	auditor := &Member{rdb: auditRdb, o: Options{Prefix: "r:"}}
	stopAudit := make(chan struct{})
	var audits atomic.Int64
	var auditWG sync.WaitGroup
	auditWG.Add(1)
	go func() {
		defer auditWG.Done()
		for {
			select {
			case <-stopAudit:
				return
			case <-time.After(5 * time.Millisecond):
			}
			p, err := auditor.Audit(context.Background(), groups)
			if err != nil {
				continue
			}
			audits.Add(1)
			if len(p) > 0 {
				w.mu.Lock()
				w.fail("audit: %v", p)
				w.mu.Unlock()
			}
		}
	}()

	// Faults, until the operations are done.
	var kills, cuts, restarts int
	deadline := time.Now().Add(30 * time.Minute)
	for ops.Load() < target && time.Now().Before(deadline) {
		time.Sleep(time.Duration(700+rng.IntN(800)) * time.Millisecond)
		if ops.Load() >= target {
			break
		}
		i := rng.IntN(nodes)
		switch f := rng.IntN(10); {
		case f < 4: // kill -9, restart later
			kills++
			nsMu.Lock()
			n := ns[i]
			nsMu.Unlock()
			n.kill()
			w.mu.Lock()
			w.faults[n.id] = time.Now()
			w.down[n.id] = true
			var talks []func()
			for _, a := range w.agents {
				if a.home == n.id {
					a.offline = true
				}
			}
			for u, c := range n.calls {
				_ = u
				agent := ""
				if c.state != 0 {
					agent = c.offer.Agent
				}
				w.mu.Unlock()
				home, _ := w.end(c.UUID, agent)
				w.mu.Lock()
				if agent != "" && home != n.id {
					w.agents[agent].needKick = true
					h, ext, uuid := peers(home), agent, c.UUID
					talks = append(talks, func() { h.post(0, func() { h.legEnd(ext, uuid) }) })
				}
			}
			// Calls elsewhere talking with this node's agents end: the phone is gone.
			for _, a := range w.agents {
				if a.home == n.id && a.talk != "" {
					if c := w.calls[a.talk]; c != nil {
						h, uuid := peers(c.node), a.talk
						talks = append(talks, func() { h.post(0, func() { h.talkEnd(uuid) }) })
					}
				}
			}
			w.mu.Unlock()
			for _, f := range talks {
				f()
			}
			down := time.Duration(200+rng.IntN(2500)) * time.Millisecond
			time.Sleep(down)
			nsMu.Lock()
			n2 := mk(i)
			ns[i] = n2
			nsMu.Unlock()
			w.mu.Lock()
			for _, a := range w.agents {
				if a.home == n2.id {
					a.offline = false
					a.needKick = a.offer != "" || a.talk != ""
				}
			}
			w.mu.Unlock()
			n2.start()
		case f < 8: // the node's Redis connection cut, then restored
			cuts++
			pxs[i].Cut()
			time.Sleep(time.Duration(50+rng.IntN(2500)) * time.Millisecond)
			pxs[i].Restore()
		default: // Redis restarts without its data
			restarts++
			rd.restart()
		}
	}
	// Drain: no new callers; every waiting caller hangs up; talks end.
	nsMu.Lock()
	for _, n := range ns {
		n := n
		n.post(0, func() {
			n.arrive = false
			for u := range n.calls {
				n.hangup(u)
			}
		})
	}
	nsMu.Unlock()
	end := time.Now().Add(20 * time.Second)
	for time.Now().Before(end) {
		w.mu.Lock()
		open := 0
		for _, c := range w.calls {
			if c.ends == 0 {
				open++
			}
		}
		w.mu.Unlock()
		if open == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	close(stopAudit)
	auditWG.Wait()
	for _, n := range ns {
		n.kill()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.calls {
		if c.ends != 1 {
			w.fail("call %s on %s ended %d times", c.uuid, c.node, c.ends)
		}
	}
	t.Logf("%d operations, %d calls (%d ended), %d offers, %d audits; faults: %d kills, %d cuts, %d Redis restarts; order inversions: %d (oldest %v); longest event lag %v",
		ops.Load(), len(w.calls), w.ended, w.offers, audits.Load(), kills, cuts, restarts, w.inversions, w.maxInvert, time.Duration(maxLag.Load()))
	for _, p := range w.problems {
		t.Error(p)
	}
	if audits.Load() == 0 || w.offers == 0 {
		t.Fatal("nothing was checked")
	}
}
