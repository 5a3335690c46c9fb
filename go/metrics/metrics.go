// Package metrics exposes a node to Prometheus. Everything is gathered at
// scrape time from the stats package's own state and from counters the
// service, publishers and journal already keep: a scrape never walks the
// core under its lock, and no caller number or call uuid becomes a label.
package metrics

import (
	"bufio"
	"compress/gzip"
	"io"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/expfmt"

	"github.com/nwayacd/mod_nwayacd/go/stats"
)

// Transport is one publisher's counters (Redis, AMQP).
type Transport struct {
	Name      string
	Connected bool
	Queued    int               // messages waiting in memory
	Spooled   int               // CDRs on disk not yet accepted
	Published map[string]uint64 // by family (event, cdr, queue, agent)
	Dropped   map[string]uint64
}

// Node is the node-wide counters.
type Node struct {
	HostFailed, HostDropped uint64 // FreeSWITCH API commands
	ChannelEvents           uint64
	LiveDropped             uint64 // messages a slow live subscriber (SSE) missed
	JournalBacklog          int
	JournalDropped          uint64
	JournalDown             bool
	HasJournal              bool
	SpoolPending            int
}

// Sources are what a scrape reads. Nil funcs are left out.
type Sources struct {
	Stats      *stats.Stats
	Node       func() Node
	Transports func() []Transport
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

var (
	dPubQueue     = desc("nwayacd_publisher_queue_messages", "Messages waiting in memory for the broker.", "transport")
	dPubSpool     = desc("nwayacd_publisher_spool_messages", "CDRs on the disk spool not yet accepted by the broker.", "transport")
	dPubUp        = desc("nwayacd_publisher_connected", "1 when the transport is connected to its broker.", "transport")
	dPubSent      = desc("nwayacd_publisher_published_total", "Messages accepted by the broker.", "transport", "family")
	dPubDropped   = desc("nwayacd_publisher_dropped_total", "Messages never delivered (queue full, send failed, closed).", "transport", "family")
	dSpoolPending = desc("nwayacd_publisher_spool_pending_messages", "CDRs accepted but not yet written to the spool.")
	dBacklog      = desc("nwayacd_journal_backlog_writes", "Database writes queued behind the call path.")
	dJDropped     = desc("nwayacd_journal_dropped_total", "Database writes lost (queue full or after close).")
	dJDown        = desc("nwayacd_journal_down", "1 while the database refuses writes and the journal retries.")
	dHostFailed   = desc("nwayacd_host_commands_failed_total", "FreeSWITCH API commands that failed.")
	dHostDropped  = desc("nwayacd_host_commands_dropped_total", "FreeSWITCH API commands dropped because their queue was full.")
	dChanEvents   = desc("nwayacd_channel_events_total", "Channel events received from FreeSWITCH.")
	dLiveDropped  = desc("nwayacd_live_dropped_total", "Messages live subscribers (SSE) missed because they were slow.")
)

type collector struct{ src Sources }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{dPubQueue, dPubSpool, dPubUp, dPubSent, dPubDropped, dSpoolPending, dBacklog, dJDropped, dJDown,
		dHostFailed, dHostDropped, dChanEvents, dLiveDropped} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	if c.src.Node != nil {
		n := c.src.Node()
		ch <- prometheus.MustNewConstMetric(dHostFailed, prometheus.CounterValue, float64(n.HostFailed))
		ch <- prometheus.MustNewConstMetric(dHostDropped, prometheus.CounterValue, float64(n.HostDropped))
		ch <- prometheus.MustNewConstMetric(dChanEvents, prometheus.CounterValue, float64(n.ChannelEvents))
		ch <- prometheus.MustNewConstMetric(dLiveDropped, prometheus.CounterValue, float64(n.LiveDropped))
		ch <- prometheus.MustNewConstMetric(dSpoolPending, prometheus.GaugeValue, float64(n.SpoolPending))
		if n.HasJournal {
			ch <- prometheus.MustNewConstMetric(dBacklog, prometheus.GaugeValue, float64(n.JournalBacklog))
			ch <- prometheus.MustNewConstMetric(dJDropped, prometheus.CounterValue, float64(n.JournalDropped))
			ch <- prometheus.MustNewConstMetric(dJDown, prometheus.GaugeValue, b2f(n.JournalDown))
		}
	}
	if c.src.Transports != nil {
		for _, t := range c.src.Transports() {
			ch <- prometheus.MustNewConstMetric(dPubQueue, prometheus.GaugeValue, float64(t.Queued), t.Name)
			ch <- prometheus.MustNewConstMetric(dPubSpool, prometheus.GaugeValue, float64(t.Spooled), t.Name)
			ch <- prometheus.MustNewConstMetric(dPubUp, prometheus.GaugeValue, b2f(t.Connected), t.Name)
			for f, v := range t.Published {
				ch <- prometheus.MustNewConstMetric(dPubSent, prometheus.CounterValue, float64(v), t.Name, f)
			}
			for f, v := range t.Dropped {
				ch <- prometheus.MustNewConstMetric(dPubDropped, prometheus.CounterValue, float64(v), t.Name, f)
			}
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Registry builds a registry with the node-wide collector and the Go
// runtime and process collectors. One per node: a module reload builds a new one.
func Registry(src Sources) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(&collector{src: src},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Handler serves the per-group families (rendered straight from the stats,
// see groups.go) followed by the registry's, in the text exposition format.
func Handler(src Sources) http.Handler {
	return &handler{src: src, reg: Registry(src), sem: make(chan struct{}, 2)}
}

type handler struct {
	src Sources
	reg *prometheus.Registry
	sem chan struct{} // concurrent scrapes
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	select {
	case h.sem <- struct{}{}:
		defer func() { <-h.sem }()
	default:
		http.Error(w, "too many concurrent scrapes", http.StatusServiceUnavailable)
		return
	}
	mfs, err := h.reg.Gather()
	if err != nil {
		http.Error(w, "gathering metrics: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	var out io.Writer = w
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		w.Header().Set("Content-Encoding", "gzip")
		gz, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
		defer gz.Close()
		out = gz
	}
	bw := bufio.NewWriterSize(out, 64<<10)
	defer bw.Flush()
	if h.src.Stats != nil {
		writeGroups(bw, h.src.Stats)
	}
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(bw, mf); err != nil {
			return // the scraper went away
		}
	}
}
