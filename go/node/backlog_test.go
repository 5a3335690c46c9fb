package node

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nwayacd/mod_nwayacd/go/logx"
	"github.com/nwayacd/mod_nwayacd/go/store/pgtest"
)

// While PostgreSQL is behind the journal (here: the journal's transaction
// waits on rows another session holds), a reload and a restart still show
// every acknowledged change, and a change made on top builds on them: the
// node never serves the database's older state. The fault suite
// (TestKillUnderLoad) lost logins this way when a restart's backlog took
// longer than StartTimeout to write.
func TestBacklogShownWhileDatabaseBehind(t *testing.T) {
	_, dsn := pgtest.DB(t)
	ctx := context.Background()
	p := params(t, map[string]string{"db-dsn": dsn})
	startOpt := func(limit int) *Node {
		t.Helper()
		n, err := Start(p, Options{StartTimeout: 300 * time.Millisecond, JournalLimit: limit,
			Logger: logx.New(func(l int, line string) { t.Logf("[%d] %s", l, line) }, slog.LevelDebug)})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	groupsOf := func(n *Node, ext string) []string {
		t.Helper()
		x, err := n.Service.Extension(ext)
		if err != nil {
			t.Fatal(err)
		}
		gs := slices.Clone(x.Groups)
		slices.Sort(gs)
		return gs
	}

	n := start(t, p) // migrations take their time
	cmd(t, n, "nway_add_group", "110 0")
	cmd(t, n, "nway_add_group", "120 0")
	cmd(t, n, "nway_add_group", "12345 0")
	cmd(t, n, "nway_add_ext", "3000 j0")
	cmd(t, n, "nway_login", "3000 110")
	n.Stop() // all written

	// Another session holds the extension's rows: the journal cannot write
	// its logins until it lets go.
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `SELECT 1 FROM ext_group_map WHERE ext = '3000' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}

	n = startOpt(0)
	cmd(t, n, "nway_set_ext_jobnumber", "3000 j1 true")
	cmd(t, n, "nway_login", "3000 120") // acknowledged: in the journal
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	err = n.Resync(rctx) // what an FSGUI edit or `nwayacd reload` does
	cancel()
	if err != nil {
		t.Errorf("resync while the database is behind: %v", err)
	}
	if gs := groupsOf(n, "3000"); !slices.Equal(gs, []string{"110", "120"}) {
		t.Errorf("after resync: groups %v, acknowledged [110 120]", gs)
	}
	n.Stop() // the login stays in the journal for the next start

	// The backlog cannot be written within StartTimeout; with a journal
	// limit of 1 most of it is not even held in memory.
	n = startOpt(1)
	if st := n.journal.Stats(); st.Replayed < 2 {
		t.Fatalf("journal %+v: want a backlog longer than the limit", st)
	}
	if gs := groupsOf(n, "3000"); !slices.Equal(gs, []string{"110", "120"}) {
		t.Errorf("after restart, backlog read back from the file: groups %v, acknowledged [110 120]", gs)
	}
	if x, _ := n.Service.Extension("3000"); x.JobNumber != "j1" {
		t.Errorf("after restart: job number %q, acknowledged j1", x.JobNumber)
	}
	n.Stop()

	n = startOpt(0)
	if gs := groupsOf(n, "3000"); !slices.Equal(gs, []string{"110", "120"}) {
		t.Errorf("after restart: groups %v, acknowledged [110 120]", gs)
	}
	cmd(t, n, "nway_login", "3000 12345") // adds to what the agent is in
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := n.journal.Flush(fctx); err != nil {
		t.Fatal(err)
	}
	n.Stop()

	rows, _ := conn.Query(ctx, `SELECT ext_group_number FROM ext_group_map WHERE ext = '3000' ORDER BY 1`)
	stored, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"110", "120", "12345"}; !slices.Equal(stored, want) {
		t.Fatalf("stored logins %v, acknowledged %v", stored, want)
	}
}

// Every process on a folder tags its PostgreSQL writes alike, so the last
// run's late commits are not taken for another writer's edits.
func TestFolderOriginLasts(t *testing.T) {
	dir := t.TempDir()
	a, err := folderOrigin(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := folderOrigin(dir)
	if err != nil || a != b || a == "" {
		t.Fatalf("origin %q then %q (%v): want the same", a, b, err)
	}
	if c, _ := folderOrigin(t.TempDir()); c == a {
		t.Fatalf("two folders share origin %q", a)
	}
}
