package pg_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nwayacd/mod_nwayacd/go/event"
	"github.com/nwayacd/mod_nwayacd/go/store"
	"github.com/nwayacd/mod_nwayacd/go/store/pg"
	"github.com/nwayacd/mod_nwayacd/go/store/pgtest"
	"github.com/nwayacd/mod_nwayacd/go/store/storetest"
)

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// migrated returns a Store on a fresh, migrated database.
func migrated(t testing.TB) (*pg.Store, string) {
	t.Helper()
	_, dsn := pgtest.DB(t)
	s, err := pg.Open(testCtx(t), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.Migrate(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	return s, dsn
}

func TestSuite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		s, _ := migrated(t)
		return s
	})
}

func exec(t testing.TB, dsn, sql string) {
	t.Helper()
	ctx := testCtx(t)
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close(ctx) }()
	if _, err := c.Exec(ctx, sql); err != nil {
		t.Fatalf("exec: %v", err)
	}
}

type schemaRow struct{ Kind, A, B, C, D, E string }

// schema describes the public schema: columns, constraints, indexes,
// sequences, triggers and the migration record.
func schema(t *testing.T, dsn string) []schemaRow {
	t.Helper()
	ctx := testCtx(t)
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close(ctx) }()
	rows, _ := c.Query(ctx, `
		SELECT 'column', table_name::text, lpad(ordinal_position::text, 3, '0') || ' ' || column_name::text,
			data_type::text, coalesce(character_maximum_length::text, '') || ' ' || is_nullable::text,
			coalesce(column_default::text, '')
		FROM information_schema.columns WHERE table_schema = 'public'
		UNION ALL
		SELECT 'constraint', table_name::text, constraint_name::text, constraint_type::text, '', ''
		FROM information_schema.table_constraints
		WHERE table_schema = 'public' AND constraint_name::text NOT LIKE '%_not_null'
		UNION ALL
		SELECT 'check', '', constraint_name::text, check_clause::text, '', ''
		FROM information_schema.check_constraints
		WHERE constraint_schema = 'public' AND constraint_name::text NOT LIKE '%_not_null'
		UNION ALL
		SELECT 'index', tablename::text, indexname::text, indexdef, '', '' FROM pg_indexes WHERE schemaname = 'public'
		UNION ALL
		SELECT 'sequence', sequence_name::text, start_value::text, minimum_value::text, maximum_value::text, increment::text
		FROM information_schema.sequences WHERE sequence_schema = 'public'
		UNION ALL
		SELECT 'trigger', event_object_table::text, trigger_name::text, event_manipulation::text,
			action_timing::text, action_orientation::text
		FROM information_schema.triggers WHERE trigger_schema = 'public'
		UNION ALL
		SELECT 'migration', version::text, name, checksum, '', '' FROM nwayacd_schema_migrations
		ORDER BY 1, 2, 3, 4, 5, 6`)
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[schemaRow])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func all() []string {
	ms, _ := pg.Migrations()
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
	}
	return names
}

func migrate(t *testing.T, dsn string) []string {
	t.Helper()
	pool, err := pgxpool.New(testCtx(t), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	applied, err := pg.Migrate(testCtx(t), pool)
	if err != nil {
		t.Fatal(err)
	}
	return applied
}

func TestMigrationsAllPathsAgree(t *testing.T) {
	if len(all()) < 3 {
		t.Fatalf("embedded migrations: %v", all())
	}
	// From an empty database.
	_, empty := pgtest.DB(t)
	if got := migrate(t, empty); !reflect.DeepEqual(got, all()) {
		t.Fatalf("empty database: applied %v, want %v", got, all())
	}
	want := schema(t, empty)

	// Again: nothing to do, nothing changes.
	if got := migrate(t, empty); len(got) != 0 {
		t.Fatalf("second run applied %v", got)
	}
	if got := schema(t, empty); !reflect.DeepEqual(got, want) {
		t.Fatalf("second run changed the schema")
	}

	// From FSGUI's own tables, with rows.
	_, fsgui := pgtest.DB(t)
	seed, err := os.ReadFile("testdata/fsgui_6.1.2.sql")
	if err != nil {
		t.Fatal(err)
	}
	exec(t, fsgui, string(seed))
	if got := migrate(t, fsgui); !reflect.DeepEqual(got, all()) {
		t.Fatalf("fsgui database: applied %v", got)
	}
	got := schema(t, fsgui)
	if !reflect.DeepEqual(got, want) {
		for i := 0; i < len(got) || i < len(want); i++ {
			var g, w schemaRow
			if i < len(got) {
				g = got[i]
			}
			if i < len(want) {
				w = want[i]
			}
			if g != w {
				t.Errorf("first difference at %d:\nfsgui %+v\nempty %+v", i, g, w)
				break
			}
		}
		t.Fatalf("fsgui path: %d schema rows, empty path: %d", len(got), len(want))
	}
	checkFSGUIRows(t, fsgui)
}

// checkFSGUIRows: the seed's rows survive migration and load as the core sees them.
func checkFSGUIRows(t *testing.T, dsn string) {
	s, err := pg.Open(testCtx(t), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	snap, err := s.Load(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	wantGroups := []store.Group{
		{Number: "110", Name: "110报警", Mode: 2, CalloutTimeout: 20 * time.Second, CurrentExt: "1001",
			TransferRing: "/nway/transfer.wav", BlacklistRing: "/nway/black.wav", BusyRing: "/nway/busy.wav"},
		{Number: "12320", Mode: 5, CalloutTimeout: 15 * time.Second},
		{Number: "12345", Name: "12345热线", Mode: 5, CalloutTimeout: 15 * time.Second},
	}
	if !reflect.DeepEqual(snap.Groups, wantGroups) {
		t.Fatalf("seed groups\n got %+v\nwant %+v", snap.Groups, wantGroups)
	}
	wantMembers := []store.Membership{{Ext: "1000", Group: "110"}, {Ext: "1000", Group: "12345"},
		{Ext: "1001", Group: "110"}, {Ext: "1002", Group: "12320"}}
	if !reflect.DeepEqual(snap.Memberships, wantMembers) {
		t.Fatalf("seed memberships\n got %v\nwant %v", snap.Memberships, wantMembers)
	}
	// The seed's sequence carries on where FSGUI left it.
	if err := s.UpsertGroup(testCtx(t), store.Group{Number: "120", Name: "120", Mode: 0}); err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := s.Pool().QueryRow(testCtx(t), `SELECT id FROM ext_group WHERE group_number = '120'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if id != 4 {
		t.Fatalf("new group id %d, want 4 (ext_group_id_seq START 4)", id)
	}
}

func TestMigrateConcurrent(t *testing.T) {
	_, dsn := pgtest.DB(t)
	var wg sync.WaitGroup
	results := make([][]string, 4)
	errs := make([]error, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pool, err := pgxpool.New(testCtx(t), dsn)
			if err != nil {
				errs[i] = err
				return
			}
			defer pool.Close()
			results[i], errs[i] = pg.Migrate(testCtx(t), pool)
		}()
	}
	wg.Wait()
	seen := map[string]int{}
	for i := range results {
		if errs[i] != nil {
			t.Fatalf("migrator %d: %v", i, errs[i])
		}
		for _, n := range results[i] {
			seen[n]++
		}
	}
	for _, n := range all() {
		if seen[n] != 1 {
			t.Fatalf("migration %s applied %d times (results %v)", n, seen[n], results)
		}
	}
	var rows int
	s, _ := pg.Open(testCtx(t), dsn)
	defer func() { _ = s.Close() }()
	if err := s.Pool().QueryRow(testCtx(t), "SELECT count(*) FROM "+pg.MigrationsTable).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != len(all()) {
		t.Fatalf("%d migration rows, want %d", rows, len(all()))
	}
}

func TestWatch(t *testing.T) {
	s, dsn := migrated(t)
	s.SetOrigin("node-a")
	ctx := testCtx(t)
	if err := s.UpsertGroup(ctx, store.Group{Number: "110", Name: "110", Mode: 5}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	calls := 0
	tick := make(chan struct{}, 100)
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- s.Watch(wctx, func() {
			mu.Lock()
			calls++
			mu.Unlock()
			tick <- struct{}{}
		})
	}()
	wait := func(what string) {
		t.Helper()
		select {
		case <-tick:
		case <-ctx.Done():
			t.Fatalf("no callback for %s", what)
		}
	}
	wait("listening") // first call: LISTEN is up

	// Our own config write and a cursor move are not echoed back; FSGUI's
	// edit from another connection is. Notifications arrive in commit order,
	// so an echo would show before FSGUI's.
	if err := s.UpsertGroup(ctx, store.Group{Number: "110", Name: "own edit", Mode: 2}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCurrentExt(ctx, "110", "1000"); err != nil {
		t.Fatal(err)
	}
	exec(t, dsn, `UPDATE ext_group SET group_call_mode = 1 WHERE group_number = '110'`)
	wait("UPDATE ext_group")
	mu.Lock()
	if calls != 2 {
		t.Fatalf("%d callbacks, want 2 (listening + FSGUI's update)", calls)
	}
	mu.Unlock()

	exec(t, dsn, `INSERT INTO ext_group_map (ext_group_id, ext_group_number, ext) VALUES (1, '110', '1005')`)
	wait("INSERT ext_group_map")

	// Own writes to the nwayacd_* configuration are skipped, another node's
	// are reported.
	if err := s.AddListEntry(ctx, store.ListEntry{Kind: store.VIP, Group: "110", Number: "138"}); err != nil {
		t.Fatal(err)
	}
	if err := s.UpsertExtension(ctx, store.Extension{Number: "1005"}); err != nil {
		t.Fatal(err)
	}
	// The process before this one on the node's folder (same origin), whose
	// last transaction commits late, is not another writer.
	before := pg.New(s.Pool())
	before.SetOrigin("node-a")
	if err := before.UpsertExtension(ctx, store.Extension{Number: "1006"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // an echo would be a callback of its own
	other := pg.New(s.Pool())
	if err := other.AddListEntry(ctx, store.ListEntry{Kind: store.Blacklist, Group: "110", Number: "139"}); err != nil {
		t.Fatal(err)
	}
	wait("another node's blacklist entry")
	select {
	case <-tick:
		t.Fatal("a callback for a skipped write")
	case <-time.After(300 * time.Millisecond):
	}
	mu.Lock()
	if calls != 4 {
		t.Fatalf("%d callbacks, want 4 (own list and extension writes, and those of the process before, skipped)", calls)
	}
	mu.Unlock()

	// A killed listener reconnects and reports that it may have missed changes.
	exec(t, dsn, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN%'`)
	wait("reconnect")
	exec(t, dsn, `DELETE FROM ext_group_map WHERE ext = '1005'`)
	wait("DELETE ext_group_map after reconnect")

	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("Watch returned %v, want context.Canceled", err)
	}
}

// BenchmarkLoad loads 10,000 extensions, 1,000 groups and 20,000 logins.
func BenchmarkLoad(b *testing.B) {
	s, dsn := migrated(b)
	exec(b, dsn, `
		INSERT INTO nwayacd_extension (number, job_number) SELECT (10000 + i)::text, i::text FROM generate_series(1, 10000) i;
		INSERT INTO ext_group (group_name, group_number) SELECT 'g' || i, (500000 + i)::text FROM generate_series(1, 1000) i;
		INSERT INTO nwayacd_group (group_number, welcome_ring) SELECT (500000 + i)::text, '/w.wav' FROM generate_series(1, 1000) i;
		INSERT INTO ext_group_map (ext_group_number, ext)
			SELECT (500000 + (i % 1000) + 1 + k)::text, (10000 + i)::text FROM generate_series(1, 10000) i, generate_series(0, 1) k;
		INSERT INTO nwayacd_list (kind, group_number, number) SELECT 'blacklist', '500001', (13800000000 + i)::text FROM generate_series(1, 1000) i;
		ANALYZE;`)
	ctx := testCtx(b)
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		snap, err := s.Load(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if len(snap.Extensions) != 10000 || len(snap.Groups) != 1000 || len(snap.Memberships) != 20000 {
			b.Fatalf("loaded %d extensions, %d groups, %d logins", len(snap.Extensions), len(snap.Groups), len(snap.Memberships))
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/load")
}

// TestMigrateAsNonOwner: FSGUI's tables belong to postgres; the module's
// own role, granted privileges on them but not owning them, can migrate.
func TestMigrateAsNonOwner(t *testing.T) {
	role := "nwayacd_t_role_" + store.NewID()[:8]
	exec(t, pgtest.AdminDSN(), "CREATE ROLE "+role+" LOGIN")
	t.Cleanup(func() { exec(t, pgtest.AdminDSN(), "DROP ROLE IF EXISTS "+role) }) // runs after the database is dropped
	_, dsn := pgtest.DB(t)
	seed, err := os.ReadFile("testdata/fsgui_6.1.2.sql")
	if err != nil {
		t.Fatal(err)
	}
	exec(t, dsn, string(seed))
	exec(t, dsn, "GRANT ALL ON SCHEMA public TO "+role+"; GRANT ALL ON ALL TABLES IN SCHEMA public TO "+role+
		"; GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO "+role)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	if got := migrate(t, u.String()); !reflect.DeepEqual(got, all()) {
		t.Fatalf("applied %v", got)
	}
	s, err := pg.Open(testCtx(t), u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	var triggers int
	if err := s.Pool().QueryRow(testCtx(t), `SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'nwayacd_config_notify%'
		AND tgrelid IN ('ext_group'::regclass, 'ext_group_map'::regclass)`).Scan(&triggers); err != nil {
		t.Fatal(err)
	}
	if triggers != 3 {
		t.Fatalf("%d notify triggers on FSGUI's tables, want 3", triggers)
	}
	if err := s.UpsertGroup(testCtx(t), store.Group{Number: "120", Name: "120", Mode: 0, WelcomeRing: "/w.wav"}); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceMemberships(testCtx(t), "1000", []string{"120"}); err != nil {
		t.Fatal(err)
	}
	snap, err := s.Load(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Groups) != 4 || snap.Groups[1].WelcomeRing != "/w.wav" || len(snap.Memberships) != 3 {
		t.Fatalf("after migrating as %s: %+v", role, snap)
	}
}

// Two writers replacing one extension's logins at once — a node and the
// process it replaced, whose last transaction commits late; two nodes —
// leave the later set only. Under READ COMMITTED a DELETE that waited for
// the first writer does not see the rows it inserted, and both sets stayed.
func TestReplaceMembershipsConcurrent(t *testing.T) {
	s1, dsn := migrated(t)
	ctx := testCtx(t)
	s2, err := pg.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	for _, g := range []string{"110", "120", "12345"} {
		if err := s1.UpsertGroup(ctx, store.Group{Number: g, Mode: 1, CalloutTimeout: 15 * time.Second}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s1.ReplaceMemberships(ctx, "3000", []string{"110"}); err != nil {
		t.Fatal(err)
	}

	inTx, commit, firstDone := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		firstDone <- s1.Batch(ctx, func(ctx context.Context) error {
			if err := s1.ReplaceMemberships(ctx, "3000", []string{"110", "120"}); err != nil {
				return err
			}
			close(inTx)
			<-commit
			return nil
		})
	}()
	<-inTx
	secondDone := make(chan error, 1)
	go func() { secondDone <- s2.ReplaceMemberships(ctx, "3000", []string{"120", "12345"}) }()
	// Commit the first only once the second waits for it.
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	for waiting := 0; waiting == 0; {
		if err := c.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting == 0 {
			select {
			case err := <-secondDone:
				t.Fatalf("the second writer did not wait for the first: %v", err)
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	close(commit)
	if err := <-firstDone; err != nil {
		t.Fatal(err)
	}
	if err := <-secondDone; err != nil {
		t.Fatal(err)
	}
	snap, err := s1.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range snap.Memberships {
		if m.Ext == "3000" {
			got = append(got, m.Group)
		}
	}
	if want := []string{"120", "12345"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("logins of 3000: %v, want %v (the later writer's)", got, want)
	}
}

// BenchmarkBatchMemberships replaces logins as the journal does: 512 per
// transaction, over 100 extensions; ns/op is per login change.
func BenchmarkBatchMemberships(b *testing.B) {
	s, _ := migrated(b)
	ctx := testCtx(b)
	for _, g := range []string{"110", "120", "12345"} {
		if err := s.UpsertGroup(ctx, store.Group{Number: g, Mode: 1, CalloutTimeout: 15 * time.Second}); err != nil {
			b.Fatal(err)
		}
	}
	sets := [][]string{{"110"}, {"120", "12345"}, {"110", "120", "12345"}, nil}
	b.ResetTimer()
	for i := 0; i < b.N; {
		err := s.Batch(ctx, func(ctx context.Context) error {
			for k := 0; k < 512 && i < b.N; k, i = k+1, i+1 {
				if err := s.ReplaceMemberships(ctx, strconv.Itoa(1000+i%100), sets[i%len(sets)]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// A batch's writes go to the server together; a write the database refuses
// still fails the whole batch, named, and nothing of it stays: whether the
// refusal comes out before a write that needs the transaction itself
// (configTx sends what is queued first) or at the batch's end.
func TestBatchIsAllOrNothing(t *testing.T) {
	s, _ := migrated(t)
	ctx := testCtx(t)
	cdr := func(id string) event.CDR {
		return event.CDR{UUID: id, Group: "110", ACallerIDNumber: "13900000000", AStartStamp: "2026-11-30 10:00:00"}
	}
	// Go lets it through; the column (varchar(32)) refuses it.
	tooLong := cdr("batch-x")
	tooLong.AStartStamp = strings.Repeat("9", 40)
	err := s.Batch(ctx, func(ctx context.Context) error {
		if err := s.InsertCDR(ctx, cdr("batch-1")); err != nil {
			return err
		}
		if err := s.InsertCDR(ctx, tooLong); err != nil {
			return fmt.Errorf("queued, yet refused at once: %w", err)
		}
		if err := s.UpsertGroup(ctx, store.Group{Number: "110", Mode: 1, CalloutTimeout: 15 * time.Second}); err != nil {
			return err // the queued refusal comes out here
		}
		return s.InsertCDR(ctx, cdr("batch-2"))
	})
	if !errors.Is(err, store.ErrRejected) || !strings.Contains(err.Error(), "cdr") || strings.Contains(err.Error(), "queued, yet") {
		t.Fatalf("batch with a refused CDR before a group write: %v, want ErrRejected naming the CDR, from the flush", err)
	}
	err = s.Batch(ctx, func(ctx context.Context) error {
		if err := s.InsertCDR(ctx, cdr("batch-3")); err != nil {
			return err
		}
		return s.InsertCDR(ctx, tooLong) // refused at the end
	})
	if !errors.Is(err, store.ErrRejected) || !strings.Contains(err.Error(), "cdr") {
		t.Fatalf("batch with a refused CDR at the end: %v, want ErrRejected naming the write", err)
	}
	snap, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range snap.Groups {
		if g.Number == "110" {
			t.Errorf("group 110 of a failed batch was kept")
		}
	}
	for _, id := range []string{"batch-1", "batch-2", "batch-3"} {
		if _, err := s.CDR(ctx, id); err == nil {
			t.Errorf("CDR %s of a failed batch was kept", id)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.Batch(ctx, func(ctx context.Context) error {
		for i := 4; i < 8; i++ {
			if err := s.InsertCDR(ctx, cdr("batch-"+strconv.Itoa(i))); err != nil {
				return err
			}
		}
		return s.UpsertGroup(ctx, store.Group{Number: "120", Mode: 1, CalloutTimeout: 15 * time.Second})
	}))
	for i := 4; i < 8; i++ {
		if _, err := s.CDR(ctx, "batch-"+strconv.Itoa(i)); err != nil {
			t.Errorf("CDR batch-%d: %v", i, err)
		}
	}
}

// BenchmarkBatchCallWrites applies what the journal applies per call (its
// CDR put pending then stored, five agent states, the caller's memory),
// 16 calls per transaction as the journal's linger gathers them at 20
// calls/s; ns/op is per call.
func BenchmarkBatchCallWrites(b *testing.B) {
	s, _ := migrated(b)
	ctx := testCtx(b)
	if err := s.UpsertGroup(ctx, store.Group{Number: "110", Mode: 1, CalloutTimeout: 15 * time.Second}); err != nil {
		b.Fatal(err)
	}
	if err := s.UpsertExtension(ctx, store.Extension{Number: "1000"}); err != nil {
		b.Fatal(err)
	}
	t0 := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	b.ResetTimer()
	for i := 0; i < b.N; {
		err := s.Batch(ctx, func(ctx context.Context) error {
			for k := 0; k < 16 && i < b.N; k, i = k+1, i+1 {
				id := "bench-" + strconv.Itoa(i)
				c := event.CDR{UUID: id, Group: "110", ACallerIDNumber: "139" + strconv.Itoa(i), AStartStamp: "2026-11-30 10:00:00", DestinationNumber: "1000"}
				if err := s.PutPendingCDR(ctx, "n1", c); err != nil {
					return err
				}
				for _, st := range []string{"ring", "talking", "typing", "ready", "idle"} {
					if err := s.AppendAgentLog(ctx, store.AgentLog{Ext: "1000", Status: st, At: t0.Add(time.Duration(i) * time.Second)}); err != nil {
						return err
					}
				}
				if err := s.PutMemory(ctx, store.Memory{Caller: c.ACallerIDNumber, Group: "110", Ext: "1000", LastTime: t0}); err != nil {
					return err
				}
				if err := s.InsertCDR(ctx, c); err != nil {
					return err
				}
				if err := s.DeletePendingCDR(ctx, id); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// A batch without reads goes as one pipeline that PostgreSQL runs as one
// implicit transaction: its writes must still carry the node's origin and
// run under the writers' lock, and neither may outlive the batch.
func TestBatchPipelineIsTaggedAndLocked(t *testing.T) {
	s, dsn := migrated(t)
	ctx := testCtx(t)
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close(ctx) }()
	for _, q := range []string{
		`CREATE TABLE origin_seen (n serial, origin text, locked bool)`,
		`CREATE FUNCTION note_origin() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
			INSERT INTO origin_seen (origin, locked) VALUES (current_setting('nwayacd.origin', true),
				EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted));
			RETURN NEW; END $$`,
		`CREATE TRIGGER note_origin AFTER INSERT ON nwayacd_agent_log FOR EACH ROW EXECUTE FUNCTION note_origin()`,
	} {
		if _, err := c.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	log := func(status string) store.AgentLog {
		return store.AgentLog{Ext: "1000", Status: status, At: time.Now()}
	}
	if err := s.Batch(ctx, func(ctx context.Context) error {
		if err := s.AppendAgentLog(ctx, log("idle")); err != nil {
			return err
		}
		return s.AppendAgentLog(ctx, log("busy"))
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendAgentLog(ctx, log("away")); err != nil { // alone, outside a batch
		t.Fatal(err)
	}
	rows, _ := c.Query(ctx, `SELECT coalesce(origin, ''), locked FROM origin_seen ORDER BY n`)
	type seen struct {
		origin string
		locked bool
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (seen, error) {
		var v seen
		return v, r.Scan(&v.origin, &v.locked)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d rows noted, want 3", len(got))
	}
	if got[0].origin == "" || got[0] != got[1] || !got[0].locked {
		t.Fatalf("the batch's writes saw %+v, %+v; want this node's origin, under the lock", got[0], got[1])
	}
	if got[2].origin != "" || got[2].locked {
		t.Fatalf("a write after the batch saw %+v: the tag or the lock outlived it", got[2])
	}
}
