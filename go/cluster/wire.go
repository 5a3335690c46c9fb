package cluster

import (
	"context"
	"fmt"
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

// Agents reads the pool's view of exts in one pipelined round trip (an
// agent the pool never saw has State "").
func (m *Member) Agents(ctx context.Context, exts []string) ([]AgentView, error) {
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
	out := make([]AgentView, len(exts))
	for i, h := range hs {
		out[i].Ext = exts[i]
		if v := h.Val(); len(v) == 3 {
			out[i].State, _ = v[0].(string)
			out[i].Node, _ = v[1].(string)
			out[i].Call, _ = v[2].(string)
		}
	}
	return out, nil
}
