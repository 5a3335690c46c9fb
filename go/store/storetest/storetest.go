// Package storetest is the conformance suite every mod_nwayacd store back end
// passes (store/pg, store/embedded). It declares the interface it tests.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/event"
	"github.com/nwayacd/mod_nwayacd/go/store"
)

// Store is what a back end offers: everything the service reads at start and
// every write it makes, plus the CDR / agent log reads used for queries.
type Store interface {
	store.Writer
	store.RoutingWriter
	store.CallbackWriter
	store.StatsWriter
	store.PendingReader
	Load(ctx context.Context) (store.Snapshot, error)
	CDR(ctx context.Context, uuid string) (event.CDR, error)
	AgentLogs(ctx context.Context, ext string, limit int) ([]store.AgentLog, error)
	Close() error
}

// Run runs the suite; open returns a new, empty store for each subtest (and
// arranges its own cleanup).
func Run(t *testing.T, open func(t *testing.T) Store) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s Store)
	}{
		{"Empty", testEmpty},
		{"Extensions", testExtensions},
		{"Groups", testGroups},
		{"Memberships", testMemberships},
		{"DeleteGroupCascades", testDeleteGroup},
		{"Lists", testLists},
		{"Memory", testMemory},
		{"CDR", testCDR},
		{"PendingCDR", testPendingCDR},
		{"AgentLog", testAgentLog},
		{"Rejects", testRejects},
		{"Routing", testRouting},
		{"Callbacks", testCallbacks},
		{"AgentStats", testAgentStats},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { _ = s.Close() })
			c.fn(t, s)
		})
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func load(t *testing.T, s Store) store.Snapshot {
	t.Helper()
	snap, err := s.Load(ctx(t))
	must(t, err)
	return snap
}

func testEmpty(t *testing.T, s Store) {
	snap := load(t, s)
	if n := len(snap.Extensions) + len(snap.Groups) + len(snap.Memberships) + len(snap.Lists) + len(snap.Memory); n != 0 {
		t.Fatalf("new store holds %d records: %+v", n, snap)
	}
	if _, err := s.CDR(ctx(t), "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("CDR of unknown uuid: %v, want ErrNotFound", err)
	}
}

func testExtensions(t *testing.T, s Store) {
	c := ctx(t)
	want := []store.Extension{
		{Number: "1001", JobNumber: "9001", JobEnabled: true, Busy: true},
		{Number: "1000", JobNumber: "1234", JobEnabled: false, DialString: "user/1000@${domain}"},
		{Number: "2000"},
	}
	for _, e := range want {
		must(t, s.UpsertExtension(c, e))
	}
	// An update replaces every field.
	want[1] = store.Extension{Number: "1000", JobNumber: "4321", JobEnabled: true}
	must(t, s.UpsertExtension(c, want[1]))
	must(t, s.DeleteExtension(c, "2000"))
	must(t, s.DeleteExtension(c, "2000")) // deleting the absent is not an error
	got := load(t, s).Extensions
	exp := []store.Extension{want[1], want[0]}
	if !reflect.DeepEqual(got, exp) {
		t.Fatalf("extensions\n got %+v\nwant %+v", got, exp)
	}
}

func group(n string) store.Group {
	return store.Group{
		Number: n, Name: "group " + n, Mode: 5, CalloutTimeout: 15 * time.Second,
		WelcomeRing: "/nway/welcome.wav", BlacklistRing: "/nway/black.wav",
		BusyRing: "/nway/busy.wav", TransferRing: "/nway/transfer.wav",
		BusyRingTimes: 3, MaxWait: 90 * time.Second,
	}
}

func testGroups(t *testing.T, s Store) {
	c := ctx(t)
	g110 := group("110")
	g110.CurrentExt = "1000"
	g12345 := store.Group{Number: "12345", Name: "12345", Mode: 0, CalloutTimeout: 20 * time.Second}
	must(t, s.UpsertGroup(c, g12345))
	must(t, s.UpsertGroup(c, g110))
	got := load(t, s).Groups
	if want := []store.Group{g110, g12345}; !reflect.DeepEqual(got, want) {
		t.Fatalf("groups\n got %+v\nwant %+v", got, want)
	}

	// SetCurrentExt moves the cursor; a later upsert changes settings but
	// leaves the cursor alone (it may carry a stale one).
	must(t, s.SetCurrentExt(c, "110", "1002"))
	upd := g110
	upd.Mode, upd.Name, upd.CurrentExt, upd.WelcomeRing, upd.BusyRingTimes, upd.MaxWait = store.MaxMode, "renamed", "9999", "", 0, 0
	must(t, s.UpsertGroup(c, upd))
	upd.CurrentExt = "1002"
	got = load(t, s).Groups
	if !reflect.DeepEqual(got[0], upd) {
		t.Fatalf("after update\n got %+v\nwant %+v", got[0], upd)
	}
	must(t, s.SetCurrentExt(c, "404", "1000")) // unknown group: no-op
	if n := len(load(t, s).Groups); n != 2 {
		t.Fatalf("SetCurrentExt on an unknown group created it: %d groups", n)
	}
	must(t, s.SetCurrentExt(c, "110", ""))
	if got := load(t, s).Groups[0].CurrentExt; got != "" {
		t.Fatalf("cursor not cleared: %q", got)
	}
}

func testMemberships(t *testing.T, s Store) {
	c := ctx(t)
	for _, g := range []string{"110", "120", "119"} {
		must(t, s.UpsertGroup(c, group(g)))
	}
	must(t, s.ReplaceMemberships(c, "1000", []string{"120", "119", "110"}))
	must(t, s.ReplaceMemberships(c, "1001", []string{"110"}))
	must(t, s.ReplaceMemberships(c, "1002", []string{"110", "777"})) // 777 unknown to ext_group: kept anyway
	want := []store.Membership{mem("1000", "120"), mem("1000", "119"), mem("1000", "110"), mem("1001", "110"), mem("1002", "110"), mem("1002", "777")}
	if got := load(t, s).Memberships; !reflect.DeepEqual(got, want) {
		t.Fatalf("memberships\n got %v\nwant %v", got, want)
	}
	// Logging in again replaces; the new login goes to the end of login order.
	must(t, s.ReplaceMemberships(c, "1000", []string{"110"}))
	must(t, s.ReplaceMemberships(c, "1001", nil)) // logout
	want = []store.Membership{mem("1002", "110"), mem("1002", "777"), mem("1000", "110")}
	if got := load(t, s).Memberships; !reflect.DeepEqual(got, want) {
		t.Fatalf("after relogin/logout\n got %v\nwant %v", got, want)
	}
	// Deleting an extension ends its logins.
	must(t, s.UpsertExtension(c, store.Extension{Number: "1002"}))
	must(t, s.DeleteExtension(c, "1002"))
	want = []store.Membership{mem("1000", "110")}
	if got := load(t, s).Memberships; !reflect.DeepEqual(got, want) {
		t.Fatalf("after DeleteExtension\n got %v\nwant %v", got, want)
	}
}

func testDeleteGroup(t *testing.T, s Store) {
	c := ctx(t)
	must(t, s.UpsertGroup(c, group("110")))
	must(t, s.UpsertGroup(c, group("120")))
	must(t, s.ReplaceMemberships(c, "1000", []string{"110", "120"}))
	for _, l := range []store.ListEntry{entry(store.Blacklist, "110", "555"), entry(store.VIP, "110", "666"), entry(store.VIP, "120", "666")} {
		must(t, s.AddListEntry(c, l))
	}
	now := time.Now().Truncate(time.Second)
	must(t, s.PutMemory(c, store.Memory{Caller: "138", Group: "110", Ext: "1000", LastTime: now}))
	must(t, s.PutMemory(c, store.Memory{Caller: "138", Group: "120", Ext: "1000", LastTime: now}))
	must(t, s.DeleteGroup(c, "110"))
	must(t, s.DeleteGroup(c, "110"))
	snap := load(t, s)
	if len(snap.Groups) != 1 || snap.Groups[0].Number != "120" {
		t.Fatalf("groups after delete: %+v", snap.Groups)
	}
	if want := []store.Membership{mem("1000", "120")}; !reflect.DeepEqual(snap.Memberships, want) {
		t.Fatalf("memberships after delete: %v", snap.Memberships)
	}
	if want := []store.ListEntry{entry(store.VIP, "120", "666")}; !reflect.DeepEqual(snap.Lists, want) {
		t.Fatalf("lists after delete: %v", snap.Lists)
	}
	if len(snap.Memory) != 1 || snap.Memory[0].Group != "120" {
		t.Fatalf("memory after delete: %v", snap.Memory)
	}
	// A group re-created under the same number starts clean.
	g := group("110")
	must(t, s.UpsertGroup(c, g))
	snap = load(t, s)
	if len(snap.Groups) != 2 || !reflect.DeepEqual(snap.Groups[0], g) {
		t.Fatalf("re-created group: %+v", snap.Groups)
	}
	// The extension's remaining login still ends with a logout.
	must(t, s.ReplaceMemberships(c, "1000", nil))
	if m := load(t, s).Memberships; len(m) != 0 {
		t.Fatalf("memberships after logout: %v", m)
	}
}

func sortLists(l []store.ListEntry) []store.ListEntry {
	l = append([]store.ListEntry(nil), l...)
	sort.Slice(l, func(i, j int) bool {
		return fmt.Sprint(l[i]) < fmt.Sprint(l[j])
	})
	return l
}

func testLists(t *testing.T, s Store) {
	c := ctx(t)
	must(t, s.UpsertGroup(c, group("110")))
	adds := []store.ListEntry{
		entry(store.Blacklist, "110", "13800000000"),
		entry(store.Blacklist, "110", "13900000000"),
		entry(store.VIP, "110", "13800000000"), // same number on both lists is allowed
		entry(store.VIP, "120", "18600000000"),
	}
	for _, l := range adds {
		must(t, s.AddListEntry(c, l))
	}
	must(t, s.AddListEntry(c, adds[0])) // idempotent
	must(t, s.RemoveListEntry(c, adds[1]))
	must(t, s.RemoveListEntry(c, adds[1])) // absent: not an error
	want := sortLists([]store.ListEntry{adds[0], adds[2], adds[3]})
	if got := sortLists(load(t, s).Lists); !reflect.DeepEqual(got, want) {
		t.Fatalf("lists\n got %v\nwant %v", got, want)
	}
}

func testMemory(t *testing.T, s Store) {
	c := ctx(t)
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	must(t, s.PutMemory(c, store.Memory{Caller: "138", Group: "110", Ext: "1000", LastTime: t0}))
	must(t, s.PutMemory(c, store.Memory{Caller: "139", Group: "110", Ext: "1001", LastTime: t0}))
	must(t, s.PutMemory(c, store.Memory{Caller: "138", Group: "110", Ext: "1002", LastTime: t0.Add(time.Minute)}))
	got := load(t, s).Memory
	sort.Slice(got, func(i, j int) bool { return got[i].Caller < got[j].Caller })
	if len(got) != 2 || got[0].Ext != "1002" || !got[0].LastTime.Equal(t0.Add(time.Minute)) ||
		got[1].Ext != "1001" || !got[1].LastTime.Equal(t0) {
		t.Fatalf("memory: %+v", got)
	}
}

func sampleCDR(uuid string) event.CDR {
	return event.CDR{
		UUID: uuid, IsCallout: true, ACallerIDNumber: "18638737767", ADestinationNumber: "110",
		AStartStamp: "2026-11-24 10:00:00", AAnswerStamp: "2026-11-24 10:00:02", AEndStamp: "2026-11-24 10:01:00",
		ADuration: "60", ABillsec: "58", ASIPHangupDisposition: "recv_bye", ARecordFile: "/rec/a.wav",
		StrNoAnswerAgents: "1011,1012", DestinationNumber: "1013",
		StartStamp: "2026-11-24 10:00:20", AnswerStamp: "2026-11-24 10:00:25", EndStamp: "2026-11-24 10:01:00",
		Duration: "40", Billsec: "35", NoAnswerAgents: []string{"1011", "1012"}, Flag: "单座席无应答", Group: "110",
	}
}

func testCDR(t *testing.T, s Store) {
	c := ctx(t)
	want := sampleCDR("a-1")
	must(t, s.InsertCDR(c, want))
	dup := want
	dup.Flag = "changed"
	must(t, s.InsertCDR(c, dup)) // a retried insert is a no-op, not an overwrite
	got, err := s.CDR(c, "a-1")
	must(t, err)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("cdr\n got %+v\nwant %+v", got, want)
	}
	empty := event.CDR{UUID: "a-2"}
	must(t, s.InsertCDR(c, empty))
	got, err = s.CDR(c, "a-2")
	must(t, err)
	if got.UUID != "a-2" || len(got.NoAnswerAgents) != 0 || got.Flag != "" {
		t.Fatalf("empty cdr read back as %+v", got)
	}
}

func testPendingCDR(t *testing.T, s Store) {
	c := ctx(t)
	pendingOf := func(node string) []event.CDR {
		t.Helper()
		l, err := s.PendingCDRs(c, node)
		must(t, err)
		sort.Slice(l, func(i, j int) bool { return l[i].UUID < l[j].UUID })
		return l
	}
	pending := func() []event.CDR { t.Helper(); return pendingOf("a") }
	if l := pending(); len(l) != 0 {
		t.Fatalf("new store has pending CDRs: %+v", l)
	}
	first := sampleCDR("p-1")
	first.AEndStamp, first.Flag = "", "provisional"
	must(t, s.PutPendingCDR(c, "a", first))
	want := sampleCDR("p-1")
	must(t, s.PutPendingCDR(c, "a", want)) // a later put of the same call replaces it
	other := event.CDR{UUID: "p-2", Group: "120"}
	must(t, s.PutPendingCDR(c, "", other)) // of no node: every node's
	elsewhere := event.CDR{UUID: "p-0", Group: "130"}
	must(t, s.PutPendingCDR(c, "b", elsewhere))
	if got := pending(); !reflect.DeepEqual(got, []event.CDR{want, other}) {
		t.Fatalf("pending\n got %+v\nwant %+v", got, []event.CDR{want, other})
	}
	if got := pendingOf("b"); !reflect.DeepEqual(got, []event.CDR{elsewhere, other}) {
		t.Fatalf("node b's pending\n got %+v\nwant %+v", got, []event.CDR{elsewhere, other})
	}
	must(t, s.DeletePendingCDR(c, "p-0"))
	// Pending records are not CDRs: nothing is stored or loaded for them.
	if _, err := s.CDR(c, "p-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a pending CDR reads as stored: %v", err)
	}
	must(t, s.InsertCDR(c, want))
	must(t, s.DeletePendingCDR(c, "p-1"))
	must(t, s.DeletePendingCDR(c, "p-1")) // replayed: absent is fine
	must(t, s.DeletePendingCDR(c, "never"))
	if got := pending(); !reflect.DeepEqual(got, []event.CDR{other}) {
		t.Fatalf("after delete: %+v", got)
	}
	if _, err := s.CDR(c, "p-1"); err != nil {
		t.Fatalf("deleting the pending record touched the CDR: %v", err)
	}
	if err := s.PutPendingCDR(c, "a", event.CDR{}); !errors.Is(err, store.ErrRejected) {
		t.Fatalf("pending CDR without uuid: %v, want ErrRejected", err)
	}
	// Inside a batch (how the journal writes) the put and the delete keep their order.
	if b, ok := s.(interface {
		Batch(ctx context.Context, fn func(ctx context.Context) error) error
	}); ok {
		must(t, b.Batch(c, func(ctx context.Context) error {
			if err := s.PutPendingCDR(ctx, "a", sampleCDR("p-3")); err != nil {
				return err
			}
			if err := s.InsertCDR(ctx, sampleCDR("p-3")); err != nil {
				return err
			}
			return s.DeletePendingCDR(ctx, "p-3")
		}))
		if got := pending(); len(got) != 1 || got[0].UUID != "p-2" {
			t.Fatalf("after batch: %+v", got)
		}
	}
}

func testAgentLog(t *testing.T, s Store) {
	c := ctx(t)
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	var want []store.AgentLog
	for i, st := range []string{"login", "ready", "ring", "talking", "typing"} {
		a := store.AgentLog{ID: fmt.Sprintf("id-%d", i), Ext: "1000", Status: st, At: t0.Add(time.Duration(i) * time.Second)}
		must(t, s.AppendAgentLog(c, a))
		must(t, s.AppendAgentLog(c, a)) // retried: no-op
		want = append(want, a)
		must(t, s.AppendAgentLog(c, store.AgentLog{Ext: "2000", Status: st, At: t0})) // no id: store fills one
	}
	got, err := s.AgentLogs(c, "1000", 100)
	must(t, err)
	if len(got) != len(want) {
		t.Fatalf("agent log: %d rows, want %d: %+v", len(got), len(want), got)
	}
	for i := range got {
		if got[i].ID != want[i].ID || got[i].Status != want[i].Status || !got[i].At.Equal(want[i].At) || got[i].Ext != "1000" {
			t.Fatalf("agent log row %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	last, err := s.AgentLogs(c, "1000", 2)
	must(t, err)
	if len(last) != 2 || last[0].Status != "talking" || last[1].Status != "typing" {
		t.Fatalf("last 2 rows: %+v", last)
	}
	other, err := s.AgentLogs(c, "2000", 100)
	must(t, err)
	if len(other) != 5 || other[0].ID == "" || other[0].ID == other[1].ID {
		t.Fatalf("rows without id: %+v", other)
	}
}

func testRejects(t *testing.T, s Store) {
	c := ctx(t)
	long := strings.Repeat("9", store.MaxNumber+1)
	for name, err := range map[string]error{
		"empty extension":    s.UpsertExtension(c, store.Extension{}),
		"long extension":     s.UpsertExtension(c, store.Extension{Number: long}),
		"empty group":        s.UpsertGroup(c, store.Group{}),
		"bad mode":           s.UpsertGroup(c, store.Group{Number: "110", Mode: store.MaxMode + 1}),
		"bad list kind":      s.AddListEntry(c, store.ListEntry{Kind: "white", Group: "110", Number: "1"}),
		"empty list number":  s.AddListEntry(c, store.ListEntry{Kind: store.VIP, Group: "110"}),
		"repeated group":     s.ReplaceMemberships(c, "1000", []string{"110", "110"}),
		"memory without ext": s.PutMemory(c, store.Memory{Caller: "1", Group: "110"}),
		"cdr without uuid":   s.InsertCDR(c, event.CDR{}),
	} {
		if !errors.Is(err, store.ErrRejected) {
			t.Errorf("%s: %v, want ErrRejected", name, err)
		}
	}
	snap := load(t, s)
	if len(snap.Extensions)+len(snap.Groups)+len(snap.Memberships)+len(snap.Lists)+len(snap.Memory) != 0 {
		t.Fatalf("rejected writes left records: %+v", snap)
	}
}

func mem(ext, group string) store.Membership { return store.Membership{Ext: ext, Group: group} }

func entry(k store.ListKind, group, number string) store.ListEntry {
	return store.ListEntry{Kind: k, Group: group, Number: number}
}
