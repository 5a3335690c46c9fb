package acd

import (
	"runtime"
	"strconv"
	"testing"
	"time"
)

// bigEngine: 10,000 agents in 1,000 groups (10 each, every agent also in a
// second group), 5,000 calls waiting in the first 500 groups, whose agents
// are all busy; the other 500 groups have idle agents.
func bigEngine(b *testing.B) (*Engine, *fakeClock) {
	clock := &fakeClock{t: epoch}
	e := New(Config{Seed: 1, NoAnswerLimit: -1, MemoryExpiry: time.Hour}, clock)
	const groups, agents, waiting = 1000, 10_000, 5000
	for g := 0; g < groups; g++ {
		if err := e.AddGroup(GroupSpec{Number: strconv.Itoa(10_000 + g), Mode: Mode(g % 6)}); err != nil {
			b.Fatal(err)
		}
	}
	for a := 0; a < agents; a++ {
		ext := strconv.Itoa(100_000 + a)
		g := a / 10
		var second int
		if g < 500 {
			second = (g + 1) % 500 // busy side stays busy side
		} else {
			second = 500 + (g+1)%500
		}
		_ = e.AddExtension(ExtensionSpec{Extension: ext, JobEnabled: true})
		_ = e.SetRegistered(ext, true)
		_ = e.Login(ext, []string{strconv.Itoa(10_000 + g), strconv.Itoa(10_000 + second)})
		if g < 500 {
			_ = e.SetBusy(ext)
		}
	}
	for c := 0; c < waiting; c++ {
		lvl := LevelNormal
		if c%10 == 0 {
			lvl = LevelVIP
		}
		if _, err := e.Enter(CallIn{UUID: "w" + strconv.Itoa(c), Group: strconv.Itoa(10_000 + c%500), Number: strconv.Itoa(13_800_000_000 + c), Level: lvl}); err != nil {
			b.Fatal(err)
		}
	}
	e.Decisions()
	return e, clock
}

// BenchmarkRouteArrival: a call arrives in a group with idle agents and is
// routed (memory lookup, then the group's mode); then it leaves, which
// releases the agent (a second routing decision: the agent's groups are
// searched for waiting calls). Two decisions per op.
func BenchmarkRouteArrival(b *testing.B) {
	e, clock := bigEngine(b)
	uuids := make([]string, 1024)
	for i := range uuids {
		uuids[i] = "a" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		u := uuids[i&1023]
		g := 500 + i%500
		if _, err := e.Enter(CallIn{UUID: u, Group: groupNames[g], Number: "13900000000"}); err != nil {
			b.Fatal(err)
		}
		e.Leave(u)
		e.Decisions()
		if i%4096 == 0 { // let stale timers fire, as time would
			clock.t = clock.t.Add(time.Minute)
			e.Tick()
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(2*b.N), "ns/decision")
	b.ReportMetric(allocsPerDecision(e), "allocs/decision")
}

// BenchmarkDispatchWaiting: with 5,000 calls waiting, an agent does not
// answer: the call is routed again (no idle agent: back in its place in the
// queue) and the agent, ready again, takes the best waiting call across its
// two groups. Two decisions per op.
func BenchmarkDispatchWaiting(b *testing.B) {
	e, clock := bigEngine(b)
	ext := "100000" // group 10000 (busy side, waiting calls)
	if err := e.SetReady(ext); err != nil {
		b.Fatal(err)
	}
	e.Decisions()
	a := e.agents[ext]
	if a.call == nil {
		b.Fatal("agent got no call")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := a.call
		if err := e.OfferResult(c.uuid, ext, NoAnswer, ""); err != nil {
			b.Fatal(err)
		}
		if a.call == nil {
			b.Fatal("agent lost its call")
		}
		e.Decisions()
		if i%4096 == 0 {
			clock.t = clock.t.Add(time.Second)
			e.Tick()
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(2*b.N), "ns/decision")
}

var groupNames = func() []string {
	s := make([]string, 1000)
	for i := range s {
		s[i] = strconv.Itoa(10_000 + i)
	}
	return s
}()

// allocsPerDecision measures arrival+leave allocations directly (the
// benchmark's allocs/op counts the same pair).
func allocsPerDecision(e *Engine) float64 {
	uuids := make([]string, 1024)
	for i := range uuids {
		uuids[i] = "m" + strconv.Itoa(i)
	}
	i := 0
	n := testing.AllocsPerRun(1000, func() {
		u := uuids[i&1023]
		i++
		_, _ = e.Enter(CallIn{UUID: u, Group: groupNames[500+i%500], Number: "13900000000"})
		e.Leave(u)
		e.Decisions()
	})
	return n / 2
}

// BenchmarkAgentMemory reports the heap held per logged-in agent (an
// extension logged in to two groups), with 10,000 agents.
func BenchmarkAgentMemory(b *testing.B) {
	for i := 0; i < b.N; i++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		clock := &fakeClock{t: epoch}
		e := New(Config{}, clock)
		for g := 0; g < 1000; g++ {
			_ = e.AddGroup(GroupSpec{Number: groupNames[g]})
		}
		runtime.GC()
		runtime.ReadMemStats(&before)
		for a := 0; a < 10_000; a++ {
			ext := strconv.Itoa(100_000 + a)
			_ = e.AddExtension(ExtensionSpec{Extension: ext, JobNumber: "J" + ext, JobEnabled: true})
			_ = e.SetRegistered(ext, true)
			_ = e.Login(ext, []string{groupNames[a/10], groupNames[(a/10+1)%1000]})
		}
		e.Decisions()
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/10_000, "bytes/agent")
		runtime.KeepAlive(e)
	}
}

var benchSkills = func() []string {
	s := make([]string, 20)
	for i := range s {
		s[i] = "skill" + strconv.Itoa(i)
	}
	return s
}()

// bigSkillEngine is bigEngine with skills and tiers: every agent has 5 of
// 20 skills at levels 1–10 and a tier 1–3 in each group; groups escalate
// tiers every 30 s and relax skills every 20 s, in modes 0–8, 10 and 11
// (ring-all is measured apart: it rings many); 5,000 calls asking for two
// skills wait in the first 500 groups, whose agents are busy.
//
// With idleUnqualified the first 500 groups' agents stay idle and the
// waiting calls ask for a skill nobody has: every re-examination searches
// the members in full.
func bigSkillEngine(b *testing.B, idleUnqualified bool) (*Engine, *fakeClock) {
	clock := &fakeClock{t: epoch}
	e := New(Config{Seed: 1, NoAnswerLimit: -1, MemoryExpiry: time.Hour, Location: time.UTC}, clock)
	const groups, agents, waiting = 1000, 10_000, 5000
	modes := []Mode{0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11}
	for g := 0; g < groups; g++ {
		s := GroupSpec{Number: groupNames[g], Mode: modes[g%len(modes)],
			Options: GroupOptions{TierWait: 30 * time.Second, RelaxEvery: 20 * time.Second}}
		if err := e.AddGroup(s); err != nil {
			b.Fatal(err)
		}
	}
	for a := 0; a < agents; a++ {
		ext := strconv.Itoa(100_000 + a)
		g := a / 10
		second := 500 + (g+1)%500
		if g < 500 {
			second = (g + 1) % 500
		}
		_ = e.AddExtension(ExtensionSpec{Extension: ext, JobEnabled: true})
		_ = e.SetRegistered(ext, true)
		for k := 0; k < 5; k++ {
			_ = e.SetSkill(ext, benchSkills[(a+k*3)%20], 1+(a*7+k)%10)
		}
		for _, gn := range []string{groupNames[g], groupNames[second]} {
			_ = e.SetTier(ext, gn, 1+a%3)
		}
		_ = e.Login(ext, []string{groupNames[g], groupNames[second]})
		if g < 500 && !idleUnqualified {
			_ = e.SetBusy(ext)
		}
	}
	for c := 0; c < waiting; c++ {
		lvl := LevelNormal
		if c%10 == 0 {
			lvl = LevelVIP
		}
		in := CallIn{UUID: "w" + strconv.Itoa(c), Group: groupNames[c%500], Number: strconv.Itoa(13_800_000_000 + c), Level: lvl,
			Skills: []SkillReq{{benchSkills[c%20], 5}, {benchSkills[(c+3)%20], 3}}}
		if idleUnqualified {
			in.Skills = []SkillReq{{"rare", 5}, {benchSkills[c%20], 3}}
		}
		if _, err := e.Enter(in); err != nil {
			b.Fatal(err)
		}
	}
	e.Decisions()
	return e, clock
}

// BenchmarkRouteSkillsTiers: as BenchmarkRouteArrival, with skills and
// tiers: a call asking for two skills arrives in a group with idle agents
// (the lowest tier with a qualified idle member is found, then the mode
// picks among it), then leaves, and the freed agent searches its groups'
// queues for a call it qualifies for. Two decisions per op.
func BenchmarkRouteSkillsTiers(b *testing.B) {
	e, clock := bigSkillEngine(b, false)
	uuids := make([]string, 1024)
	for i := range uuids {
		uuids[i] = "a" + strconv.Itoa(i)
	}
	reqs := make([][]SkillReq, 20)
	for i := range reqs {
		reqs[i] = []SkillReq{{benchSkills[i], 2}, {benchSkills[(i+3)%20], 1}}
	}
	offered := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		u := uuids[i&1023]
		st, err := e.Enter(CallIn{UUID: u, Group: groupNames[500+i%500], Number: "13900000000", Skills: reqs[i%20]})
		if err != nil {
			b.Fatal(err)
		}
		if st.Kind == StepOffer {
			offered++
		}
		e.Leave(u)
		e.Decisions()
		if i%4096 == 0 {
			clock.t = clock.t.Add(time.Minute)
			e.Tick()
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(2*b.N), "ns/decision")
	b.ReportMetric(float64(offered)/float64(b.N), "offered/op")
}

// BenchmarkRelaxStep: one relax step re-examines all 5,000 waiting calls
// (skills, tiers, then the mode over each group's members). One step per
// op. busy: their groups' agents are all busy; idle-unqualified: they are
// idle, but none has the skill the calls ask for.
func BenchmarkRelaxStep(b *testing.B) {
	b.Run("busy", func(b *testing.B) { benchRelax(b, false) })
	b.Run("idle-unqualified", func(b *testing.B) { benchRelax(b, true) })
}

func benchRelax(b *testing.B, idleUnqualified bool) {
	e, _ := bigSkillEngine(b, idleUnqualified)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if n := e.RelaxStep(); n != 0 {
			b.Fatalf("%d calls offered with every agent busy", n)
		}
		e.Decisions()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/5000, "ns/call")
}

// BenchmarkRingAll: a call arrives in a ring-all group of 10 idle agents,
// all ring, one answers (the others are released), the call ends.
func BenchmarkRingAll(b *testing.B) {
	clock := &fakeClock{t: epoch}
	e := New(Config{Seed: 1, NoAnswerLimit: -1, WrapUp: -1}, clock)
	_ = e.AddGroup(GroupSpec{Number: "9", Mode: ModeRingAll})
	for a := 0; a < 10; a++ {
		ext := strconv.Itoa(100 + a)
		_ = e.AddExtension(ExtensionSpec{Extension: ext, JobEnabled: true})
		_ = e.SetRegistered(ext, true)
		_ = e.Login(ext, []string{"9"})
	}
	uuids := make([]string, 1024)
	for i := range uuids {
		uuids[i] = "a" + strconv.Itoa(i)
	}
	e.Decisions()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		u := uuids[i&1023]
		st, err := e.Enter(CallIn{UUID: u, Group: "9"})
		if err != nil || len(st.Ring) != 10 {
			b.Fatalf("%v %d", err, len(st.Ring))
		}
		_ = e.OfferResult(u, st.Ring[i%10].Agent, Answered, "")
		_ = e.BridgeEnded(u)
		e.Leave(u)
		e.Decisions()
	}
}

// BenchmarkDispatchSkills: as BenchmarkDispatchWaiting with skills and
// tiers: an agent that does not answer is ready again and takes the best
// waiting call across its two groups among those it qualifies for (each
// group's 10 calls ask for two skills). Two decisions per op.
func BenchmarkDispatchSkills(b *testing.B) {
	e, clock := bigSkillEngine(b, false)
	// The agent that qualifies for the most calls of its groups.
	var a *agent
	for i := 0; i < 5000 && a == nil; i++ {
		ext := strconv.Itoa(100_000 + i)
		if err := e.SetReady(ext); err != nil {
			b.Fatal(err)
		}
		e.Decisions()
		if x := e.agents[ext]; x.call != nil {
			a = x
		} else {
			_ = e.SetBusy(ext)
		}
	}
	if a == nil {
		b.Fatal("no agent qualifies for a waiting call")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := a.call
		if err := e.OfferResult(c.uuid, a.ext, NoAnswer, ""); err != nil {
			b.Fatal(err)
		}
		if a.call == nil {
			b.Fatal("agent lost its call")
		}
		e.Decisions()
		if i%4096 == 0 {
			clock.t = clock.t.Add(time.Second)
			e.Tick()
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(2*b.N), "ns/decision")
}
