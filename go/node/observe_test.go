package node

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/nwayacd/mod_nwayacd/go/stats"
	"github.com/nwayacd/mod_nwayacd/go/store/pgtest"
)

func get(t *testing.T, url, auth string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func restLogin(t *testing.T, n *Node) string {
	t.Helper()
	resp, err := http.Post("http://"+n.Addr()+"/api/login", "application/json", strings.NewReader(`{"username":"admin","password":"admin"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.Token == "" {
		t.Fatalf("login: %v", err)
	}
	return "Nway " + r.Token
}

// A node serves statistics, metrics and the pages on its REST port.
func TestObservabilityRoutes(t *testing.T) {
	n := start(t, params(t, map[string]string{"metrics-token": "scrape-me", "service-level-seconds": "15"}))
	defer n.Stop()
	cmd(t, n, "nway_add_group", "110 5")
	cmd(t, n, "nway_add_ext", "1000 1234")
	cmd(t, n, "nway_login", "1000 110")
	cmd(t, n, "nway_busy", "1000")
	base := "http://" + n.Addr()
	auth := restLogin(t, n)

	code, body := get(t, base+"/api/stats/groups", auth)
	var doc struct {
		ServiceLevelSeconds float64            `json:"service_level_seconds"`
		Groups              []stats.GroupStats `json:"groups"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &doc) != nil || len(doc.Groups) != 1 || doc.ServiceLevelSeconds != 15 {
		t.Fatalf("stats: %d %s", code, body)
	}
	if doc.Groups[0].Agents["busy"] != 1 {
		t.Fatalf("agents by state %v, want 1 busy", doc.Groups[0].Agents)
	}
	if code, _ := get(t, base+"/api/stats/agents", ""); code != 401 {
		t.Fatalf("stats without a token: %d", code)
	}
	if code, _ := get(t, base+"/metrics", ""); code != 401 {
		t.Fatalf("metrics without the metrics token: %d", code)
	}
	code, body = get(t, base+"/metrics", "Bearer scrape-me")
	if code != 200 || !strings.Contains(body, `nwayacd_agents{group="110",state="busy"} 1`) || !strings.Contains(body, "go_goroutines") ||
		!strings.Contains(body, "nwayacd_channel_events_total 0") {
		t.Fatalf("metrics: %d %.2000s", code, body)
	}
	if code, body := get(t, base+"/ui/", ""); code != 200 || !strings.Contains(body, "<html") && !strings.Contains(body, "<!doctype html") {
		t.Fatalf("ui: %d %.300s", code, body)
	}
}

// GET /api/events carries ids; a client reconnecting with Last-Event-ID
// receives what it missed, then the live stream, each message once.
func TestEventsResumeWithLastEventID(t *testing.T) {
	n := start(t, params(t, nil))
	defer n.Stop()
	cmd(t, n, "nway_add_group", "110 5")
	cmd(t, n, "nway_add_ext", "1000 1234")
	cmd(t, n, "nway_login", "1000 110")
	auth := restLogin(t, n)
	open := func(last string) (*http.Response, *bufio.Reader) {
		req, _ := http.NewRequest("GET", "http://"+n.Addr()+"/api/events", nil)
		req.Header.Set("Authorization", auth)
		if last != "" {
			req.Header.Set("Last-Event-ID", last)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("events: %v %v", err, resp)
		}
		return resp, bufio.NewReader(resp.Body)
	}
	type ev struct {
		id  uint64
		msg map[string]any
	}
	next := func(r *bufio.Reader) ev {
		var e ev
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			line = strings.TrimRight(line, "\n")
			switch {
			case strings.HasPrefix(line, "id: "):
				e.id, _ = strconv.ParseUint(line[4:], 10, 64)
			case strings.HasPrefix(line, "data: "):
				if err := json.Unmarshal([]byte(line[6:]), &e.msg); err != nil {
					t.Fatalf("data %q: %v", line, err)
				}
			case line == "" && e.msg != nil:
				return e
			}
		}
	}
	resp, r := open("")
	cmd(t, n, "nway_busy", "1000")
	cmd(t, n, "nway_ready", "1000")
	a, b := next(r), next(r)
	if a.msg["type"] != "agent" || a.msg["node"] == nil || a.msg["seq"] == nil || b.id != a.id+1 || uint64(b.msg["seq"].(float64)) != b.id {
		t.Fatalf("events %+v %+v", a, b)
	}
	resp.Body.Close() // the browser loses its connection
	cmd(t, n, "nway_busy", "1000")
	cmd(t, n, "nway_ready", "1000")
	resp, r = open(strconv.FormatUint(b.id, 10))
	defer resp.Body.Close()
	cmd(t, n, "nway_busy", "1000")
	for i, want := range []string{"busy", "ready", "busy"} {
		e := next(r)
		if e.id != b.id+uint64(i)+1 || e.msg["status"] != want {
			t.Fatalf("after resume #%d: id %d (want %d) status %v (want %s)", i, e.id, b.id+uint64(i)+1, e.msg["status"], want)
		}
	}
}

// Historical reports over REST: from PostgreSQL as JSON and CSV; with the
// embedded store a clear 501.
func TestReportsOverREST(t *testing.T) {
	n := start(t, params(t, nil))
	auth := restLogin(t, n)
	code, body := get(t, "http://"+n.Addr()+"/api/reports/groups?from=2026-03-02&to=2026-03-03&interval=1h", auth)
	n.Stop()
	if code != 501 || !strings.Contains(body, "PostgreSQL") {
		t.Fatalf("embedded store: %d %s", code, body)
	}

	ctx := context.Background()
	_, dsn := pgtest.DB(t)
	n = start(t, params(t, map[string]string{"db-dsn": dsn}))
	defer n.Stop()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	pgExec(ctx, t, conn, `INSERT INTO nwayacd_cdr (uuid, group_number, a_start_stamp, answer_stamp, billsec, flag, destination_number)
		VALUES ('r1', '110', '2026-03-02 10:05:00', '2026-03-02 10:05:12', '30', '正常接听', '1000'),
		       ('r2', '110', '2026-03-02 11:05:00', '', '0', '排队放弃', '')`)
	auth = restLogin(t, n)
	base := "http://" + n.Addr() + "/api/reports/groups?from=2026-03-02&to=2026-03-03&interval=1h"
	code, body = get(t, base, auth)
	var doc struct {
		Rows []map[string]any `json:"rows"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &doc) != nil || len(doc.Rows) != 2 || doc.Rows[0]["answered"].(float64) != 1 ||
		doc.Rows[0]["asa_seconds"].(float64) != 12 || doc.Rows[1]["abandoned"].(float64) != 1 {
		t.Fatalf("json: %d %s", code, body)
	}
	code, body = get(t, base+"&format=csv", auth)
	if code != 200 || !strings.HasPrefix(body, "group,start,") || strings.Count(body, "\n") != 3 {
		t.Fatalf("csv: %d %s", code, body)
	}
	for _, bad := range []string{"?from=yesterday&to=2026-03-03", "?from=2026-03-03&to=2026-03-02", "?from=2026-03-02&to=2026-03-03&interval=5m"} {
		if code, body := get(t, "http://"+n.Addr()+"/api/reports/agents"+bad, auth); code != 400 || !strings.Contains(body, `"error"`) {
			t.Fatalf("%s: %d %s", bad, code, body)
		}
	}
	if code, body := get(t, "http://"+n.Addr()+"/api/reports/agents?from=2026-03-02&to=2026-03-03&interval=1d", auth); code != 200 || !strings.Contains(body, `"extension":"1000"`) {
		t.Fatalf("agents: %d %s", code, body)
	}
}

// With the Redis publisher, a message goes to pub/sub (JSON with seq and
// node added) and to its family's Redis Stream, under the same seq.
func TestRedisStreamFromNode(t *testing.T) {
	need(t, "127.0.0.1:6379")
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", DB: 12})
	defer rdb.Close()
	if err := rdb.Del(ctx, "nwayacd:stream:agent").Err(); err != nil {
		t.Fatal(err)
	}
	n := start(t, params(t, map[string]string{"publisher": "redis", "redis-db": "12", "stream-maxlen": "1000"}))
	defer n.Stop()
	sub := rdb.Subscribe(ctx, "agent_7101")
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	cmd(t, n, "nway_add_group", "7100 5")
	cmd(t, n, "nway_add_ext", "7101")
	cmd(t, n, "nway_busy", "7101")
	var pub struct {
		Number string `json:"number"`
		Seq    uint64 `json:"seq"`
		Node   string `json:"node"`
	}
	select {
	case m := <-sub.Channel():
		if err := json.Unmarshal([]byte(m.Payload), &pub); err != nil || pub.Seq == 0 || pub.Node == "" {
			t.Fatalf("pub/sub payload %s: %v", m.Payload, err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no agent event")
	}
	var found bool
	waitFor(t, "the stream entry", func() bool {
		xs, err := rdb.XRange(ctx, "nwayacd:stream:agent", "-", "+").Result()
		if err != nil {
			return false
		}
		for _, x := range xs {
			if x.Values["seq"] == strconv.FormatUint(pub.Seq, 10) && x.Values["channel"] == "agent_7101" && x.Values["node"] == pub.Node {
				found = true
			}
		}
		return found
	})
}
