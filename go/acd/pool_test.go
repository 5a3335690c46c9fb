package acd

import (
	"slices"
	"testing"
	"time"
)

func poolEngine(t *testing.T, mode Mode, agents ...string) (*Engine, *fakeClock) {
	t.Helper()
	clock := &fakeClock{t: epoch}
	e := New(Config{Seed: 1, Location: time.UTC, WrapUp: -1}, clock)
	e.SetPool(true)
	ok := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	ok(e.AddGroup(GroupSpec{Number: "120", Mode: mode}))
	for _, a := range agents {
		ok(e.AddExtension(ExtensionSpec{Extension: a, JobEnabled: true}))
		ok(e.SetRegistered(a, true))
		ok(e.Login(a, []string{"120"}))
	}
	e.Decisions()
	return e, clock
}

func kinds(ds []Decision, k DecisionKind) (n int) {
	for _, d := range ds {
		if d.Kind == k {
			n++
		}
	}
	return n
}

// In pool mode the core never offers by itself: a waiting call is one
// DReserve, whose candidates follow the group's mode; the pool's grant
// makes the offer, its revoke takes it back (the call waits, no second
// DReserve: the pool still has it).
func TestPoolModeReservesThroughThePool(t *testing.T) {
	const u = "00000000-0000-4000-8000-000000000001"
	e, _ := poolEngine(t, ModeSequential, "1001", "1002", "1003")
	st, err := e.Enter(CallIn{UUID: u, Group: "120", Number: "555"})
	if err != nil || st.Kind != StepWait {
		t.Fatalf("enter: %+v %v", st, err)
	}
	ds := e.Decisions()
	if kinds(ds, DReserve) != 1 || kinds(ds, DOfferCallout) != 0 {
		t.Fatalf("decisions %v", ds)
	}
	r, ok := e.Candidates(u)
	if !ok || !slices.Equal(r.Candidates, []string{"1001", "1002", "1003"}) || r.Rotate != "" || r.MemoryFirst {
		t.Fatalf("candidates %+v", r)
	}
	// A freed agent is not dispatched here.
	if err := e.SetBusy("1001"); err != nil {
		t.Fatal(err)
	}
	if err := e.SetReady("1001"); err != nil {
		t.Fatal(err)
	}
	if kinds(e.Decisions(), DOfferCallout) != 0 {
		t.Fatal("the core offered by itself")
	}
	if op, gs := e.PoolState("1001"); op != "ready" || !slices.Equal(gs, []string{"120"}) {
		t.Fatalf("pool state %q %v", op, gs)
	}
	// Another node's agent, known here from the shared configuration.
	if err := e.AddExtension(ExtensionSpec{Extension: "2001", JobEnabled: true}); err != nil {
		t.Fatal(err)
	}
	if op, _ := e.PoolState("2001"); op != "off" {
		t.Fatalf("an agent not logged in here: %q", op)
	}
	if err := e.Grant(u, "2001"); err != nil {
		t.Fatal(err)
	}
	if kinds(e.Decisions(), DOfferCallout) != 1 {
		t.Fatal("no offer after the grant")
	}
	if st, _ := e.Next(u); st.Kind != StepOffer || st.Agent != "2001" {
		t.Fatalf("step %+v", st)
	}
	if err := e.Grant(u, "1002"); CodeOf(err) != ErrState {
		t.Fatalf("a second grant for a ringing call: %v", err)
	}
	if err := e.Revoke(u, "2001"); err != nil {
		t.Fatal(err)
	}
	ds = e.Decisions()
	if kinds(ds, DKill) != 1 || kinds(ds, DReserve) != 0 || kinds(ds, DOfferCallout) != 0 {
		t.Fatalf("after the revoke: %v", ds)
	}
	if err := e.Grant(u, "1003"); err != nil {
		t.Fatal(err)
	}
	if err := e.OfferResult(u, "1003", Answered, ""); err != nil {
		t.Fatal(err)
	}
	if op, _ := e.PoolState("1003"); op != "" {
		t.Fatalf("an agent on a pool call: %q", op)
	}
	if b := e.Bridged(); len(b) != 1 || b[0].Agent != "1003" {
		t.Fatalf("bridged %+v", b)
	}
}

// Candidates follow each mode: cyclic names the members in order and the
// group whose pool cursor starts them; memory modes ask the pool to try
// the remembered agent first; sequential names every member in order.
func TestPoolCandidatesByMode(t *testing.T) {
	const u = "00000000-0000-4000-8000-000000000002"
	e, _ := poolEngine(t, ModeMemoryCyclic, "1001", "1002", "1003")
	if err := e.SetBusy("1002"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Enter(CallIn{UUID: u, Group: "120", Number: "555", Level: LevelVIP}); err != nil {
		t.Fatal(err)
	}
	r, _ := e.Candidates(u)
	if r.Rotate != "120" || !r.MemoryFirst || !r.VIP || !slices.Equal(r.Candidates, []string{"1001", "1002", "1003"}) {
		t.Fatalf("cyclic: %+v", r)
	}
	e2, _ := poolEngine(t, ModeSequential, "1001", "1002", "1003")
	if err := e2.SetBusy("1002"); err != nil {
		t.Fatal(err)
	}
	if _, err := e2.Enter(CallIn{UUID: u, Group: "120", Number: "555"}); err != nil {
		t.Fatal(err)
	}
	// Sequential: every member in order (the pool takes the first idle
	// cluster-wide; 1002 may be busy here yet idle on its own node's view).
	if r, _ := e2.Candidates(u); !slices.Equal(r.Candidates, []string{"1001", "1002", "1003"}) {
		t.Fatalf("sequential: %+v", r)
	}
	// The candidates leave every agent as it was.
	if op, _ := e2.PoolState("1001"); op != "ready" {
		t.Fatalf("1001 after Candidates: %q", op)
	}
	// Calls waiting after a rejoin are handed to the pool again, VIP first.
	const v = "00000000-0000-4000-8000-000000000003"
	if _, err := e2.Enter(CallIn{UUID: v, Group: "120", Number: "556", Level: LevelVIP}); err != nil {
		t.Fatal(err)
	}
	e2.Decisions()
	e2.Repool()
	var order []string
	for _, d := range e2.Decisions() {
		if d.Kind == DReserve {
			order = append(order, d.Call.UUID)
		}
	}
	if !slices.Equal(order, []string{v, u}) {
		t.Fatalf("repool order %v", order)
	}
}
