package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/store"
)

// An Overlay applies writes as the stores do: a replaced login comes last,
// a group's cursor survives an upsert, a deleted group takes its logins,
// lists and memory, and a refused write changes nothing.
func TestOverlay(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	o := store.NewOverlay(store.Snapshot{
		Extensions:  []store.Extension{{Number: "1000", JobNumber: "7"}},
		Groups:      []store.Group{{Number: "110", Mode: 1, CurrentExt: "1000"}, {Number: "120", Mode: 1}},
		Memberships: []store.Membership{{Ext: "1000", Group: "110"}, {Ext: "1001", Group: "120"}, {Ext: "1001", Group: "110"}},
		Lists:       []store.ListEntry{{Kind: store.VIP, Group: "120", Number: "555"}},
		Memory:      []store.Memory{{Caller: "555", Group: "120", Ext: "1001", LastTime: at}},
	})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(o.ReplaceMemberships(ctx, "1000", []string{"120", "110"}))
	must(o.UpsertGroup(ctx, store.Group{Number: "110", Name: "sales", Mode: 2, CalloutTimeout: 15 * time.Second}))
	must(o.UpsertExtension(ctx, store.Extension{Number: "1002", JobNumber: "9", Busy: true}))
	must(o.DeleteGroup(ctx, "120"))
	must(o.AddListEntry(ctx, store.ListEntry{Kind: store.Blacklist, Group: "110", Number: "666"}))
	if o.ReplaceMemberships(ctx, "1002", []string{"110", "110"}) == nil {
		t.Error("a login listing a group twice was taken")
	}
	must(o.ReplaceMemberships(ctx, "1001", nil))
	must(o.SetCurrentExt(ctx, "110", "1002"))
	must(o.SetCurrentExt(ctx, "999", "1002")) // unknown group: no-op

	want := store.Snapshot{
		Extensions:  []store.Extension{{Number: "1000", JobNumber: "7"}, {Number: "1002", JobNumber: "9", Busy: true}},
		Groups:      []store.Group{{Number: "110", Name: "sales", Mode: 2, CalloutTimeout: 15 * time.Second, CurrentExt: "1002"}},
		Memberships: []store.Membership{{Ext: "1000", Group: "110"}},
		Lists:       []store.ListEntry{{Kind: store.Blacklist, Group: "110", Number: "666"}},
	}
	if got := o.Snapshot(); !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}

	// Replaced logins come after the ones left alone, as new rows do.
	o = store.NewOverlay(store.Snapshot{Memberships: []store.Membership{{Ext: "1", Group: "110"}, {Ext: "2", Group: "110"}}})
	must(o.ReplaceMemberships(ctx, "1", []string{"120"}))
	if got := o.Snapshot().Memberships; !reflect.DeepEqual(got, []store.Membership{{Ext: "2", Group: "110"}, {Ext: "1", Group: "120"}}) {
		t.Fatalf("membership order %+v", got)
	}
}
