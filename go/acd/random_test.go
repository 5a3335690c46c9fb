package acd

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// session models what a FreeSWITCH session does with the steps it is given.
type session struct {
	last   Step
	agent  string // agent of the last Offer step
	bridge bool
	moved  bool // transferred: the caller talks on after the session leaves
	done   bool // got Hangup/Done: only Leave is left
}

// TestRandomized drives the engine with random facts, as agents, phones and
// sessions would produce them — queued calls, direct calls, callouts,
// transfers (to idle, busy, logged-out, unknown agents and non-agents),
// set-callstate — and checks the invariants after every one: no agent in
// two calls, no idle agent while a call it could take waits, and every call
// ends exactly once.
func TestRandomized(t *testing.T) {
	ops := 100_000
	if testing.Short() {
		ops = 20_000
	}
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { randomRun(t, seed, ops) })
	}
}

// randomRun is one long weighted switch of facts: split, it would only pass
// its dozen shared variables around.
func randomRun(t *testing.T, seed uint64, ops int) {
	rng := rand.New(rand.NewPCG(seed, 7))
	clock := &fakeClock{t: epoch}
	legs := 0
	newLeg := func() string { legs++; return "leg-" + strconv.Itoa(legs) }
	e := New(Config{Seed: seed, WrapUp: 20 * time.Second, NoAnswerLimit: 3, MemoryExpiry: time.Hour, NewUUID: newLeg}, clock)
	const nAgents, nGroups = 24, 5
	for g := 0; g < nGroups; g++ {
		gu := GiveUp{BusyRingTimes: g % 3, MaxWait: time.Duration(g%2) * 90 * time.Second}
		s := GroupSpec{Number: strconv.Itoa(100 + g), Mode: Mode(g % 6), CalloutTimeout: 15 * time.Second, GiveUp: &gu}
		if g%2 == 0 {
			s.Rings.Busy = "busy.wav"
		}
		if g == 3 {
			s.Rings.Welcome = "welcome.wav"
			s.Blacklist = []string{"666"}
			s.VIP = []string{"888"}
		}
		if err := e.AddGroup(s); err != nil {
			t.Fatal(err)
		}
	}
	for a := 0; a < nAgents; a++ {
		if err := e.AddExtension(ExtensionSpec{Extension: strconv.Itoa(1000 + a), JobEnabled: true}); err != nil {
			t.Fatal(err)
		}
	}
	sessions := map[string]*session{}
	held := map[string]bool{} // transferred calls whose session left
	seen := map[string]int{}  // what the run exercised, checked at the end
	ended := map[string]int{}
	entered := 0
	nextID := 0
	agentName := func() string { return strconv.Itoa(1000 + rng.IntN(nAgents)) }
	groupName := func() string { return strconv.Itoa(100 + rng.IntN(nGroups)) }
	anySession := func() (string, *session) {
		if len(sessions) == 0 {
			return "", nil
		}
		k := rng.IntN(len(sessions))
		for id, s := range sessions {
			if k == 0 {
				return id, s
			}
			k--
		}
		return "", nil
	}
	apply := func(id string, s *session, st Step, err error) {
		if err != nil {
			return
		}
		s.last = st
		s.agent = ""
		switch st.Kind {
		case StepOffer:
			s.agent = st.Agent
		case StepHangup, StepDone:
			s.done = true
		}
	}

	for i := 0; i < ops; i++ {
		queuedBefore := map[string]bool{}
		for _, g := range e.groups {
			for l := 0; l < 2; l++ {
				for c := g.q[l].head; c != nil; c = c.next {
					if c.agent == nil {
						queuedBefore[c.uuid] = true
					}
				}
			}
		}
		op := rng.IntN(100)
		switch {
		case op < 6:
			gs := []string{groupName()}
			if rng.IntN(2) == 0 {
				gs = append(gs, groupName())
			}
			_ = e.Login(agentName(), gs)
		case op < 8:
			_ = e.Logout(agentName())
		case op < 14:
			_ = e.SetReady(agentName())
		case op < 16:
			_ = e.SetBusy(agentName())
		case op < 20:
			_ = e.SetRegistered(agentName(), rng.IntN(4) != 0)
		case op < 22:
			st := []CallState{CallRing, CallTalking, CallIVR, CallReady, CallTyping, CallNoAnswer, CallNoReady, CallBusy, CallRest}[rng.IntN(9)]
			_ = e.SetCallState(agentName(), st)
		case op < 36 && len(sessions) >= 40: // the trunk is full: a caller hangs up
			id, s := anySession()
			if s.moved {
				e.TransferEnded(id)
			}
			if e.Leave(id) {
				t.Fatalf("op %d: %s held after its caller hung up", i, id)
			}
			delete(sessions, id)
		case op < 36:
			nextID++
			id := "c" + strconv.Itoa(nextID)
			num := strconv.Itoa(rng.IntN(30))
			if rng.IntN(20) == 0 {
				num = []string{"666", "888"}[rng.IntN(2)]
			}
			lvl := Level("")
			if rng.IntN(10) == 0 {
				lvl = LevelVIP
			}
			st, err := e.Enter(CallIn{UUID: id, Group: groupName(), Number: num, Level: lvl})
			if err != nil {
				t.Fatalf("enter: %v", err)
			}
			entered++
			s := &session{}
			sessions[id] = s
			apply(id, s, st, nil)
		case op < 50: // a session finishes its play/wait and asks again
			id, s := anySession()
			if s != nil && !s.done && (s.last.Kind == StepPlay || s.last.Kind == StepWait) {
				st, err := e.Next(id)
				apply(id, s, st, err)
			}
		case op < 70: // an offer ends
			id, s := anySession()
			if s == nil || s.agent == "" || s.done {
				break
			}
			o := []Outcome{Answered, Answered, NoAnswer, Failed, Canceled}[rng.IntN(5)]
			err := e.OfferResult(id, s.agent, o, "")
			if err == nil && o == Answered {
				s.bridge = true
				s.agent = ""
				break
			}
			if o == Canceled {
				if e.Leave(id) {
					t.Fatalf("op %d: %s held after a cancel", i, id)
				}
				delete(sessions, id)
				break
			}
			st, err := e.Next(id)
			apply(id, s, st, err)
		case op < 78: // the bridge ends (either party hangs up)
			id, s := anySession()
			if s != nil && s.bridge {
				if err := e.BridgeEnded(id); err != nil {
					t.Fatalf("bridge end: %v", err)
				}
				s.bridge = false
				st, err := e.Next(id)
				apply(id, s, st, err)
			}
		case op < 86: // the caller hangs up, or a finished application returns
			id, s := anySession()
			if s != nil {
				if e.Leave(id) {
					held[id] = true
				}
				delete(sessions, id)
			}
		case op < 88:
			_ = e.RemoveExtension(agentName())
			_ = e.AddExtension(ExtensionSpec{Extension: agentName(), JobEnabled: true})
		case op < 90: // nway_bridge, or nwaycallout from a phone (an agent's or not)
			nextID++
			id := "d" + strconv.Itoa(nextID)
			var st Step
			var err error
			kind := "direct"
			if rng.IntN(2) == 0 {
				st, err = e.EnterDirect(CallIn{UUID: id, Number: strconv.Itoa(rng.IntN(30))}, agentName())
			} else {
				kind = "callout"
				from := agentName()
				if rng.IntN(4) == 0 {
					from = "555"
				}
				st, err = e.EnterCallout(CalloutIn{UUID: id, Ext: from, Group: groupName(), Target: "0" + strconv.Itoa(rng.IntN(99)), Gateway: "gw"})
			}
			if err != nil {
				if c := CodeOf(err); c != ErrState && c != ErrUnknownExtension {
					t.Fatalf("op %d: enter %s: %v", i, id, err)
				}
				break
			}
			entered++
			seen[kind]++
			s := &session{}
			sessions[id] = s
			apply(id, s, st, nil)
		case op < 94: // a transfer of a bridged call, by the caller's uuid or the agent's leg
			var id string
			var s *session
			for sid, ss := range sessions { // map order: a random one
				if ss.bridge || ss.moved {
					id, s = sid, ss
					break
				}
			}
			if s == nil {
				break
			}
			ref := id
			if c := e.calls[id]; c != nil && c.legUUID != "" && rng.IntN(2) == 0 {
				ref = c.legUUID
			}
			to := []string{agentName(), agentName(), "9999", ""}[rng.IntN(4)]
			err := e.Transferred(ref, to)
			switch {
			case err == nil:
				s.moved = true
				seen["transfer"]++
				if to != "" && e.agents[to] != nil && !e.agents[to].loggedIn {
					seen["transfer to a logged-out agent"]++
				}
			case CodeOf(err) == ErrUnknownExtension: // 9999, or an extension removed meanwhile
			case CodeOf(err) == ErrState: // a callout
			default:
				t.Fatalf("op %d: transfer %s to %q: %v", i, ref, to, err)
			}
		case op < 96 && len(held) > 0: // a transferred caller hangs up, or its route runs nway_bridge
			for id := range held {
				delete(held, id)
				if continueHeld(e, rng, id, agentName, sessions, apply) {
					seen["nway_bridge after a transfer"]++
					break
				}
				e.TransferEnded(id)
				seen["transferred caller hangs up"]++
				break
			}
		case op < 96: // a transferred caller hangs up while its session is still in the application
			id, s := anySession()
			if s != nil && s.moved {
				e.TransferEnded(id)
				if e.Leave(id) {
					t.Fatalf("op %d: %s held after its caller hung up", i, id)
				}
				delete(sessions, id)
			}
		default:
			clock.t = clock.t.Add(time.Duration(rng.IntN(30)) * time.Second)
			e.Tick()
		}
		decisions := e.Decisions()
		for _, d := range decisions {
			switch d.Kind {
			case DEnded:
				ended[d.Call.UUID]++
				if ended[d.Call.UUID] > 1 {
					t.Fatalf("op %d: call %s ended twice", i, d.Call.UUID)
				}
			case DWake:
				// The session wakes from its wait and asks for its next step.
				if s := sessions[d.Call.UUID]; s != nil && !s.done && !s.bridge && s.agent == "" {
					st, err := e.Next(d.Call.UUID)
					apply(d.Call.UUID, s, st, err)
				}
			}
		}
		checkOrder(t, i, e, decisions, queuedBefore)
		e.Decisions() // what the wakes produced is checked by the invariants below
		checkInvariants(t, i, e)
	}
	for id := range sessions {
		if e.Leave(id) {
			held[id] = true
		}
	}
	for id := range held {
		e.TransferEnded(id)
	}
	for _, d := range e.Decisions() {
		if d.Kind == DEnded {
			ended[d.Call.UUID]++
		}
	}
	if len(e.calls) != 0 {
		t.Fatalf("%d calls still tracked after every session left", len(e.calls))
	}
	for id, n := range ended {
		if n != 1 {
			t.Fatalf("call %s ended %d times", id, n)
		}
	}
	if len(ended) != entered {
		t.Fatalf("%d calls entered, %d ended", entered, len(ended))
	}
	checkInvariants(t, ops, e)
	for _, k := range []string{"direct", "callout", "transfer", "transfer to a logged-out agent", "nway_bridge after a transfer", "transferred caller hangs up"} {
		if seen[k] == 0 && !(testing.Short() && k == "nway_bridge after a transfer") { // a few per short run: may be none
			t.Errorf("the run never exercised %s", k)
		}
	}
	t.Logf("exercised %v", seen)
}

// continueHeld: a transferred call's route runs nway_bridge (sometimes;
// the agent may be busy).
func continueHeld(e *Engine, rng *rand.Rand, id string, agentName func() string, sessions map[string]*session, apply func(string, *session, Step, error)) bool {
	for try := 0; try < 3 && rng.IntN(2) == 0; try++ {
		st, err := e.EnterDirect(CallIn{UUID: id, Number: "1"}, agentName())
		if err == nil {
			s := &session{}
			sessions[id] = s
			apply(id, s, st, nil)
			return true
		}
	}
	return false
}

// checkOrder: an agent handed a call that was already waiting got the best
// call of its groups among those that were waiting and unoffered before.
func checkOrder(t *testing.T, i int, e *Engine, ds []Decision, before map[string]bool) {
	for _, d := range ds {
		if d.Kind != DOfferCallout || !before[d.Call.UUID] {
			continue
		}
		got := e.calls[d.Call.UUID]
		a := e.agents[d.Ext]
		if got == nil || a == nil {
			continue
		}
		for _, g := range a.groups {
			for l := 0; l < 2; l++ {
				for c := g.q[l].head; c != nil; c = c.next {
					if c == got || !before[c.uuid] || c.agent != nil {
						continue
					}
					if levelIndex(c.level) < levelIndex(got.level) || (c.level == got.level && c.seq < got.seq) {
						t.Fatalf("op %d: %s offered %s (%s) while better %s (%s) waited", i, a.ext, got.uuid, got.level, c.uuid, c.level)
					}
				}
			}
		}
	}
}

func checkInvariants(t *testing.T, i int, e *Engine) {
	holders := map[*agent]*call{}
	for _, c := range e.calls {
		if c.phase == phaseOffering && c.agent == nil {
			t.Fatalf("op %d: call %s rings nobody", i, c.uuid)
		}
		if c.phase == phaseBridged && c.kind != kindCallout && c.agent == nil {
			t.Fatalf("op %d: call %s bridged without agent", i, c.uuid)
		}
		if c.left && c.phase != phaseTransferred {
			t.Fatalf("op %d: call %s kept after its session left in phase %d", i, c.uuid, c.phase)
		}
		if c.agent != nil {
			if prev := holders[c.agent]; prev != nil {
				t.Fatalf("op %d: agent %s holds %s and %s", i, c.agent.ext, prev.uuid, c.uuid)
			}
			holders[c.agent] = c
			if c.agent.call != c {
				t.Fatalf("op %d: agent %s does not point back to %s", i, c.agent.ext, c.uuid)
			}
		}
		if c.queued != (c.phase == phaseWaiting || (c.phase == phaseOffering && c.queued)) {
			t.Fatalf("op %d: call %s queued=%v in phase %d", i, c.uuid, c.queued, c.phase)
		}
	}
	for _, g := range e.groups {
		n := 0
		for l := 0; l < 2; l++ {
			var prev *call
			for c := g.q[l].head; c != nil; c = c.next {
				n++
				if prev != nil && prev.seq > c.seq {
					t.Fatalf("op %d: group %s queue out of age order", i, g.num)
				}
				if levelIndex(c.level) != l {
					t.Fatalf("op %d: call %s in the wrong level list", i, c.uuid)
				}
				prev = c
			}
		}
		if n != g.waiting {
			t.Fatalf("op %d: group %s counts %d waiting, lists hold %d", i, g.num, g.waiting, n)
		}
	}
	if e.direct != nil && (e.direct.waiting != 0 || e.direct.q[0].head != nil || e.direct.q[1].head != nil) {
		t.Fatalf("op %d: a direct call or callout is queued", i)
	}
	// Nobody idle while a call it could take waits unoffered.
	for _, a := range e.agents {
		if a.call != nil && holders[a] == nil {
			t.Fatalf("op %d: agent %s points to call %s that does not hold it", i, a.ext, a.call.uuid)
		}
		if !a.idle() {
			continue
		}
		for _, g := range a.groups {
			for l := 0; l < 2; l++ {
				for c := g.q[l].head; c != nil; c = c.next {
					if c.agent == nil {
						t.Fatalf("op %d: agent %s idle while %s waits in %s", i, a.ext, c.uuid, g.num)
					}
				}
			}
		}
	}
}
