package node

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/nwayacd/mod_nwayacd/go/config"
	"github.com/nwayacd/mod_nwayacd/go/event"
	"github.com/nwayacd/mod_nwayacd/go/logx"
	"github.com/nwayacd/mod_nwayacd/go/session"
	"github.com/nwayacd/mod_nwayacd/go/store/embedded"
	"github.com/nwayacd/mod_nwayacd/go/store/pg"
	"github.com/nwayacd/mod_nwayacd/go/store/pgtest"
)

func pendingOf(t *testing.T, dir string) (pending []string, stored map[string]bool) {
	t.Helper()
	s, err := embedded.Open(filepath.Join(dir, "nwayacd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l, err := s.PendingCDRs(context.Background(), nodeID(config.Config{})) // a node without cluster: its host name
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range l {
		pending = append(pending, c.UUID)
	}
	uuids, err := s.CDRUUIDs(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	stored = map[string]bool{}
	for _, u := range uuids {
		stored[u] = true
	}
	return pending, stored
}

// A crashed run left two provisional CDRs: one whose final CDR had not been
// written (emitted at start: stored and published once) and one whose final
// CDR had (not published again). A second start emits nothing.
func TestPendingCDRsEmittedAtStart(t *testing.T) {
	need(t, "127.0.0.1:6379")
	p := params(t, map[string]string{"publisher": "redis"})
	dir := p["fs-db-dir"]
	id := fmt.Sprintf("pend-%d-", time.Now().UnixNano())
	lost := event.CDR{UUID: id + "lost", Group: "7100", ACallerIDNumber: "138", AEndStamp: "2026-11-30 10:00:00", Flag: "排队放弃"}
	written := event.CDR{UUID: id + "written", Group: "7100", Flag: "排队放弃"}
	s, err := embedded.Open(filepath.Join(dir, "nwayacd.db"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.PutPendingCDR(ctx, "", lost)) // of no node, as before issue 13: any node's
	must(s.PutPendingCDR(ctx, "", written))
	must(s.InsertCDR(ctx, written))
	must(s.Close())

	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	sub := rdb.Subscribe(ctx, "cdr_7100")
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	collect := func(d time.Duration) {
		deadline := time.After(d)
		for {
			select {
			case m := <-sub.Channel():
				if u, _, _ := strings.Cut(m.Payload, ","); strings.HasPrefix(u, id) {
					got[u]++
				}
			case <-deadline:
				return
			}
		}
	}

	n := start(t, p)
	collect(2 * time.Second)
	n.Stop()
	if got[lost.UUID] != 1 || got[written.UUID] != 0 {
		t.Fatalf("published %v, want %s once and %s not again", got, lost.UUID, written.UUID)
	}
	pending, stored := pendingOf(t, dir)
	if len(pending) != 0 || !stored[lost.UUID] || !stored[written.UUID] {
		t.Fatalf("after start: pending %v, stored %v", pending, stored)
	}

	n = start(t, p)
	collect(500 * time.Millisecond)
	n.Stop()
	if got[lost.UUID] != 1 || len(got) != 1 {
		t.Fatalf("second start published again: %v", got)
	}
}

// PostgreSQL is down at start: the pending CDRs of the crashed run are
// emitted once it is back, and a call of this run that waits for its
// caller leg's hangup meanwhile is not mistaken for one of them.
func TestPendingCDRsAfterPostgresOutage(t *testing.T) {
	name, dsn := pgtest.DB(t)
	ctx := context.Background()
	s, err := pg.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.PutPendingCDR(ctx, "", event.CDR{UUID: "crashed", Group: "110"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	restore := cutDatabase(t, name)

	// Short attempts, so that one starts after the live call below is
	// journaled and its Flush writes that call's pending record too.
	defer func(d time.Duration) { pendingAttempt = d }(pendingAttempt)
	pendingAttempt = 200 * time.Millisecond
	n, err := Start(params(t, map[string]string{"db-dsn": dsn}), Options{StartTimeout: time.Second, CDRGrace: time.Hour, Logger: logx.New(func(l int, line string) { t.Logf("[%d] %s", l, line) }, slog.LevelDebug)})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	cmd(t, n, "nway_add_group", "110 2")
	n.Service.Enter(session.Call{Kind: session.Queue, UUID: "live", Group: "110", CallerNumber: "138"})
	n.Service.Leave("live") // its CDR waits (an hour) for the caller leg's hangup: pending
	if err := n.Sync(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)

	restore()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	state := func() (cdrs, pending string) {
		var c, p []string
		rows, _ := conn.Query(ctx, `SELECT uuid FROM nwayacd_cdr ORDER BY uuid`)
		c, _ = pgx.CollectRows(rows, pgx.RowTo[string])
		rows, _ = conn.Query(ctx, `SELECT uuid FROM nwayacd_pending_cdr ORDER BY uuid`)
		p, _ = pgx.CollectRows(rows, pgx.RowTo[string])
		return fmt.Sprint(c), fmt.Sprint(p)
	}
	waitFor(t, "the crashed run's CDR in PostgreSQL", func() bool {
		c, p := state()
		return c == "[crashed]" && p == "[live]"
	})
	time.Sleep(200 * time.Millisecond)
	if c, p := state(); c != "[crashed]" || p != "[live]" {
		t.Fatalf("cdrs %s, pending %s; want [crashed], [live]", c, p)
	}
	n.Stop() // the live call's CDR is written at unload, its pending record deleted
	if c, p := state(); c != "[crashed live]" || p != "[]" {
		t.Fatalf("after stop: cdrs %s, pending %s", c, p)
	}
}
