package writeback_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"testing"

	"github.com/nwayacd/mod_nwayacd/go/event"
	"github.com/nwayacd/mod_nwayacd/go/store"
	"github.com/nwayacd/mod_nwayacd/go/store/writeback"
)

// Writes the store takes while a reload holds Retain stay replayable, so
// the reloaded snapshot plus the replay shows every queued write, whether
// or not the snapshot caught it.
func TestRetainReplay(t *testing.T) {
	ctx := context.Background()
	f := &fake{gate: make(chan struct{})}
	j := open(t, f, writeback.Options{Dir: t.TempDir(), Linger: -1, BatchSize: 1})
	defer j.Close(ctx)
	let := func(n int) {
		for range n {
			f.gate <- struct{}{}
		}
	}
	j.UpsertExtension(store.Extension{Number: "1", JobNumber: "a"})
	let(1)
	if err := j.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	applied, release := j.Retain()
	if applied != 1 {
		t.Fatalf("Retain: applied %d, want 1", applied)
	}
	j.UpsertExtension(store.Extension{Number: "1", JobNumber: "b"})
	j.InsertCDR(event.CDR{UUID: "u1"}) // not part of a snapshot
	j.UpsertExtension(store.Extension{Number: "2", JobNumber: "c"})
	j.UpsertExtension(store.Extension{Number: "", JobNumber: "refused"})
	let(2) // the store takes two of them meanwhile
	for j.Stats().Backlog != 2 {
		runtime.Gosched()
	}
	o := store.NewOverlay(store.Snapshot{Extensions: []store.Extension{{Number: "1", JobNumber: "a"}}})
	if err := j.ReplayOnto(ctx, o, applied); err != nil {
		t.Fatal(err)
	}
	want := []store.Extension{{Number: "1", JobNumber: "b"}, {Number: "2", JobNumber: "c"}}
	if got := o.Snapshot().Extensions; !reflect.DeepEqual(got, want) {
		t.Fatalf("replayed: %+v, want %+v", got, want)
	}
	release()
	release() // twice is harmless

	let(2)
	if err := j.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// Without Retain the applied writes are gone: a replay from before them
	// must say so rather than return a partial result.
	j.UpsertExtension(store.Extension{Number: "3", JobNumber: "d"})
	if err := j.ReplayOnto(ctx, store.NewOverlay(store.Snapshot{}), applied); !errors.Is(err, writeback.ErrNotInMemory) {
		t.Fatalf("replay of forgotten writes: %v, want ErrNotInMemory", err)
	}
	a, rel := j.Retain()
	o = store.NewOverlay(store.Snapshot{})
	if err := j.ReplayOnto(ctx, o, a); err != nil || len(o.Snapshot().Extensions) != 1 {
		t.Fatalf("replay from %d: %v %+v", a, err, o.Snapshot())
	}
	rel()
	let(1)
}

// Writes spilled to the journal file are not in memory: ReplayOnto says so.
func TestReplaySpilled(t *testing.T) {
	ctx := context.Background()
	f := &fake{gate: make(chan struct{})}
	j := open(t, f, writeback.Options{Dir: t.TempDir(), Limit: 4})
	applied, release := j.Retain()
	defer release()
	for i := range 10 {
		j.UpsertExtension(store.Extension{Number: fmt.Sprint(i), JobNumber: "x"})
	}
	if err := j.ReplayOnto(ctx, store.NewOverlay(store.Snapshot{}), applied); !errors.Is(err, writeback.ErrNotInMemory) {
		t.Fatalf("replay with spilled writes: %v, want ErrNotInMemory", err)
	}
	// Once all of them are in the file, ReplayAllOnto reads them back.
	if err := j.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	o := store.NewOverlay(store.Snapshot{})
	if err := j.ReplayAllOnto(ctx, o, applied); err != nil {
		t.Fatal(err)
	}
	if got := o.Snapshot().Extensions; len(got) != 10 || got[0].Number != "0" || got[9].Number != "9" {
		t.Fatalf("replayed from memory and file: %+v", got)
	}
	close(f.gate)
	if err := j.Close(ctx); err != nil {
		t.Fatal(err)
	}
}
