package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/stats"
)

func testStats() *stats.Stats {
	st := stats.New(stats.Config{Location: time.UTC})
	st.SetSource(stats.StaticSource([]acd.GroupInfo{{Number: "110", Members: []string{"1000"}}, {Number: "120"}}))
	now := time.Now()
	cv := acd.CallView{UUID: "u1", Group: "110", CallinTime: now.Add(-4 * time.Second)}
	st.Observe([]acd.Decision{
		{Kind: acd.DAgent, Ext: "1000", Status: "login", At: now},
		{Kind: acd.DOfferAnswered, Ext: "1000", Call: cv, At: now},
		{Kind: acd.DAgent, Ext: "1000", Status: "talking", At: now},
	})
	return st
}

func TestStatsRoutes(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	tok := "Nway " + ts.login(t)
	if r := ts.do(t, "GET", "/api/stats/groups", tok, ""); r.status != 404 || !strings.Contains(r.body, "not enabled") {
		t.Fatalf("without stats: %d %s", r.status, r.body)
	}
	ts.SetObservability(Observability{Stats: testStats()})
	if r := ts.do(t, "GET", "/api/stats/groups", "", ""); r.status != 401 {
		t.Fatalf("no token: %d %s", r.status, r.body)
	}
	r := ts.do(t, "GET", "/api/stats/groups", tok, "")
	var doc struct {
		Groups []stats.GroupStats `json:"groups"`
	}
	if r.status != 200 || json.Unmarshal([]byte(r.body), &doc) != nil || len(doc.Groups) != 2 {
		t.Fatalf("groups: %d %s", r.status, r.body)
	}
	g := doc.Groups[0]
	if g.Group != "110" || g.Today.Answered != 1 || g.Today.AnsweredInSL != 1 || g.Agents["talking"] != 1 {
		t.Fatalf("group 110: %+v", g)
	}
	r = ts.do(t, "GET", "/api/stats/agents?extension=1000", tok, "")
	var adoc struct {
		Agents []stats.AgentStats `json:"agents"`
	}
	if r.status != 200 || json.Unmarshal([]byte(r.body), &adoc) != nil || len(adoc.Agents) != 1 ||
		adoc.Agents[0].State != "talking" || adoc.Agents[0].Today.Calls != 1 {
		t.Fatalf("agents: %d %s", r.status, r.body)
	}
	if r := ts.do(t, "POST", "/api/stats/agents", tok, "{}"); r.status != 405 {
		t.Fatalf("POST: %d", r.status)
	}
}

func TestMetricsAndUIRoutes(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	if r := ts.do(t, "GET", "/metrics", "", ""); r.status != 404 {
		t.Fatalf("metrics without a handler: %d", r.status)
	}
	ts.SetObservability(Observability{
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprint(w, "# HELP x y\n# TYPE x gauge\nx 1\n")
		}),
		MetricsToken: "s3cret",
		UI:           fstest.MapFS{"index.html": {Data: []byte("<html>hi</html>")}, "app.js": {Data: []byte("1")}},
	})
	if r := ts.do(t, "GET", "/metrics", "", ""); r.status != 401 {
		t.Fatalf("metrics without token: %d", r.status)
	}
	if r := ts.do(t, "GET", "/metrics", " Bearer wrong", ""); r.status != 401 {
		t.Fatalf("metrics with a wrong token: %d", r.status)
	}
	if r := ts.do(t, "GET", "/metrics", " Bearer s3cret", ""); r.status != 200 || !strings.Contains(r.body, "x 1") {
		t.Fatalf("metrics: %d %s", r.status, r.body)
	}
	if r := ts.do(t, "GET", "/ui/", "", ""); r.status != 200 || !strings.Contains(r.body, "<html>hi") {
		t.Fatalf("ui: %d %s", r.status, r.body)
	}
	if r := ts.do(t, "GET", "/ui/app.js", "", ""); r.status != 200 || !strings.Contains(r.header.Get("Content-Type"), "javascript") {
		t.Fatalf("app.js: %d %v", r.status, r.header)
	}
	for _, p := range []string{"/ui/nope.js", "/ui/../api/queues", "/ui/%2e%2e/x"} {
		if r := ts.do(t, "GET", p, "", ""); r.status == 200 { // fasthttp cleans "..": /api/queues then wants a token
			t.Fatalf("%s: %d %s", p, r.status, r.body)
		}
	}
	if r := ts.do(t, "GET", "/nothing", "", ""); r.status != 404 {
		t.Fatalf("unknown: %d", r.status)
	}
}

// BenchmarkStatsGroups: GET /api/stats/groups with 1,000 groups (issue 14:
// ≥ 5,000 req/s), gzip accepted as browsers and Grafana send it.
func BenchmarkStatsGroups(b *testing.B) {
	st := stats.New(stats.Config{Location: time.UTC})
	var gi []acd.GroupInfo
	var ds []acd.Decision
	now := time.Now()
	for g := 0; g < 1000; g++ {
		num := strconv.Itoa(100 + g)
		info := acd.GroupInfo{Number: num}
		for k := 0; k < 10; k++ {
			ext := strconv.Itoa(10000 + g*10 + k)
			info.Members = append(info.Members, ext)
			cv := acd.CallView{UUID: ext, Group: num, CallinTime: now.Add(-time.Minute)}
			ds = append(ds, acd.Decision{Kind: acd.DOfferAnswered, Ext: ext, Call: cv, At: now},
				acd.Decision{Kind: acd.DAgent, Ext: ext, Status: "talking", At: now})
		}
		gi = append(gi, info)
	}
	st.SetSource(stats.StaticSource(gi))
	st.Observe(ds)
	ts := startServer(b, Config{}, nil)
	ts.SetObservability(Observability{Stats: st})
	auth := "Nway " + ts.login(b)
	req := fmt.Appendf(nil, "GET /api/stats/groups HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nAuthorization: %s\r\n\r\n", auth)
	b.ResetTimer()
	res := load(b, ts.addr, benchConns, max(b.N, benchConns), req)
	b.ReportMetric(res.rps(), "req/s")
	b.ReportMetric(float64(res.p99())/float64(time.Millisecond), "p99-ms")
	b.ReportMetric(float64(res.bytes), "body-bytes")
}
