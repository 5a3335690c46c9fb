package stats

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func newTest() (*Stats, *clock) {
	c := &clock{t: t0}
	s := New(Config{ServiceLevel: 20 * time.Second, ShortAbandon: 5 * time.Second, Location: time.UTC, Now: c.now,
		GroupServiceLevel: map[string]time.Duration{"120": 10 * time.Second}})
	s.SetSource(StaticSource([]acd.GroupInfo{{Number: "110", Members: []string{"1000", "1001"}}, {Number: "120", Members: []string{"1001"}}}))
	return s, c
}

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

func call(uuid, group string, in int) acd.CallView {
	return acd.CallView{UUID: uuid, Number: "13800000000", Group: group, CallinTime: at(in)}
}

func ended(cv acd.CallView, r acd.Result, waited int, when int) acd.Decision {
	cv.Result, cv.Waited = r, time.Duration(waited)*time.Second
	return acd.Decision{Kind: acd.DEnded, Call: cv, At: at(when)}
}

func TestGroupFigures(t *testing.T) {
	s, clk := newTest()
	a, b, c, d := call("a", "110", 0), call("b", "110", 1), call("c", "110", 2), call("d", "110", 3)
	s.Observe([]acd.Decision{
		{Kind: acd.DAgent, Ext: "1000", Status: "login", At: at(0)},
		{Kind: acd.DQueueAdd, Call: a, At: at(0)},
		{Kind: acd.DQueueAdd, Call: b, At: at(1)},
		{Kind: acd.DQueueAdd, Call: c, At: at(2)},
		{Kind: acd.DQueueAdd, Call: d, At: at(3)},
		{Kind: acd.DAgent, Ext: "1000", Status: "ring", At: at(5)},
		{Kind: acd.DOfferCallout, Ext: "1000", Call: a, At: at(5)},
		{Kind: acd.DOfferNoAnswer, Ext: "1000", Call: a, At: at(8)},
		{Kind: acd.DAgent, Ext: "1000", Status: "ready", At: at(8)},
		// a answered after 10 s (within 20), b after 30 s (not)
		{Kind: acd.DQueueRemove, Call: a, At: at(10)},
		{Kind: acd.DOfferAnswered, Ext: "1000", Call: a, At: at(10)},
		{Kind: acd.DAgent, Ext: "1000", Status: "talking", At: at(10)},
		{Kind: acd.DOfferHangup, Ext: "1000", Call: a, At: at(70)},
		ended(a, acd.ResultAnswered, 70, 70),
		{Kind: acd.DAgent, Ext: "1000", Status: "typing", At: at(70)},
		{Kind: acd.DAgent, Ext: "1000", Status: "ready", At: at(80)},
		// c abandons after 3 s: short
		{Kind: acd.DQueueRemove, Call: c, At: at(5)},
		ended(c, acd.ResultAbandoned, 3, 5),
	})
	clk.t = at(30)
	g := s.Groups("110")
	if len(g) != 1 {
		t.Fatalf("groups %+v", g)
	}
	if g[0].Waiting != 2 || g[0].LongestWait != 29 {
		t.Fatalf("waiting %d longest %v, want 2, 29 (b since 1 s)", g[0].Waiting, g[0].LongestWait)
	}
	s.Observe([]acd.Decision{
		{Kind: acd.DQueueRemove, Call: b, At: at(31)},
		{Kind: acd.DOfferAnswered, Ext: "1001", Call: b, At: at(31)},
		// d abandons after 40 s
		{Kind: acd.DQueueRemove, Call: d, At: at(43)},
		ended(d, acd.ResultAbandoned, 40, 43),
		ended(call("e", "110", 44), acd.ResultBlacklisted, 0, 44),
		ended(call("f", "110", 45), acd.ResultTimeout, 300, 45),
	})
	clk.t = at(100)
	g = s.Groups("110")
	w := g[0].Today
	if w.Offered != 5 || w.Answered != 2 || w.AnsweredInSL != 1 || w.Abandoned != 2 || w.AbandonedShort != 1 ||
		w.Timeout != 1 || w.Blacklisted != 1 || w.NoAnswer != 1 {
		t.Fatalf("today %+v", w)
	}
	// SL = answered within T / (offered − abandoned short) = 1 / (5 − 1)
	if w.ServiceLevel != 25 {
		t.Fatalf("service level %v, want 25", w.ServiceLevel)
	}
	if w.ASA != 20 { // (10 + 30) / 2
		t.Fatalf("ASA %v, want 20", w.ASA)
	}
	if w.Handled != 1 || w.AHT != 70 || w.AvgTalk != 60 { // 60 s talk + 10 s wrap-up
		t.Fatalf("handled %d AHT %v talk %v, want 1, 70, 60", w.Handled, w.AHT, w.AvgTalk)
	}
	if g[0].Last15m != w || g[0].Last1h != w {
		t.Fatalf("windows differ from today within the first minutes:\n%+v\n%+v", g[0].Last15m, w)
	}
	if g[0].Waiting != 0 || g[0].LongestWait != 0 {
		t.Fatalf("still waiting: %+v", g[0])
	}
	if g[0].Agents["ready"] != 2 || g[0].Agents["talking"] != 0 {
		t.Fatalf("agents by state %v (1000 ready again; 1001, logged in before any decision, counts as ready)", g[0].Agents)
	}

	// 20 minutes later the 15-minute window is empty, the hour and today are not.
	clk.t = at(20 * 60)
	g = s.Groups("110")
	if g[0].Last15m.Offered != 0 || g[0].Last1h.Offered != 5 || g[0].Today.Offered != 5 {
		t.Fatalf("after 20 min: 15m %d 1h %d today %d", g[0].Last15m.Offered, g[0].Last1h.Offered, g[0].Today.Offered)
	}
	// The next day starts from zero.
	clk.t = t0.Add(24 * time.Hour)
	g = s.Groups("110")
	if g[0].Today.Offered != 0 || g[0].Today.ServiceLevel != -1 {
		t.Fatalf("next day %+v", g[0].Today)
	}
}

func TestGroupServiceLevelOverride(t *testing.T) {
	s, clk := newTest()
	x := call("x", "120", 0)
	s.Observe([]acd.Decision{{Kind: acd.DOfferAnswered, Ext: "1001", Call: x, At: at(15)}})
	clk.t = at(16)
	g := s.Groups("120")
	if g[0].ServiceLevelSeconds != 10 || g[0].Today.AnsweredInSL != 0 || g[0].Today.ServiceLevel != 0 {
		t.Fatalf("group 120 has T=10 s, a 15 s answer is outside: %+v", g[0])
	}
}

func TestAgentFigures(t *testing.T) {
	s, clk := newTest()
	a := call("a", "110", 0)
	s.Observe([]acd.Decision{
		{Kind: acd.DAgent, Ext: "1000", Status: "login", At: at(0)},    // ready 0..10
		{Kind: acd.DAgent, Ext: "1000", Status: "ring", At: at(10)},    // ring 10..15
		{Kind: acd.DOfferAnswered, Ext: "1000", Call: a, At: at(15)},   //
		{Kind: acd.DAgent, Ext: "1000", Status: "talking", At: at(15)}, // talking 15..75
		{Kind: acd.DOfferHangup, Ext: "1000", Call: a, At: at(75)},     //
		{Kind: acd.DAgent, Ext: "1000", Status: "typing", At: at(75)},  // typing 75..85
		{Kind: acd.DAgent, Ext: "1000", Status: "ready", At: at(85)},   // ready 85..95
		{Kind: acd.DOfferNoAnswer, Ext: "1000", Call: a, At: at(95)},   //
		{Kind: acd.DAgent, Ext: "1000", Status: "busy", At: at(95)},    // busy 95..
		{Kind: acd.DAgent, Ext: "1000", Status: "idle", At: at(96)},    // a seat change, not a state
		{Kind: acd.DAgent, Ext: "1000", Status: "unreg", At: at(97)},   // registration, not a state
	})
	clk.t = at(100)
	as := s.Agents("1000")
	if len(as) != 1 {
		t.Fatalf("agents %+v", as)
	}
	x := as[0]
	if x.State != "busy" || x.StateSeconds != 5 || !x.LoggedIn {
		t.Fatalf("now %+v", x)
	}
	w := x.Today
	want := map[string]float64{"ready": 20, "ring": 5, "talking": 60, "typing": 10, "busy": 5}
	for k, v := range want {
		if w.States[k] != v {
			t.Fatalf("state %s: %v s, want %v (all %v)", k, w.States[k], v, w.States)
		}
	}
	if w.Calls != 1 || w.NoAnswers != 1 || w.TalkSeconds != 60 {
		t.Fatalf("today %+v", w)
	}
	// occupancy = (talking + typing) / (talking + typing + ready + ring) = 70 / 95
	if got := w.Occupancy; got < 73.68 || got > 73.69 {
		t.Fatalf("occupancy %v, want 73.68", got)
	}
	if x.Last15m.Calls != 1 || x.Last15m.States["talking"] != 60 || x.Last1h.States["busy"] != 5 {
		t.Fatalf("windows %+v %+v", x.Last15m, x.Last1h)
	}
	s.Observe([]acd.Decision{{Kind: acd.DAgent, Ext: "1000", Status: "logout", At: at(100)}})
	clk.t = at(3 * 3600)
	x = s.Agents("1000")[0]
	if x.LoggedIn || x.State != "logged_out" || x.Last1h.Calls != 0 || x.Last1h.States["logged_out"] != 3600 || x.Today.Calls != 1 {
		t.Fatalf("3 h later %+v", x)
	}
}

func TestJSONAndTotals(t *testing.T) {
	s, clk := newTest()
	a := call("a", "110", 0)
	s.Observe([]acd.Decision{
		{Kind: acd.DOfferAnswered, Ext: "1000", Call: a, At: at(3)},
		{Kind: acd.DOfferHangup, Ext: "1000", Call: a, At: at(50)},
		ended(call("b", "110", 0), acd.ResultGaveUp, 400, 400),
	})
	clk.t = at(500)
	var doc groupsDoc
	if err := json.Unmarshal(s.GroupsJSON("", false), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Groups) != 2 || doc.Groups[0].Group != "110" || doc.Groups[0].Today.GaveUp != 1 || doc.ServiceLevelSeconds != 20 {
		t.Fatalf("doc %+v", doc)
	}
	var seen int
	s.Totals(func(g *GroupTotals) {
		if g.Group != "110" {
			return
		}
		seen++
		if g.Results[rAnswered] != 1 || g.Results[rGaveUp] != 1 || g.Wait.Count != 2 || g.Talk.Count != 1 {
			t.Fatalf("totals %+v", g)
		}
		// wait 3 s falls in le=5, 400 s in le=600; talk 47 s in le=60
		if g.Wait.Counts[1] != 0 || g.Wait.Counts[2] != 1 || g.Wait.Counts[9] != 2 || g.Talk.Counts[2] != 1 || g.Talk.Counts[1] != 0 {
			t.Fatalf("histograms %+v %+v", g.Wait, g.Talk)
		}
	})
	if seen != 1 {
		t.Fatalf("group 110 seen %d times", seen)
	}
}

func TestObserveAllocs(t *testing.T) {
	s, _ := newTest()
	ds := sampleDecisions(10, 100)
	s.Observe(ds) // warm the maps
	if n := testing.AllocsPerRun(100, func() { s.Observe(ds) }); n != 0 {
		t.Fatalf("Observe allocates %v times per batch", n)
	}
}

type removable struct {
	StaticSource
	gone map[string]bool
}

func (r removable) Extension(ext string) (acd.ExtensionInfo, error) {
	if r.gone[ext] {
		return acd.ExtensionInfo{}, acd.Errorf(acd.ErrUnknownExtension, "no extension %s", ext)
	}
	return r.StaticSource.Extension(ext)
}

// A removed extension leaves the agent report; finished calls leave no
// trace in the live maps even when their hang-up or queue removal was missed.
func TestNothingLingers(t *testing.T) {
	s, clk := newTest()
	src := removable{StaticSource{{Number: "110", Members: []string{"1000"}}}, map[string]bool{}}
	s.SetSource(src)
	a := call("a", "110", 0)
	s.Observe([]acd.Decision{
		{Kind: acd.DAgent, Ext: "1002", Status: "login", At: at(0)},
		{Kind: acd.DQueueAdd, Call: a, At: at(0)},
		{Kind: acd.DOfferAnswered, Ext: "1000", Call: a, At: at(2)},
		ended(a, acd.ResultAnswered, 30, 30), // no DQueueRemove, no DOfferHangup
		{Kind: acd.DAgent, Ext: "1002", Status: "logout", At: at(40)},
	})
	src.gone["1002"] = true
	clk.t = at(50)
	if len(s.talking) != 0 || len(s.groups["110"].waiting) != 0 {
		t.Fatalf("lingering: talking %v waiting %v", s.talking, s.groups["110"].waiting)
	}
	for _, x := range s.Agents("") {
		if x.Extension == "1002" {
			t.Fatalf("removed extension still reported: %+v", x)
		}
	}
	if len(s.Agents("1000")) != 1 {
		t.Fatal("1000 missing")
	}
}
