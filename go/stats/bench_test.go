package stats

import (
	"strconv"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
)

// sampleDecisions is a realistic mix: per call a queue add and remove, an
// offer answered, the agent's state changes, the hangup and the end.
func sampleDecisions(groups, agents int) []acd.Decision {
	var ds []acd.Decision
	now := t0
	for i := 0; i < 200; i++ {
		g := strconv.Itoa(100 + i%groups)
		ext := strconv.Itoa(1000 + i%agents)
		cv := acd.CallView{UUID: "uuid-" + strconv.Itoa(i), Number: "138", Group: g, CallinTime: now}
		now = now.Add(time.Second)
		ds = append(ds,
			acd.Decision{Kind: acd.DQueueAdd, Call: cv, At: now},
			acd.Decision{Kind: acd.DAgent, Ext: ext, Status: "ring", At: now},
			acd.Decision{Kind: acd.DQueueRemove, Call: cv, At: now},
			acd.Decision{Kind: acd.DOfferAnswered, Ext: ext, Call: cv, At: now},
			acd.Decision{Kind: acd.DAgent, Ext: ext, Status: "talking", At: now},
			acd.Decision{Kind: acd.DOfferHangup, Ext: ext, Call: cv, At: now.Add(time.Minute)},
			acd.Decision{Kind: acd.DAgent, Ext: ext, Status: "typing", At: now.Add(time.Minute)},
			acd.Decision{Kind: acd.DAgent, Ext: ext, Status: "ready", At: now.Add(70 * time.Second)},
		)
		cv.Result, cv.Waited = acd.ResultAbandoned, 3*time.Second
		ds = append(ds, acd.Decision{Kind: acd.DEnded, Call: cv, At: now})
	}
	return ds
}

// BenchmarkObserve: the cost per decision on the call path (issue 14: ≤ 100 ns, 0 allocs).
func BenchmarkObserve(b *testing.B) {
	s, _ := newTest()
	ds := sampleDecisions(1000, 10000)
	s.Observe(ds)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Observe(ds[i%len(ds) : i%len(ds)+1])
	}
}

// fill builds the large node: 1,000 groups, 10,000 agents, traffic.
func fill(b testing.TB) *Stats {
	s := New(Config{Location: time.UTC})
	var gi []acd.GroupInfo
	for g := 0; g < 1000; g++ {
		info := acd.GroupInfo{Number: strconv.Itoa(100 + g)}
		for k := 0; k < 10; k++ {
			info.Members = append(info.Members, strconv.Itoa(10000+g*10+k))
		}
		gi = append(gi, info)
	}
	s.SetSource(StaticSource(gi))
	now := time.Now().Add(-30 * time.Minute)
	var ds []acd.Decision
	for i := 0; i < 20000; i++ {
		g := strconv.Itoa(100 + i%1000)
		ext := strconv.Itoa(10000 + i%10000)
		cv := acd.CallView{UUID: "u" + strconv.Itoa(i), Group: g, CallinTime: now}
		at := now.Add(time.Duration(i) * 50 * time.Millisecond)
		ds = append(ds,
			acd.Decision{Kind: acd.DAgent, Ext: ext, Status: "talking", At: at},
			acd.Decision{Kind: acd.DOfferAnswered, Ext: ext, Call: cv, At: at},
			acd.Decision{Kind: acd.DOfferHangup, Ext: ext, Call: cv, At: at.Add(time.Minute)},
			acd.Decision{Kind: acd.DAgent, Ext: ext, Status: "ready", At: at.Add(time.Minute)})
		if i%7 == 0 {
			ds = append(ds, acd.Decision{Kind: acd.DQueueAdd, Call: acd.CallView{UUID: "w" + strconv.Itoa(i), Group: g, CallinTime: at}, At: at})
		}
	}
	s.Observe(ds)
	return s
}

// BenchmarkGroupsJSON renders the 1,000-group report without the cache.
func BenchmarkGroupsRender(b *testing.B) {
	s := fill(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.cache[0] = cached{}
		_ = s.GroupsJSON("", false)
	}
}

func BenchmarkAgentsRender(b *testing.B) {
	s := fill(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.cache[1] = cached{}
		_ = s.AgentsJSON("", false)
	}
}

// BenchmarkObserveBatch: the whole sample in batches of 9 decisions (one
// call's life, as the core hands them over), reported per decision.
func BenchmarkObserveBatch(b *testing.B) {
	s, _ := newTest()
	ds := sampleDecisions(1000, 10000)
	s.Observe(ds)
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		j := (i * 9) % (len(ds) - 9)
		s.Observe(ds[j : j+9])
		n += 9
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/decision")
}
