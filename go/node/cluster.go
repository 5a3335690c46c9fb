package node

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/cluster"
	"github.com/nwayacd/mod_nwayacd/go/service"
	"github.com/redis/go-redis/v9"
)

// membership is this node in the cluster's shared pool (cluster-redis):
// its lease, renewed every tick, and the reaper it runs for the others.
// The members it saw last are kept for status, which must not wait on Redis.
type membership struct {
	rdb     redis.UniversalClient
	m       *cluster.Member
	members atomic.Pointer[clusterView]

	mu        sync.Mutex // beat's outcome, which watch and views read
	lastOK    time.Time  // when the last renewed heartbeat was sent
	lastErr   error      // the last heartbeat's
	suspended bool       // rings taken back (PoolSuspend) until a renewal
	load      atomic.Int64
}

type clusterView struct {
	Node    string
	Epoch   string
	Healthy bool // the last heartbeat was renewed
	Error   string
	Members []cluster.Node
	At      time.Time
}

// startCluster joins the pool when cluster-redis is set (else it does
// nothing: single-node mode has no Redis on the call path).
func (n *Node) startCluster() error {
	cc := n.cfg.Cluster
	if !cc.Enabled() {
		return nil
	}
	rdb, err := cluster.NewClient(cluster.RedisConfig{Addrs: cc.Addrs, MasterName: cc.Sentinel, Username: cc.Username,
		Password: cc.Password, SentinelPassword: cc.SentinelPW, DB: cc.DB, TLS: cc.TLS})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(n.ctx, n.opt.StartTimeout)
	defer cancel()
	m, err := cluster.Join(ctx, rdb, cluster.Options{Node: cc.Node, Addr: n.cfg.RESTListen, Prefix: cc.Prefix, NodeLease: cc.Lease})
	if err != nil {
		rdb.Close()
		return fmt.Errorf("cluster-redis %v: %w", cc.Addrs, err)
	}
	ms := &membership{rdb: rdb, m: m}
	n.cluster = ms
	// From here on the pool reserves this node's agents and offers its
	// waiting calls (go/service/pool.go).
	n.Service.UsePool(m, cc.Node)
	ms.refresh(ctx, nil)
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		ms.run(n)
	}()
	n.log.Info("nwayacd: cluster member", "node", cc.Node, "epoch", m.Epoch())
	return nil
}

var _ service.Pool = (*cluster.Member)(nil)

func (ms *membership) run(n *Node) {
	ms.mu.Lock()
	ms.lastOK = time.Now() // joined just now
	ms.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { ms.watch(n); done <- struct{}{} }()
	go func() { ms.views(n); done <- struct{}{} }()
	ms.beat(n)
	<-done
	<-done
}

// beat renews the lease every tick, and rejoins when the pool reaped this
// node or lost one of its operations. It does nothing else, so that no
// read of the pool's views can hold a renewal up.
func (ms *membership) beat(n *Node) {
	o := ms.m.Options()
	t := time.NewTicker(o.Tick)
	defer t.Stop()
	rejoinDue := false
	for {
		select {
		case <-n.ctx.Done():
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if err := ms.m.Leave(ctx); err != nil {
				n.log.Warn("nwayacd cluster leave", "err", err)
			}
			return // the client is closed once the service stopped (Node.Stop)
		case <-t.C:
		}
		sent := time.Now()
		ctx, cancel := context.WithTimeout(n.ctx, o.Tick)
		reaped, err := ms.m.Tick(ctx, int(ms.load.Load()))
		lost := false
		if err == nil && (rejoinDue || n.Service.PoolLost()) {
			// An operation failed on the way (the connection cut for less
			// than the lease): the pool may hold what this node no longer
			// does (a Finish lost) or lack what it does. Start over, as after
			// a reap.
			if !rejoinDue {
				n.log.Warn("nwayacd cluster: a pool operation was lost; rejoining to put back what this node holds")
			}
			lost = true
		}
		if errors.Is(err, cluster.ErrFenced) || lost {
			// Reaped while unreachable: a new incarnation, and the routing
			// puts back what this node holds.
			if !lost {
				n.log.Warn("nwayacd cluster: this node's lease had expired; rejoining")
			}
			n.Service.PoolLost() // what failed before the rejoin is put back by it
			if lost {
				// The rejoin releases this node's reservations at once: take
				// its rings back first, or the pool could grant a ringing
				// agent elsewhere before PoolRejoined stops the ring.
				ms.suspend(n)
			}
			// A rejoin that fails is tried again at the next renewal: the
			// loss it repairs was reported once.
			rejoinDue = lost
			if err = ms.m.Rejoin(ctx, n.Service.PoolKept()...); err == nil {
				rejoinDue = false
				ms.mu.Lock()
				n.Service.PoolRejoined()
				ms.suspended = false
				ms.mu.Unlock()
			}
		}
		ms.mu.Lock()
		ms.lastErr = err
		if err == nil {
			ms.lastOK = sent
			if ms.suspended {
				n.Service.PoolResumed()
			}
			ms.suspended = false
		}
		ms.mu.Unlock()
		for _, d := range reaped {
			n.log.Warn("nwayacd cluster: reaped a node whose lease expired", "node", d)
		}
		cancel()
	}
}

// watch takes this node's rings back once half its lease has gone by
// without a renewal: the lease may end before Redis answers again, and a
// reaped node's agents are granted elsewhere (consistency over
// availability). It runs apart from beat, so that a renewal held up (a
// Redis that does not answer, a starved goroutine) cannot hold it up too.
func (ms *membership) watch(n *Node) {
	o := ms.m.Options()
	t := time.NewTimer(o.NodeLease / 2)
	defer t.Stop()
	for ticked(n.ctx, t.C) {
		lastOK, err := ms.last()
		since := time.Since(lastOK)
		next := o.NodeLease/2 - since
		if next <= 0 {
			if ms.suspend(n) {
				n.log.Warn("nwayacd cluster: pool unreachable; rings taken back until it answers",
					"since_renewal", since.Round(time.Millisecond), "err", err)
			}
			next = o.Tick
		}
		t.Reset(next)
	}
}

// last is the heartbeat's outcome: when the last renewed one was sent, and
// the last one's error.
func (ms *membership) last() (time.Time, error) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return ms.lastOK, ms.lastErr
}

// ticked waits for c; false once ctx ends.
func ticked(ctx context.Context, c <-chan time.Time) bool {
	select {
	case <-ctx.Done():
		return false
	case <-c:
		return true
	}
}

// suspend stops the rings of shared agents until the pool answers; false
// when they were stopped already.
func (ms *membership) suspend(n *Node) bool {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if ms.suspended {
		return false
	}
	n.Service.PoolSuspend()
	ms.suspended = true
	return true
}

// views reads the members, the shared queues and the agents for status and
// routing, every tick while the lease is renewed.
func (ms *membership) views(n *Node) {
	o := ms.m.Options()
	t := time.NewTicker(o.Tick)
	defer t.Stop()
	for ticked(n.ctx, t.C) {
		_, err := ms.last()
		ms.load.Store(int64(n.load())) // here: it waits for the service's lock
		ctx, cancel := context.WithTimeout(n.ctx, o.Tick)
		ms.refresh(ctx, err)
		if err == nil {
			ms.queues(ctx, n)
			ms.agents(ctx, n)
		}
		cancel()
	}
}

// queues hands the service the shared queues for `queues` on this node:
// the waiting calls and those being offered, with the agent each rings.
func (ms *membership) queues(ctx context.Context, n *Node) {
	gs := n.Service.Groups()
	names := make([]string, 0, len(gs))
	for _, g := range gs {
		names = append(names, g.Number)
	}
	qs, err := ms.m.Queues(ctx, names)
	if err != nil {
		n.log.Debug("nwayacd cluster: queues", "err", err)
		return
	}
	out := make([]acd.WaitingInfo, 0, len(qs))
	for _, q := range qs {
		l := acd.LevelNormal
		if q.VIP {
			l = acd.LevelVIP
		}
		out = append(out, acd.WaitingInfo{UUID: q.UUID, Number: q.Caller, RealCallinNumber: q.Caller, Group: q.Group,
			Level: l, CallinTime: q.Arrival, Node: q.Node, OfferedTo: q.OfferedTo})
	}
	n.Service.SetClusterQueues(out)
}

func (ms *membership) refresh(ctx context.Context, err error) {
	v := &clusterView{Node: ms.m.Options().Node, Epoch: ms.m.Epoch(), Healthy: err == nil, At: time.Now()}
	if err == nil {
		v.Members, err = ms.m.Members(ctx)
	}
	if err != nil {
		v.Healthy, v.Error = false, err.Error()
		if old := ms.members.Load(); old != nil {
			v.Members = old.Members
		}
	}
	ms.members.Store(v)
}

// load is what the other members see of this node: its calls.
func (n *Node) load() int {
	if n.Service == nil {
		return 0
	}
	return n.Service.Status().Calls
}

// clusterStatus is the status section of a cluster member (nil otherwise).
func (n *Node) clusterStatus() map[string]any {
	if n.cluster == nil {
		return nil
	}
	v := n.cluster.members.Load()
	members := make([]map[string]any, 0, len(v.Members))
	for _, m := range v.Members {
		members = append(members, map[string]any{"node": m.ID, "addr": m.Addr, "epoch": m.Epoch,
			"last_heartbeat": m.Heartbeat.UTC().Format(time.RFC3339Nano), "load": m.Load,
			"lease_until": m.Expires.UTC().Format(time.RFC3339Nano)})
	}
	out := map[string]any{"node": v.Node, "epoch": v.Epoch, "healthy": v.Healthy, "members": members,
		"seen_at": v.At.UTC().Format(time.RFC3339Nano)}
	if v.Error != "" {
		out["error"] = v.Error
	}
	if r := n.Service.PoolStatus(); r != nil {
		out["routing"] = r
	}
	return out
}

// agents hands the service the pool's view of every extension.
func (ms *membership) agents(ctx context.Context, n *Node) {
	xs := n.Service.Extensions()
	exts := make([]string, 0, len(xs))
	for _, x := range xs {
		exts = append(exts, x.Extension)
	}
	vs, err := ms.m.Agents(ctx, exts)
	if err != nil {
		n.log.Debug("nwayacd cluster: agents", "err", err)
		return
	}
	out := make([]service.ClusterAgent, 0, len(vs))
	for _, v := range vs {
		out = append(out, service.ClusterAgent{Ext: v.Ext, State: v.State, Node: v.Node, Call: v.Call, CallNode: v.CallNode})
	}
	n.Service.SetClusterAgents(out)
}
