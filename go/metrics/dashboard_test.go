package metrics

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// Every query of the Grafana dashboard names metrics this node exports.
func TestDashboardQueriesUseExportedMetrics(t *testing.T) {
	raw, err := os.ReadFile("../../conf/grafana/nwayacd-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Query string `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	body := scrape(t, sources(2, 2))
	exported := map[string]bool{}
	for _, line := range strings.Split(body, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		name, _, _ := strings.Cut(line, "{")
		name, _, _ = strings.Cut(name, " ")
		exported[name] = true
	}
	// Metric names: identifiers that are not PromQL functions, keywords or
	// label names (label names are followed by =, =~, != or sit in by (…)).
	ident := regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	notMetric := map[string]bool{"sum": true, "by": true, "rate": true, "max": true, "min": true, "avg": true,
		"label_values": true, "group": true, "state": true, "result": true, "transport": true, "le": true, "e6": true}
	var exprs []string
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	for _, v := range dash.Templating.List {
		exprs = append(exprs, v.Query)
	}
	if len(exprs) < 8 {
		t.Fatalf("only %d queries in the dashboard", len(exprs))
	}
	checked := 0
	for _, e := range exprs {
		clean := regexp.MustCompile(`"[^"]*"|\[[^\]]*\]|\$\w+`).ReplaceAllString(e, "")
		for _, id := range ident.FindAllString(clean, -1) {
			if notMetric[id] {
				continue
			}
			checked++
			if !exported[id] {
				t.Errorf("dashboard query %q uses %s, which the node does not export", e, id)
			}
		}
	}
	if checked < len(exprs) {
		t.Fatalf("checked only %d names in %d queries", checked, len(exprs))
	}
}
