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
