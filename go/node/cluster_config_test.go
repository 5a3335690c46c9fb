package node

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// configChange is a configuration command run on one node and how another
// node shows it has arrived.
type configChange struct {
	name, args string
	seen       func(n *Node) bool
}

func configChanges(i int) []configChange {
	ext := fmt.Sprintf("87%02d", i%100)
	group := fmt.Sprintf("97%02d", i%100)
	job := fmt.Sprintf("J%d", i)
	return []configChange{
		{"nway_add_group", group + " 1", func(n *Node) bool { _, err := n.Service.Group(group); return err == nil }},
		{"nway_add_ext", ext + " J" + ext, func(n *Node) bool { _, err := n.Service.Extension(ext); return err == nil }},
		{"nway_set_ext_jobnumber", ext + " " + job + " true", func(n *Node) bool {
			x, err := n.Service.Extension(ext)
			return err == nil && x.JobNumber == job
		}},
		{"nway_add_blacklist", group + " 13800000001", func(n *Node) bool {
			g, err := n.Service.Group(group)
			return err == nil && slices.Contains(g.Blacklist, "13800000001")
		}},
		{"nway_rm_blacklist", group + " 13800000001", func(n *Node) bool {
			g, err := n.Service.Group(group)
			return err == nil && !slices.Contains(g.Blacklist, "13800000001")
		}},
		{"nway_rm_ext", ext, func(n *Node) bool { _, err := n.Service.Extension(ext); return err != nil }},
		{"nway_rm_group", group, func(n *Node) bool { _, err := n.Service.Group(group); return err != nil }},
	}
}

// propagate runs change on node from and returns how long each other node
// took to show it (polled every millisecond; waitFor's 10 s bound).
func (p *pool3) propagate(from int, c configChange) []time.Duration {
	t := p.t
	start := time.Now()
	cmd(t, p.nodes[from], c.name, c.args)
	var lat []time.Duration
	for i, n := range p.nodes {
		if i == from {
			if !c.seen(n) { // the node that acknowledged shows it at once
				t.Fatalf("%s %s: not shown by the node that acknowledged it", c.name, c.args)
			}
			continue
		}
		deadline := start.Add(10 * time.Second)
		for !c.seen(n) {
			if time.Now().After(deadline) {
				t.Fatalf("%s %s on node %d: not on node %d after 10 s", c.name, c.args, from, i)
			}
			time.Sleep(time.Millisecond)
		}
		lat = append(lat, time.Since(start))
	}
	return lat
}

// An fs_cli change on any node reaches the others through the shared
// PostgreSQL database (LISTEN/NOTIFY): each kind of change, from each node.
// The "within 1 s" is a figure, not a pass mark: the test logs the
// slowest, BenchmarkClusterConfigPropagation reports it.
func TestClusterConfigChangeReachesEveryNode(t *testing.T) {
	p := startPool3(t)
	var worst time.Duration
	for i := range 6 {
		for _, c := range configChanges(i) {
			for _, d := range p.propagate(i%3, c) {
				worst = max(worst, d)
			}
		}
	}
	t.Logf("slowest change to reach another node: %v", worst)
}

// BenchmarkClusterConfigPropagation reports how long a change made on one
// node takes to show on the two others (p50/p99 over every change).
func BenchmarkClusterConfigPropagation(b *testing.B) {
	p := startPool3(b)
	var lat []time.Duration
	i := 0
	for b.Loop() {
		for _, c := range configChanges(i) {
			lat = append(lat, p.propagate(i%3, c)...)
		}
		i++
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
