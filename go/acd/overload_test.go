package acd

import (
	"testing"
	"time"
)

// Admission control: with OverloadIdleCPU set, a call entering while the
// switch has less idle CPU than that, and no member is idle, is refused as
// full (busy ring, result full) instead of queued; a call an idle agent can
// take is still offered, and a switch with idle CPU left still queues.
func TestOverloadRefusesWhatWouldWait(t *testing.T) {
	clock := &fakeClock{t: epoch}
	e := New(Config{Seed: 1, Location: time.UTC, WrapUp: -1, OverloadIdleCPU: 10}, clock)
	ok := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	ok(e.AddGroup(GroupSpec{Number: "120", Mode: ModeSequential}))
	ok(e.AddExtension(ExtensionSpec{Extension: "1001", JobEnabled: true}))
	ok(e.SetRegistered("1001", true))
	ok(e.Login("1001", []string{"120"}))
	e.Decisions()
	const (
		u1 = "00000000-0000-4000-8000-0000000000a1"
		u2 = "00000000-0000-4000-8000-0000000000a2"
		u3 = "00000000-0000-4000-8000-0000000000a3"
		u4 = "00000000-0000-4000-8000-0000000000a4"
	)
	// 95% busy, but 1001 is idle: offered.
	st, err := e.Enter(CallIn{UUID: u1, Group: "120", Number: "555", CPUBusy: 95})
	if err != nil || st.Kind != StepOffer || st.Agent != "1001" {
		t.Fatalf("idle agent under overload: %+v %v", st, err)
	}
	e.Decisions()
	// Nobody idle, 95% busy (5% idle < 10%): refused as full.
	st, err = e.Enter(CallIn{UUID: u2, Group: "120", Number: "556", CPUBusy: 95})
	if err != nil || st.Kind != StepHangup || st.Result != ResultFull || st.Cause != "USER_BUSY" {
		t.Fatalf("overloaded, nobody idle: %+v %v", st, err)
	}
	if ds := e.Decisions(); kinds(ds, DFull) != 1 || kinds(ds, DEnded) != 1 {
		t.Fatalf("decisions %v", ds)
	}
	// Nobody idle, 50% busy: it waits.
	if st, err = e.Enter(CallIn{UUID: u3, Group: "120", Number: "557", CPUBusy: 50}); err != nil || st.Kind != StepWait {
		t.Fatalf("not overloaded: %+v %v", st, err)
	}
	// Load not known (0): it waits.
	if st, err = e.Enter(CallIn{UUID: u4, Group: "120", Number: "558"}); err != nil || st.Kind != StepWait {
		t.Fatalf("load unknown: %+v %v", st, err)
	}
	if q := e.Waiting(); len(q) != 2 {
		t.Fatalf("queue %+v, want the two admitted calls", q)
	}
}
