package writeback_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/store"
	"github.com/nwayacd/mod_nwayacd/go/store/embedded"
	"github.com/nwayacd/mod_nwayacd/go/store/writeback"
)

func queueRouting(j *writeback.Journal) {
	j.UpsertGroup(store.Group{Number: "110", Name: "110", Mode: 9})
	j.UpsertGroup(store.Group{Number: "120", Name: "120", Mode: 11})
	j.PutMemberConfig(store.MemberConfig{Ext: "1000", Group: "110", Tier: 2, Weight: 3})
	j.PutMemberConfig(store.MemberConfig{Ext: "1001", Group: "120", Tier: 1, Weight: 9})
	j.PutSkill(store.Skill{Ext: "1000", Name: "zh", Level: 5})
	j.PutSkill(store.Skill{Ext: "1000", Name: "en", Level: 2})
	j.DeleteSkill("1000", "en")
	j.PutSkill(store.Skill{Ext: "1002", Name: "en", Level: 2})
	j.ClearExtensionRouting("1002")
	j.PutGroupOptions(store.GroupOptions{Group: "110", ExitKey: "#", Skills: "zh:3", TierWait: 5 * time.Second})
	j.PutGroupOptions(store.GroupOptions{Group: "120", Announce: true})
	j.ClearGroupRouting("120")
}

func routingOf(t *testing.T, s *embedded.Store) string {
	t.Helper()
	snap, err := s.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(snap.MemberConfigs, snap.Skills, snap.GroupOptions)
}

// TestRoutingOpsReplay: routing writes reach a real store through the
// journal, and replaying a crashed journal's copy on a fresh store gives the
// same records (the op kinds round-trip through the file).
func TestRoutingOpsReplay(t *testing.T) {
	dir := t.TempDir()
	s1, err := embedded.Open(filepath.Join(dir, "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s1.Close()
	jdir := filepath.Join(dir, "journal")
	j := open(t, s1, writeback.Options{Dir: jdir})
	queueRouting(j)
	if err := j.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	crashed := copyDir(t, jdir)
	if err := j.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := "[{1000 110 2 3}] [{1000 zh 5}] [{110 false 5s false zh:3 0s 0  0s 0 # false  false 0 0s  0s  false  0s}]"
	if got := routingOf(t, s1); got != want {
		t.Fatalf("store after the journal\n got %s\nwant %s", got, want)
	}
	if st := j.Stats(); st.Rejected != 0 {
		t.Fatalf("rejected %d writes: %s", st.Rejected, st.LastError)
	}

	s2, err := embedded.Open(filepath.Join(dir, "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	j2 := open(t, s2, writeback.Options{Dir: crashed})
	if err := j2.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := routingOf(t, s2); got != want {
		t.Fatalf("store after replay\n got %s\nwant %s", got, want)
	}
}

// A target that keeps no routing settings refuses those ops for good.
func TestRoutingOpsRejectedByPlainTarget(t *testing.T) {
	f := &fake{}
	j := open(t, f, writeback.Options{})
	j.PutSkill(store.Skill{Ext: "1000", Name: "zh", Level: 5})
	j.UpsertExtension(store.Extension{Number: "1000", JobNumber: "7"})
	if err := j.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := j.Stats(); st.Rejected != 1 {
		t.Fatalf("rejected %d, want 1", st.Rejected)
	}
	if fmt.Sprint(f.written) != "[ext 1000 7]" {
		t.Fatalf("written %v", f.written)
	}
}

// retainedEmbedded opens an embedded store behind a journal that retains
// what it applies from now on (as a reload does), all closed at the test's end.
func retainedEmbedded(t *testing.T) (*embedded.Store, *writeback.Journal, uint64) {
	t.Helper()
	s, err := embedded.Open(filepath.Join(t.TempDir(), "nwayacd.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	j := open(t, s, writeback.Options{Dir: t.TempDir()})
	t.Cleanup(func() { j.Close(context.Background()) })
	applied, release := j.Retain()
	t.Cleanup(release)
	return s, j, applied
}

// A reload's replay (Retain, ReplayOnto a store.Overlay) keeps the routing
// writes: a snapshot without them would reset every tier, skill and option.
func TestRoutingOpsReplayOntoOverlay(t *testing.T) {
	ctx := context.Background()
	_, j, applied := retainedEmbedded(t)
	queueRouting(j)
	if err := j.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	o := store.NewOverlay(store.Snapshot{Skills: []store.Skill{{Ext: "1009", Name: "old", Level: 1}}})
	if err := j.ReplayOnto(ctx, o, applied); err != nil {
		t.Fatal(err)
	}
	snap := o.Snapshot()
	got := fmt.Sprint(snap.MemberConfigs, snap.Skills, snap.GroupOptions)
	want := "[{1000 110 2 3}] [{1000 zh 5} {1009 old 1}] [{110 false 5s false zh:3 0s 0  0s 0 # false  false 0 0s  0s  false  0s}]"
	if got != want {
		t.Fatalf("overlay after replay\n got %s\nwant %s", got, want)
	}
}

// Pending callbacks go through the journal to the store, and a reload's
// replay onto an Overlay keeps them.
func TestCallbackOpsStoreAndReplay(t *testing.T) {
	ctx := context.Background()
	s, j, applied := retainedEmbedded(t)
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	j.PutCallback(store.Callback{UUID: "cb1", Group: "110", Callback: "13900000001", CallinTime: at})
	j.PutCallback(store.Callback{UUID: "cb2", Group: "110", Callback: "13900000002", CallinTime: at, Tries: 1})
	j.DeleteCallback("cb1")
	if err := j.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	snap, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Callbacks) != 1 || snap.Callbacks[0].UUID != "cb2" || snap.Callbacks[0].Tries != 1 {
		t.Fatalf("store: %+v", snap.Callbacks)
	}
	o := store.NewOverlay(store.Snapshot{Callbacks: []store.Callback{{UUID: "cb1", Group: "110", Callback: "1", CallinTime: at}}})
	if err := j.ReplayOnto(ctx, o, applied); err != nil {
		t.Fatal(err)
	}
	if got := o.Snapshot().Callbacks; len(got) != 1 || got[0].UUID != "cb2" {
		t.Fatalf("overlay: %+v", got)
	}
}
