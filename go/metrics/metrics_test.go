package metrics

import (
	"io"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/stats"
)

func sources(groups, perGroup int) Sources {
	st := stats.New(stats.Config{Location: time.UTC})
	var gi []acd.GroupInfo
	var ds []acd.Decision
	now := time.Now()
	for g := 0; g < groups; g++ {
		num := strconv.Itoa(100 + g)
		info := acd.GroupInfo{Number: num}
		for k := 0; k < perGroup; k++ {
			ext := strconv.Itoa(10000 + g*perGroup + k)
			info.Members = append(info.Members, ext)
			cv := acd.CallView{UUID: "u" + ext, Number: "13800138000", Group: num, CallinTime: now.Add(-7 * time.Second)}
			ds = append(ds, acd.Decision{Kind: acd.DOfferAnswered, Ext: ext, Call: cv, At: now},
				acd.Decision{Kind: acd.DAgent, Ext: ext, Status: "talking", At: now},
				acd.Decision{Kind: acd.DOfferHangup, Ext: ext, Call: cv, At: now.Add(45 * time.Second)},
				acd.Decision{Kind: acd.DQueueAdd, Call: acd.CallView{UUID: "w" + ext, Group: num, CallinTime: now}, At: now})
		}
		gi = append(gi, info)
	}
	st.SetSource(stats.StaticSource(gi))
	st.Observe(ds)
	return Sources{
		Stats: st,
		Node: func() Node {
			return Node{HostFailed: 3, ChannelEvents: 1234, HasJournal: true, JournalBacklog: 7}
		},
		Transports: func() []Transport {
			return []Transport{{Name: "redis", Connected: true, Queued: 2, Published: map[string]uint64{"agent": 5}, Dropped: map[string]uint64{"agent": 1}}}
		},
	}
}

func scrape(t testing.TB, src Sources) string {
	rec := httptest.NewRecorder()
	Handler(src).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	if rec.Code != 200 {
		t.Fatalf("scrape: %d %s", rec.Code, b)
	}
	return string(b)
}

// Required names the issue lists.
var Required = []string{"nwayacd_calls_waiting", "nwayacd_longest_wait_seconds", "nwayacd_agents", "nwayacd_calls_total",
	"nwayacd_wait_seconds_bucket", "nwayacd_offer_no_answer_total", "nwayacd_talk_seconds_bucket",
	"nwayacd_publisher_queue_messages", "nwayacd_publisher_dropped_total", "nwayacd_publisher_spool_messages",
	"nwayacd_journal_backlog_writes", "nwayacd_host_commands_failed_total", "nwayacd_channel_events_total",
	"go_goroutines", "process_resident_memory_bytes"}

func TestScrape(t *testing.T) {
	body := scrape(t, sources(2, 2))
	for _, n := range Required {
		if !strings.Contains(body, "\n"+n) {
			t.Errorf("missing %s", n)
		}
	}
	for _, want := range []string{
		`nwayacd_calls_waiting{group="100"} 2`,
		`nwayacd_agents{group="101",state="talking"} 2`,
		`nwayacd_agents{group="101",state="ready"} 0`,
		`nwayacd_calls_total{group="100",result="answered"} 2`,
		`nwayacd_calls_total{group="100",result="abandoned"} 0`,
		`nwayacd_wait_seconds_bucket{group="100",le="5"} 0`,
		`nwayacd_wait_seconds_bucket{group="100",le="10"} 2`,
		`nwayacd_talk_seconds_bucket{group="100",le="60"} 2`,
		`nwayacd_talk_seconds_count{group="100"} 2`,
		`nwayacd_host_commands_failed_total 3`,
		`nwayacd_journal_backlog_writes 7`,
		`nwayacd_publisher_dropped_total{family="agent",transport="redis"} 1`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("missing %q", want)
		}
	}
	// Bounded cardinality: no caller number or call uuid anywhere.
	for _, leak := range []string{"13800138000", "u10000", "w10000"} {
		if strings.Contains(body, leak) {
			t.Errorf("a caller number or uuid is in the metrics: %s", leak)
		}
	}
}

func TestPromlint(t *testing.T) {
	problems, err := promlint.New(strings.NewReader(scrape(t, sources(3, 2)))).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	// The registry is consistent (descriptors match what is collected).
	if _, err := testutil.GatherAndCount(Registry(sources(1, 1))); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkScrape: one full scrape (gather and encode) with 1,000 groups of
// 10 agents each, i.e. 10,000 agents (issue 14: ≤ 50 ms).
func BenchmarkScrape(b *testing.B) {
	src := sources(1000, 10)
	h := Handler(src)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}
