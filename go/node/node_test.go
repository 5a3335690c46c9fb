package node

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/nwayacd/mod_nwayacd/go/internal/testsvc"
	"github.com/nwayacd/mod_nwayacd/go/internal/tick"
	"github.com/nwayacd/mod_nwayacd/go/logx"
	"github.com/nwayacd/mod_nwayacd/go/store"
	"github.com/nwayacd/mod_nwayacd/go/store/embedded"

	"github.com/nwayacd/mod_nwayacd/go/store/pg"
	"github.com/nwayacd/mod_nwayacd/go/store/pgtest"
)

// need skips a test whose service is down, or fails it when CI requires it.
func need(t testing.TB, addr string) {
	t.Helper()
	testsvc.Need(t, "service", addr)
}

func params(t testing.TB, extra map[string]string) map[string]string {
	p := map[string]string{"rest-listen": "127.0.0.1:0", "publisher": "none", "fs-db-dir": t.TempDir(), "fs-log-dir": t.TempDir()}
	for k, v := range extra {
		p[k] = v
	}
	return p
}

func start(t *testing.T, p map[string]string) *Node {
	t.Helper()
	n, err := Start(p, Options{Logger: logx.New(func(l int, line string) { t.Logf("[%d] %s", l, line) }, slog.LevelDebug)})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func cmd(t testing.TB, n *Node, name, args string) string {
	t.Helper()
	out := n.Command(name, args)
	if !strings.HasPrefix(out, "+OK") {
		t.Fatalf("%s %s: %s", name, args, out)
	}
	return out
}

// Configuration made through commands survives a restart of the module.
func TestEmbeddedStoreSurvivesRestart(t *testing.T) {
	p := params(t, nil)
	n := start(t, p)
	cmd(t, n, "nway_add_group", "110 2")
	cmd(t, n, "nway_add_ext", "1000 1234")
	cmd(t, n, "nway_login", "1000 110")
	cmd(t, n, "nway_add_blacklist", "110 13300000000")
	n.Stop()

	n = start(t, p)
	defer n.Stop()
	g, err := n.Service.Group("110")
	if err != nil || len(g.Members) != 1 || g.Members[0] != "1000" || len(g.Blacklist) != 1 || g.Mode != 2 {
		t.Fatalf("after restart: %+v %v", g, err)
	}
	x, _ := n.Service.Extension("1000")
	if x.JobNumber != "1234" || !x.LoggedIn {
		t.Fatalf("extension after restart %+v", x)
	}
}

// The seed's curl lines work against a running node.
func TestRESTEndToEnd(t *testing.T) {
	n := start(t, params(t, nil))
	defer n.Stop()
	cmd(t, n, "nway_add_group", "12345 5")
	cmd(t, n, "nway_add_group", "110 5")
	cmd(t, n, "nway_add_ext", "1002 1234")
	base := "http://" + n.Addr()
	post := func(path, body, auth string) (int, string) {
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
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
	code, body := post("/api/login", `{"username": "admin", "password": "admin"}`, "")
	if code != 200 || !strings.Contains(body, `"token"`) {
		t.Fatalf("login %d %s", code, body)
	}
	tok := strings.Split(body, `"`)[3]
	auth := "Nway " + tok + " "
	if code, body := post("/api/agent_up", `{"Extension":"1002","Groups":"12345,110"}`, auth); code != 200 {
		t.Fatalf("agent_up %d %s", code, body)
	}
	if code, body := post("/api/agent_busy", `{"Extension":"1002"}`, auth); code != 200 {
		t.Fatalf("agent_busy %d %s", code, body)
	}
	x, _ := n.Service.Extension("1002")
	if !x.LoggedIn || len(x.Groups) != 2 || x.Seat != "busy" {
		t.Fatalf("after REST calls %+v", x)
	}
	if code, _ := post("/api/agent_up", `{"Extension":"1002","Groups":"999"}`, auth); code != 404 {
		t.Fatalf("unknown group answered %d", code)
	}
	if code, body := post("/api/login", `{"username": "admin", "password": "nope"}`, ""); code != 401 || body != "Not Authorized" {
		t.Fatalf("bad login %d %q", code, body)
	}
}

func TestRefusesPublicRESTWithDefaultPassword(t *testing.T) {
	_, err := Start(params(t, map[string]string{"rest-listen": "0.0.0.0:0"}), Options{})
	if err == nil || !strings.Contains(err.Error(), "rest-password") {
		t.Fatalf("got %v", err)
	}
	if _, err := Start(params(t, map[string]string{"wrapup-seconds": "soon"}), Options{}); err == nil || !strings.Contains(err.Error(), "wrapup-seconds") {
		t.Fatalf("got %v", err)
	}
}

// With PostgreSQL: the schema is migrated, commands are written through, and
// an edit FSGUI makes straight in ext_group reaches the running node.
func TestPostgresWriteThroughAndLiveEdits(t *testing.T) {
	ctx := context.Background()
	_, dsn := pgtest.DB(t)
	n := start(t, params(t, map[string]string{"db-dsn": dsn}))
	defer n.Stop()
	cmd(t, n, "nway_add_group", "120 0")
	cmd(t, n, "nway_add_ext", "1018 77")
	cmd(t, n, "nway_login", "1018 120")

	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	waitFor(t, "the login in ext_group_map", func() bool {
		var ext string
		err := conn.QueryRow(ctx, "SELECT ext FROM ext_group_map WHERE ext_group_number='120'").Scan(&ext)
		return err == nil && ext == "1018"
	})
	// FSGUI changes the mode and adds a group behind our back.
	pgExec(ctx, t, conn,
		"UPDATE ext_group SET group_call_mode=4 WHERE group_number='120'",
		"INSERT INTO ext_group(group_name, group_number, group_call_mode) VALUES ('急救', '12320', 1)")
	waitFor(t, "the edits in the running node", func() bool {
		g, err := n.Service.Group("120")
		g2, err2 := n.Service.Group("12320")
		return err == nil && err2 == nil && g.Mode == 4 && g2.Name == "急救" && len(g.Members) == 1
	})
}

// Agent changes reach a Redis subscriber in the seed's format.
func TestRedisAgentEvents(t *testing.T) {
	need(t, "127.0.0.1:6379")
	n := start(t, params(t, map[string]string{"publisher": "redis", "cti-ip": "10.1.213.29"}))
	defer n.Stop()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	sub := rdb.Subscribe(context.Background(), "agent_7001")
	defer sub.Close()
	if _, err := sub.Receive(context.Background()); err != nil {
		t.Fatal(err)
	}
	cmd(t, n, "nway_add_group", "7000 5")
	cmd(t, n, "nway_add_ext", "7001")
	cmd(t, n, "nway_busy", "7001")
	select {
	case m := <-sub.Channel():
		if !strings.HasPrefix(m.Payload, `{"type":"agent","number":"7001","status":"busy","time":"`) {
			t.Fatalf("payload %s", m.Payload)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no agent event")
	}
}

// publish-linger-ms reaches the publisher: an idle transport holds the
// first event until the next multiple of the linger (gathering what
// follows), and 0 sends at once.
func TestPublishLingerSetting(t *testing.T) {
	need(t, "127.0.0.1:6379")
	for _, c := range []struct {
		linger   string
		min, max time.Duration
		grid     time.Duration
	}{{"300", 225 * time.Millisecond, 5 * time.Second, 300 * time.Millisecond}, {"0", 0, 250 * time.Millisecond, 0}} {
		n := start(t, params(t, map[string]string{"publisher": "redis", "publish-linger-ms": c.linger}))
		rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
		sub := rdb.Subscribe(context.Background(), "agent_7101")
		if _, err := sub.Receive(context.Background()); err != nil {
			t.Fatal(err)
		}
		cmd(t, n, "nway_add_group", "7100 5")
		cmd(t, n, "nway_add_ext", "7101")
		time.Sleep(500 * time.Millisecond) // the transport is idle again
		if c.grid > 0 {
			// just past a grid instant: the next is most of a linger away
			time.Sleep(time.Until(tick.Next(time.Now(), c.grid)) + c.grid/20)
		}
		sent := time.Now()
		cmd(t, n, "nway_busy", "7101")
		select {
		case <-sub.Channel():
			if d := time.Since(sent); d < c.min || d > c.max {
				t.Errorf("publish-linger-ms %s: the event came after %v, want %v..%v", c.linger, d, c.min, c.max)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("publish-linger-ms %s: no agent event", c.linger)
		}
		sub.Close()
		rdb.Close()
		n.Stop()
	}
}

func waitFor(t testing.TB, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if ok() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// Reload applies policies at once and re-reads the tables in the background.
func TestReload(t *testing.T) {
	p := params(t, nil)
	n := start(t, p)
	defer n.Stop()
	cmd(t, n, "nway_add_group", "110 0")
	p["wrapup-seconds"] = "7"
	if waiting, err := n.Reload(p); err != nil || len(waiting) != 0 {
		t.Fatal(waiting, err)
	}
	if st := n.Service.Status(); st.Groups != 1 || st.WrapUpSeconds != 7 {
		t.Fatalf("after reload: %d groups, wrap-up %d s", st.Groups, st.WrapUpSeconds)
	}
	// Settings wired in at start are named, not silently kept.
	p["transfer-context"], p["hold-music"] = "agents", "local_stream://other"
	if waiting, err := n.Reload(p); err != nil || strings.Join(waiting, ",") != "transfer-context,hold-music" {
		t.Fatalf("reload reports %v %v, want transfer-context and hold-music waiting", waiting, err)
	}
	p["publisher"] = "kafka"
	if _, err := n.Reload(p); err == nil || !strings.Contains(err.Error(), "publisher") {
		t.Fatalf("bad reload: %v", err)
	}
}

// regSwitch answers `show registrations as json` like FreeSWITCH does.
type regSwitch struct{}

func (regSwitch) API(cmd, args string) (string, error) {
	if cmd == "show" && args == "registrations as json" {
		return `{"row_count":2,"rows":[{"reg_user":"1000","realm":"127.0.0.1","token":"x","url":"sofia/internal/sip:1000@127.0.0.1:5070","expires":"1764000000","network_ip":"127.0.0.1","network_port":"5070","network_proto":"udp","hostname":"fs","metadata":""},{"reg_user":"nobody","realm":"127.0.0.1"}]}`, nil
	}
	return "+OK", nil
}

// Agents registered before the module loaded are known to be registered.
func TestRegistrationsAtLoad(t *testing.T) {
	p := params(t, nil)
	n := start(t, p)
	cmd(t, n, "nway_add_ext", "1000 1")
	n.Stop()
	n, err := Start(p, Options{Switch: regSwitch{}})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	waitFor(t, "1000 registered", func() bool {
		x, err := n.Service.Extension("1000")
		return err == nil && x.RegStatus == "reged"
	})
}

// An agent that set itself busy is still busy after the module reloads.
func TestBusySeatSurvivesRestart(t *testing.T) {
	p := params(t, nil)
	n := start(t, p)
	cmd(t, n, "nway_add_group", "110 0")
	cmd(t, n, "nway_add_ext", "1000")
	cmd(t, n, "nway_add_ext", "1001")
	cmd(t, n, "nway_login", "1000 110")
	cmd(t, n, "nway_login", "1001 110")
	cmd(t, n, "nway_busy", "1000")
	n.Stop()
	n = start(t, p)
	defer n.Stop()
	for ext, want := range map[string]string{"1000": "busy", "1001": "idle"} {
		if x, _ := n.Service.Extension(ext); string(x.Seat) != want || !x.LoggedIn {
			t.Errorf("%s after restart: seat %s logged in %v, want %s", ext, x.Seat, x.LoggedIn, want)
		}
	}
}

// `nwayacd reload` from the console re-reads the tables (it used to answer
// +OK and reload nothing).
func TestConsoleReloadRereadsTables(t *testing.T) {
	n := start(t, params(t, nil))
	defer n.Stop()
	// A row another tool wrote behind the node's back.
	if err := n.db.UpsertGroup(context.Background(), store.Group{Number: "777", Name: "x", Mode: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Service.Group("777"); err == nil {
		t.Fatal("group known before the reload")
	}
	cmd(t, n, "nwayacd", "reload")
	waitFor(t, "group 777 after reload", func() bool { _, err := n.Service.Group("777"); return err == nil })
}

// A store that cannot be opened (its file locked by another process) stops
// the node from starting, and says why, instead of taking changes it cannot
// keep.
func TestStoreUnavailableAtStart(t *testing.T) {
	p := params(t, nil)
	holder, err := embedded.Open(filepath.Join(p["fs-db-dir"], "nwayacd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	n, err := Start(p, Options{})
	if err == nil {
		n.Stop()
		t.Fatal("started on a locked store")
	}
	if !strings.Contains(err.Error(), "embedded store") || !strings.Contains(err.Error(), p["fs-db-dir"]) {
		t.Fatalf("error does not say why: %v", err)
	}
	// Once the other process lets go, the node starts.
	holder.Close()
	start(t, p).Stop()
}

// An acknowledged change is in the journal file before the answer: with the
// store's file taken away from under the node (so it never applies), a new
// node on a copy of the folder still has every change.
func TestAcknowledgedIsJournaled(t *testing.T) {
	p := params(t, nil)
	n := start(t, p)
	cmd(t, n, "nway_add_group", "110 2")
	for i := range 50 {
		cmd(t, n, "nway_add_ext", fmt.Sprintf("%d", 2000+i))
		cmd(t, n, "nway_login", fmt.Sprintf("%d 110", 2000+i))
	}
	// The journal's folder as kill -9 would leave it, plus an empty store:
	// only the journal can bring the changes back.
	crashed := t.TempDir()
	jdir := filepath.Join(p["fs-db-dir"], JournalDir)
	if err := os.MkdirAll(filepath.Join(crashed, JournalDir), 0o755); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(jdir)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(jdir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(crashed, JournalDir, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	n.Stop()
	p["fs-db-dir"] = crashed
	n = start(t, p)
	defer n.Stop()
	g, err := n.Service.Group("110")
	if err != nil || len(g.Members) != 50 {
		t.Fatalf("after replay: group %+v, %v; want 50 members", g, err)
	}
}

// With PostgreSQL refusing connections at start, the node starts, takes
// changes into its journal (acknowledged once on disk), refuses them with a
// clear error once the journal is full (changing nothing), and writes them
// to PostgreSQL, in order, when it is back.
func TestPostgresDownAtStart(t *testing.T) {
	name, dsn := pgtest.DB(t)
	ctx := context.Background()
	s, err := pg.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	s.Close()
	restore := cutDatabase(t, name)

	p := params(t, map[string]string{"db-dsn": dsn})
	n, err := Start(p, Options{JournalLimit: 6, StartTimeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("a node must start while PostgreSQL is down: %v", err)
	}
	defer n.Stop()
	if st := n.Service.StatusJSON(); !strings.Contains(string(st), `"error"`) {
		t.Fatalf("status does not show the database error: %s", st)
	}
	cmd(t, n, "nway_add_group", "110 2") // 1 write
	cmd(t, n, "nway_add_ext", "1000 7")  // 1
	cmd(t, n, "nway_login", "1000 110")  // 1 or more
	for i := 0; n.journal.Admit() == nil; i++ {
		cmd(t, n, "nway_set_ext_jobnumber", fmt.Sprintf("1000 j%d true", i))
	}
	out := n.Command("nway_add_ext", "1001")
	if !strings.HasPrefix(out, "-ERR change refused") || !strings.Contains(out, "journal full") {
		t.Fatalf("full journal: %q", out)
	}
	if _, err := n.Service.Extension("1001"); err == nil {
		t.Fatal("a refused change was made anyway")
	}
	// REST says 503, and changes nothing either.
	base := "http://" + n.Addr()
	resp, err := http.Post(base+"/api/login", "application/json", strings.NewReader(`{"username":"admin","password":"admin"}`))
	if err != nil {
		t.Fatal(err)
	}
	var tok struct{ Token string }
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	req, _ := http.NewRequest("POST", base+"/api/agent_down", strings.NewReader(`{"Extension":"1000"}`))
	req.Header.Set("Authorization", "Nway "+tok.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.Contains(string(body), "journal full") {
		t.Fatalf("REST change with a full journal: %d %s", resp.StatusCode, body)
	}
	if x, _ := n.Service.Extension("1000"); !x.LoggedIn {
		t.Fatal("refused agent_down logged the agent out")
	}

	restore()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	waitFor(t, "the journaled changes in PostgreSQL", func() bool {
		var job string
		var logins int
		err := conn.QueryRow(ctx, `SELECT e.job_number, (SELECT count(*) FROM ext_group_map m WHERE m.ext = e.number AND m.ext_group_number = '110')
			FROM nwayacd_extension e WHERE e.number = '1000'`).Scan(&job, &logins)
		return err == nil && logins == 1 && strings.HasPrefix(job, "j")
	})
	if err := n.journal.Admit(); err != nil {
		t.Fatalf("journal still refusing after the database came back: %v", err)
	}
	cmd(t, n, "nway_add_ext", "1001")
}

// Changes acknowledged while PostgreSQL is down, then a stop that cannot
// write them: the next start on the same folder writes them from the
// journal before loading, so the node comes back with them.
func TestPostgresDownAcrossRestart(t *testing.T) {
	name, dsn := pgtest.DB(t)
	p := params(t, map[string]string{"db-dsn": dsn})
	start(t, p).Stop() // migrations applied
	restore := cutDatabase(t, name)

	n, err := Start(p, Options{StartTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cmd(t, n, "nway_add_group", "110 2")
	cmd(t, n, "nway_add_ext", "1000 7")
	cmd(t, n, "nway_login", "1000 110")
	began := time.Now()
	n.Stop()
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("stop with the database down took %v", d)
	}

	restore()
	n = start(t, p)
	defer n.Stop()
	g, err := n.Service.Group("110")
	if err != nil || len(g.Members) != 1 || g.Members[0] != "1000" {
		t.Fatalf("after restart: group %+v, %v", g, err)
	}
	if x, _ := n.Service.Extension("1000"); x.JobNumber != "7" {
		t.Fatalf("after restart: extension %+v", x)
	}
}

// cutDatabase makes database name refuse connections and ends the open ones
// (PostgreSQL "down" for that database alone); the returned func, also run
// at the test's end, lets connections in again.
func cutDatabase(t *testing.T, name string) (restore func()) {
	t.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, pgtest.AdminDSN())
	if err != nil {
		t.Fatal(err)
	}
	exec := func(sql string) {
		t.Helper()
		if _, err := admin.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`ALTER DATABASE ` + name + ` ALLOW_CONNECTIONS false`)
	exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '` + name + `'`)
	var once sync.Once
	restore = func() { once.Do(func() { exec(`ALTER DATABASE ` + name + ` ALLOW_CONNECTIONS true`) }) }
	t.Cleanup(func() { restore(); admin.Close(ctx) })
	return restore
}

// Every list command, whatever its name, answers without a journal write.
func TestListCommandsAreReadOnly(t *testing.T) {
	for _, name := range []string{"nway_list_exts", "nway_list_groups", "nway_list_queue", "nway_list_skills", "nway_list_tiers",
		"nway_list_group_options", "nwayacd_version", "nwayacd"} {
		if !readOnly(name) {
			t.Errorf("%s counted as a change", name)
		}
	}
	for _, name := range []string{"nway_login", "nway_set_skill", "nway_add_ext", "nwayacd_transfer"} {
		if readOnly(name) {
			t.Errorf("%s counted as read-only", name)
		}
	}
}

// pgExec runs each statement in turn on conn, as an operator (or FSGUI)
// editing the tables behind the node's back; the first error fails the test.
func pgExec(ctx context.Context, t testing.TB, conn *pgx.Conn, stmts ...string) {
	t.Helper()
	for _, q := range stmts {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
}
