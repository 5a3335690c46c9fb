package node

import (
	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/api"
	"github.com/nwayacd/mod_nwayacd/go/config"
	"github.com/nwayacd/mod_nwayacd/go/event"
	"github.com/nwayacd/mod_nwayacd/go/metrics"
	"github.com/nwayacd/mod_nwayacd/go/publish"
	"github.com/nwayacd/mod_nwayacd/go/stats"
	"github.com/nwayacd/mod_nwayacd/go/ui"
)

func newStats(cfg config.Config, clock acd.Clock) *stats.Stats {
	c := stats.Config{ServiceLevel: cfg.ServiceLevel, ShortAbandon: cfg.ShortAbandon}
	if clock != nil { // the simulator's virtual time
		c.Now = clock.Now
	}
	return stats.New(c)
}

// observability wires statistics, /metrics and the pages into the REST server.
func (n *Node) observability(st *stats.Stats) api.Observability {
	st.SetSource(n.Service)
	src := metrics.Sources{Stats: st, Node: n.metricsNode}
	if n.hub != nil {
		src.Transports = n.transports
	}
	return api.Observability{Stats: st, Metrics: metrics.Handler(src), MetricsToken: n.cfg.MetricsToken, UI: ui.Files}
}

func (n *Node) metricsNode() metrics.Node {
	c := n.Service.Counters()
	m := metrics.Node{HostFailed: c.HostFailed, HostDropped: c.HostDropped, ChannelEvents: c.ChannelEvents, LiveDropped: c.LiveDropped}
	if n.journal != nil {
		js := n.journal.Stats()
		m.HasJournal, m.JournalBacklog, m.JournalDropped, m.JournalDown = true, js.Backlog, js.Dropped, js.Down
	}
	if n.hub != nil {
		m.SpoolPending = n.hub.Stats().SpoolPending
	}
	return m
}

func (n *Node) transports() []metrics.Transport {
	var out []metrics.Transport
	for _, t := range n.hub.Stats().Transports {
		out = append(out, metrics.Transport{Name: t.Name, Connected: t.Connected, Queued: t.Queued, Spooled: t.Spooled,
			Published: families(t.Published), Dropped: families(t.Dropped)})
	}
	return out
}

func families(c publish.Counts) map[string]uint64 {
	return map[string]uint64{event.FamilyEvent.String(): c.Event, event.FamilyCDR.String(): c.CDR,
		event.FamilyQueue.String(): c.Queue, event.FamilyAgent.String(): c.Agent}
}
