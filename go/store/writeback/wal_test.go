package writeback_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/event"
	"github.com/nwayacd/mod_nwayacd/go/store"
	"github.com/nwayacd/mod_nwayacd/go/store/embedded"
	"github.com/nwayacd/mod_nwayacd/go/store/writeback"
)

// copyDir copies the journal folder as a crash leaves it: what Sync promised
// is on disk; nothing is closed or flushed first.
func copyDir(t *testing.T, from string) string {
	t.Helper()
	to := t.TempDir()
	ents, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

// TestCrashReplay: writes the store never took (it hangs) but Sync
// acknowledged are replayed, in order and complete, by the next journal on
// the same folder.
func TestCrashReplay(t *testing.T) {
	dir := t.TempDir()
	stuck := &fake{gate: make(chan struct{})}
	j := open(t, stuck, writeback.Options{Dir: dir})
	var want []string
	for i := range 300 {
		j.UpsertExtension(store.Extension{Number: fmt.Sprint(1000 + i%7), JobNumber: fmt.Sprint(i)})
		want = append(want, fmt.Sprintf("ext %d %d", 1000+i%7, i))
		if i%50 == 49 {
			if err := j.Sync(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	}
	crashed := copyDir(t, dir)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		defer cancel()
		_ = j.Close(ctx)
	}()

	f := &fake{}
	j2 := open(t, f, writeback.Options{Dir: crashed})
	if st := j2.Stats(); st.Replayed != 300 {
		t.Fatalf("replayed %d, want 300", st.Replayed)
	}
	j2.InsertCDR(event.CDR{UUID: "after"})
	if err := j2.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := f.got(); !slices.Equal(got, append(want, "cdr after")) {
		t.Fatalf("replayed %d writes, want %d in order; first differences: %v", len(got), len(want)+1, got[:min(5, len(got))])
	}
	// A clean close leaves nothing to replay.
	f3 := &fake{}
	j3 := open(t, f3, writeback.Options{Dir: crashed})
	if err := j3.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := j3.Stats(); st.Replayed != 0 || len(f3.got()) != 0 {
		t.Fatalf("after a clean close: replayed %d, written %v", st.Replayed, f3.got())
	}
}

// TestTornTail: a record cut off mid-write (kill -9 during the write, before
// its fsync returned, so never acknowledged) is dropped; the rest replays.
func TestTornTail(t *testing.T) {
	dir := t.TempDir()
	stuck := &fake{gate: make(chan struct{})}
	j := open(t, stuck, writeback.Options{Dir: dir})
	for i := range 10 {
		j.InsertCDR(event.CDR{UUID: fmt.Sprint(i)})
	}
	if err := j.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	crashed := copyDir(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	_ = j.Close(ctx)
	segs, _ := filepath.Glob(filepath.Join(crashed, "*.wal"))
	sort.Strings(segs)
	if len(segs) == 0 {
		t.Fatal("no segment written")
	}
	fh, err := os.OpenFile(segs[len(segs)-1], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fh.Write([]byte{200, 0, 0, 0, 1, 2, 3, 4, '{', '"'}) // a header and half a record
	fh.Close()

	f := &fake{}
	j2 := open(t, f, writeback.Options{Dir: crashed})
	j2.InsertCDR(event.CDR{UUID: "next"})
	if err := j2.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := f.got(); len(got) != 11 || got[0] != "cdr 0" || got[9] != "cdr 9" || got[10] != "cdr next" {
		t.Fatalf("written %v", got)
	}
}

// TestEmbeddedReplay: a crash after the store took part of the backlog
// replays from the last recorded point over a real embedded store, and the
// result equals the writes' last values (replay in order is idempotent).
func TestEmbeddedReplay(t *testing.T) {
	dir := t.TempDir()
	s, err := embedded.Open(filepath.Join(dir, "nwayacd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	jdir := filepath.Join(dir, "journal")
	j := open(t, s, writeback.Options{Dir: jdir, BatchSize: 16})
	groups := []string{"110", "120", "119"}
	for _, g := range groups {
		j.UpsertGroup(store.Group{Number: g, Name: g, Mode: 2})
	}
	for i := range 500 {
		ext := fmt.Sprint(1000 + i%13)
		j.UpsertExtension(store.Extension{Number: ext, JobNumber: fmt.Sprint(i)})
		j.ReplaceMemberships(ext, groups[:1+i%3])
		j.InsertCDR(event.CDR{UUID: fmt.Sprintf("c%d", i%200)})
		j.AppendAgentLog(store.AgentLog{Ext: ext, Status: fmt.Sprint(i), At: time.Unix(int64(i), 0)})
	}
	if err := j.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	crashed := copyDir(t, jdir)
	if err := j.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	before, err := s.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	logs, _ := s.AgentLogs(context.Background(), "1000", 1000)
	// Replay everything the crashed copy held over the store that has it all.
	j2 := open(t, s, writeback.Options{Dir: crashed})
	if err := j2.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	after, err := s.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Fatalf("replay changed the store:\nbefore %v\nafter  %v", before, after)
	}
	logs2, _ := s.AgentLogs(context.Background(), "1000", 1000)
	if len(logs) != len(logs2) || len(logs) != 39 {
		t.Fatalf("agent log rows of 1000: %d before, %d after replay, want 39", len(logs), len(logs2))
	}
	_ = j.Close(context.Background())
}

// BenchmarkDurableChanges: acknowledged changes per second over a real
// embedded store: each writer queues a seat change (two writes, as a login
// makes) and waits for Sync, as REST and the console do before answering;
// the store keeps up (the timer includes the final Flush). Target ≥ 20,000/s.
func BenchmarkDurableChanges(b *testing.B) {
	dir := b.TempDir()
	s, err := embedded.Open(filepath.Join(dir, "nwayacd.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	j := open(b, s, writeback.Options{Dir: filepath.Join(dir, "journal")})
	j.UpsertGroup(store.Group{Number: "110", Mode: 2})
	const writers = 256
	var next sync.Mutex
	n := 0
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				next.Lock()
				i := n
				n++
				next.Unlock()
				if i >= b.N {
					return
				}
				ext := fmt.Sprint(10000 + (i*writers+w)%5000)
				j.UpsertExtension(store.Extension{Number: ext, JobNumber: fmt.Sprint(i)})
				j.ReplaceMemberships(ext, []string{"110"})
				if err := j.Sync(context.Background()); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := j.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/el.Seconds(), "changes/s")
	st := j.Stats()
	b.ReportMetric(float64(2*b.N)/float64(max(st.Commits, 1)), "writes/fsync")
	if err := j.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
}

// TestOneProcessPerJournal: a second journal on the same folder is refused
// (two writers would interleave records), until the first one closes.
func TestOneProcessPerJournal(t *testing.T) {
	dir := t.TempDir()
	j := open(t, &fake{}, writeback.Options{Dir: dir})
	if j2, err := writeback.New(&fake{}, writeback.Options{Dir: dir}); err == nil {
		_ = j2.Close(context.Background())
		t.Fatal("two journals on one folder")
	} else if !strings.Contains(err.Error(), "in use") {
		t.Fatalf("error does not say why: %v", err)
	}
	if err := j.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	open(t, &fake{}, writeback.Options{Dir: dir}).Close(context.Background())
}

// TestSpillBoundsMemory: while the store is stuck, at most Limit writes stay
// in memory; the rest live only in the journal file and are read back, in
// order, when the store takes writes again — also after a restart.
func TestSpillBoundsMemory(t *testing.T) {
	dir := t.TempDir()
	stuck := &fake{gate: make(chan struct{})}
	j := open(t, stuck, writeback.Options{Dir: dir, Limit: 10, BatchSize: 4})
	var want []string
	for i := range 100 {
		j.InsertCDR(event.CDR{UUID: fmt.Sprint(i)})
		want = append(want, fmt.Sprintf("cdr %d", i))
	}
	if err := j.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := j.Stats(); st.InMemory > 10 || st.Backlog != 100 {
		t.Fatalf("stats %+v: want at most 10 of 100 in memory", st)
	}
	crashed := copyDir(t, dir)

	close(stuck.gate)
	if err := j.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := stuck.got(); !slices.Equal(got, want) {
		t.Fatalf("written %d: %v…", len(got), got[:min(12, len(got))])
	}

	// The same from a crash: a replay longer than the limit.
	f := &fake{}
	j2 := open(t, f, writeback.Options{Dir: crashed, Limit: 10})
	if st := j2.Stats(); st.InMemory > 10 || st.Replayed != 100 {
		t.Fatalf("replay stats %+v", st)
	}
	j2.InsertCDR(event.CDR{UUID: "after"})
	if err := j2.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := f.got(); !slices.Equal(got, append(want, "cdr after")) {
		t.Fatalf("replayed %d: %v…", len(got), got[:min(12, len(got))])
	}
}

// TestPendingCDRReplay: the provisional CDR of a call still waiting at a
// crash, and a call whose final CDR and delete were journaled, replay to
// the state the node emits from: one pending record, one stored CDR.
func TestPendingCDRReplay(t *testing.T) {
	dir := t.TempDir()
	jdir := filepath.Join(dir, "journal")
	gate := &fake{gate: make(chan struct{})} // the store takes nothing before the crash
	j := open(t, gate, writeback.Options{Dir: jdir})
	j.PutPendingCDR("a", event.CDR{UUID: "waiting", Group: "110", NoAnswerAgents: []string{"1001"}})
	j.PutPendingCDR("a", event.CDR{UUID: "done", Group: "110"})
	j.InsertCDR(event.CDR{UUID: "done", Group: "110", Flag: "final"})
	j.DeletePendingCDR("done")
	if err := j.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	crashed := copyDir(t, jdir)
	close(gate.gate)
	_ = j.Close(context.Background())

	s, err := embedded.Open(filepath.Join(dir, "nwayacd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	j2 := open(t, s, writeback.Options{Dir: crashed})
	if err := j2.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	l, err := s.PendingCDRs(context.Background(), "a")
	if err != nil || len(l) != 1 || l[0].UUID != "waiting" || len(l[0].NoAnswerAgents) != 1 {
		t.Fatalf("pending after replay: %+v %v", l, err)
	}
	if l, err := s.PendingCDRs(context.Background(), "b"); err != nil || len(l) != 0 {
		t.Fatalf("node a's pending CDR replayed as another node's: %+v %v", l, err)
	}
	if c, err := s.CDR(context.Background(), "done"); err != nil || c.Flag != "final" {
		t.Fatalf("final CDR after replay: %+v %v", c, err)
	}
}

// TestWrittenBeforeSynced: a write nobody Syncs (a call's, not an
// acknowledged change) reaches the journal file at once, before its group
// fsync: a process killed then loses nothing (the page cache keeps it). A
// copy of the folder taken as soon as the file holds it replays it.
func TestWrittenBeforeSynced(t *testing.T) {
	dir := t.TempDir()
	stuck := &fake{gate: make(chan struct{})}
	j := open(t, stuck, writeback.Options{Dir: dir})
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		defer cancel()
		_ = j.Close(ctx)
	}()
	j.InsertCDR(event.CDR{UUID: "unsynced"})
	var crashed string
	for deadline := time.Now().Add(5 * time.Second); ; {
		crashed = copyDir(t, dir)
		j2 := open(t, &fake{gate: make(chan struct{})}, writeback.Options{Dir: crashed})
		n := j2.Stats().Replayed
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		_ = j2.Close(ctx)
		cancel()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the write never reached the journal file")
		}
		time.Sleep(time.Millisecond)
	}
	f := &fake{}
	j3 := open(t, f, writeback.Options{Dir: crashed})
	if err := j3.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := f.got(); !slices.Equal(got, []string{"cdr unsynced"}) {
		t.Fatalf("replayed %v", got)
	}
}
