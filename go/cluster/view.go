package cluster

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Node is one member as the pool sees it.
type Node struct {
	ID        string
	Addr      string
	Epoch     int64
	Heartbeat time.Time
	Load      int
	Joined    time.Time
	Expires   time.Time // lease end; past it the node is reaped
}

// Members lists the nodes of the pool, by id.
func (m *Member) Members(ctx context.Context) ([]Node, error) {
	zs, err := m.rdb.ZRangeWithScores(ctx, m.o.Prefix+"nodes", 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("cluster: members: %w", err)
	}
	out := make([]Node, 0, len(zs))
	for _, z := range zs {
		id := fmt.Sprint(z.Member)
		h, err := m.rdb.HGetAll(ctx, m.o.Prefix+"node:"+id).Result()
		if err != nil {
			return nil, fmt.Errorf("cluster: members: %w", err)
		}
		n := Node{ID: id, Addr: h["addr"], Expires: time.UnixMilli(int64(z.Score))}
		n.Epoch, _ = strconv.ParseInt(h["epoch"], 10, 64)
		n.Load, _ = strconv.Atoi(h["load"])
		hb, _ := strconv.ParseInt(h["hb"], 10, 64)
		n.Heartbeat = time.UnixMilli(hb)
		j, _ := strconv.ParseInt(h["joined"], 10, 64)
		n.Joined = time.UnixMilli(j)
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Waiting is one queued call as the pool sees it.
type Waiting struct {
	UUID    string
	Node    string // the node holding the caller
	Caller  string
	VIP     bool
	Arrival time.Time
}

// Waiting lists a group's queue, best first (VIP, then oldest).
func (m *Member) Waiting(ctx context.Context, group string) ([]Waiting, error) {
	zs, err := m.rdb.ZRangeWithScores(ctx, m.o.Prefix+"wait:"+group, 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("cluster: waiting %s: %w", group, err)
	}
	out := make([]Waiting, 0, len(zs))
	for _, z := range zs {
		u := fmt.Sprint(z.Member)
		h, err := m.rdb.HMGet(ctx, m.o.Prefix+"call:"+u, "node", "caller").Result()
		if err != nil {
			return nil, fmt.Errorf("cluster: waiting %s: %w", group, err)
		}
		w := Waiting{UUID: u}
		w.Node, _ = h[0].(string)
		w.Caller, _ = h[1].(string)
		s := int64(z.Score)
		w.VIP = s < vipBand
		if !w.VIP {
			s -= vipBand
		}
		w.Arrival = time.UnixMilli(s)
		out = append(out, w)
	}
	return out, nil
}

// AgentView is one agent as the pool sees it.
type AgentView struct {
	Ext       string
	State     string // idle, offered, talking, away, wrap, lost, off ("" = unknown)
	Node      string // where its phone is registered
	Call      string // the call it is offered or talks on
	NoAnswers int
	Groups    []string
}

// AgentView reads one agent.
func (m *Member) AgentView(ctx context.Context, ext string) (AgentView, error) {
	h, err := m.rdb.HGetAll(ctx, m.o.Prefix+"agent:"+ext).Result()
	if err != nil {
		return AgentView{}, fmt.Errorf("cluster: agent %s: %w", ext, err)
	}
	v := AgentView{Ext: ext, State: h["state"], Node: h["node"], Call: h["call"]}
	v.NoAnswers, _ = strconv.Atoi(h["noans"])
	if g := h["groups"]; g != "" {
		v.Groups = splitComma(g)
	}
	return v, nil
}

// Holder returns the node holding call uuid ("" = none).
func (m *Member) Holder(ctx context.Context, uuid string) (string, error) {
	n, err := m.rdb.HGet(ctx, m.o.Prefix+"call:"+uuid, "node").Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("cluster: holder %s: %w", uuid, err)
	}
	return n, nil
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}
