package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/store"
)

// The overlay carries the routing records through and applies their writes
// as the stores do (a group's deletion takes its options and tiers).
func TestOverlayRouting(t *testing.T) {
	ctx := context.Background()
	o := store.NewOverlay(store.Snapshot{
		Groups:        []store.Group{{Number: "110"}, {Number: "120"}},
		MemberConfigs: []store.MemberConfig{{Ext: "1000", Group: "110", Tier: 2, Weight: 1}, {Ext: "1000", Group: "120", Tier: 3, Weight: 1}},
		Skills:        []store.Skill{{Ext: "1000", Name: "zh", Level: 5}},
		GroupOptions:  []store.GroupOptions{{Group: "110", ExitKey: "#"}, {Group: "120", Announce: true}},
	})
	for _, err := range []error{
		o.PutSkill(ctx, store.Skill{Ext: "1001", Name: "en", Level: 2}),
		o.DeleteSkill(ctx, "1000", "zh"),
		o.PutMemberConfig(ctx, store.MemberConfig{Ext: "1001", Group: "110", Tier: 9, Weight: 4}),
		o.PutGroupOptions(ctx, store.GroupOptions{Group: "110", TierWait: 1500 * time.Millisecond}),
		o.DeleteGroup(ctx, "120"),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := o.PutSkill(ctx, store.Skill{Ext: "1001", Name: "en", Level: 11}); err == nil {
		t.Fatal("level 11 taken")
	}
	s := o.Snapshot()
	if !reflect.DeepEqual(s.MemberConfigs, []store.MemberConfig{{Ext: "1000", Group: "110", Tier: 2, Weight: 1}, {Ext: "1001", Group: "110", Tier: 9, Weight: 4}}) ||
		!reflect.DeepEqual(s.Skills, []store.Skill{{Ext: "1001", Name: "en", Level: 2}}) ||
		!reflect.DeepEqual(s.GroupOptions, []store.GroupOptions{{Group: "110", TierWait: time.Second}}) {
		t.Fatalf("overlay %+v %+v %+v", s.MemberConfigs, s.Skills, s.GroupOptions)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(o.ClearExtensionRouting(ctx, "1001"))
	if s := o.Snapshot(); len(s.MemberConfigs) != 1 || s.MemberConfigs[0].Ext != "1000" || len(s.Skills) != 0 || len(s.GroupOptions) != 1 {
		t.Fatalf("after clearing 1001 %+v %+v %+v", s.MemberConfigs, s.Skills, s.GroupOptions)
	}
	must(o.ClearGroupRouting(ctx, "110"))
	if s := o.Snapshot(); len(s.MemberConfigs)+len(s.Skills)+len(s.GroupOptions) != 0 {
		t.Fatalf("after clearing 110 %+v %+v %+v", s.MemberConfigs, s.Skills, s.GroupOptions)
	}
}
