package acd

import (
	"slices"
	"sort"
	"time"
)

type agent struct {
	ext      string
	job      string
	jobOn    bool
	dial     string
	reg      RegState
	seat     Seat
	state    CallState
	loggedIn bool
	groups   []*group
	call     *call  // the call this agent is offered, talking on, or dialling out on
	legUUID  string // its own leg on an answered call, if known
	changed  time.Time
	streak   int // consecutive no-answers
	wrapGen  uint64
	skills   []skillLevel // sorted by id
	lastEnd  time.Time    // when its last call ended (zero: never had one)
	day      int32        // the local day the counters below count
	answered int32        // calls answered on day
	talk     time.Duration
}

// idle is SPEC §3's "idle agent", less group membership.
func (a *agent) idle() bool {
	return a.loggedIn && a.jobOn && a.reg == Reged && a.seat == SeatIdle && a.state == CallReady && a.call == nil
}

func (a *agent) inGroup(g *group) bool { return slices.Contains(a.groups, g) }

type queueList struct{ head, tail *call }

type group struct {
	num     string
	name    string
	mode    Mode
	timeout time.Duration
	cursor  string // current_ext_number
	rings   Rings
	giveUp  GiveUp
	members []*agent       // logged-in agents, in login order
	pos     map[string]int // extension → index in members (cyclic mode's cursor)
	black   map[string]struct{}
	vip     map[string]struct{}
	q       [2]queueList // [0] vip, [1] normal; each oldest first
	waiting int
	opt     GroupOptions
	skills  []skillLevel         // opt.Skills, interned
	mtier   []int32              // members[i]'s tier
	mweight []int32              // members[i]'s weight
	mcfg    map[string]memberCfg // tier and weight by extension, kept across logins
	maxTier int32                // highest tier among members (1 when none)
	ewt     ewtStats
	noIdle  uint64 // the batch that found no idle member here
	// the last requirement that found no member in batch failBatch
	failBatch uint64
	failReqs  []skillLevel // effective levels
	failTier  int32
}

func levelIndex(l Level) int {
	if l == LevelVIP {
		return 0
	}
	return 1
}

type phase uint8

const (
	phaseWelcome     phase = iota + 1 // welcome sound not yet played
	phaseWaiting                      // queued, nobody ringing
	phaseOffering                     // an agent is reserved and rings (or is about to)
	phaseDialing                      // a callout: the outside number rings
	phaseBridged                      // talking
	phaseTransferred                  // moved to another party; ends when the caller's channel does
	phaseEnded                        // finished; the session still has to be told
	phaseCallback                     // a callback: an agent is reserved and the service places the calls
)

// callKind is the application a call entered by.
type callKind uint8

const (
	kindQueued  callKind = iota // nwayacd <group>
	kindDirect                  // nway_bridge <extension>: one agent, no queue
	kindCallout                 // nwaycallout: a phone dials an outside number
)

type call struct {
	uuid       string
	number     string // the caller's number; a callout's outside number
	real       string
	g          *group // the pseudo group e.direct for direct calls and callouts
	level      Level
	in         time.Time
	seq        uint64
	phase      phase
	kind       callKind
	queued     bool
	prev, next *call
	// agent is the agent the call holds: offered, talking, transferred to,
	// or, for a callout, the agent dialling out.
	agent     *agent
	legUUID   string // the current offer's agent leg (a callout's outside leg)
	delivered bool   // the current offer was handed to the session
	tried     []string
	plays     int    // busy-ring plays completed
	gen       uint64 // offer generation
	waitGen   uint64
	result    Result
	overdue   bool   // the maximum wait passed while an agent rang
	inWait    bool   // the session was last told to wait: only then does it need waking
	left      bool   // the session has left; a transferred call lives on until the caller is gone
	from      string // callout: the dialling phone's number
	account   string // callout: the group it is accounted to
	// ring-all: the other agents rung with agent (each holds the call).
	ring     []ringer
	reqs     []skillLevel // skills asked for (base levels); capacity reused
	life     uint64       // this call's incarnation (re-examine timers)
	nextAt   time.Time    // the re-examine timer armed, if any
	answerAt time.Time
	hops     uint8 // overflows so far
	// defaultReqs: reqs are the group's default, not the call's own.
	defaultReqs bool
	cb          bool      // a callback waiting without a session (or being placed)
	wasCB       bool      // the call was a callback (views say so)
	cbNumber    string    // the number to call back
	cbTries     int       // callback attempts made
	cbHold      time.Time // a failed callback is not offered again before this
	cbEntry     bool      // the caller pressed the callback key and is keying in a number
	cbDigits    []byte    // the digits keyed in so far
	cbEntryGen  uint64    // the entry's timer generation
	annAt       time.Time // the next announcement is due (AnnounceEvery)
	annPlaying  bool      // the session was last told to play an announcement
	pooled      bool      // pool mode: the call was handed to the shared pool (DReserve)
}

func (c *call) view() CallView {
	v := CallView{UUID: c.uuid, Number: c.number, RealNumber: c.real, Level: c.level, CallinTime: c.in, AgentUUID: c.legUUID,
		Callback: c.cbNumber}
	switch c.kind {
	case kindQueued:
		if c.g != nil {
			v.Group = c.g.num
		}
	case kindCallout:
		v.Group = c.account
		v.Agent = c.number // the party offered is the outside number
		return v
	}
	if c.agent != nil {
		v.Agent = c.agent.ext
	}
	return v
}

// --- the queue: intrusive lists, oldest (lowest seq) first ---

func (g *group) enqueue(c *call) {
	l := &g.q[levelIndex(c.level)]
	// Walk back from the tail: a call re-queued after a failed offer keeps its age.
	p := l.tail
	for p != nil && p.seq > c.seq {
		p = p.prev
	}
	c.prev = p
	if p == nil {
		c.next = l.head
		l.head = c
	} else {
		c.next = p.next
		p.next = c
	}
	if c.next == nil {
		l.tail = c
	} else {
		c.next.prev = c
	}
	c.queued = true
	g.waiting++
}

func (g *group) dequeue(c *call) {
	l := &g.q[levelIndex(c.level)]
	if c.prev == nil {
		l.head = c.next
	} else {
		c.prev.next = c.next
	}
	if c.next == nil {
		l.tail = c.prev
	} else {
		c.next.prev = c.prev
	}
	c.prev, c.next, c.queued = nil, nil, false
	g.waiting--
}

// --- snapshots ---

func (e *Engine) extInfo(a *agent) ExtensionInfo {
	x := ExtensionInfo{
		Extension: a.ext, JobNumber: a.job, JobEnabled: a.jobOn, DialString: a.dial,
		RegStatus: a.reg, Seat: a.seat, CallState: a.state, LoggedIn: a.loggedIn,
		AgentUUID: a.legUUID, LastStatusChange: a.changed,
		Skills: e.skillReqs(a.skills), Stats: e.stats(a),
	}
	for _, g := range a.groups {
		x.Groups = append(x.Groups, g.num)
	}
	if a.call != nil {
		x.CallUUID = a.call.uuid
		x.CallLeg = a.call.legUUID
	}
	return x
}

func (e *Engine) groupInfo(g *group) GroupInfo {
	x := GroupInfo{
		Number: g.num, Name: g.name, Mode: g.mode, CalloutTimeout: g.timeout, CurrentExt: g.cursor,
		Rings: g.rings, GiveUp: g.giveUp, Waiting: g.waiting,
		Blacklist: sortedKeys(g.black), VIP: sortedKeys(g.vip), Options: g.opt.clone(),
	}
	for _, a := range g.members {
		x.Members = append(x.Members, a.ext)
	}
	if len(g.mcfg) > 0 {
		x.Memberships = make([]Membership, 0, len(g.mcfg))
		for ext, m := range g.mcfg {
			x.Memberships = append(x.Memberships, Membership{Extension: ext, Tier: int(m.tier), Weight: int(m.weight)})
		}
		sort.Slice(x.Memberships, func(i, j int) bool { return x.Memberships[i].Extension < x.Memberships[j].Extension })
	}
	return x
}

func sortedKeys(m map[string]struct{}) []string {
	if len(m) == 0 {
		return nil
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Extensions lists every extension, sorted.
func (e *Engine) Extensions() []ExtensionInfo {
	out := make([]ExtensionInfo, 0, len(e.agents))
	for _, a := range e.agents {
		out = append(out, e.extInfo(a))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Extension < out[j].Extension })
	return out
}

// Extension returns one extension.
func (e *Engine) Extension(ext string) (ExtensionInfo, error) {
	a, err := e.agent(ext)
	if err != nil {
		return ExtensionInfo{}, err
	}
	return e.extInfo(a), nil
}

// Groups lists every group, sorted.
func (e *Engine) Groups() []GroupInfo {
	out := make([]GroupInfo, 0, len(e.groups))
	for _, g := range e.groups {
		out = append(out, e.groupInfo(g))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out
}

// Group returns one group.
func (e *Engine) Group(num string) (GroupInfo, error) {
	g, err := e.group(num)
	if err != nil {
		return GroupInfo{}, err
	}
	return e.groupInfo(g), nil
}

// Waiting lists queued calls: VIP first, then oldest first.
func (e *Engine) Waiting() []WaitingInfo {
	type aged struct {
		seq uint64
		w   WaitingInfo
	}
	var lv [2][]aged
	now := e.now()
	for _, g := range e.groups {
		pos := 0
		for l := range g.q {
			for c := g.q[l].head; c != nil; c = c.next {
				w := WaitingInfo{UUID: c.uuid, Number: c.number, RealCallinNumber: c.real, Group: g.num, Level: c.level, CallinTime: c.in,
					Skills: e.effectiveSkills(c, now), Callback: c.cbNumber}
				if c.agent != nil {
					w.OfferedTo = c.agent.ext
				} else {
					pos++
					w.Position = pos
					w.EWT, w.EWTKnown = g.ewt.estimate(pos, c.level, now)
				}
				lv[l] = append(lv[l], aged{c.seq, w})
			}
		}
	}
	out := make([]WaitingInfo, 0, len(lv[0])+len(lv[1]))
	for l := range lv { // each group's list is in age order; across groups, sort once
		sort.Slice(lv[l], func(i, j int) bool { return lv[l][i].seq < lv[l][j].seq })
		for _, a := range lv[l] {
			out = append(out, a.w)
		}
	}
	return out
}

// Counts summarises the engine for status output.
type Counts struct {
	Extensions, Groups, Calls, Waiting int
	LoggedOut                          int
	ByCallState                        map[CallState]int // logged-in agents only
	WaitingByGroup                     map[string]int
}

// Counts returns current totals.
func (e *Engine) Counts() Counts {
	c := Counts{Extensions: len(e.agents), Groups: len(e.groups), Calls: len(e.calls),
		ByCallState: map[CallState]int{}, WaitingByGroup: map[string]int{}}
	for _, a := range e.agents {
		if a.loggedIn {
			c.ByCallState[a.state]++
		} else {
			c.LoggedOut++
		}
	}
	for _, g := range e.groups {
		c.Waiting += g.waiting
		if g.waiting > 0 {
			c.WaitingByGroup[g.num] = g.waiting
		}
	}
	return c
}
