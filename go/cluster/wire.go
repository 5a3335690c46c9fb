package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Queued is one call waiting in a group's shared queue.
type Queued struct {
	Waiting
	Group string
}

// Queues reads the shared queues of groups, each best first (VIP, then
// oldest), in two pipelined round trips: what `queues` shows on any node.
func (m *Member) Queues(ctx context.Context, groups []string) ([]Queued, error) {
	if len(groups) == 0 {
		return nil, nil
	}
	pipe := m.rdb.Pipeline()
	zs := make([]*redis.ZSliceCmd, len(groups))
	for i, g := range groups {
		zs[i] = pipe.ZRangeWithScores(ctx, m.o.Prefix+"wait:"+g, 0, -1)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("cluster: queues: %w", err)
	}
	var out []Queued
	for i, z := range zs {
		for _, e := range z.Val() {
			q := Queued{Group: groups[i]}
			q.UUID = fmt.Sprint(e.Member)
			s := int64(e.Score)
			q.VIP = s < vipBand
			if !q.VIP {
				s -= vipBand
			}
			q.Arrival = time.UnixMilli(s)
			out = append(out, q)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	hs := make([]*redis.SliceCmd, len(out))
	for i := range out {
		hs[i] = pipe.HMGet(ctx, m.o.Prefix+"call:"+out[i].UUID, "node", "caller")
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("cluster: queues: %w", err)
	}
	for i, h := range hs {
		v := h.Val()
		if len(v) == 2 {
			out[i].Node, _ = v[0].(string)
			out[i].Caller, _ = v[1].(string)
		}
	}
	return out, nil
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
