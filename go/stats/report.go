package stats

import (
	"sort"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
)

// Window is a group's figures over one span. Rates are -1 when nothing
// happened to compute them from.
type Window struct {
	Offered        int64   `json:"offered"`
	Answered       int64   `json:"answered"`
	AnsweredInSL   int64   `json:"answered_in_sl"`
	Abandoned      int64   `json:"abandoned"`
	AbandonedShort int64   `json:"abandoned_short"`
	GaveUp         int64   `json:"gave_up"`
	Timeout        int64   `json:"timeout"`
	NoGroup        int64   `json:"no_group"`
	Blacklisted    int64   `json:"blacklisted"`
	NoAnswer       int64   `json:"offer_no_answer"`
	ServiceLevel   float64 `json:"service_level"`    // percent
	AbandonRate    float64 `json:"abandon_rate"`     // percent
	ASA            float64 `json:"asa_seconds"`      // average speed of answer
	AHT            float64 `json:"aht_seconds"`      // average handle time (talk + wrap-up)
	AvgTalk        float64 `json:"avg_talk_seconds"` //
	Handled        int64   `json:"handled"`          // answered calls whose talk ended
	TalkSeconds    float64 `json:"talk_seconds"`     //
	WrapSeconds    float64 `json:"wrap_up_seconds"`  //
}

func (c *gcount) window() Window {
	w := Window{
		Answered: c.results[rAnswered], AnsweredInSL: c.answeredSL, Abandoned: c.results[rAbandoned],
		AbandonedShort: c.abandonedShort, GaveUp: c.results[rGaveUp], Timeout: c.results[rTimeout],
		NoGroup: c.results[rNoGroup], Blacklisted: c.results[rBlacklisted], NoAnswer: c.noAnswer,
		Handled: c.handled, TalkSeconds: secs(c.talk), WrapSeconds: secs(c.wrap),
		ServiceLevel: -1, AbandonRate: -1, ASA: -1, AHT: -1, AvgTalk: -1,
	}
	w.Offered = w.Answered + w.Abandoned + w.GaveUp + w.Timeout + w.NoGroup
	if d := w.Offered - w.AbandonedShort; d > 0 {
		w.ServiceLevel = 100 * float64(w.AnsweredInSL) / float64(d)
		w.AbandonRate = 100 * float64(w.Abandoned-w.AbandonedShort) / float64(d)
	}
	if w.Answered > 0 {
		w.ASA = secs(c.answerWait) / float64(w.Answered)
	}
	if c.handled > 0 {
		w.AHT = secs(c.talk+c.wrap) / float64(c.handled)
		w.AvgTalk = secs(c.talk) / float64(c.handled)
	}
	return w
}

func secs(ns int64) float64 { return float64(ns) / 1e9 }

// GroupStats is one group now.
type GroupStats struct {
	Group               string         `json:"group"`
	Waiting             int            `json:"waiting"`
	LongestWait         float64        `json:"longest_wait_seconds"`
	Agents              map[string]int `json:"agents"` // logged-in members by state
	ServiceLevelSeconds float64        `json:"service_level_seconds"`
	Today               Window         `json:"today"`
	Last15m             Window         `json:"last_15m"`
	Last1h              Window         `json:"last_1h"`

	agents [nStates]int
}

// AgentWindow is an agent's figures over one span.
type AgentWindow struct {
	Calls       int64              `json:"calls"`
	TalkSeconds float64            `json:"talk_seconds"`
	NoAnswers   int64              `json:"no_answers"`
	States      map[string]float64 `json:"state_seconds"`
	Occupancy   float64            `json:"occupancy"` // percent, -1 when the agent was not available
}

func (c *acount) window() AgentWindow {
	w := AgentWindow{Calls: c.calls, NoAnswers: c.noAnswer, TalkSeconds: secs(c.state[stTalking]),
		States: make(map[string]float64, nStates), Occupancy: -1}
	for i, v := range c.state {
		if v > 0 {
			w.States[States[i]] = secs(v)
		}
	}
	work := c.state[stTalking] + c.state[stTyping]
	if d := work + c.state[stReady] + c.state[stRing]; d > 0 {
		w.Occupancy = 100 * float64(work) / float64(d)
	}
	return w
}

// AgentStats is one agent now.
type AgentStats struct {
	Extension    string      `json:"extension"`
	State        string      `json:"state"`
	StateSeconds float64     `json:"state_seconds"`
	LoggedIn     bool        `json:"logged_in"`
	Today        AgentWindow `json:"today"`
	Last15m      AgentWindow `json:"last_15m"`
	Last1h       AgentWindow `json:"last_1h"`
}

// GroupTotals are a group's figures since the node started plus its live
// gauges (what Prometheus scrapes).
type GroupTotals struct {
	Group       string
	Waiting     int
	LongestWait float64
	Agents      [nStates]int
	Results     [nResults]int64
	NoAnswer    int64
	Wait, Talk  Histogram
}

// Histogram is cumulative: Counts[i] is observations ≤ Bounds[i].
type Histogram struct {
	Bounds []float64
	Counts []uint64
	Count  uint64
	Sum    float64
}

func (h *hist) export(bounds []float64) Histogram {
	out := Histogram{Bounds: bounds, Counts: make([]uint64, len(bounds)), Sum: h.sum}
	var c uint64
	for i := range bounds {
		c += h.counts[i]
		out.Counts[i] = c
	}
	out.Count = c + h.counts[len(bounds)]
	return out
}

// Source is the core, asked for memberships (*service.Service). Each call
// takes the core's lock: Groups once in SetSource (the node is starting),
// then only Group and Extension, which hold it for microseconds.
type Source interface {
	Groups() []acd.GroupInfo
	Group(number string) (acd.GroupInfo, error)
	Extension(ext string) (acd.ExtensionInfo, error)
}

const chunk = 64 // entities read per hold of the lock

// StaticSource is a fixed membership list (tests, tools).
type StaticSource []acd.GroupInfo

// Groups implements Source.
func (f StaticSource) Groups() []acd.GroupInfo { return f }

// Group implements Source.
func (f StaticSource) Group(n string) (acd.GroupInfo, error) {
	for _, g := range f {
		if g.Number == n {
			return g, nil
		}
	}
	return acd.GroupInfo{}, acd.Errorf(acd.ErrUnknownGroup, "no group %s", n)
}

// Extension implements Source.
func (f StaticSource) Extension(ext string) (acd.ExtensionInfo, error) {
	x := acd.ExtensionInfo{Extension: ext}
	for _, g := range f {
		for _, m := range g.Members {
			if m == ext {
				x.Groups = append(x.Groups, g.Number)
			}
		}
	}
	return x, nil
}

// sweepEvery is how often every known group's members are re-read, for
// membership changes no decision announces (a table resync).
const sweepEvery = 30 * time.Second

// SetSource sets where memberships come from and reads them all.
func (s *Stats) SetSource(src Source) {
	gs := src.Groups()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.src = src
	s.lastSweep = time.Now()
	for i := range gs {
		s.setMembers(s.group(gs[i].Number), gs[i].Members)
	}
	for _, g := range s.glist {
		g.touched = false
		g.known = true
	}
	s.ver.Add(1)
}

// setMembers replaces g's members. Called with mu held.
func (s *Stats) setMembers(g *group, members []string) {
	g.known = true
	g.members = append(g.members[:0], members...)
	for _, m := range members {
		a := s.agent(m)
		if a.state == stUnknown { // logged in before we watched
			a.state, a.since, a.loggedIn = stReady, s.cfg.Now().UnixNano(), true
		}
	}
}

// refresh re-reads the memberships of agents that logged in or out, and
// now and then every group's. The core is asked without holding mu (the
// core calls Observe under its own lock).
func (s *Stats) refresh() {
	s.refMu.Lock()
	defer s.refMu.Unlock()
	s.mu.Lock()
	src, exts := s.src, s.loginExts
	s.loginExts = nil
	sweep := src != nil && time.Since(s.lastSweep) >= sweepEvery
	var gl []*group
	if sweep {
		s.lastSweep = time.Now()
		gl = s.glist
	}
	s.mu.Unlock()
	if src == nil || len(exts) == 0 && !sweep {
		return
	}
	changed := map[string]bool{}
	for ext := range exts {
		if x, err := src.Extension(ext); err == nil {
			for _, g := range x.Groups {
				changed[g] = true
			}
		} else if acd.CodeOf(err) == acd.ErrUnknownExtension {
			s.mu.Lock()
			if a := s.agents[ext]; a != nil {
				a.gone = true
			}
			s.mu.Unlock()
		}
		// Groups it left: those listing it now.
		s.mu.Lock()
		for _, g := range s.glist {
			for _, m := range g.members {
				if m == ext {
					changed[g.num] = true
				}
			}
		}
		s.mu.Unlock()
	}
	for _, g := range gl {
		changed[g.num] = true
	}
	for num := range changed {
		gi, err := src.Group(num)
		s.mu.Lock()
		if err == nil {
			s.setMembers(s.group(num), gi.Members)
		} else if g := s.groups[num]; g != nil { // removed: off the reports
			g.known, g.touched, g.members = false, false, g.members[:0]
		}
		s.mu.Unlock()
	}
	s.ver.Add(1)
}

// window bounds for readers.
type span struct {
	gFrom, aFrom, nowB, nowA int64
}

func spans(now int64) (s15, s60 span) {
	gb, ab := now/gWidth, now/aWidth
	s15 = span{gFrom: gb - 15 + 1, aFrom: ab - 3, nowB: gb, nowA: ab}
	s60 = span{gFrom: gb - 60 + 1, aFrom: ab - 12, nowB: gb, nowA: ab}
	return
}

// Groups returns every known group (or only the named one), sorted.
func (s *Stats) Groups(only string) []GroupStats {
	s.refresh()
	now := s.cfg.Now().UnixNano()
	s15, s60 := spans(now)
	s.mu.Lock()
	gl := s.glist
	day := s.day(now)
	s.mu.Unlock()
	out := make([]GroupStats, 0, len(gl))
	for i := 0; i < len(gl); i += chunk {
		s.mu.Lock()
		for _, g := range gl[i:min(i+chunk, len(gl))] {
			if only != "" && g.num != only || !g.known && !g.touched {
				continue
			}
			gs := GroupStats{Group: g.num, Waiting: len(g.waiting), ServiceLevelSeconds: secs(g.sl)}
			gs.LongestWait = longest(g, now)
			var a15, a60 gcount
			for j := range g.ring {
				b := g.stamp[j]
				if b > s60.nowB {
					continue
				}
				if b >= s15.gFrom {
					a15.add(&g.ring[j])
				}
				if b >= s60.gFrom {
					a60.add(&g.ring[j])
				}
			}
			if g.day == day {
				gs.Today = g.today.window()
			} else {
				gs.Today = (&gcount{}).window()
			}
			gs.Last15m, gs.Last1h = a15.window(), a60.window()
			for _, m := range g.members {
				if a := s.agents[m]; a != nil && a.state >= 0 {
					gs.agents[a.state]++
				}
			}
			out = append(out, gs)
		}
		s.mu.Unlock()
	}
	for i := range out {
		out[i].Agents = make(map[string]int, nStates)
		for st, n := range out[i].agents {
			if st != stLoggedOut {
				out[i].Agents[States[st]] = n
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Group < out[j].Group })
	return out
}

func longest(g *group, now int64) float64 {
	var oldest int64
	for _, t := range g.waiting {
		if oldest == 0 || t < oldest {
			oldest = t
		}
	}
	if oldest == 0 || now < oldest {
		return 0
	}
	return secs(now - oldest)
}

// Totals calls fn with each known group's totals (for a Prometheus scrape).
func (s *Stats) Totals(fn func(*GroupTotals)) {
	s.refresh()
	now := s.cfg.Now().UnixNano()
	s.mu.Lock()
	gl := s.glist
	s.mu.Unlock()
	var t GroupTotals
	buf := make([]GroupTotals, 0, chunk)
	for i := 0; i < len(gl); i += chunk {
		buf = buf[:0]
		s.mu.Lock()
		for _, g := range gl[i:min(i+chunk, len(gl))] {
			if !g.known && !g.touched {
				continue
			}
			t = GroupTotals{Group: g.num, Waiting: len(g.waiting), LongestWait: longest(g, now),
				Results: g.total.results, NoAnswer: g.total.noAnswer,
				Wait: g.waitH.export(WaitBounds), Talk: g.talkH.export(TalkBounds)}
			for _, m := range g.members {
				if a := s.agents[m]; a != nil && a.state >= 0 {
					t.Agents[a.state]++
				}
			}
			buf = append(buf, t)
		}
		s.mu.Unlock()
		for j := range buf {
			fn(&buf[j])
		}
	}
}

// Agents returns every known agent (or only the named one), sorted.
func (s *Stats) Agents(only string) []AgentStats {
	s.refresh()
	now := s.cfg.Now().UnixNano()
	s15, s60 := spans(now)
	s.mu.Lock()
	al := s.alist
	day := s.day(now)
	dayStart := s.dayEnd - int64(24*time.Hour)
	s.mu.Unlock()
	out := make([]AgentStats, 0, len(al))
	for i := 0; i < len(al); i += chunk {
		s.mu.Lock()
		for _, a := range al[i:min(i+chunk, len(al))] {
			if only != "" && a.ext != only || a.gone {
				continue
			}
			as := AgentStats{Extension: a.ext, State: "unknown", LoggedIn: a.loggedIn}
			var td, a15, a60 acount
			if a.day == day {
				td = a.today
			}
			for j := range a.ring {
				b := a.stamp[j]
				if b > s60.nowA {
					continue
				}
				if b >= s15.aFrom {
					a15.add(&a.ring[j])
				}
				if b >= s60.aFrom {
					a60.add(&a.ring[j])
				}
			}
			if a.state >= 0 {
				as.State = States[a.state]
				as.StateSeconds = secs(max(now-a.since, 0))
				// the state it is in now counts up to now
				td.state[a.state] += max(now-max(a.since, dayStart), 0)
				a15.state[a.state] += max(now-max(a.since, s15.aFrom*aWidth), 0)
				a60.state[a.state] += max(now-max(a.since, s60.aFrom*aWidth), 0)
			}
			as.Today, as.Last15m, as.Last1h = td.window(), a15.window(), a60.window()
			out = append(out, as)
		}
		s.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Extension < out[j].Extension })
	return out
}
