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
	agent  string   // agent of the last Offer step
	ring   []string // a ring-all offer's agents
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
		t.Run(fmt.Sprint(seed), func(t *testing.T) { randomRun(t, seed, ops, false) })
	}
}

// TestRandomizedRouting is TestRandomized over the modes 0–11 with tiers,
// skills that relax, overflow, full queues and the exit key, changed while
// calls wait. Beyond the invariants above: no agent in two offers
// (ring-all), and every offer of a queued call meets its tier and skill
// constraints when it is made.
func TestRandomizedRouting(t *testing.T) {
	ops := 100_000
	if testing.Short() {
		ops = 20_000
	}
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { randomRun(t, seed, ops, true) })
	}
}

// routingGroup is group g's spec in the routing run.
func routingGroup(g int) GroupSpec {
	gu := GiveUp{BusyRingTimes: g % 3, MaxWait: time.Duration(g%2) * 120 * time.Second}
	s := GroupSpec{Number: strconv.Itoa(100 + g), Mode: Mode(g % 12), CalloutTimeout: 15 * time.Second, GiveUp: &gu}
	if g >= 12 { // more ring-all, with plain options
		s.Mode = ModeRingAll
		return s
	}
	o := &s.Options
	switch g % 3 {
	case 0:
		o.TierWait = 20 * time.Second
	case 1:
		o.TierSkip = true
	}
	if g%4 == 0 {
		o.RelaxEvery = 15 * time.Second
		o.Skills = []SkillReq{{"zh", 4}}
	}
	if g%3 == 2 {
		o.CallbackKey, o.CallbackRetries, o.CallbackRetryDelay = "2", 1, 20*time.Second
	}
	if g%2 == 0 {
		o.ExitKey = "9"
		s.Rings.Busy = "busy.wav"
	}
	switch g {
	case 2:
		o.MaxWaiting = 1
	case 4:
		o.OverflowGroup, o.OverflowAfter = "105", 40*time.Second
	case 5:
		o.CallbackAgentFirst = true
	case 6:
		o.MemoryFirst = true
	case 7:
		o.OverflowGroup, o.OverflowWaiting = "108", 2
	case 8:
		o.OverflowGroup, o.OverflowAfter = "107", 60*time.Second // 107 and 108 overflow into each other
	case 9:
		o.MaxWaiting, o.FullOverflow, o.OverflowGroup = 1, true, "110"
	}
	if g%5 == 1 {
		o.AnnounceEvery = 25 * time.Second
	}
	return s
}

var skillNames = []string{"zh", "en", "billing"}

func randomSkills(rng *rand.Rand) []SkillReq {
	var rs []SkillReq
	for _, n := range skillNames {
		if rng.IntN(3) == 0 {
			rs = append(rs, SkillReq{n, 1 + rng.IntN(10)})
		}
	}
	return rs
}

// randomRun is one long weighted switch of facts: split, it would only pass
// its dozen shared variables around.
func randomRun(t *testing.T, seed uint64, ops int, routing bool) {
	rng := rand.New(rand.NewPCG(seed, 7))
	clock := &fakeClock{t: epoch}
	legs := 0
	newLeg := func() string { legs++; return "leg-" + strconv.Itoa(legs) }
	e := New(Config{Seed: seed, WrapUp: 20 * time.Second, NoAnswerLimit: 3, MemoryExpiry: time.Hour, NewUUID: newLeg}, clock)
	nAgents, nGroups, trunk := 24, 5, 40
	if routing {
		nAgents, nGroups, trunk = 30, 14, 12
		for g := 0; g < nGroups; g++ {
			if err := e.AddGroup(routingGroup(g)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for g := 0; g < nGroups && !routing; g++ {
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
		if routing {
			for _, r := range randomSkills(rng) {
				_ = e.SetSkill(strconv.Itoa(1000+a), r.Name, r.Level)
			}
		}
	}
	sessions := map[string]*session{}
	held := map[string]bool{}      // transferred calls whose session left
	callbacks := map[string]bool{} // callbacks waiting without a session
	seen := map[string]int{}       // what the run exercised, checked at the end
	ended := map[string]int{}
	entered := 0
	enteredIDs := map[string]bool{}
	lastStep := map[string]string{}
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
		s.ring = s.ring[:0]
		switch st.Kind {
		case StepOffer:
			s.agent = st.Agent
			for _, r := range st.Ring {
				s.ring = append(s.ring, r.Agent)
			}
			if len(st.Ring) > 0 {
				seen["ring-all"]++
			}
		case StepPlay:
			if st.Announce {
				seen["announcement"]++
			}
		case StepHangup, StepDone:
			s.done = true
			if st.Result == ResultCallback {
				seen["callback"]++
			}
		}
	}

	for i := 0; i < ops; i++ {
		queuedBefore := map[string]string{} // uuid → group
		for _, g := range e.groups {
			for l := 0; l < 2; l++ {
				for c := g.q[l].head; c != nil; c = c.next {
					if c.agent == nil {
						queuedBefore[c.uuid] = g.num
					}
				}
			}
		}
		op := rng.IntN(100)
		if routing && rng.IntN(8) == 0 {
			op = -1
		}
		switch {
		case op < 0: // routing settings change, or a caller presses a key
			switch rng.IntN(7) {
			case 0:
				_ = e.SetTier(agentName(), groupName(), 1+rng.IntN(3))
			case 1:
				_ = e.SetSkill(agentName(), skillNames[rng.IntN(3)], 1+rng.IntN(10))
			case 2:
				_ = e.RemoveSkill(agentName(), skillNames[rng.IntN(3)])
			case 3:
				_ = e.SetWeight(agentName(), groupName(), 1+rng.IntN(5))
			case 4:
				g := rng.IntN(nGroups)
				o := routingGroup(rng.IntN(nGroups)).Options // another group's options
				if o.OverflowGroup == strconv.Itoa(100+g) {
					o.OverflowGroup = ""
				}
				if err := e.UpdateGroup(strconv.Itoa(100+g), func(s *GroupSpec) { s.Options = o }); err != nil {
					t.Fatalf("op %d: update: %v", i, err)
				}
				seen["options changed"]++
			case 5:
				id, s := anySession()
				if s != nil && !s.done && !s.bridge {
					st, err := e.Key(id, []string{"9", "1", "2", "#", "3"}[rng.IntN(5)])
					if err == nil && st.Kind != 0 {
						if st.Result != ResultCallback { // apply counts those
							seen[string(st.Result)]++ // exit
						}
						apply(id, s, st, nil)
					}
				}
			case 6: // the service reports on a callback being placed, or gives one up
				for id := range callbacks {
					c := e.calls[id]
					if c == nil { // ended: its attempts ran out
						delete(callbacks, id)
						break
					}
					if c.phase != phaseCallback {
						if rng.IntN(20) == 0 && e.Leave(id) {
							t.Fatalf("op %d: callback %s held after it was given up", i, id)
						}
						if e.calls[id] == nil {
							delete(callbacks, id)
						}
						break
					}
					switch rng.IntN(4) {
					case 0, 1:
						st, err := e.CallbackConnected(id, "cb-leg")
						if err != nil {
							t.Fatalf("op %d: callback connected: %v", i, err)
						}
						delete(callbacks, id)
						seen["callback connected"]++
						s := &session{bridge: st.Kind == StepDone} // agent first: bridged by the service
						sessions[id] = s
						if !s.bridge {
							apply(id, s, st, nil)
						}
					case 2:
						if err := e.CallbackFailed(id, rng.IntN(2) == 0); err != nil {
							t.Fatalf("op %d: callback failed: %v", i, err)
						}
						if e.calls[id] == nil {
							delete(callbacks, id)
						}
					default:
						if e.Leave(id) {
							t.Fatalf("op %d: callback %s held after it was given up", i, id)
						}
						delete(callbacks, id)
					}
					break
				}
			}
		case op < 6:
			gs := []string{groupName()}
			if rng.IntN(2) == 0 {
				gs = append(gs, groupName())
			}
			if routing && rng.IntN(2) == 0 {
				gs = append(gs, "112") // ring-all needs company
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
		case op < 36 && len(sessions) >= trunk: // the trunk is full: a caller hangs up
			id, s := anySession()
			if s.moved {
				e.TransferEnded(id)
			}
			if e.Leave(id) {
				if !isCallback(e, id) {
					t.Fatalf("op %d: %s held after its caller hung up", i, id)
				}
				callbacks[id] = true
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
			in := CallIn{UUID: id, Group: groupName(), Number: num, Level: lvl}
			if routing && rng.IntN(3) == 0 {
				in.Skills = randomSkills(rng)
			}
			st, err := e.Enter(in)
			if err != nil {
				t.Fatalf("enter: %v", err)
			}
			if st.Result == ResultFull {
				seen["full"]++
			}
			entered++
			enteredIDs[id] = true
			lastStep[id] = formatStep(st)
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
			who := s.agent
			if len(s.ring) > 0 { // ring-all: any rung agent answers; a failure may name none
				who = s.ring[rng.IntN(len(s.ring))]
				if o != Answered && rng.IntN(2) == 0 {
					who = ""
				}
				if o == Answered {
					seen["ring-all answered"]++
				}
			}
			err := e.OfferResult(id, who, o, "")
			if err == nil && o == Answered {
				s.bridge = true
				s.agent = ""
				break
			}
			if o == Canceled {
				if e.Leave(id) {
					if !isCallback(e, id) {
						t.Fatalf("op %d: %s held after a cancel", i, id)
					}
					callbacks[id] = true
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
					if c := e.calls[id]; c != nil && c.cb {
						callbacks[id] = true
					} else {
						held[id] = true
					}
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
					if !isCallback(e, id) {
						t.Fatalf("op %d: %s held after its caller hung up", i, id)
					}
					callbacks[id] = true
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
			case DOfferCallout, DCallbackPlaced:
				// Tier and skill constraints hold when a queued call is offered
				// or an agent is reserved for a callback (the offer that follows
				// the caller's answer continues that reservation).
				if d.Kind == DOfferCallout && d.Call.Callback != "" {
					break
				}
				if c := e.calls[d.Call.UUID]; c != nil && c.kind == kindQueued && (c.phase == phaseOffering || c.phase == phaseCallback) {
					if a := e.agents[d.Ext]; a != nil && c.ringing(a) {
						if !e.Qualifies(c.uuid, a.ext) {
							t.Fatalf("op %d: %s offered to %s, which does not qualify", i, c.uuid, a.ext)
						}
						if len(c.reqs) > 0 {
							seen["offer with skills"]++
						}
						if c.g.tierOf(a) > 1 {
							seen["offer to tier 2+"]++
						}
					}
				}
			case DOverflow:
				seen["overflow"]++
			case DWake:
				// The session wakes from its wait and asks for its next step.
				if s := sessions[d.Call.UUID]; s != nil && !s.done && !s.bridge && s.agent == "" {
					st, err := e.Next(d.Call.UUID)
					apply(d.Call.UUID, s, st, err)
				}
			}
		}
		checkOrder(t, i, e, decisions, queuedBefore)
		// What the wakes produced is checked by the invariants below; a
		// woken session may learn its call ended (gave up).
		for _, d := range e.Decisions() {
			if d.Kind == DEnded {
				if ended[d.Call.UUID]++; ended[d.Call.UUID] > 1 {
					t.Fatalf("op %d: call %s ended twice", i, d.Call.UUID)
				}
			}
		}
		checkInvariants(t, i, e)
	}
	for id := range sessions {
		if e.Leave(id) {
			if c := e.calls[id]; c != nil && c.cb {
				callbacks[id] = true
			} else {
				held[id] = true
			}
		}
	}
	for id := range callbacks { // the service gives them up
		if e.calls[id] != nil && e.Leave(id) {
			t.Fatalf("callback %s held after it was given up", id)
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
		var missing []string
		for i := 1; i <= nextID; i++ {
			if id := "c" + strconv.Itoa(i); ended[id] == 0 && enteredIDs[id] {
				missing = append(missing, id+":"+lastStep[id])
			}
		}
		t.Fatalf("%d calls entered, %d ended; never ended: %v", entered, len(ended), missing)
	}
	checkInvariants(t, ops, e)
	want := []string{"direct", "callout", "transfer", "transfer to a logged-out agent", "nway_bridge after a transfer", "transferred caller hangs up"}
	if routing {
		want = append(want, "options changed", "exit", "full", "ring-all", "ring-all answered", "overflow", "callback", "callback connected", "announcement",
			"offer with skills", "offer to tier 2+")
	}
	for _, k := range want {
		rare := k == "nway_bridge after a transfer" || k == "callback connected" || k == "ring-all answered"
		if seen[k] == 0 && !(testing.Short() && rare) { // a few per short run: may be none
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
func checkOrder(t *testing.T, i int, e *Engine, ds []Decision, before map[string]string) {
	for _, d := range ds {
		if d.Kind != DOfferCallout || before[d.Call.UUID] == "" {
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
					// (a call that overflowed into g in this same op was not there to choose)
					if c == got || before[c.uuid] != g.num || c.agent != nil || !e.canTake(c, a, g.tierOf(a), e.now()) {
						continue
					}
					if levelIndex(c.level) < levelIndex(got.level) || (c.level == got.level && c.seq < got.seq) {
						var ks []string
						for _, d := range ds {
							ks = append(ks, formatDecision(d))
						}
						t.Fatalf("op %d: %s offered %s (%s %s) while better %s (%s %s) waited; tier %d; %v", i, a.ext, got.uuid, got.level, got.g.num, c.uuid, c.level, c.g.num, g.tierOf(a), ks)
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
		if c.left && c.phase != phaseTransferred && !c.cb {
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
		if len(c.ring) > 0 && c.phase != phaseOffering {
			t.Fatalf("op %d: call %s keeps ring-all agents in phase %d", i, c.uuid, c.phase)
		}
		for _, r := range c.ring { // ring-all: no agent in two offers
			if prev := holders[r.a]; prev != nil {
				t.Fatalf("op %d: agent %s rung for %s and %s", i, r.a.ext, prev.uuid, c.uuid)
			}
			holders[r.a] = c
			if r.a.call != c {
				t.Fatalf("op %d: ring-all agent %s does not point back to %s", i, r.a.ext, c.uuid)
			}
		}
		if c.phase == phaseCallback && c.agent == nil {
			t.Fatalf("op %d: callback %s placed without an agent", i, c.uuid)
		}
		if c.queued != (c.phase == phaseWaiting || ((c.phase == phaseCallback || c.phase == phaseOffering) && c.queued)) {
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
	// Nobody idle while a call it qualifies for waits unoffered.
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
					if c.agent == nil && e.canTake(c, a, g.tierOf(a), e.now()) {
						t.Fatalf("op %d: agent %s idle while %s waits in %s", i, a.ext, c.uuid, g.num)
					}
				}
			}
		}
	}
}

// isCallback: id is a callback waiting without a session (its Leave holds it).
func isCallback(e *Engine, id string) bool {
	c := e.calls[id]
	return c != nil && c.cb
}
