package node

import (
	"os"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/api"
	"github.com/nwayacd/mod_nwayacd/go/config"
	"github.com/nwayacd/mod_nwayacd/go/event"
	"github.com/nwayacd/mod_nwayacd/go/metrics"
	"github.com/nwayacd/mod_nwayacd/go/publish"
	"github.com/nwayacd/mod_nwayacd/go/reports"
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
	o := api.Observability{Stats: st, Metrics: metrics.Handler(src), MetricsToken: n.cfg.MetricsToken, UI: ui.Files}
	if n.pgStore != nil {
		o.Reports = reports.New(n.pgStore.Pool(), n.cfg.ServiceLevel, n.cfg.ShortAbandon)
	}
	return o
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

// sequencer stamps every published message with this node's id and a
// sequence number, and appends it to the Redis Streams when Redis is the
// publisher and stream-maxlen > 0.
func (n *Node) sequencer(cfg config.Config) *publish.Sequencer {
	node, err := os.Hostname()
	if err != nil || node == "" {
		node = cfg.CTIIP
	}
	if cfg.Cluster.Enabled() {
		node = cfg.Cluster.Node // one name per node in events and in the pool
	}
	sc := publish.StreamConfig{Node: node, CTIIP: cfg.CTIIP, MaxLen: int64(cfg.StreamMaxLen), Linger: cfg.PublishLinger, Tap: n.opt.Tap, Logger: n.log}
	if cfg.Redis && cfg.StreamMaxLen > 0 {
		sc.Redis = &publish.RedisConfig{Addr: cfg.RedisAddr, Password: cfg.RedisPass, DB: cfg.RedisDB}
	}
	if n.hub == nil {
		return publish.NewSequencer(sc, nil)
	}
	return publish.NewSequencer(sc, n.hub)
}

// apiService is the service as REST sees it, with the sequencer's
// resumable event stream (ids, Last-Event-ID) in place of the plain one.
type apiService struct {
	durableService
	log *publish.Sequencer
}

func (a apiService) SubscribeSSE(lastID string, buf int) (<-chan []byte, func()) {
	return a.log.SubscribeSSE(lastID, buf)
}
