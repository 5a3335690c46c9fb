package writeback_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nwayacd/mod_nwayacd/go/event"
	"github.com/nwayacd/mod_nwayacd/go/store"
	"github.com/nwayacd/mod_nwayacd/go/store/pg"
	"github.com/nwayacd/mod_nwayacd/go/store/pgtest"
	"github.com/nwayacd/mod_nwayacd/go/store/writeback"
)

// TestOutage writes through the journal into PostgreSQL while the database
// is cut off several times (connections killed, new ones refused) and
// checks that afterwards it holds every change, in order, each CDR and agent
// log row exactly once.
func TestOutage(t *testing.T) {
	name, dsn := pgtest.DB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, err := pg.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, pgtest.AdminDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = admin.Close(context.Background()) }()
	adminExec := func(sql string) {
		t.Helper()
		if _, err := admin.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	kill := func() {
		adminExec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE datname = '` + name + `' AND pid <> pg_backend_pid()`)
	}
	defer adminExec(`ALTER DATABASE ` + name + ` ALLOW_CONNECTIONS true`)

	j, err := writeback.New(s, writeback.Options{Dir: t.TempDir(), MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	groups := []string{"110", "120", "119"}
	for _, g := range groups {
		j.UpsertGroup(store.Group{Number: g, Name: g, Mode: 2, CalloutTimeout: 15 * time.Second})
	}
	const rounds, perRound, exts = 4, 150, 20
	i := 0
	batch := func() {
		for range perRound {
			ext := fmt.Sprint(1000 + i%exts)
			j.UpsertExtension(store.Extension{Number: ext, JobNumber: fmt.Sprint(i), JobEnabled: i%2 == 0})
			j.ReplaceMemberships(ext, groups[:1+i%3])
			j.SetCurrentExt(groups[i%3], ext)
			j.InsertCDR(event.CDR{UUID: fmt.Sprintf("cdr-%05d", i), Group: groups[i%3], DestinationNumber: ext})
			j.AppendAgentLog(store.AgentLog{Ext: "9000", Status: fmt.Sprint(i), At: time.Now()})
			i++
		}
	}
	for r := range rounds {
		batch() // flows while connections are up
		kill()  // cut in the middle of the flow
		// A real outage: the database refuses connections while writes keep
		// coming, until the journal has seen it fail.
		adminExec(`ALTER DATABASE ` + name + ` ALLOW_CONNECTIONS false`)
		kill()
		retries := j.Stats().Retries
		batch()
		for j.Stats().Retries == retries {
			select {
			case <-ctx.Done():
				t.Fatalf("round %d: the journal never noticed the outage (stats %+v)", r, j.Stats())
			case <-time.After(10 * time.Millisecond):
			}
		}
		adminExec(`ALTER DATABASE ` + name + ` ALLOW_CONNECTIONS true`)
		// Let the journal get back to writing before the next cut.
		for applied := j.Stats().Applied; j.Stats().Down || j.Stats().Applied == applied; {
			select {
			case <-ctx.Done():
				t.Fatalf("round %d: the journal never recovered (stats %+v)", r, j.Stats())
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	if err := j.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st := j.Stats()
	t.Logf("journal: %+v", st)
	total := i
	if st.Dropped != 0 || st.Rejected != 0 || st.Backlog != 0 || st.Applied != uint64(len(groups)+5*total) {
		t.Fatalf("stats %+v, want %d applied and nothing lost", st, len(groups)+5*total)
	}

	// Every CDR exactly once.
	var n, distinct int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*), count(DISTINCT uuid) FROM nwayacd_cdr`).Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	if n != total || distinct != total {
		t.Fatalf("%d CDR rows (%d distinct), want %d", n, distinct, total)
	}
	// The agent log arrived once each and in order.
	logs, err := s.AgentLogs(ctx, "9000", total+10)
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != total {
		t.Fatalf("%d agent log rows, want %d", len(logs), total)
	}
	for k, a := range logs {
		if a.Status != fmt.Sprint(k) {
			t.Fatalf("agent log row %d is status %s: out of order", k, a.Status)
		}
	}
	// The last write of each key won: order held for overwrites too.
	snap, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Extensions) != exts {
		t.Fatalf("%d extensions, want %d", len(snap.Extensions), exts)
	}
	members := map[string]int{}
	for _, m := range snap.Memberships {
		members[m.Ext]++
	}
	for _, e := range snap.Extensions {
		var last int
		for k := range total {
			if fmt.Sprint(1000+k%exts) == e.Number {
				last = k
			}
		}
		if e.JobNumber != fmt.Sprint(last) || e.JobEnabled != (last%2 == 0) {
			t.Fatalf("extension %s: job %s enabled %v, want the last write %d", e.Number, e.JobNumber, e.JobEnabled, last)
		}
		if members[e.Number] != 1+last%3 {
			t.Fatalf("extension %s: %d logins, want %d", e.Number, members[e.Number], 1+last%3)
		}
	}
	for _, g := range snap.Groups {
		var last int
		for k := range total {
			if groups[k%3] == g.Number {
				last = k
			}
		}
		if want := fmt.Sprint(1000 + last%exts); g.CurrentExt != want {
			t.Fatalf("group %s: current ext %s, want %s", g.Number, g.CurrentExt, want)
		}
	}
}
