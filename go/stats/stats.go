// Package stats keeps a node's call-center statistics (per group and per
// agent; today, the last 15 minutes and the last hour) from the core's
// decisions. Observe runs on the call path under the service's lock: it
// touches a few counters and never allocates in the steady state. Readers
// take the package's own lock in small chunks, so a large report never holds
// up a decision for long.
package stats

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
)

// Config sets the thresholds; zero values take defaults.
type Config struct {
	// ServiceLevel is T of "answered within T seconds"; default 20 s.
	ServiceLevel time.Duration
	// GroupServiceLevel overrides ServiceLevel per group.
	GroupServiceLevel map[string]time.Duration
	// ShortAbandon: a call abandoned within this is "abandoned-short"; default 5 s.
	ShortAbandon time.Duration
	// Location decides when "today" starts (local midnight); default time.Local.
	Location *time.Location
	// Now is the clock of readers (longest wait, time in the current state); default time.Now.
	Now func() time.Time
}

// Agent states tracked for time-in-state, in output order.
var States = [...]string{"ready", "ring", "talking", "typing", "ivr", "no_answer", "no_ready", "busy", "rest", "logged_out"}

const (
	stReady = iota
	stRing
	stTalking
	stTyping
	stIVR
	stNoAnswer
	stNoReady
	stBusy
	stRest
	stLoggedOut
	nStates
	stUnknown = -1
)

func stateIndex(s string) int {
	switch s {
	case "ready":
		return stReady
	case "ring":
		return stRing
	case "talking":
		return stTalking
	case "typing":
		return stTyping
	case "ivr":
		return stIVR
	case "no_answer":
		return stNoAnswer
	case "no_ready":
		return stNoReady
	case "busy":
		return stBusy
	case "rest":
		return stRest
	}
	return stUnknown
}

// Results counted in calls_total, in output order.
var Results = [...]string{"answered", "abandoned", "gave_up", "timeout", "blacklisted", "no_group"}

const (
	rAnswered = iota
	rAbandoned
	rGaveUp
	rTimeout
	rBlacklisted
	rNoGroup
	nResults
)

func resultIndex(r acd.Result) int {
	switch r {
	case acd.ResultAnswered:
		return rAnswered
	case acd.ResultAbandoned:
		return rAbandoned
	case acd.ResultGaveUp:
		return rGaveUp
	case acd.ResultTimeout:
		return rTimeout
	case acd.ResultBlacklisted:
		return rBlacklisted
	case acd.ResultNoGroup:
		return rNoGroup
	}
	return -1
}

// Histogram bounds (seconds) of the wait and talk histograms.
var (
	WaitBounds = []float64{1, 2, 5, 10, 20, 30, 60, 120, 300, 600}
	TalkBounds = []float64{10, 30, 60, 120, 180, 300, 600, 1200, 1800, 3600}
)

const nBounds = 10

// gcount is one group's counters over some span.
type gcount struct {
	results        [nResults]int64
	answeredSL     int64
	abandonedShort int64
	noAnswer       int64 // offers the agent did not answer
	answerWait     int64 // ns, sum over answered calls
	handled        int64 // answered calls whose talk ended
	talk           int64 // ns
	wrap           int64 // ns, wrap-up after this group's calls
}

func (c *gcount) add(o *gcount) {
	for i := range c.results {
		c.results[i] += o.results[i]
	}
	c.answeredSL += o.answeredSL
	c.abandonedShort += o.abandonedShort
	c.noAnswer += o.noAnswer
	c.answerWait += o.answerWait
	c.handled += o.handled
	c.talk += o.talk
	c.wrap += o.wrap
}

// acount is one agent's counters over some span.
type acount struct {
	calls    int64
	noAnswer int64
	state    [nStates]int64 // ns
}

func (c *acount) add(o *acount) {
	c.calls += o.calls
	c.noAnswer += o.noAnswer
	for i := range c.state {
		c.state[i] += o.state[i]
	}
}

const (
	gWidth = int64(time.Minute)     // group buckets
	gSlots = 60                     // one hour
	aWidth = int64(5 * time.Minute) // agent buckets: time in state spreads over them
	aSlots = 13                     // an hour and the current bucket
)

// hist is a cumulative histogram in Prometheus' shape.
type hist struct {
	counts [nBounds + 1]uint64 // per bucket (not cumulative); last is +Inf
	sum    float64
}

func (h *hist) observe(bounds []float64, v float64) {
	i := 0
	for i < len(bounds) && v > bounds[i] {
		i++
	}
	h.counts[i]++
	h.sum += v
}

type group struct {
	num     string
	sl      int64 // ns
	day     int64 // day number of today
	today   gcount
	stamp   [gSlots]int64 // bucket number held by each slot
	ring    [gSlots]gcount
	total   gcount // since start, for Prometheus counters
	waitH   hist
	talkH   hist
	waiting map[string]int64 // queued call uuid → callin time (ns)
	known   bool             // in the core's group list at the last refresh
	members []string
	touched bool
}

type agent struct {
	ext      string
	state    int   // stUnknown until seen
	since    int64 // ns
	lastGrp  *group
	day      int64
	today    acount
	stamp    [aSlots]int64
	ring     [aSlots]acount
	loggedIn bool
	gone     bool // the extension was removed: off the reports
}

type answered struct {
	at  int64
	ext string
	g   *group
}

// Stats is safe for concurrent use.
type Stats struct {
	cfg   Config
	slDef int64
	short int64

	mu      sync.Mutex
	groups  map[string]*group
	glist   []*group
	agents  map[string]*agent
	alist   []*agent
	talking map[string]answered // call uuid → its answer
	dayNum  int64
	dayEnd  int64 // ns: when dayNum ends

	src       Source
	refMu     sync.Mutex          // one refresh at a time
	loginExts map[string]struct{} // logged in or out since the last refresh
	lastSweep time.Time

	ver atomic.Uint64

	cache [2]cached // rendered JSON of all groups, all agents
}

// New builds an empty Stats.
func New(cfg Config) *Stats {
	if cfg.ServiceLevel <= 0 {
		cfg.ServiceLevel = 20 * time.Second
	}
	if cfg.ShortAbandon <= 0 {
		cfg.ShortAbandon = 5 * time.Second
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Stats{cfg: cfg, slDef: int64(cfg.ServiceLevel), short: int64(cfg.ShortAbandon),
		groups: map[string]*group{}, agents: map[string]*agent{}, talking: map[string]answered{}}
	return s
}

// Version changes whenever a decision was observed.
func (s *Stats) Version() uint64 { return s.ver.Load() }

// Config returns the thresholds in use.
func (s *Stats) Config() Config { return s.cfg }

// day returns the day number of ns, moving "today" on at local midnight.
func (s *Stats) day(ns int64) int64 {
	if ns < s.dayEnd && s.dayEnd != 0 {
		return s.dayNum
	}
	t := time.Unix(0, ns).In(s.cfg.Location)
	y, m, d := t.Date()
	start := time.Date(y, m, d, 0, 0, 0, 0, s.cfg.Location)
	end := start.AddDate(0, 0, 1).UnixNano()
	n := int64(y)*400 + int64(m)*32 + int64(d)
	if ns >= start.UnixNano() && n >= s.dayNum { // never step back a day on an out-of-order clock
		s.dayNum, s.dayEnd = n, end
	}
	return s.dayNum
}

func (s *Stats) group(num string) *group {
	g := s.groups[num]
	if g == nil {
		sl := s.slDef
		if v, ok := s.cfg.GroupServiceLevel[num]; ok && v > 0 {
			sl = int64(v)
		}
		g = &group{num: num, sl: sl, waiting: map[string]int64{}}
		s.groups[num] = g
		s.glist = append(s.glist, g)
	}
	g.touched = true
	return g
}

func (s *Stats) agent(ext string) *agent {
	a := s.agents[ext]
	if a == nil {
		a = &agent{ext: ext, state: stUnknown}
		s.agents[ext] = a
		s.alist = append(s.alist, a)
	}
	a.gone = false
	return a
}

// gslot returns the counters of g's current minute and of today.
func (s *Stats) gslot(g *group, ns int64) (*gcount, *gcount) {
	b := ns / gWidth
	i := int(b % gSlots)
	if g.stamp[i] != b {
		g.stamp[i] = b
		g.ring[i] = gcount{}
	}
	if d := s.day(ns); g.day != d {
		g.day = d
		g.today = gcount{}
	}
	return &g.ring[i], &g.today
}

func (s *Stats) aslot(a *agent, b int64) *acount {
	i := int(b % aSlots)
	if a.stamp[i] != b {
		a.stamp[i] = b
		a.ring[i] = acount{}
	}
	return &a.ring[i]
}

func (s *Stats) atoday(a *agent, ns int64) *acount {
	if d := s.day(ns); a.day != d {
		a.day = d
		a.today = acount{}
	}
	return &a.today
}

// Observe takes one batch of the core's decisions. Called under the
// service's lock, in decision order.
func (s *Stats) Observe(ds []acd.Decision) {
	if len(ds) == 0 {
		return
	}
	s.mu.Lock()
	for i := range ds {
		s.observe(&ds[i])
	}
	s.mu.Unlock()
	s.ver.Add(1)
}

func (s *Stats) observe(d *acd.Decision) {
	at := d.At.UnixNano()
	c := &d.Call
	switch d.Kind {
	case acd.DAgent:
		a := s.agent(d.Ext)
		switch d.Status {
		case "login":
			a.loggedIn = true
			s.loggedInOut(d.Ext)
			if a.state == stUnknown || a.state == stLoggedOut {
				s.setState(a, stReady, at)
			}
		case "logout":
			a.loggedIn = false
			s.loggedInOut(d.Ext)
			s.setState(a, stLoggedOut, at)
		default:
			if st := stateIndex(d.Status); st != stUnknown {
				s.setState(a, st, at)
			}
		}
	case acd.DQueueAdd:
		if c.Group != "" {
			s.group(c.Group).waiting[c.UUID] = c.CallinTime.UnixNano()
		}
	case acd.DQueueRemove:
		if g := s.groups[c.Group]; g != nil {
			delete(g.waiting, c.UUID)
		}
	case acd.DOfferNoAnswer:
		a := s.agent(d.Ext)
		s.atoday(a, at).noAnswer++
		s.aslot(a, at/aWidth).noAnswer++
		if c.Group != "" {
			g := s.group(c.Group)
			m, t := s.gslot(g, at)
			m.noAnswer++
			t.noAnswer++
			g.total.noAnswer++
		}
	case acd.DOfferAnswered:
		a := s.agent(d.Ext)
		s.atoday(a, at).calls++
		s.aslot(a, at/aWidth).calls++
		var g *group
		if c.Group != "" {
			g = s.group(c.Group)
			wait := max(at-c.CallinTime.UnixNano(), 0) // clocks may step back
			m, t := s.gslot(g, at)
			for _, x := range [...]*gcount{m, t, &g.total} {
				x.results[rAnswered]++
				x.answerWait += wait
				if wait <= g.sl {
					x.answeredSL++
				}
			}
			g.waitH.observe(WaitBounds, float64(wait)/1e9)
		}
		a.lastGrp = g
		s.talking[c.UUID] = answered{at: at, ext: d.Ext, g: g}
	case acd.DOfferHangup:
		t, ok := s.talking[c.UUID]
		if !ok || t.ext != d.Ext {
			return
		}
		delete(s.talking, c.UUID)
		if g := t.g; g != nil {
			talk := max(at-t.at, 0)
			m, td := s.gslot(g, at)
			for _, x := range [...]*gcount{m, td, &g.total} {
				x.handled++
				x.talk += talk
			}
			g.talkH.observe(TalkBounds, float64(talk)/1e9)
		}
	case acd.DEnded:
		// The call is over: nothing of it may linger (a missed hang-up or
		// queue removal must not grow the maps).
		delete(s.talking, c.UUID)
		if g := s.groups[c.Group]; g != nil {
			delete(g.waiting, c.UUID)
		}
		r := resultIndex(c.Result)
		if r < 0 || r == rAnswered || c.Group == "" {
			return // answered calls count when answered
		}
		g := s.group(c.Group)
		m, t := s.gslot(g, at)
		short := r == rAbandoned && int64(c.Waited) < s.short
		for _, x := range [...]*gcount{m, t, &g.total} {
			x.results[r]++
			if short {
				x.abandonedShort++
			}
		}
		if r != rBlacklisted {
			g.waitH.observe(WaitBounds, max(c.Waited.Seconds(), 0))
		}
	}
}

// loggedInOut notes ext for the next refresh of memberships (rare: not the
// hot path, so the map insert may allocate).
func (s *Stats) loggedInOut(ext string) {
	if s.loginExts == nil {
		s.loginExts = map[string]struct{}{}
	}
	s.loginExts[ext] = struct{}{}
}

// setState closes the agent's current state at ns and opens st.
func (s *Stats) setState(a *agent, st int, ns int64) {
	if a.state == st {
		return
	}
	if a.state != stUnknown && ns > a.since {
		s.spend(a, a.state, a.since, ns)
		if a.state == stTyping && a.lastGrp != nil {
			g := a.lastGrp
			m, t := s.gslot(g, ns)
			w := ns - a.since
			m.wrap += w
			t.wrap += w
			g.total.wrap += w
		}
	}
	if a.state == stTyping {
		a.lastGrp = nil
	}
	a.state, a.since = st, ns
}

// spend adds the time from..to in state st to the agent's buckets and today.
func (s *Stats) spend(a *agent, st int, from, to int64) {
	td := s.atoday(a, to)
	dayStart := s.dayEnd - int64(24*time.Hour) // approximate on DST days; the clip below only trims
	f := from
	if f < dayStart {
		f = dayStart
	}
	if to > f {
		td.state[st] += to - f
	}
	first, last := from/aWidth, to/aWidth
	if last-first >= aSlots {
		first = last - aSlots + 1
		from = first * aWidth
	}
	for b := first; b <= last; b++ {
		lo, hi := max(from, b*aWidth), min(to, (b+1)*aWidth)
		if hi > lo {
			s.aslot(a, b).state[st] += hi - lo
		}
	}
}
