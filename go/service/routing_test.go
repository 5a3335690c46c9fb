package service

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/store"
	"github.com/nwayacd/mod_nwayacd/go/store/embedded"
	"github.com/nwayacd/mod_nwayacd/go/store/writeback"
)

// TestRoutingSettingsSurviveRestart: tiers, weights, skills, options and a
// mode beyond the seed go through the journal into a real store, and a new
// service loaded from it has them; removing the extension / group clears them.
func TestRoutingSettingsSurviveRestart(t *testing.T) {
	ctx := context.Background()
	db, err := embedded.Open(filepath.Join(t.TempDir(), "nwayacd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	j, err := writeback.New(db, writeback.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{Journal: nodeJournal{j}, ManualTimers: true, SyncHost: true})
	must(t, s.AddGroup("110", acd.ModeBestSkill))
	must(t, s.AddGroup("120", acd.ModeRingAll))
	must(t, s.AddExtension("1000", ""))
	must(t, s.AddExtension("1001", ""))
	must(t, s.Login("1000", []string{"110", "120"}))
	must(t, s.SetTier("1000", "110", 3))
	must(t, s.SetWeight("1000", "110", 40))
	must(t, s.SetSkill("1000", "zh", 7))
	must(t, s.SetSkill("1000", "en", 2))
	must(t, s.RemoveSkill("1000", "en"))
	must(t, s.SetSkill("1001", "en", 4))
	must(t, s.SetTier("1001", "120", 2))
	must(t, s.SetGroupOptions("110", func(o *acd.GroupOptions) {
		o.MemoryFirst, o.TierWait, o.ExitKey, o.Announce = true, 20*time.Second, "#", true
		o.Skills = []acd.SkillReq{{Name: "zh", Level: 5}}
		o.OverflowGroup, o.OverflowAfter, o.MaxWaiting = "120", time.Minute, 30
	}))
	must(t, s.SetGroupOptions("120", func(o *acd.GroupOptions) { o.CallbackKey = "9" }))
	if err := s.SetGroupOptions("110", func(o *acd.GroupOptions) { o.ExitKey = "xx" }); acd.CodeOf(err) != acd.ErrBadArgument {
		t.Fatalf("bad exit key: %v", err)
	}
	must(t, s.RemoveExtension("1001"))
	must(t, s.RemoveGroup("120"))
	if err := j.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if st := j.Stats(); st.Rejected != 0 {
		t.Fatalf("journal rejected %d: %s", st.Rejected, st.LastError)
	}
	snap, err := db.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Skills) != 1 || len(snap.MemberConfigs) != 1 || len(snap.GroupOptions) != 1 {
		t.Fatalf("stored %+v %+v %+v", snap.Skills, snap.MemberConfigs, snap.GroupOptions)
	}

	s2 := New(Options{ManualTimers: true, SyncHost: true})
	s2.Load(snap)
	g, err := s2.Group("110")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := s.Group("110")
	if g.Mode != acd.ModeBestSkill || !reflect.DeepEqual(g.Options, want.Options) {
		t.Fatalf("options after restart\n got %d %+v\nwant %+v", g.Mode, g.Options, want.Options)
	}
	if !reflect.DeepEqual(g.Memberships, []acd.Membership{{Extension: "1000", Tier: 3, Weight: 40}}) {
		t.Fatalf("memberships after restart %+v", g.Memberships)
	}
	x, err := s2.Extension("1000")
	if err != nil || !reflect.DeepEqual(x.Skills, []acd.SkillReq{{Name: "zh", Level: 7}}) {
		t.Fatalf("skills after restart %+v %v", x.Skills, err)
	}
}

// Stored records the core refuses are skipped, not fatal.
func TestLoadSkipsBadRoutingRecords(t *testing.T) {
	s := New(Options{ManualTimers: true, SyncHost: true})
	s.Load(store.Snapshot{
		Groups:        []store.Group{{Number: "110", Mode: 10}},
		GroupOptions:  []store.GroupOptions{{Group: "110", Skills: "zh:99"}, {Group: "404", Announce: true}, {Group: "110", Announce: true, CallbackKey: "9"}},
		MemberConfigs: []store.MemberConfig{{Ext: "1000", Group: "404", Tier: 2, Weight: 1}, {Ext: "1000", Group: "110", Tier: 2, Weight: 5}},
		Skills:        []store.Skill{{Ext: "1000", Name: "bad name!", Level: 1}, {Ext: "1000", Name: "en", Level: 3}},
	})
	g, _ := s.Group("110")
	if g.Mode != acd.ModeWeightedRandom || len(g.Options.Skills) != 0 || !g.Options.Announce || g.Options.CallbackKey != "9" ||
		!reflect.DeepEqual(g.Memberships, []acd.Membership{{Extension: "1000", Tier: 2, Weight: 5}}) {
		t.Fatalf("group %+v", g)
	}
	x, _ := s.Extension("1000")
	if !reflect.DeepEqual(x.Skills, []acd.SkillReq{{Name: "en", Level: 3}}) {
		t.Fatalf("skills %+v", x.Skills)
	}
}

// Sync follows another node's routing settings, and resets what it removed.
func TestSyncRouting(t *testing.T) {
	s := New(Options{ManualTimers: true, SyncHost: true})
	base := store.Snapshot{
		Extensions:  []store.Extension{{Number: "1000", JobEnabled: true}, {Number: "1001", JobEnabled: true}},
		Groups:      []store.Group{{Number: "110", Mode: 11}, {Number: "120", Mode: 9}},
		Memberships: []store.Membership{{Ext: "1000", Group: "110"}, {Ext: "1001", Group: "110"}},
	}
	snap := base
	snap.GroupOptions = []store.GroupOptions{{Group: "110", ExitKey: "#", Skills: "zh:3", TierWait: 10 * time.Second}}
	snap.MemberConfigs = []store.MemberConfig{{Ext: "1000", Group: "110", Tier: 2, Weight: 7}}
	snap.Skills = []store.Skill{{Ext: "1000", Name: "zh", Level: 5}, {Ext: "1001", Name: "en", Level: 2}}
	s.Sync(snap)
	g, _ := s.Group("110")
	if g.Options.ExitKey != "#" || acd.FormatSkills(g.Options.Skills) != "zh:3" || g.Options.TierWait != 10*time.Second ||
		!reflect.DeepEqual(g.Memberships, []acd.Membership{{Extension: "1000", Tier: 2, Weight: 7}}) {
		t.Fatalf("after sync: %+v", g)
	}
	if x, _ := s.Extension("1001"); !reflect.DeepEqual(x.Skills, []acd.SkillReq{{Name: "en", Level: 2}}) {
		t.Fatalf("skills of 1001: %+v", x.Skills)
	}
	// The other node changed one skill, dropped the rest.
	snap = base
	snap.Skills = []store.Skill{{Ext: "1000", Name: "zh", Level: 9}}
	s.Sync(snap)
	g, _ = s.Group("110")
	if OptionsRecord("110", g.Options) != (store.GroupOptions{Group: "110"}) {
		t.Fatalf("options not reset: %+v", g.Options)
	}
	for _, m := range g.Memberships {
		if m.Tier != 1 || m.Weight != 1 {
			t.Fatalf("membership not reset: %+v", g.Memberships)
		}
	}
	x0, _ := s.Extension("1000")
	x1, _ := s.Extension("1001")
	if !reflect.DeepEqual(x0.Skills, []acd.SkillReq{{Name: "zh", Level: 9}}) || len(x1.Skills) != 0 {
		t.Fatalf("skills %+v / %+v", x0.Skills, x1.Skills)
	}
}
