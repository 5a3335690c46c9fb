package acd

import (
	"fmt"
	"testing"
	"time"
)

// Admission control: with OverloadIdleCPU set, a call entering while the
// switch has less idle CPU than that, and no member is idle, is refused as
// full (busy ring, result full) instead of queued; a call an idle agent can
// take is still offered, and a switch with idle CPU left still queues.
func TestOverloadRefusesWhatWouldWait(t *testing.T) {
	e := oneAgent(t, Config{OverloadIdleCPU: 10}, &fakeClock{t: epoch})
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

// A saturated switch answers its agents late and refuses channels: offers
// that fail then are not held against the agents (NoAnswerIdleCPU). Each
// such agent rests OverloadRest and takes calls again; it is never made
// not ready for it. The same failures on a switch with idle CPU, or with
// the switch's word stale, count as before.
func TestSaturatedSwitchDoesNotBlameItsAgents(t *testing.T) {
	clock := &fakeClock{t: epoch}
	e := oneAgent(t, Config{NoAnswerLimit: 2}, clock)
	ok := okFunc(t)
	state := func() CallState {
		t.Helper()
		x, err := e.Extension("1001")
		ok(err)
		return x.CallState
	}
	uuid := func(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }
	leave := func(u string) {
		t.Helper()
		if e.calls[u] == nil {
			t.Fatalf("call %s was not there to leave", u)
		}
		e.Leave(u)
	}

	// Three calls, each failing on 1001 while the switch has 3% idle CPU:
	// more failures than the limit, yet 1001 stays in the pool.
	for i := 1; i <= 3; i++ {
		st, err := e.Enter(CallIn{UUID: uuid(i), Group: "120", Number: fmt.Sprint(555 + i), CPUBusy: 97})
		if err != nil || st.Kind != StepOffer || st.Agent != "1001" {
			t.Fatalf("call %d: %+v %v", i, st, err)
		}
		e.Decisions()
		ok(e.OfferResult(uuid(i), "1001", Failed, ""))
		if s := state(); s != CallNoAnswer {
			t.Fatalf("call %d: 1001 is %s right after the failure, want no_answer (resting)", i, s)
		}
		if n := excusedNoAnswers(e.Decisions()); n != 1 {
			t.Fatalf("call %d: %d excused no-answer decisions, want 1 (a pool learns the rest from it)", i, n)
		}
		// Resting: a call entering now waits, 1001 is not offered it.
		if st, err := e.Enter(CallIn{UUID: uuid(100 + i), Group: "120", Number: "999", CPUBusy: 97}); err != nil || st.Kind != StepWait {
			t.Fatalf("call entering during the rest: %+v %v", st, err)
		}
		clock.t = clock.t.Add(OverloadRest)
		e.Tick()
		// Rested: 1001 takes a waiting call again (the first in the queue).
		if x, _ := e.Extension("1001"); x.CallState != CallRing {
			t.Fatalf("after the rest 1001 is %s, want ring (offered a waiting call)", x.CallState)
		}
		// Both callers hang up, so the next round starts clean.
		leave(uuid(i))
		leave(uuid(100 + i))
		if s := state(); s != CallReady {
			t.Fatalf("round %d ends with 1001 %s", i, s)
		}
	}

	// With idle CPU, two failures reach the limit: not ready.
	for i := 10; i <= 11; i++ {
		if st, err := e.Enter(CallIn{UUID: uuid(i), Group: "120", Number: "600", CPUBusy: 40}); err != nil || st.Kind != StepOffer {
			t.Fatalf("call %d: %+v %v", i, st, err)
		}
		ok(e.OfferResult(uuid(i), "1001", NoAnswer, ""))
		leave(uuid(i))
	}
	if s := state(); s != CallNoReady {
		t.Fatalf("two failures with the switch idle: 1001 is %s, want no_ready", s)
	}

	// A saturated reading goes stale: LoadFresh after the last entry, a
	// failure counts again.
	ok(e.SetReady("1001"))
	if st, err := e.Enter(CallIn{UUID: uuid(20), Group: "120", Number: "601", CPUBusy: 99}); err != nil || st.Kind != StepOffer {
		t.Fatalf("%+v %v", st, err)
	}
	ok(e.OfferResult(uuid(20), "1001", NoAnswer, "")) // excused: rests
	ok(e.SetReady("1001"))                            // the operator's word ends the rest at once: 1001 is offered the waiting call again
	if s := state(); s != CallRing {
		t.Fatalf("SetReady during the rest: %s, want ring", s)
	}
	clock.t = clock.t.Add(LoadFresh + time.Second)
	e.Tick() // the rest's timer, now stale, changes nothing
	if s := state(); s != CallRing {
		t.Fatalf("a stale rest timer moved 1001 to %s", s)
	}
	leave(uuid(20))
	if s := state(); s != CallReady {
		t.Fatalf("after the caller left 1001 is %s", s)
	}
	// Stale: the last reading (99% busy) is older than LoadFresh, and a
	// call entering without one does not renew it.
	if st, err := e.Enter(CallIn{UUID: uuid(21), Group: "120", Number: "602"}); err != nil || st.Kind != StepOffer {
		t.Fatalf("%+v %v", st, err)
	}
	ok(e.OfferResult(uuid(21), "1001", NoAnswer, ""))
	if s := state(); s != CallRing { // counted, under the limit: no rest, offered again at once
		t.Fatalf("one counted failure (limit 2): 1001 is %s, want ring", s)
	}
	ok(e.OfferResult(uuid(21), "1001", NoAnswer, ""))
	if s := state(); s != CallNoReady {
		t.Fatalf("two counted failures: 1001 is %s, want no_ready", s)
	}
	leave(uuid(21))

	// A counted failure's decision is not marked excused.
	if st, err := e.Enter(CallIn{UUID: uuid(22), Group: "120", Number: "604", CPUBusy: 20}); err != nil || st.Kind != StepWait {
		t.Fatalf("%+v %v", st, err)
	}
	ok(e.SetReady("1001"))
	e.Decisions()
	ok(e.OfferResult(uuid(22), "1001", NoAnswer, ""))
	if n := excusedNoAnswers(e.Decisions()); n != 0 {
		t.Fatalf("a counted failure marked excused (%d)", n)
	}
	leave(uuid(22))

	// In a shared pool too (the service tells the pool cluster.Rested).
	e.NoteCPUBusy(99)
	e.SetPool(true)
	if !e.Saturated() {
		t.Fatal("1% idle just noted: not saturated in pool mode")
	}
	e.SetPool(false)

	// Turned off (<0): failures on a saturated switch count.
	e2 := oneAgent(t, Config{NoAnswerLimit: 1, NoAnswerIdleCPU: -1}, clock)
	if st, err := e2.Enter(CallIn{UUID: uuid(30), Group: "120", Number: "603", CPUBusy: 99}); err != nil || st.Kind != StepOffer {
		t.Fatalf("%+v %v", st, err)
	}
	ok(e2.OfferResult(uuid(30), "1001", Failed, ""))
	if x, _ := e2.Extension("1001"); x.CallState != CallNoReady {
		t.Fatalf("off: 1001 is %s, want no_ready", x.CallState)
	}
}

// excusedNoAnswers counts the DOfferNoAnswer decisions marked StatusExcused.
func excusedNoAnswers(ds []Decision) int {
	n := 0
	for _, d := range ds {
		if d.Kind == DOfferNoAnswer && d.Status == StatusExcused {
			n++
		}
	}
	return n
}

// oneAgent is an engine with group 120 (sequential) and agent 1001 logged
// in to it, ready; cfg's seed, time zone and wrap-up (none) are set here.
func oneAgent(t *testing.T, cfg Config, clock Clock) *Engine {
	t.Helper()
	cfg.Seed, cfg.Location, cfg.WrapUp = 1, time.UTC, -1
	e := New(cfg, clock)
	ok := okFunc(t)
	ok(e.AddGroup(GroupSpec{Number: "120", Mode: ModeSequential}))
	ok(e.AddExtension(ExtensionSpec{Extension: "1001", JobEnabled: true}))
	ok(e.SetRegistered("1001", true))
	ok(e.Login("1001", []string{"120"}))
	return e
}

func okFunc(t *testing.T) func(error) {
	return func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
}
