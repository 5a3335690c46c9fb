package service

import (
	"context"
	"errors"
	"hash/fnv"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/cluster"
)

// Pool is the agent pool several nodes share (go/cluster's Member), set
// only in cluster mode (UsePool). The core decides whom to try; the pool
// reserves atomically across the cluster. Every call to it runs on the
// service's own pool goroutines, never under mu nor on a FreeSWITCH thread.
type Pool interface {
	Enqueue(ctx context.Context, c cluster.Call) (cluster.Offer, bool, error)
	Qualify(ctx context.Context, c cluster.Call) (cluster.Offer, bool, error)
	Result(ctx context.Context, o cluster.Offer, out cluster.Outcome, limit int, memory, rest time.Duration, fromInbox bool) (cluster.Result, error)
	Finish(ctx context.Context, uuid string, wrap time.Duration) error
	Restore(ctx context.Context, c cluster.Call, ext string) (cluster.Offer, error)
	Agent(ctx context.Context, ext string, op cluster.AgentOp, groups []string, call string) (cluster.AgentResult, error)
	Next(ctx context.Context, wait time.Duration) (cluster.Msg, bool, error)
	Confirm(ctx context.Context, msg cluster.Msg) (bool, error)
	Ack(ctx context.Context, msg cluster.Msg) error
	Current(msg cluster.Msg) bool
	Epoch() string
}

// poolQueueMax bounds the pool operations waiting for the workers; past it
// an operation is dropped and logged (the pool's leases still clean up).
const poolQueueMax = 1 << 16

// poolRetry is how soon an agent's state the pool refused is sent again.
const poolRetry = 500 * time.Millisecond

// poolOpTimeout bounds one operation against the pool.
const poolOpTimeout = 2 * time.Second

type poolOpKind uint8

const (
	opEnqueue poolOpKind = iota + 1
	opResult
	opFinish
	opAgent
	opRestore
	opLegEnd
	opQualify
)

// poolOp is one write to the pool, in the order the core decided it.
type poolOp struct {
	kind  poolOpKind
	call  cluster.Call
	offer cluster.Offer
	out   cluster.Outcome
	inbox bool
	ext   string
	op    cluster.AgentOp
	grps  []string
	wrap  time.Duration
}

// poolOffer is a grant this node is ringing (or about to).
type poolOffer struct {
	o     cluster.Offer
	inbox bool // it came from the inbox: its Result acknowledges the message
}

// poolState is the service's side of pool mode; its maps are under mu.
type poolState struct {
	p      Pool
	node   string
	remote []acd.WaitingInfo       // the other nodes' waiting calls (SetClusterQueues)
	agents map[string]ClusterAgent // the pool's agents (SetClusterAgents)
	seen   map[string]poolSeen     // when this node saw each agent's pool state change
	offers map[string]poolOffer    // call uuid → the grant it rings
	pooled map[string]bool         // calls handed to the pool (Finish at their end)
	elig   map[string]string       // pooled calls: their group and who may take each, as the pool was last told
	mine   map[string]bool         // agents logged in on this node

	// lost: an operation failed on the way (a cut connection, a timeout):
	// the pool may or may not have applied it, and nothing sends it again.
	// The node rejoins and puts back what it holds (PoolLost).
	lost atomic.Bool
	// suspended: between PoolSuspend and PoolResumed/PoolRejoined this node
	// may have been reaped: a grant arriving meanwhile (an Enqueue's answer
	// in flight) is not rung.
	suspended bool

	shards [poolShards]poolShard
}

// poolShards is how many operations run against the pool at once. The
// operations of one call (Enqueue, Result, Finish) share a shard and keep
// their order, as do those of one agent; across calls and agents the
// scripts' atomicity is the order (an agent's away arriving before the
// Result of its offer is refused busy and asked again). The member sends
// the operations in flight together, one batch a round trip: the more
// shards, the fuller each batch under load.
const poolShards = 32

type poolShard struct {
	mu   sync.Mutex
	q    []poolOp
	kick chan struct{}
}

// key is what orders op with others: its call, or its agent.
func (op *poolOp) key() string {
	switch op.kind {
	case opResult:
		return op.offer.Call
	case opAgent, opLegEnd:
		return op.ext
	}
	return op.call.UUID
}

// UsePool turns this node into a cluster member routing through p. Call
// it once, before Start or right after (calls waiting by then, such as
// callbacks restored at start, are handed to the pool).
func (s *Service) UsePool(p Pool, node string) {
	s.lock()
	s.pool = &poolState{p: p, node: node, offers: map[string]poolOffer{}, pooled: map[string]bool{}, elig: map[string]string{},
		mine: map[string]bool{}}
	for i := range s.pool.shards {
		s.pool.shards[i].kick = make(chan struct{}, 1)
	}
	s.eng.SetPool(true)
	// Calls already waiting (callbacks restored at start) are the pool's now.
	s.eng.Repool()
	s.handle(s.eng.Decisions())
	for _, x := range s.eng.Extensions() {
		if x.LoggedIn {
			s.poolAgent(x.Extension)
		}
	}
	started := s.started.Load()
	s.release()
	if started {
		s.startPool()
	}
}

func (s *Service) startPool() {
	if s.pool == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.wg.Add(2 + poolShards)
	go func() {
		defer s.wg.Done()
		<-s.stop
		cancel()
	}()
	for i := range s.pool.shards {
		go func() {
			defer s.wg.Done()
			s.poolWorker(ctx, &s.pool.shards[i])
		}()
	}
	go func() {
		defer s.wg.Done()
		s.poolInbox(ctx)
	}()
	if f, ok := s.pool.p.(ControlForwarder); ok {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.controlLoop(ctx, f)
		}()
	}
}

// push queues op for its shard's worker. Called with mu held; never blocks.
func (s *Service) push(op poolOp) {
	h := fnv.New32a()
	h.Write([]byte(op.key()))
	sh := &s.pool.shards[h.Sum32()%poolShards]
	sh.mu.Lock()
	if len(sh.q) >= poolQueueMax/poolShards {
		sh.mu.Unlock()
		s.log.Error("nwayacd cluster: pool queue full, operation dropped", "kind", op.kind, "key", op.key())
		return
	}
	sh.q = append(sh.q, op)
	sh.mu.Unlock()
	select {
	case sh.kick <- struct{}{}:
	default:
	}
}

// poolDecision handles the decisions pool mode adds to handle's. Called
// with mu held; ds[i] is the decision, the rest is for looking ahead.
func (s *Service) poolDecision(ds []acd.Decision, i int) {
	ps := s.pool
	d := &ds[i]
	c := d.Call
	switch d.Kind {
	case acd.DReserve:
		r, ok := s.eng.Candidates(c.UUID)
		if !ok {
			return
		}
		ps.pooled[c.UUID] = true
		pc := cluster.Call{UUID: c.UUID, Caller: c.Number, Groups: r.Groups, VIP: r.VIP,
			Arrival: c.CallinTime, MemoryFirst: r.MemoryFirst, Rotate: r.Rotate, Candidates: r.Candidates}
		s.eligible(&pc, r.Strict, r.Eligible)
		s.push(poolOp{kind: opEnqueue, call: pc})
	case acd.DRequalify:
		if !ps.pooled[c.UUID] {
			return
		}
		g, exts, strict, ok := s.eng.Eligible(c.UUID)
		if !ok {
			return
		}
		pc := cluster.Call{UUID: c.UUID, Groups: []string{g}}
		if !s.eligible(&pc, strict, exts) {
			return
		}
		s.push(poolOp{kind: opQualify, call: pc})
	case acd.DAgent:
		s.poolAgent(d.Ext)
	case acd.DOfferAnswered, acd.DOfferNoAnswer, acd.DOfferHangup, acd.DPoolRelease:
		po, ok := ps.offers[c.UUID]
		if !ok || po.o.Agent != d.Ext {
			return
		}
		delete(ps.offers, c.UUID)
		out := cluster.Answered
		switch d.Kind {
		case acd.DOfferNoAnswer:
			out = cluster.NoAnswer
			if d.Status == acd.StatusExcused {
				out = cluster.Rested
			}
		case acd.DOfferHangup, acd.DPoolRelease:
			// The call ending in this batch: Finish releases the agent.
			for _, n := range ds[i+1:] {
				if n.Kind == acd.DEnded && n.Call.UUID == c.UUID {
					if po.inbox {
						s.push(poolOp{kind: opResult, offer: po.o, out: cluster.Failed, inbox: true})
					}
					return
				}
			}
			out = cluster.Failed
		}
		s.push(poolOp{kind: opResult, offer: po.o, out: out, inbox: po.inbox})
	case acd.DEnded:
		delete(ps.elig, c.UUID)
		if ps.pooled[c.UUID] {
			delete(ps.pooled, c.UUID)
			if po, ok := ps.offers[c.UUID]; ok {
				delete(ps.offers, c.UUID)
				if po.inbox { // acknowledge the message (stale once the call is gone)
					s.push(poolOp{kind: opResult, offer: po.o, out: cluster.Failed, inbox: true})
				}
			}
			wrap := max(s.eng.Config().WrapUp, 0)
			s.push(poolOp{kind: opFinish, call: cluster.Call{UUID: c.UUID}, wrap: wrap})
		}
	}
}

// eligible sets who may take pc (the core's Eligible) and reports whether
// that, or pc's group, differs from what the pool was last told. A list
// longer than the pool takes is cut (docs/cluster.md): the call waits
// longer, never goes to an agent that does not qualify. Called with mu held.
func (s *Service) eligible(pc *cluster.Call, strict bool, exts []string) bool {
	ps := s.pool
	if len(exts) > cluster.MaxEligible {
		s.log.Warn("nwayacd cluster: more qualified agents than the pool takes; the rest are not offered this call",
			"call", pc.UUID, "qualified", len(exts), "kept", cluster.MaxEligible)
		exts = exts[:cluster.MaxEligible]
	}
	pc.Strict, pc.Eligible = strict, exts
	key := strings.Join(pc.Groups, ",") + "|"
	if strict {
		key += "," + strings.Join(exts, ",")
	}
	old := ps.elig[pc.UUID]
	ps.elig[pc.UUID] = key
	return old != key
}

// poolAgent tells the pool what an agent logged in on this node can do
// now. Agents of other nodes (rung from here) are not this node's to report.
func (s *Service) poolAgent(ext string) {
	ps := s.pool
	op, groups := s.eng.PoolState(ext)
	switch op {
	case "":
		return
	case "off":
		if !ps.mine[ext] {
			return
		}
		delete(ps.mine, ext)
	default:
		ps.mine[ext] = true
	}
	s.push(poolOp{kind: opAgent, ext: ext, op: cluster.AgentOp(op), grps: groups})
}

// poolWorker runs a shard's pool operations in the order they were decided.
func (s *Service) poolWorker(ctx context.Context, sh *poolShard) {
	var batch []poolOp
	for {
		sh.mu.Lock()
		batch, sh.q = sh.q, batch[:0]
		sh.mu.Unlock()
		for i := range batch {
			s.runPoolOp(ctx, &batch[i])
			batch[i] = poolOp{}
		}
		if len(batch) > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-sh.kick:
		}
	}
}

func (s *Service) runPoolOp(ctx context.Context, op *poolOp) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("nwayacd cluster: pool operation panicked", "panic", r)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, poolOpTimeout)
	defer cancel()
	ps := s.pool
	ep := ps.p.Epoch()
	if err := s.poolOp(ctx, ps, op); err != nil && ctx.Err() != context.Canceled {
		if errors.Is(err, cluster.ErrFenced) && ps.p.Epoch() != ep {
			// Refused as from the incarnation a rejoin has just replaced:
			// the rejoin puts back what this node holds (PoolRejoined),
			// this op's outcome with it. Rebuilding again would reap the
			// new incarnation for nothing.
			return
		}
		// Applied or not, the pool and this node may now disagree (a Finish
		// lost leaves the call's agent offered for ever): rebuild.
		ps.lost.Store(true)
	}
}

// PoolLost reports, once, that a pool operation failed on the way since the
// last call: the node should rejoin (PoolRejoined) once the pool answers.
func (s *Service) PoolLost() bool {
	ps := s.pool
	return ps != nil && ps.lost.Swap(false)
}

// poolOp runs op; an error is returned only when the pool may not have
// applied it (answers such as a duplicate or a stale grant are not errors).
func (s *Service) poolOp(ctx context.Context, ps *poolState, op *poolOp) error {
	switch op.kind {
	case opEnqueue, opQualify:
		// Both may answer with an offer for this node to make; a duplicate
		// enqueue, or a call the pool no longer has, is no error.
		send, benign, what := ps.p.Enqueue, cluster.ErrDup, "enqueue"
		if op.kind == opQualify {
			send, benign, what = ps.p.Qualify, cluster.ErrGone, "qualify"
		}
		o, ok, err := send(ctx, op.call)
		if errors.Is(err, benign) {
			return nil
		}
		if err != nil {
			s.log.Warn("nwayacd cluster: "+what, "call", op.call.UUID, "err", err)
			return err
		}
		if ok {
			s.granted(o, false)
		}
	case opResult:
		cfg := s.engConfig()
		r, err := ps.p.Result(ctx, op.offer, op.out, cfg.NoAnswerLimit, cfg.MemoryExpiry, acd.OverloadRest, op.inbox)
		if err != nil {
			s.log.Warn("nwayacd cluster: offer result", "call", op.offer.Call, "err", err)
			return err
		} else if r.Stale && op.out == cluster.Answered {
			// The pool had taken the grant back (this node reaped, the agent
			// gone) before the answer. The conversation goes on: put it back
			// as this node's truth, so the pool counts the agent busy again,
			// as after a rejoin. Rings are taken back earlier (PoolSuspend),
			// so this is the stall a lease cannot cover; if the pool has given
			// the agent to another call meanwhile, that ring finds it busy.
			s.log.Warn("nwayacd cluster: answered under a grant the pool had taken back", "call", op.offer.Call, "agent", op.offer.Agent)
			if c, ok := s.bridgedCall(op.offer.Call, op.offer.Agent); ok {
				if _, err := ps.p.Restore(ctx, c, op.offer.Agent); err != nil {
					s.log.Error("nwayacd cluster: the pool has the agent on another call", "call", op.offer.Call, "agent", op.offer.Agent, "err", err)
					if errors.Is(err, cluster.ErrFenced) {
						return err
					}
				}
			}
		}
	case opFinish:
		if err := ps.p.Finish(ctx, op.call.UUID, op.wrap); err != nil {
			s.log.Warn("nwayacd cluster: finish", "call", op.call.UUID, "err", err)
			return err
		}
	case opLegEnd:
		if _, err := ps.p.Agent(ctx, op.ext, cluster.LegEnd, nil, op.call.UUID); err != nil {
			s.log.Warn("nwayacd cluster: agent leg end", "ext", op.ext, "err", err)
			return err
		}
	case opRestore:
		if _, err := ps.p.Restore(ctx, op.call, op.ext); err != nil {
			s.log.Warn("nwayacd cluster: restore", "call", op.call.UUID, "err", err)
			return err
		}
	case opAgent:
		var groups []string
		if op.op != cluster.Off {
			groups = op.grps
		}
		r, err := ps.p.Agent(ctx, op.ext, op.op, groups, "")
		if err != nil {
			s.log.Warn("nwayacd cluster: agent", "ext", op.ext, "op", op.op, "err", err)
			return err
		}
		// held: ready refused during the hold after a data loss; busy:
		// refused while the agent rings or talks for a call of any node
		// (also after this node was reaped and rejoined while its agent
		// talked on another node's call: that call's end leaves it off in
		// the pool). Asked again, with what the agent wants by then.
		if r.State == "held" || r.State == "busy" {
			ext := op.ext
			time.AfterFunc(poolRetry, func() {
				s.lock()
				if s.started.Load() {
					s.poolAgent(ext)
				}
				s.unlock()
			})
		}
	}
	return nil
}

func (s *Service) engConfig() acd.Config {
	s.lock()
	defer s.release()
	return s.eng.Config()
}

// granted is the pool's reservation coming back as a fact: the core offers
// the call; when it cannot (the call left meanwhile), the pool is told.
func (s *Service) granted(o cluster.Offer, inbox bool) {
	s.lock()
	ps := s.pool
	if ps.suspended {
		s.log.Debug("nwayacd cluster: grant not offered while the pool may have reaped this node", "call", o.Call, "agent", o.Agent)
		s.push(poolOp{kind: opResult, offer: o, out: cluster.Failed, inbox: inbox})
		s.unlock()
		return
	}
	ps.offers[o.Call] = poolOffer{o: o, inbox: inbox}
	if err := s.eng.Grant(o.Call, o.Agent); err != nil {
		delete(ps.offers, o.Call)
		// The call gone: failed (the pool drops it with its Finish). The
		// agent on a call here the pool does not know of: counted as not
		// answering, so that a disagreement cannot offer it forever.
		out := cluster.Failed
		if acd.CodeOf(err) == acd.ErrState && s.eng.OnCall(o.Agent) {
			out = cluster.NoAnswer
		}
		s.log.Debug("nwayacd cluster: grant not offered", "call", o.Call, "agent", o.Agent, "err", err)
		s.push(poolOp{kind: opResult, offer: o, out: out, inbox: inbox})
	}
	s.unlock()
}

// poolInbox takes the pool's instructions for this node: offers of its
// waiting calls to agents freed anywhere, and revokes.
func (s *Service) poolInbox(ctx context.Context) {
	ps := s.pool
	for ctx.Err() == nil {
		msg, ok, err := ps.p.Next(ctx, time.Second)
		if err != nil {
			s.pollFailed(ctx, "inbox", err)
			continue
		}
		if !ok {
			continue
		}
		s.inboxMsg(ctx, msg)
	}
}

// pollFailed logs a failed read of a pool stream and pauses briefly so a
// pool that is down is not polled in a tight loop; quiet on shutdown.
func (s *Service) pollFailed(ctx context.Context, what string, err error) {
	if ctx.Err() != nil {
		return
	}
	s.log.Warn("nwayacd cluster: "+what, "err", err)
	select {
	case <-ctx.Done():
	case <-time.After(200 * time.Millisecond):
	}
}

func (s *Service) inboxMsg(ctx context.Context, msg cluster.Msg) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("nwayacd cluster: inbox message panicked", "panic", r)
		}
	}()
	ps := s.pool
	ctx, cancel := context.WithTimeout(ctx, poolOpTimeout)
	defer cancel()
	if !ps.p.Current(msg) {
		_ = ps.p.Ack(ctx, msg)
		return
	}
	switch msg.Kind {
	case "offer":
		fine, err := ps.p.Confirm(ctx, msg)
		if err != nil || !fine {
			return // an error: Next delivers it again; not fine: dropped
		}
		s.granted(msg.Offer, true)
	case "revoke":
		s.lock()
		if po, ok := ps.offers[msg.Offer.Call]; ok && po.o.Token == msg.Offer.Token {
			delete(ps.offers, msg.Offer.Call)
			_ = s.eng.Revoke(msg.Offer.Call, msg.Offer.Agent)
		}
		s.unlock()
		_ = ps.p.Ack(ctx, msg)
	default:
		_ = ps.p.Ack(ctx, msg)
	}
}

// PoolSuspend: this node cannot reach the pool and its lease may have
// ended (the others may reap it and grant its agents again): the rings in
// progress are taken back at once (their calls wait again) and the pool is
// told each failed, for when it answers again.
func (s *Service) PoolSuspend() {
	s.lock()
	ps := s.pool
	if ps == nil {
		s.release()
		return
	}
	ps.suspended = true
	for u, po := range ps.offers {
		delete(ps.offers, u)
		if s.eng.Revoke(u, po.o.Agent) == nil {
			s.push(poolOp{kind: opResult, offer: po.o, out: cluster.Failed, inbox: po.inbox})
		}
	}
	s.unlock()
}

// PoolResumed: the pool answers again and this node was not reaped: grants
// are rung again.
func (s *Service) PoolResumed() {
	s.lock()
	if s.pool != nil {
		s.pool.suspended = false
	}
	s.release()
}

// PoolRejoined: the pool reaped this node and it joined again (a new
// epoch): nothing it held is in the pool any more. Rings under the old
// grants stop; the calls waiting here, the calls talking here and the
// agents registered here are put back.
func (s *Service) PoolRejoined() {
	s.lock()
	ps := s.pool
	if ps == nil {
		s.release()
		return
	}
	ps.suspended = false
	for u, po := range ps.offers {
		delete(ps.offers, u)
		_ = s.eng.Revoke(u, po.o.Agent)
	}
	clear(ps.pooled)
	clear(ps.elig)
	clear(ps.mine)
	s.handle(s.eng.Decisions())
	s.eng.Repool()
	for _, b := range s.eng.Bridged() {
		ps.pooled[b.Call.UUID] = true
		s.push(poolOp{kind: opRestore, ext: b.Agent, call: restoreCall(b)})
	}
	for _, x := range s.eng.Extensions() {
		if x.LoggedIn {
			s.poolAgent(x.Extension)
		}
	}
	s.unlock()
}

// SetClusterQueues takes the shared queues as the pool holds them (read
// off the call path by the node's membership): Waiting shows the calls the
// other nodes hold from it.
func (s *Service) SetClusterQueues(qs []acd.WaitingInfo) {
	s.lock()
	defer s.release()
	if s.pool == nil {
		return
	}
	s.pool.remote = s.pool.remote[:0]
	for _, q := range qs {
		if q.Node != s.pool.node {
			s.pool.remote = append(s.pool.remote, q)
		}
	}
	s.ver.Add(1) // REST's cached lists are out of date
}

func (ps *poolState) withRemote(ws []acd.WaitingInfo) []acd.WaitingInfo {
	for i := range ws {
		ws[i].Node = ps.node
	}
	if len(ps.remote) == 0 {
		return ws
	}
	ws = append(ws, ps.remote...)
	// One order on every node: VIP, then oldest (to the millisecond the pool
	// keeps), then by uuid; this node's calls carry finer times than the
	// pool's copy other nodes read.
	sort.SliceStable(ws, func(i, j int) bool {
		a, b := ws[i], ws[j]
		if va, vb := a.Level == acd.LevelVIP, b.Level == acd.LevelVIP; va != vb {
			return va
		}
		if ta, tb := a.CallinTime.UnixMilli(), b.CallinTime.UnixMilli(); ta != tb {
			return ta < tb
		}
		return a.UUID < b.UUID
	})
	return ws
}

// ClusterAgent is the pool's view of one agent (read off the call path).
type ClusterAgent struct {
	Ext, State, Node, Call string
	CallNode               string // the node holding Call
}

// poolSeen is an agent's pool state and when this node first read it: the
// last change another node made, ≤ one tick late.
type poolSeen struct {
	state, call string
	at          time.Time
}

// SetClusterAgents takes the pool's view of the agents. An agent registered
// here that the pool holds "lost" (it talked on a call of a node that died)
// while this node has it on no call: its leg is over, and the pool is told
// (then its state here).
func (s *Service) SetClusterAgents(as []ClusterAgent) {
	s.lock()
	defer s.unlock()
	ps := s.pool
	if ps == nil {
		return
	}
	if ps.agents == nil {
		ps.agents = make(map[string]ClusterAgent, len(as))
	}
	clear(ps.agents)
	if ps.seen == nil {
		ps.seen = make(map[string]poolSeen, len(as))
	}
	now := s.clock.Now()
	for _, a := range as {
		ps.agents[a.Ext] = a
		if old, ok := ps.seen[a.Ext]; !ok || old.state != a.State || old.call != a.Call {
			ps.seen[a.Ext] = poolSeen{state: a.State, call: a.Call, at: now}
		}
	}
	for ext := range ps.seen {
		if _, ok := ps.agents[ext]; !ok {
			delete(ps.seen, ext)
		}
	}
	s.ver.Add(1) // REST's cached lists are out of date
	for _, a := range as {
		// Only when the call is gone from the pool (its node died) or is
		// this node's: a call a live node holds is that node's truth (this
		// node was reaped while its agent talked there; its Finish frees
		// the agent).
		if a.State == "lost" && a.Call != "" && (a.CallNode == "" || a.CallNode == ps.node) &&
			a.Node == ps.node && ps.mine[a.Ext] && !s.eng.OnCall(a.Ext) {
			s.push(poolOp{kind: opLegEnd, ext: a.Ext, call: cluster.Call{UUID: a.Call}})
			s.poolAgent(a.Ext)
		}
	}
}

// poolCallStates maps the pool's agent states to SPEC §4 call states.
var poolCallStates = map[string]acd.CallState{"idle": acd.CallReady, "offered": acd.CallRing,
	"talking": acd.CallTalking, "lost": acd.CallTalking, "wrap": acd.CallTyping}

// overlay shows x as the pool sees it: the node its phone is registered on;
// for an agent of another node, registered, its seat and call state there;
// for one of this node rung or talking for another node's call, that.
func (ps *poolState) overlay(x *acd.ExtensionInfo) {
	a, ok := ps.agents[x.Extension]
	if !ok || a.State == "" || a.State == "off" {
		return
	}
	x.Node = a.Node
	cs, known := poolCallStates[a.State]
	before := x.CallState
	if a.Node != ps.node {
		x.RegStatus = acd.Reged
		if a.State == "away" {
			x.Seat, x.CallState = acd.SeatBusy, acd.CallBusy
		} else if known {
			x.CallState = cs
		}
	} else if (a.State == "offered" || a.State == "talking") && x.CallUUID == "" {
		x.CallState = cs // a call another node holds
	}
	// A state another node brought about changed when this node saw it, not
	// at this node's last own change (a real run showed the login time while
	// the agent talked on another node's call).
	if seen := ps.seen[x.Extension]; x.CallState != before && seen.at.After(x.LastStatusChange) {
		x.LastStatusChange = seen.at
	}
}

// PoolStatus is the routing side of cluster mode for `nwayacd status`: the
// grants this node rings and the operations waiting for the pool (nil on
// a single node).
func (s *Service) PoolStatus() map[string]any {
	s.lock()
	defer s.release()
	ps := s.pool
	if ps == nil {
		return nil
	}
	queued := 0
	for i := range ps.shards {
		sh := &ps.shards[i]
		sh.mu.Lock()
		queued += len(sh.q)
		sh.mu.Unlock()
	}
	return map[string]any{"ringing_grants": len(ps.offers), "pooled_calls": len(ps.pooled),
		"registered_agents": len(ps.mine), "queued_operations": queued}
}

// restoreCall is a call bridged here as the pool takes it back (Restore).
func restoreCall(b acd.BridgedCall) cluster.Call {
	return cluster.Call{UUID: b.Call.UUID, Caller: b.Call.Number, Groups: []string{b.Call.Group},
		VIP: b.Call.Level == acd.LevelVIP, Arrival: b.Call.CallinTime}
}

// PoolKept lists the calls bridged here, which a rejoin puts back in the
// step that reaps the old incarnation (cluster.Member.Rejoin): until the
// restores PoolRejoined sends land, their agents would be free in the pool.
func (s *Service) PoolKept() []cluster.Kept {
	s.lock()
	defer s.release()
	if s.pool == nil {
		return nil
	}
	bs := s.eng.Bridged()
	out := make([]cluster.Kept, 0, len(bs))
	for _, b := range bs {
		out = append(out, cluster.Kept{Call: restoreCall(b), Ext: b.Agent})
	}
	return out
}

// bridgedCall finds call bridged here to ext.
func (s *Service) bridgedCall(call, ext string) (cluster.Call, bool) {
	s.lock()
	defer s.release()
	for _, b := range s.eng.Bridged() {
		if b.Call.UUID == call && b.Agent == ext {
			return restoreCall(b), true
		}
	}
	return cluster.Call{}, false
}
