package storetest

import (
	"errors"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/store"
)

func sortRouting(s *store.Snapshot) {
	sort.Slice(s.MemberConfigs, func(i, j int) bool {
		a, b := s.MemberConfigs[i], s.MemberConfigs[j]
		return a.Ext+"\x00"+a.Group < b.Ext+"\x00"+b.Group
	})
	sort.Slice(s.Skills, func(i, j int) bool {
		a, b := s.Skills[i], s.Skills[j]
		return a.Ext+"\x00"+a.Name < b.Ext+"\x00"+b.Name
	})
	sort.Slice(s.GroupOptions, func(i, j int) bool { return s.GroupOptions[i].Group < s.GroupOptions[j].Group })
}

// testRouting: tiers, skills and group options round-trip, replace, delete
// and follow their extension or group away.
func testRouting(t *testing.T, s Store) {
	c := ctx(t)
	must(t, s.UpsertGroup(c, group("110")))
	must(t, s.UpsertGroup(c, group("120")))
	must(t, s.PutMemberConfig(c, store.MemberConfig{Ext: "1000", Group: "110", Tier: 2, Weight: 5}))
	must(t, s.PutMemberConfig(c, store.MemberConfig{Ext: "1000", Group: "110", Tier: 3, Weight: 7})) // replaces
	must(t, s.PutMemberConfig(c, store.MemberConfig{Ext: "1001", Group: "120", Tier: 9, Weight: 1000}))
	must(t, s.PutSkill(c, store.Skill{Ext: "1000", Name: "zh", Level: 5}))
	must(t, s.PutSkill(c, store.Skill{Ext: "1000", Name: "zh", Level: 6}))
	must(t, s.PutSkill(c, store.Skill{Ext: "1000", Name: "billing", Level: 1}))
	must(t, s.PutSkill(c, store.Skill{Ext: "1001", Name: "zh", Level: 10}))
	must(t, s.DeleteSkill(c, "1000", "billing"))
	must(t, s.DeleteSkill(c, "1000", "absent")) // absent: fine
	opt := store.GroupOptions{Group: "110", MemoryFirst: true, TierWait: 20 * time.Second, TierSkip: true,
		Skills: "zh:5,billing:3", RelaxEvery: 30 * time.Second, MaxWaiting: 50, OverflowGroup: "120",
		OverflowAfter: 90 * time.Second, OverflowWaiting: 10, ExitKey: "#", Announce: true, CallbackKey: "9",
		CallbackAgentFirst: true, CallbackRetries: 2, CallbackRetryDelay: time.Minute, CallbackGateway: "gw_1",
		AnnounceEvery: 45 * time.Second, AnnounceSounds: "/usr/share/sounds/queue 110", FullOverflow: true, ExitTo: "8000",
		RingWait: 25 * time.Second}
	must(t, s.PutGroupOptions(c, store.GroupOptions{Group: "110", ExitKey: "*"}))
	must(t, s.PutGroupOptions(c, opt)) // replaces every field
	must(t, s.PutGroupOptions(c, store.GroupOptions{Group: "120"}))

	got := load(t, s)
	sortRouting(&got)
	want := store.Snapshot{
		MemberConfigs: []store.MemberConfig{{Ext: "1000", Group: "110", Tier: 3, Weight: 7}, {Ext: "1001", Group: "120", Tier: 9, Weight: 1000}},
		Skills:        []store.Skill{{Ext: "1000", Name: "zh", Level: 6}, {Ext: "1001", Name: "zh", Level: 10}},
		GroupOptions:  []store.GroupOptions{opt, {Group: "120"}},
	}
	if !reflect.DeepEqual(got.MemberConfigs, want.MemberConfigs) || !reflect.DeepEqual(got.Skills, want.Skills) ||
		!reflect.DeepEqual(got.GroupOptions, want.GroupOptions) {
		t.Fatalf("routing\n got %+v %+v %+v\nwant %+v %+v %+v", got.MemberConfigs, got.Skills, got.GroupOptions,
			want.MemberConfigs, want.Skills, want.GroupOptions)
	}

	must(t, s.ClearExtensionRouting(c, "1000"))
	must(t, s.ClearGroupRouting(c, "120"))
	got = load(t, s)
	sortRouting(&got)
	if len(got.MemberConfigs) != 0 || !reflect.DeepEqual(got.Skills, want.Skills[1:]) ||
		len(got.GroupOptions) != 1 || got.GroupOptions[0].Group != "110" {
		t.Fatalf("after clears: %+v %+v %+v", got.MemberConfigs, got.Skills, got.GroupOptions)
	}

	// Deleting a group takes its options with it (pg: FK cascade).
	must(t, s.PutMemberConfig(c, store.MemberConfig{Ext: "1001", Group: "110", Tier: 1, Weight: 1}))
	must(t, s.DeleteGroup(c, "110"))
	must(t, s.ClearGroupRouting(c, "110")) // what the service journals after DeleteGroup
	got = load(t, s)
	if len(got.GroupOptions) != 0 || len(got.MemberConfigs) != 0 {
		t.Fatalf("after group delete: %+v %+v", got.GroupOptions, got.MemberConfigs)
	}

	for name, err := range map[string]error{
		"tier 0":       s.PutMemberConfig(c, store.MemberConfig{Ext: "1000", Group: "120", Tier: 0, Weight: 1}),
		"tier 10":      s.PutMemberConfig(c, store.MemberConfig{Ext: "1000", Group: "120", Tier: 10, Weight: 1}),
		"weight 1001":  s.PutMemberConfig(c, store.MemberConfig{Ext: "1000", Group: "120", Tier: 1, Weight: 1001}),
		"level 11":     s.PutSkill(c, store.Skill{Ext: "1000", Name: "zh", Level: 11}),
		"empty skill":  s.PutSkill(c, store.Skill{Ext: "1000", Level: 1}),
		"neg duration": s.PutGroupOptions(c, store.GroupOptions{Group: "120", TierWait: -time.Second}),
		"long key":     s.PutGroupOptions(c, store.GroupOptions{Group: "120", ExitKey: "##"}),
	} {
		if !errors.Is(err, store.ErrRejected) {
			t.Errorf("%s: %v, want ErrRejected", name, err)
		}
	}
}

// testCallbacks: pending callbacks round-trip (oldest first), replace,
// delete; a bad one is refused.
func testCallbacks(t *testing.T, s Store) {
	c := ctx(t)
	t1 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	a := store.Callback{UUID: "cb-a", Group: "110", Number: "139****0001", RealNumber: "13900000001", Callback: "13900000001",
		Level: "vip", CallinTime: t1.Add(time.Minute), Tries: 1, Skills: "zh:5", Node: "fs-a"}
	b := store.Callback{UUID: "cb-b", Group: "120", Number: "13900000002", Callback: "02112345678", Level: "normal", CallinTime: t1}
	must(t, s.PutCallback(c, store.Callback{UUID: "cb-a", Group: "110", Callback: "1", CallinTime: t1}))
	must(t, s.PutCallback(c, a)) // replaces
	must(t, s.PutCallback(c, b))
	must(t, s.PutCallback(c, store.Callback{UUID: "cb-c", Group: "110", Callback: "1", CallinTime: t1}))
	must(t, s.DeleteCallback(c, "cb-c"))
	must(t, s.DeleteCallback(c, "absent"))
	got := load(t, s).Callbacks
	for i := range got {
		got[i].CallinTime = got[i].CallinTime.UTC()
	}
	if want := []store.Callback{b, a}; !reflect.DeepEqual(got, want) {
		t.Fatalf("callbacks\n got %+v\nwant %+v", got, want)
	}
	for name, err := range map[string]error{
		"no uuid":    s.PutCallback(c, store.Callback{Group: "110", Callback: "1", CallinTime: t1}),
		"no number":  s.PutCallback(c, store.Callback{UUID: "x", Group: "110", CallinTime: t1}),
		"no arrival": s.PutCallback(c, store.Callback{UUID: "x", Group: "110", Callback: "1"}),
	} {
		if !errors.Is(err, store.ErrRejected) {
			t.Errorf("%s: %v, want ErrRejected", name, err)
		}
	}
}

// testAgentStats: an agent's counters round-trip and replace.
func testAgentStats(t *testing.T, s Store) {
	c := ctx(t)
	end := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	must(t, s.PutAgentStats(c, store.AgentStats{Ext: "1000", Day: "2026-02-28", Answered: 9}))
	a := store.AgentStats{Ext: "1000", Day: "2026-03-01", Answered: 3, TalkTime: 95 * time.Second, LastCallEnd: end}
	must(t, s.PutAgentStats(c, a))
	b := store.AgentStats{Ext: "1001", Day: "2026-03-01"}
	must(t, s.PutAgentStats(c, b))
	got := load(t, s).AgentStats
	for i := range got {
		got[i].LastCallEnd = got[i].LastCallEnd.UTC()
	}
	if want := []store.AgentStats{a, b}; !reflect.DeepEqual(got, want) {
		t.Fatalf("agent stats\n got %+v\nwant %+v", got, want)
	}
	if err := s.PutAgentStats(c, store.AgentStats{Ext: "1000", Day: "x", Answered: -1}); !errors.Is(err, store.ErrRejected) {
		t.Fatalf("bad stats: %v", err)
	}
}
