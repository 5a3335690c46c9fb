package cluster

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Queued is one call in a group's shared queue: waiting, or being offered
// (OfferedTo rings for it), as the holding node lists its own calls.
type Queued struct {
	Waiting
	Group     string
	OfferedTo string
}

// Queues reads the shared queues of groups, each best first (VIP, then
// oldest), and then the calls being offered, in four pipelined round trips:
// what `queues` shows on any node. The offered calls are found among every
// node's calls: an index of reservations would cost every routed call two
// more writes, for the sake of a view.
func (m *Member) Queues(ctx context.Context, groups []string) ([]Queued, error) {
	if len(groups) == 0 {
		return nil, nil
	}
	pipe := m.rdb.Pipeline()
	zs := make([]*redis.ZSliceCmd, len(groups))
	for i, g := range groups {
		zs[i] = pipe.ZRangeWithScores(ctx, m.o.Prefix+"wait:"+g, 0, -1)
	}
	nodesCmd := pipe.ZRange(ctx, m.o.Prefix+"nodes", 0, -1)
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("cluster: queues: %w", err)
	}
	var out []Queued
	for i, z := range zs {
		for _, e := range z.Val() {
			q := Queued{Group: groups[i]}
			q.UUID = fmt.Sprint(e.Member)
			q.VIP, q.Arrival = fromScore(int64(e.Score))
			out = append(out, q)
		}
	}
	hs := make([]*redis.SliceCmd, len(out))
	for i := range out {
		hs[i] = pipe.HMGet(ctx, m.o.Prefix+"call:"+out[i].UUID, "node", "caller")
	}
	nodes := nodesCmd.Val()
	ns := make([]*redis.StringSliceCmd, len(nodes))
	for i, n := range nodes {
		ns[i] = pipe.SMembers(ctx, m.o.Prefix+"node:"+n+":calls")
	}
	if len(hs)+len(ns) > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("cluster: queues: %w", err)
		}
	}
	for i, h := range hs {
		v := h.Val()
		if len(v) == 2 {
			out[i].Node, _ = v[0].(string)
			out[i].Caller, _ = v[1].(string)
		}
	}
	var calls []string
	for _, c := range ns {
		calls = append(calls, c.Val()...)
	}
	offered, err := m.offered(ctx, groups, calls)
	if err != nil {
		return nil, err
	}
	return append(out, offered...), nil
}

// offered reads calls and keeps those of groups in state offered.
func (m *Member) offered(ctx context.Context, groups, calls []string) ([]Queued, error) {
	if len(calls) == 0 {
		return nil, nil
	}
	pipe := m.rdb.Pipeline()
	cs := make([]*redis.SliceCmd, len(calls))
	for i, call := range calls {
		cs[i] = pipe.HMGet(ctx, m.o.Prefix+"call:"+call, "node", "caller", "groups", "score", "state", "agent")
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("cluster: queues: %w", err)
	}
	want := make(map[string]bool, len(groups))
	for _, g := range groups {
		want[g] = true
	}
	var out []Queued
	for i, c := range cs {
		v := make([]string, 6)
		for j, x := range c.Val() {
			v[j], _ = x.(string)
		}
		if v[4] != "offered" || v[5] == "" {
			continue
		}
		score, err := strconv.ParseInt(v[3], 10, 64)
		if err != nil {
			continue
		}
		for _, g := range strings.Split(v[2], ",") {
			if want[g] {
				q := Queued{Group: g, OfferedTo: v[5]}
				q.UUID, q.Node, q.Caller = calls[i], v[0], v[1]
				q.VIP, q.Arrival = fromScore(score)
				out = append(out, q)
				break
			}
		}
	}
	return out, nil
}

// fromScore undoes a wait score: VIP, and the arrival.
func fromScore(s int64) (vip bool, arrival time.Time) {
	vip = s < vipBand
	if !vip {
		s -= vipBand
	}
	return vip, time.UnixMilli(s)
}

// AgentState is one agent as the pool holds it, with the node holding
// the call it rings or talks on.
type AgentState struct {
	Ext, State, Node, Call, CallNode string
}

// Agents reads the pool's view of exts in two pipelined round trips (an
// agent the pool never saw has State "").
func (m *Member) Agents(ctx context.Context, exts []string) ([]AgentState, error) {
	if len(exts) == 0 {
		return nil, nil
	}
	pipe := m.rdb.Pipeline()
	hs := make([]*redis.SliceCmd, len(exts))
	for i, e := range exts {
		hs[i] = pipe.HMGet(ctx, m.o.Prefix+"agent:"+e, "state", "node", "call")
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("cluster: agents: %w", err)
	}
	out := make([]AgentState, len(exts))
	cs := make([]*redis.StringCmd, len(exts))
	calls := false
	for i, h := range hs {
		out[i].Ext = exts[i]
		if v := h.Val(); len(v) == 3 {
			out[i].State, _ = v[0].(string)
			out[i].Node, _ = v[1].(string)
			out[i].Call, _ = v[2].(string)
		}
		if out[i].Call != "" {
			cs[i] = pipe.HGet(ctx, m.o.Prefix+"call:"+out[i].Call, "node")
			calls = true
		}
	}
	if !calls {
		return out, nil
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("cluster: agents: %w", err)
	}
	for i, c := range cs {
		if c != nil {
			out[i].CallNode = c.Val()
		}
	}
	return out, nil
}

// Control queues a call-control command (its fields) for node, which holds
// the call: each node takes its own with NextControl.
func (m *Member) Control(ctx context.Context, node string, fields []string) error {
	for _, f := range fields {
		if strings.ContainsAny(f, "\t\n") {
			return fmt.Errorf("cluster: control: bad field %q", f)
		}
	}
	if err := m.rdb.RPush(ctx, m.o.Prefix+"ctl:"+node, strings.Join(fields, "\t")).Err(); err != nil {
		return fmt.Errorf("cluster: control for %s: %w", node, err)
	}
	return nil
}

// NextControl waits up to wait for the next command another node forwarded
// to this one.
func (m *Member) NextControl(ctx context.Context, wait time.Duration) ([]string, bool, error) {
	r, err := m.rdb.BLPop(ctx, wait, m.o.Prefix+"ctl:"+m.o.Node).Result()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("cluster: control: %w", err)
	}
	return strings.Split(r[1], "\t"), true, nil
}

// controlReplyTTL bounds how long an outcome nobody waits for any more
// stays in Redis.
const controlReplyTTL = 30 * time.Second

// ControlReply hands the outcome (its fields) of a forwarded command back
// to the node that forwarded it, which waits on reply id (AwaitControl).
func (m *Member) ControlReply(ctx context.Context, id string, fields []string) error {
	key := m.o.Prefix + "ctlreply:" + id
	pipe := m.rdb.TxPipeline()
	pipe.RPush(ctx, key, strings.Join(fields, "\t"))
	pipe.Expire(ctx, key, controlReplyTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("cluster: control reply: %w", err)
	}
	return nil
}

// AwaitControl waits up to wait for the outcome of the forwarded command
// with reply id; false when none came in time.
func (m *Member) AwaitControl(ctx context.Context, id string, wait time.Duration) ([]string, bool, error) {
	r, err := m.rdb.BLPop(ctx, wait, m.o.Prefix+"ctlreply:"+id).Result()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("cluster: control reply: %w", err)
	}
	return strings.Split(r[1], "\t"), true, nil
}
