package acd

import (
	"reflect"
	"strconv"
	"testing"
	"time"
)

func TestParseSkills(t *testing.T) {
	good := map[string][]SkillReq{
		"":                  nil,
		"zh:5,billing:3":    {{"zh", 5}, {"billing", 3}},
		" zh : 5 , en ":     {{"zh", 5}, {"en", 1}},
		"a.b-c_d:10":        {{"a.b-c_d", 10}},
		"zh:05":             {{"zh", 5}},
		"x:1,y:2,z:3,w:4":   {{"x", 1}, {"y", 2}, {"z", 3}, {"w", 4}},
		"Support-Level2:7 ": {{"Support-Level2", 7}},
	}
	for in, want := range good {
		got, err := ParseSkills(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseSkills(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"zh:0", "zh:11", "zh:", "zh:x", ":5", "zh:5,", ",zh", "zh:5,zh:3", "z h:1", "zh:+5", "zh:-1",
		"zh:1:2", "a'b:1", "zh:005", "0123456789012345678901234567890123:1"} {
		if got, err := ParseSkills(in); err == nil || CodeOf(err) != ErrBadArgument {
			t.Errorf("ParseSkills(%q) = %v, %v; want a bad-argument error", in, got, err)
		}
	}
	var many string
	for i := 0; i <= maxCallSkills; i++ {
		many += "s" + strconv.Itoa(i) + ":1,"
	}
	if _, err := ParseSkills(many[:len(many)-1]); err == nil {
		t.Error("more than 16 skills accepted")
	}
}

// FuzzParseSkills: hostile channel variables never panic; what parses is
// valid and survives a round trip through FormatSkills.
func FuzzParseSkills(f *testing.F) {
	for _, s := range []string{"zh:5,billing:3", "", " a : 1 ", "zh:11", "x,y,z", "a:1,a:2", "é:1", "a:９"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rs, err := ParseSkills(s)
		if err != nil {
			if rs != nil || CodeOf(err) != ErrBadArgument {
				t.Fatalf("%q: %v with %v", s, err, rs)
			}
			return
		}
		seen := map[string]bool{}
		for _, r := range rs {
			if ValidSkillName(r.Name) != nil || r.Level < MinSkillLevel || r.Level > MaxSkillLevel || seen[r.Name] {
				t.Fatalf("%q parsed to invalid %v", s, rs)
			}
			seen[r.Name] = true
		}
		again, err := ParseSkills(FormatSkills(rs))
		if err != nil || !reflect.DeepEqual(again, rs) {
			t.Fatalf("%q: round trip %v → %v, %v", s, rs, again, err)
		}
		// The engine accepts whatever parses.
		e := New(Config{}, &fakeClock{t: epoch})
		_ = e.AddGroup(GroupSpec{Number: "1"})
		if _, err := e.Enter(CallIn{UUID: "u", Group: "1", Skills: rs}); err != nil {
			t.Fatalf("%q: enter: %v", s, err)
		}
	})
}

// spreadEngine: one group of n idle agents in mode m.
func spreadEngine(t *testing.T, m Mode, n int) (*Engine, *fakeClock) {
	clock := &fakeClock{t: epoch}
	e := New(Config{Seed: 7, WrapUp: -1, Location: time.UTC}, clock)
	if err := e.AddGroup(GroupSpec{Number: "1", Mode: m}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		ext := strconv.Itoa(100 + i)
		_ = e.AddExtension(ExtensionSpec{Extension: ext, JobEnabled: true})
		_ = e.SetRegistered(ext, true)
		_ = e.Login(ext, []string{"1"})
	}
	e.Decisions()
	return e, clock
}

// Mode 10: 10,000 calls over weights 1, 2, 3 and 4 land in proportion,
// each within 8% of its share.
func TestWeightedRandomSpread(t *testing.T) {
	e, _ := spreadEngine(t, ModeWeightedRandom, 4)
	for i := 0; i < 4; i++ {
		if err := e.SetWeight(strconv.Itoa(100+i), "1", i+1); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]int{}
	const calls = 10_000
	for i := 0; i < calls; i++ {
		u := "c" + strconv.Itoa(i)
		st, err := e.Enter(CallIn{UUID: u, Group: "1"})
		if err != nil || st.Kind != StepOffer {
			t.Fatalf("%v %+v", err, st)
		}
		got[st.Agent]++
		e.Leave(u)
		e.Decisions()
	}
	for i := 0; i < 4; i++ {
		want := float64(calls) * float64(i+1) / 10
		n := float64(got[strconv.Itoa(100+i)])
		if n < want*0.92 || n > want*1.08 {
			t.Fatalf("weight %d: %v of %d calls, want about %.0f: %v", i+1, n, calls, want, got)
		}
	}
}

// answerCall: a call enters, is answered by whoever is offered it, talks
// for talk, and ends. It returns the agent.
func answerCall(t *testing.T, e *Engine, clock *fakeClock, u string, talk time.Duration) string {
	t.Helper()
	st, err := e.Enter(CallIn{UUID: u, Group: "1"})
	if err != nil || st.Kind != StepOffer {
		t.Fatalf("%s: %v %+v", u, err, st)
	}
	if err := e.OfferResult(u, st.Agent, Answered, ""); err != nil {
		t.Fatal(err)
	}
	clock.t = clock.t.Add(talk)
	if err := e.BridgeEnded(u); err != nil {
		t.Fatal(err)
	}
	e.Leave(u)
	e.Decisions()
	return st.Agent
}

// Modes 6, 7 and 8 always pick the agent with the least key; run many
// calls of random length and check every pick against a model.
func TestLeastKeyModes(t *testing.T) {
	for _, m := range []Mode{ModeLongestIdle, ModeFewestCalls, ModeLeastTalk} {
		t.Run(m.String(), func(t *testing.T) {
			e, clock := spreadEngine(t, m, 5)
			lastEnd := map[string]time.Time{}
			calls := map[string]int{}
			talk := map[string]time.Duration{}
			for i := 0; i < 500; i++ {
				// The model's choice: least key, first member (100, 101, …) on ties.
				var want string
				for j := 0; j < 5; j++ {
					ext := strconv.Itoa(100 + j)
					if want == "" {
						want = ext
						continue
					}
					var less bool
					switch m {
					case ModeLongestIdle:
						less = lastEnd[ext].Before(lastEnd[want])
					case ModeFewestCalls:
						less = calls[ext] < calls[want]
					default:
						less = talk[ext] < talk[want]
					}
					if less {
						want = ext
					}
				}
				d := time.Duration(1+(i*7919)%60) * time.Second // 500 calls end before midnight
				got := answerCall(t, e, clock, "c"+strconv.Itoa(i), d)
				if got != want {
					t.Fatalf("call %d: %s picked, want %s (ends %v, calls %v, talk %v)", i, got, want, lastEnd, calls, talk)
				}
				lastEnd[got] = clock.t
				calls[got]++
				talk[got] += d
				if m != ModeLongestIdle && i == 250 { // a new day starts at midnight UTC
					y, mo, dd := clock.t.Date()
					clock.t = time.Date(y, mo, dd+1, 0, 0, 1, 0, time.UTC)
					clear(calls)
					clear(talk)
				}
			}
			for j := 0; j < 5; j++ {
				ext := strconv.Itoa(100 + j)
				x, _ := e.Extension(ext)
				if m != ModeLongestIdle && (x.Stats.Answered != calls[ext] || x.Stats.TalkTime != talk[ext]) {
					t.Fatalf("%s: stats %+v, model %d calls %v talk", ext, x.Stats, calls[ext], talk[ext])
				}
			}
		})
	}
}

// RestoreStats brings today's counters back after a reload; yesterday's are dropped.
func TestRestoreStats(t *testing.T) {
	e, _ := spreadEngine(t, ModeFewestCalls, 2)
	if err := e.RestoreStats("100", AgentStats{Day: "2021-05-30", Answered: 9, TalkTime: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if err := e.RestoreStats("101", AgentStats{Day: "2021-05-29", Answered: 1}); err != nil {
		t.Fatal(err)
	}
	if err := e.RestoreStats("101", AgentStats{Answered: -1}); CodeOf(err) != ErrBadArgument {
		t.Fatalf("negative counters: %v", err)
	}
	x, _ := e.Extension("100")
	y, _ := e.Extension("101")
	if x.Stats.Answered != 9 || x.Stats.TalkTime != time.Hour || y.Stats.Answered != 0 {
		t.Fatalf("restored %+v and %+v", x.Stats, y.Stats)
	}
	st, _ := e.Enter(CallIn{UUID: "u", Group: "1"})
	if st.Agent != "101" {
		t.Fatalf("fewest calls picked %s", st.Agent)
	}
}

// Bad group options are refused with a bad-argument error and change nothing.
func TestGroupOptionsValidated(t *testing.T) {
	e := New(Config{}, &fakeClock{t: epoch})
	if err := e.AddGroup(GroupSpec{Number: "1"}); err != nil {
		t.Fatal(err)
	}
	bad := []GroupOptions{
		{TierWait: -time.Second},
		{RelaxEvery: -1},
		{MaxWaiting: -1},
		{OverflowWaiting: -2},
		{OverflowAfter: -time.Second, OverflowGroup: "2"},
		{OverflowGroup: "1"},
		{OverflowGroup: "a b"},
		{ExitKey: "12"},
		{ExitKey: "x"},
		{CallbackKey: "#", ExitKey: "#"},
		{CallbackKey: "E"},
		{CallbackRetries: -1},
		{CallbackRetryDelay: -1},
		{Skills: []SkillReq{{"zh", 0}}},
		{Skills: []SkillReq{{"", 3}}},
		{Skills: []SkillReq{{"zh", 3}, {"zh", 4}}},
	}
	for _, o := range bad {
		if err := e.UpdateGroup("1", func(s *GroupSpec) { s.Options = o }); CodeOf(err) != ErrBadArgument {
			t.Errorf("options %+v: %v", o, err)
		}
		if o.OverflowGroup == "1" {
			continue // fine for a new group: only overflowing to itself is wrong
		}
		if err := e.AddGroup(GroupSpec{Number: "3", Options: o}); CodeOf(err) != ErrBadArgument {
			t.Errorf("new group with %+v: %v", o, err)
		}
	}
	g, _ := e.Group("1")
	if !reflect.DeepEqual(g.Options, GroupOptions{Skills: []SkillReq{}}) && !reflect.DeepEqual(g.Options, GroupOptions{}) {
		t.Fatalf("a refused update changed the options: %+v", g.Options)
	}
	good := GroupOptions{MemoryFirst: true, TierWait: time.Second, Skills: []SkillReq{{"zh", 3}}, RelaxEvery: time.Second,
		MaxWaiting: 3, OverflowGroup: "2", OverflowAfter: time.Minute, ExitKey: "9", CallbackKey: "*", CallbackRetries: 2, Announce: true}
	if err := e.UpdateGroup("1", func(s *GroupSpec) { s.Options = good }); err != nil {
		t.Fatal(err)
	}
	if g, _ := e.Group("1"); !reflect.DeepEqual(g.Options, good) {
		t.Fatalf("options %+v, want %+v", g.Options, good)
	}
	for _, err := range []error{e.SetTier("1", "1", 1), e.SetWeight("1", "1", 1), e.SetSkill("1", "zh", 1), e.RemoveSkill("1", "zh")} {
		if CodeOf(err) != ErrUnknownExtension {
			t.Errorf("unknown extension: %v", err)
		}
	}
	_ = e.AddExtension(ExtensionSpec{Extension: "1"})
	for _, err := range []error{e.SetTier("1", "1", 0), e.SetTier("1", "1", 10), e.SetWeight("1", "1", 1001), e.SetSkill("1", "zh", 0),
		e.SetSkill("1", "z h", 1), e.RemoveSkill("1", "")} {
		if CodeOf(err) != ErrBadArgument {
			t.Errorf("bad value: %v", err)
		}
	}
	if err := e.SetTier("1", "9", 1); CodeOf(err) != ErrUnknownGroup {
		t.Errorf("unknown group: %v", err)
	}
}
