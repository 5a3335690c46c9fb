package stats

import (
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
)

// Any sequence of decisions, in any order and with clocks jumping both
// ways, leaves figures that make sense: no panic, nothing negative, rates
// within 0–100 %.
func FuzzObserve(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 200, 3, 7, 1})
	f.Add([]byte{2, 0, 4, 1, 10, 9, 9, 9, 6, 250, 1, 1})
	kinds := []acd.DecisionKind{acd.DAgent, acd.DQueueAdd, acd.DQueueRemove, acd.DOfferCallout, acd.DOfferNoAnswer,
		acd.DOfferAnswered, acd.DOfferHangup, acd.DEnded, acd.DWake}
	states := []string{"login", "logout", "ready", "ring", "talking", "typing", "busy", "idle", "reged", "rest", "no_answer", ""}
	results := []acd.Result{acd.ResultAnswered, acd.ResultAbandoned, acd.ResultGaveUp, acd.ResultTimeout, acd.ResultBlacklisted, acd.ResultNoGroup, acd.ResultNoAnswer, ""}
	f.Fuzz(func(t *testing.T, b []byte) {
		clk := &clock{t: t0}
		s := New(Config{Location: time.UTC, Now: clk.now})
		s.SetSource(StaticSource{{Number: "110", Members: []string{"1000", "1001"}}})
		now := t0
		var ds []acd.Decision
		for i := 0; i+3 < len(b); i += 4 {
			now = now.Add(time.Duration(int8(b[i+3])) * 7 * time.Second) // forwards and backwards
			d := acd.Decision{Kind: kinds[int(b[i])%len(kinds)], Ext: []string{"1000", "1001", "1002"}[int(b[i+1])%3], At: now}
			d.Status = states[int(b[i+2])%len(states)]
			d.Call = acd.CallView{UUID: []string{"a", "b", "c"}[int(b[i+1]>>2)%3], Group: []string{"110", "120", ""}[int(b[i+2]>>4)%3],
				CallinTime: now.Add(-time.Duration(b[i+2]) * time.Second), Result: results[int(b[i+3])%len(results)],
				Waited: time.Duration(int8(b[i])) * time.Second}
			ds = append(ds, d)
		}
		s.Observe(ds)
		clk.t = now.Add(time.Minute)
		for _, g := range s.Groups("") {
			for _, w := range []Window{g.Today, g.Last15m, g.Last1h} {
				if w.Offered < 0 || w.Answered < 0 || w.AnsweredInSL > w.Answered || w.ASA < -1 || w.AHT < -1 || w.TalkSeconds < 0 ||
					w.ServiceLevel > 100 || w.ServiceLevel < -1 {
					t.Fatalf("group %s: %+v", g.Group, w)
				}
			}
			if g.LongestWait < 0 || g.Waiting < 0 {
				t.Fatalf("group %+v", g)
			}
		}
		for _, a := range s.Agents("") {
			for _, w := range []AgentWindow{a.Today, a.Last15m, a.Last1h} {
				if w.Occupancy > 100 || w.Occupancy < -1 || w.TalkSeconds < 0 {
					t.Fatalf("agent %s: %+v", a.Extension, w)
				}
				for st, v := range w.States {
					if v < 0 {
						t.Fatalf("agent %s: %s %v", a.Extension, st, v)
					}
				}
			}
		}
		s.Totals(func(g *GroupTotals) {
			if g.Wait.Count < g.Wait.Counts[len(g.Wait.Counts)-1] {
				t.Fatalf("histogram %+v", g.Wait)
			}
		})
	})
}
