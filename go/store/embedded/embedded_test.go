package embedded_test

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/event"
	"github.com/nwayacd/mod_nwayacd/go/store"
	"github.com/nwayacd/mod_nwayacd/go/store/embedded"
	"github.com/nwayacd/mod_nwayacd/go/store/storetest"
)

func TestSuite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		s, err := embedded.Open(filepath.Join(t.TempDir(), "nwayacd.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestReopen: everything written survives closing and reopening the file.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "nwayacd.db")
	s, err := embedded.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	g := store.Group{Number: "110", Name: "110", Mode: 2, CalloutTimeout: 15 * time.Second, BusyRingTimes: 2}
	steps := []error{
		s.UpsertExtension(ctx, store.Extension{Number: "1000", JobNumber: "1234", JobEnabled: true}),
		s.UpsertGroup(ctx, g),
		s.SetCurrentExt(ctx, "110", "1000"),
		s.ReplaceMemberships(ctx, "1000", []string{"110"}),
		s.AddListEntry(ctx, store.ListEntry{Kind: store.VIP, Group: "110", Number: "138"}),
		s.InsertCDR(ctx, event.CDR{UUID: "u1", Group: "110"}),
	}
	for i, err := range steps {
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	before, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A second opener waits for the file lock, then gives up.
	if _, err := embedded.Open(path); err == nil {
		t.Fatal("second Open of a locked file succeeded")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = embedded.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	after, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(before, after) || len(after.Groups) != 1 || after.Groups[0].CurrentExt != "1000" {
		t.Fatalf("after reopen\n got %+v\nwant %+v", after, before)
	}
	if c, err := s.CDR(ctx, "u1"); err != nil || c.Group != "110" {
		t.Fatalf("cdr after reopen: %+v %v", c, err)
	}
}

// BenchmarkLoad loads 10,000 extensions, 1,000 groups and 20,000 logins.
func BenchmarkLoad(b *testing.B) {
	ctx := context.Background()
	s, err := embedded.Open(filepath.Join(b.TempDir(), "nwayacd.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	for i := range 1000 {
		if err := s.UpsertGroup(ctx, store.Group{Number: fmt.Sprint(500001 + i), Name: "g", Mode: 5}); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 10000 {
		ext := fmt.Sprint(10001 + i)
		if err := s.UpsertExtension(ctx, store.Extension{Number: ext, JobNumber: fmt.Sprint(i)}); err != nil {
			b.Fatal(err)
		}
		if err := s.ReplaceMemberships(ctx, ext, []string{fmt.Sprint(500001 + i%1000), fmt.Sprint(500001 + (i+1)%1000)}); err != nil {
			b.Fatal(err)
		}
	}
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
