package acd

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/ident"
)

// GroupOptions are a group's routing and queue options beyond the seed's
// fields. The zero value is the seed's behaviour.
type GroupOptions struct {
	// MemoryFirst tries the caller's remembered agent first in any mode
	// (modes 3–5 always do).
	MemoryFirst bool
	// TierWait: tier n+1 joins a call once it has waited TierWait×n; 0 =
	// every tier at once (a lower tier is still offered first).
	TierWait time.Duration
	// TierSkip: a higher tier joins at once when no lower tier has an idle
	// member qualified for the call.
	TierSkip bool
	// Skills is what a call asks for when it brings no requirement.
	Skills []SkillReq
	// RelaxEvery: each skill requirement drops one level (down to 1) per
	// RelaxEvery of waiting; 0 = never. The call is re-examined at each step.
	RelaxEvery time.Duration
	// MaxWaiting > 0: with that many calls waiting, a new call is refused
	// (result full: the busy ring, then hang-up).
	MaxWaiting int
	// FullOverflow: a full group (MaxWaiting) sends a new call to its
	// OverflowGroup instead of refusing it.
	FullOverflow bool
	// OverflowGroup receives calls that waited OverflowAfter (> 0), or that
	// arrive while OverflowWaiting (> 0) calls already wait. The call keeps
	// its arrival time and level. "" = no overflow.
	OverflowGroup   string
	OverflowAfter   time.Duration
	OverflowWaiting int
	// ExitKey is the DTMF digit that takes a waiting caller out of the
	// queue (result exit); "" = none.
	ExitKey string
	// ExitTo is the dialplan extension the exit key sends the caller to
	// (the done step's nwayacd_exit_to; conf/dialplan/nwayacd.xml transfers
	// there); "" = the dialplan decides.
	ExitTo string
	// Announce: wait steps carry the caller's position and estimated wait
	// (Step.Position, Step.EWT) each time the session asks.
	Announce bool
	// CallbackKey is the DTMF digit with which a waiting caller asks to be
	// called back at its own number (see RequestCallback); "" = none.
	CallbackKey string
	// CallbackAgentFirst: ring the reserved agent before calling the
	// caller back; default: the caller first, then the agent is offered.
	CallbackAgentFirst bool
	// CallbackRetries: attempts after a first callback the caller does not
	// answer; CallbackRetryDelay apart (0 = DefaultCallbackRetryDelay).
	CallbackRetries    int
	CallbackRetryDelay time.Duration
	// CallbackGateway is the gateway callbacks are dialled through
	// ("sofia/gateway/<gw>/<number>"); "" = as an extension is reached.
	CallbackGateway string
	// AnnounceEvery > 0: the caller hears its position and estimated wait
	// on entering the queue and every AnnounceEvery of waiting (announce.go).
	AnnounceEvery time.Duration
	// AnnounceSounds is a folder of the group's own sound files for it;
	// "" = FreeSWITCH's say in the channel's language.
	AnnounceSounds string
	// RingWait > 0: a waiting caller not yet answered is left ringing (no
	// answer, no media: it costs the switch nothing and the caller no
	// charge) until RingWait after it came in, then answered to hear the
	// queue's music. Keys and announcements reach it only once answered.
	RingWait time.Duration
}

func (o GroupOptions) clone() GroupOptions {
	o.Skills = slices.Clone(o.Skills)
	return o
}

func validDigit(k string) bool {
	return len(k) == 1 && (k[0] >= '0' && k[0] <= '9' || k[0] == '*' || k[0] == '#' || k[0] >= 'A' && k[0] <= 'D')
}

// setOptions checks and applies o to g.
func (e *Engine) setOptions(g *group, o GroupOptions) error {
	if o.TierWait < 0 || o.RelaxEvery < 0 || o.OverflowAfter < 0 || o.MaxWaiting < 0 || o.OverflowWaiting < 0 {
		return Errorf(ErrBadArgument, "negative group option")
	}
	if o.OverflowGroup != "" {
		if err := ValidNumber("overflow group", o.OverflowGroup); err != nil {
			return err
		}
		if o.OverflowGroup == g.num {
			return Errorf(ErrBadArgument, "group %s cannot overflow to itself", g.num)
		}
	}
	if o.ExitTo != "" {
		if err := ValidNumber("exit extension", o.ExitTo); err != nil {
			return err
		}
	}
	if o.ExitKey != "" && !validDigit(o.ExitKey) {
		return Errorf(ErrBadArgument, "exit key %q is not one DTMF digit (0-9 * # A-D)", o.ExitKey)
	}
	if o.CallbackKey != "" && !validDigit(o.CallbackKey) {
		return Errorf(ErrBadArgument, "callback key %q is not one DTMF digit (0-9 * # A-D)", o.CallbackKey)
	}
	if o.CallbackKey != "" && o.CallbackKey == o.ExitKey {
		return Errorf(ErrBadArgument, "the exit and callback keys are both %q", o.ExitKey)
	}
	if o.CallbackRetries < 0 || o.CallbackRetryDelay < 0 {
		return Errorf(ErrBadArgument, "negative callback option")
	}
	if o.RingWait < 0 {
		return Errorf(ErrBadArgument, "negative ring wait")
	}
	if o.AnnounceEvery < 0 {
		return Errorf(ErrBadArgument, "negative announce interval")
	}
	if o.AnnounceSounds != "" {
		if err := ident.Ring(o.AnnounceSounds); err != nil {
			return Errorf(ErrBadArgument, "%v", err)
		}
		if strings.ContainsAny(o.AnnounceSounds, "!") { // file_string's separator
			return Errorf(ErrBadArgument, "announce sounds folder %q holds a !", o.AnnounceSounds)
		}
	}
	if o.CallbackGateway != "" {
		if err := ident.Gateway(o.CallbackGateway); err != nil {
			return Errorf(ErrBadArgument, "%v", err)
		}
	}
	skills, err := e.resolve(nil, o.Skills)
	if err != nil {
		return err
	}
	g.opt = o.clone()
	g.skills = skills
	return nil
}

// matcher is what an agent must satisfy to take a call now.
type matcher struct {
	reqs    []skillLevel
	relax   int
	maxTier int32
	any     bool // no skills and no tier limit: everyone qualifies
}

func (e *Engine) matcherFor(c *call, now time.Time) matcher {
	g := c.g
	if len(c.reqs) == 0 && g.maxTier <= 1 {
		return matcher{maxTier: math.MaxInt32, any: true}
	}
	m := matcher{reqs: c.reqs, maxTier: math.MaxInt32}
	waited := now.Sub(c.in)
	if g.opt.RelaxEvery > 0 && len(m.reqs) > 0 && waited > 0 {
		m.relax = int(min(waited/g.opt.RelaxEvery, MaxSkillLevel))
	}
	if g.maxTier > 1 && g.opt.TierWait > 0 && !g.opt.TierSkip {
		m.maxTier = 1 + int32(min(max(waited, 0)/g.opt.TierWait, MaxTier))
	}
	m.any = len(m.reqs) == 0 && m.maxTier >= g.maxTier
	return m
}

func (m *matcher) skilled(a *agent) bool {
	for _, r := range m.reqs {
		need := max(int(r.level)-m.relax, MinSkillLevel)
		if a.level(r.id) < need {
			return false
		}
	}
	return true
}

// ok: the member a of tier t may take the call.
func (m *matcher) ok(a *agent, t int32) bool {
	return m.any || (t <= m.maxTier && m.skilled(a))
}

// effectiveSkills is what c asks for now, after relaxing.
func (e *Engine) effectiveSkills(c *call, now time.Time) []SkillReq {
	if len(c.reqs) == 0 {
		return nil
	}
	m := e.matcherFor(c, now)
	out := e.skillReqs(c.reqs)
	for i := range out {
		out[i].Level = max(out[i].Level-m.relax, MinSkillLevel)
	}
	return out
}

// canTake reports whether idle agent a (of tier t in c's group) qualifies for c.
func (e *Engine) canTake(c *call, a *agent, t int32, now time.Time) bool {
	if c.cb && c.held(now) {
		return false
	}
	if len(c.reqs) == 0 && c.g.maxTier <= 1 {
		return true
	}
	m := e.matcherFor(c, now)
	return m.ok(a, t)
}

// Qualifies reports whether extension ext, as a member of the group call
// uuid waits in, meets the call's skill and tier constraints now (whatever
// its state).
func (e *Engine) Qualifies(uuid, ext string) bool {
	c := e.calls[uuid]
	a := e.agents[ext]
	if c == nil || a == nil || c.kind != kindQueued {
		return false
	}
	i, ok := c.g.pos[ext]
	if !ok {
		return false
	}
	m := e.matcherFor(c, e.now())
	return m.ok(a, c.g.mtier[i])
}

// pick chooses an idle agent for c: memory first (modes 3–5 or the group's
// MemoryFirst), then the mode, among the members that qualify, in the
// lowest tier that has one.
func (e *Engine) pick(c *call) *agent {
	g := c.g
	now := e.now()
	if c.cb && c.held(now) {
		return nil
	}
	m := e.matcherFor(c, now)
	if (g.mode.UsesMemory() || g.opt.MemoryFirst) && c.number != "" {
		if mm, ok := e.memory[c.number]; ok && (e.cfg.MemoryExpiry <= 0 || now.Sub(mm.at) < e.cfg.MemoryExpiry) {
			if a := e.agents[mm.ext]; a != nil && a.idle() && a.inGroup(g) && (m.any || m.ok(a, g.tierOf(a))) {
				return a
			}
		}
	}
	n := len(g.members)
	if n == 0 {
		return nil
	}
	// Within a batch, a requirement that found nobody in g finds nobody
	// again (agents only get busier): calls of a group often share one.
	if e.batch != 0 && g.failBatch == e.batch && g.failed(&m) {
		return nil
	}
	tier, found := e.lowestTier(g, &m)
	if !found {
		if e.batch != 0 {
			g.remember(&m, e.batch)
		}
		return nil
	}
	// plain: no tiers, no skills: idle is enough (the seed's fast path).
	plain := m.any && g.maxTier <= 1
	switch g.mode.Fallback() {
	case ModeRandom:
		// Reservoir sampling: one pass, uniform over the qualified idle members.
		var chosen *agent
		seen := 0
		for i, a := range g.members {
			if plain && a.idle() || !plain && e.eligible(g, i, tier, &m) {
				seen++
				if e.rng.IntN(seen) == 0 {
					chosen = a
				}
			}
		}
		return chosen
	case ModeWeightedRandom:
		// Weighted reservoir: each member replaces the choice with
		// probability weight/total-so-far, which picks it with weight/total.
		var chosen *agent
		total := 0
		for i, a := range g.members {
			if plain && a.idle() || !plain && e.eligible(g, i, tier, &m) {
				w := int(g.mweight[i])
				total += w
				if e.rng.IntN(total) < w {
					chosen = a
				}
			}
		}
		return chosen
	case ModeCyclic:
		start := 0
		if i, ok := g.pos[g.cursor]; ok {
			start = i + 1
		}
		for i := 0; i < n; i++ {
			j := (start + i) % n
			if a := g.members[j]; plain && a.idle() || !plain && e.eligible(g, j, tier, &m) {
				return a
			}
		}
		return nil
	case ModeLongestIdle:
		return e.minBy(g, tier, &m, func(a *agent) int64 { return a.lastEnd.UnixNano() })
	case ModeFewestCalls:
		today := e.dayOf(now)
		return e.minBy(g, tier, &m, func(a *agent) int64 {
			if a.day != today {
				return 0
			}
			return int64(a.answered)
		})
	case ModeLeastTalk:
		today := e.dayOf(now)
		return e.minBy(g, tier, &m, func(a *agent) int64 {
			if a.day != today {
				return 0
			}
			return int64(a.talk)
		})
	case ModeBestSkill:
		// Highest sum of levels in the skills the call asks for; ties go to
		// the longest idle (lastEnd earliest).
		var chosen *agent
		var bestScore int
		for i, a := range g.members {
			if !(plain && a.idle() || !plain && e.eligible(g, i, tier, &m)) {
				continue
			}
			score := 0
			for _, r := range c.reqs {
				score += a.level(r.id)
			}
			if chosen == nil || score > bestScore || score == bestScore && a.lastEnd.Before(chosen.lastEnd) {
				chosen, bestScore = a, score
			}
		}
		return chosen
	default: // sequential; ring-all's first
		for i, a := range g.members {
			if plain && a.idle() || !plain && e.eligible(g, i, tier, &m) {
				return a
			}
		}
		return nil
	}
}

// minBy is the eligible member with the least key, the first on ties.
func (e *Engine) minBy(g *group, tier int32, m *matcher, key func(*agent) int64) *agent {
	var chosen *agent
	var best int64
	for i, a := range g.members {
		if !e.eligible(g, i, tier, m) {
			continue
		}
		if k := key(a); chosen == nil || k < best {
			chosen, best = a, k
		}
	}
	return chosen
}

// lowestTier is the lowest tier with an idle qualified member (1 when the
// group has no tiers).
func (e *Engine) lowestTier(g *group, m *matcher) (int32, bool) {
	if g.maxTier <= 1 {
		return 1, true
	}
	best := int32(math.MaxInt32)
	for i, a := range g.members {
		if t := g.mtier[i]; t < best && t <= m.maxTier && a.idle() && m.skilled(a) {
			best = t
		}
	}
	return best, best != math.MaxInt32
}

// eligible: member i is idle, of tier tier, and qualifies. Small enough
// to inline: it runs for every member a decision looks at.
func (e *Engine) eligible(g *group, i int, tier int32, m *matcher) bool {
	a := g.members[i]
	return a.idle() && (g.maxTier <= 1 || g.mtier[i] == tier) && (m.any || m.skilled(a))
}

// pickAll collects, for ring-all, every idle qualified member of the
// lowest tier that has one (the remembered agent alone when memory picks).
func (e *Engine) pickAll(c *call) []*agent {
	g := c.g
	e.ringBuf = e.ringBuf[:0]
	first := e.pick(c)
	if first == nil {
		return nil
	}
	e.ringBuf = append(e.ringBuf, first)
	m := e.matcherFor(c, e.now())
	i, ok := g.pos[first.ext]
	if !ok {
		return e.ringBuf
	}
	tier := g.mtier[i]
	if (g.mode.UsesMemory() || g.opt.MemoryFirst) && c.number != "" {
		if mm, ok := e.memory[c.number]; ok && mm.ext == first.ext {
			return e.ringBuf // the remembered agent rings alone
		}
	}
	for j, a := range g.members {
		if a != first && e.eligible(g, j, tier, &m) {
			e.ringBuf = append(e.ringBuf, a)
		}
	}
	return e.ringBuf
}

// ringer is one more agent rung for a ring-all call.
type ringer struct {
	a   *agent
	leg string
}

// RingLeg is one of the legs of a ring-all offer.
type RingLeg struct {
	Agent string
	Dial  string // "" = the node's template
	Leg   string // the uuid the leg must get; "" = the switch names it
}

// offerAll rings every agent in as for c at once; the first is the primary.
func (e *Engine) offerAll(c *call, as []*agent) {
	e.offer(c, as[0])
	now := e.now()
	for _, a := range as[1:] {
		a.call = c
		a.wrapGen = e.gen()
		c.ring = append(c.ring, ringer{a: a})
		e.setState(a, CallRing)
		e.emit(Decision{Kind: DOfferCallout, Ext: a.ext, Call: c.viewFor(a), At: now})
	}
}

// viewFor is c's view as offered to a (ring-all: each agent its own).
func (c *call) viewFor(a *agent) CallView {
	v := c.view()
	v.Agent = a.ext
	if a != c.agent {
		v.AgentUUID = ""
		for _, r := range c.ring {
			if r.a == a {
				v.AgentUUID = r.leg
			}
		}
	}
	return v
}

// ringing reports whether a is rung for c (primary or ring-all extra).
func (c *call) ringing(a *agent) bool {
	if c.agent == a {
		return true
	}
	for _, r := range c.ring {
		if r.a == a {
			return true
		}
	}
	return false
}

// promote makes ring-all extra a the call's primary agent.
func (c *call) promote(a *agent) {
	for i, r := range c.ring {
		if r.a == a {
			old, oldLeg := c.agent, c.legUUID
			c.agent, c.legUUID = r.a, r.leg
			c.ring[i] = ringer{a: old, leg: oldLeg}
			return
		}
	}
}

// cancelRing releases the ring-all extras after another agent answered:
// their legs are cancelled by the winner's originate, and they are not
// counted as no-answer.
func (e *Engine) cancelRing(c *call) []*agent {
	if len(c.ring) == 0 {
		return nil
	}
	now := e.now()
	// Scratch: dispatching the freed agents offers calls, and an offer
	// never cancels a ring.
	freed := e.freeBuf[:0]
	defer func() { e.freeBuf = freed[:0] }()
	for _, r := range c.ring {
		e.emit(Decision{Kind: DOfferHangup, Ext: r.a.ext, Status: StatusRingCancelled, Call: c.viewFor(r.a), At: now})
		if r.a.call == c {
			r.a.call = nil
		}
		freed = append(freed, r.a)
	}
	c.ring = c.ring[:0]
	for _, a := range freed {
		if a.seat == SeatBusy {
			e.setState(a, CallBusy)
		} else {
			e.setState(a, CallReady)
		}
	}
	return freed
}

// dropRinger takes ring-all agent a off c's offer (it went away); the
// others keep ringing. It reports false when a was the only one ringing.
func (e *Engine) dropRinger(c *call, a *agent) bool {
	if len(c.ring) == 0 {
		return false
	}
	if c.agent == a {
		c.promote(c.ring[0].a)
	}
	now := e.now()
	for i, r := range c.ring {
		if r.a == a {
			e.emit(Decision{Kind: DKill, Ext: a.ext, Call: c.viewFor(a), At: now})
			e.emit(Decision{Kind: DOfferHangup, Ext: a.ext, Call: c.viewFor(a), At: now})
			c.ring = slices.Delete(c.ring, i, i+1)
			break
		}
	}
	if a.call == c {
		a.call = nil
	}
	return true
}

// --- re-examining waiting calls as their constraints relax ---

// armNext arms c's next re-examination: a skill relax step, a tier joining,
// or the overflow deadline, whichever comes first.
func (e *Engine) armNext(c *call) {
	if c.kind != kindQueued || c.phase != phaseWaiting {
		return
	}
	g := c.g
	now := e.now()
	waited := now.Sub(c.in)
	var next time.Duration = -1
	consider := func(d time.Duration) {
		if d > waited && (next < 0 || d < next) {
			next = d
		}
	}
	if g.opt.RelaxEvery > 0 && len(c.reqs) > 0 {
		top := 0
		for _, r := range c.reqs {
			top = max(top, int(r.level))
		}
		steps := int(max(waited, 0) / g.opt.RelaxEvery)
		if top-steps > MinSkillLevel {
			consider(g.opt.RelaxEvery * time.Duration(steps+1))
		}
	}
	if g.opt.TierWait > 0 && !g.opt.TierSkip && g.maxTier > 1 {
		n := max(waited, 0) / g.opt.TierWait // tiers 1..n+1 are in
		if n+1 < time.Duration(g.maxTier) {
			consider(g.opt.TierWait * (n + 1))
		}
	}
	if c.cb && c.cbHold.After(now) { // a callback retry
		consider(c.cbHold.Sub(c.in))
	}
	if g.opt.OverflowAfter > 0 && e.canOverflow(c) {
		consider(g.opt.OverflowAfter)
		if g.opt.OverflowAfter <= waited {
			next = 0 // due: the timer fires at the next Tick
		}
	}
	if next < 0 {
		return
	}
	at := c.in.Add(next)
	if at.Before(now) {
		at = now
	}
	if c.nextAt.Equal(at) {
		return
	}
	c.nextAt = at
	e.arm(timer{at: at, kind: tReexamine, gen: c.life, call: c})
}

// reexamine: c's constraints may have relaxed; overflow it when due, offer
// it when an agent now qualifies, and arm the next step.
func (e *Engine) reexamine(c *call) {
	if c.phase != phaseWaiting || c.agent != nil {
		return
	}
	g := c.g
	if g.opt.OverflowAfter > 0 && !e.now().Before(c.in.Add(g.opt.OverflowAfter)) && e.overflow(c) {
		return
	}
	if e.pool { // the shared pool offers it, to whom the core allows now
		e.requalify(c)
		if !e.keepTimers || c.nextAt.IsZero() {
			e.armNext(c)
		}
		return
	}
	// Within a batch agents only get busier (offers), so a group found
	// without an idle member stays so: skip the search.
	if e.batch != 0 {
		if g.noIdle != e.batch && !g.anyIdle() {
			g.noIdle = e.batch
		}
		if g.noIdle == e.batch {
			if !e.keepTimers || c.nextAt.IsZero() {
				e.armNext(c)
			}
			return
		}
	}
	if g.mode == ModeRingAll && !c.cb {
		if as := e.pickAll(c); len(as) > 0 {
			e.offerAll(c, as)
			e.wake(c)
			return
		}
	} else if a := e.pick(c); a != nil {
		e.offer(c, a)
		e.wake(c)
		return
	}
	if !e.keepTimers || c.nextAt.IsZero() {
		e.armNext(c)
	}
}

// RelaxStep re-examines every waiting call now (as the relax and tier
// timers do one by one); for tests and benchmarks of the relax step, and
// for a service that changed many settings at once. It returns how many
// calls were offered.
func (e *Engine) RelaxStep() int {
	// The armed timers stay right: settings did not change.
	e.batch, e.keepTimers = e.gen(), true
	defer func() { e.batch, e.keepTimers = 0, false }()
	n := 0
	for _, g := range e.groups {
		for l := 0; l < 2; l++ {
			for c := g.q[l].head; c != nil; {
				next := c.next
				if c.agent == nil {
					e.reexamine(c)
					if c.agent != nil {
						n++
					}
				}
				c = next
			}
		}
	}
	return n
}

// canOverflow: c's group overflows somewhere that exists, and c has hops left.
func (e *Engine) canOverflow(c *call) bool {
	return c.g.opt.OverflowGroup != "" && c.hops < maxHops && e.groups[c.g.opt.OverflowGroup] != nil
}

// maxHops bounds a call's overflows (a cycle of groups overflowing into
// each other stops there).
const maxHops = 4

// overflow moves waiting (or entering) call c to its group's overflow
// group, keeping its arrival time, age and level. It reports false when
// there is nowhere to go.
func (e *Engine) overflow(c *call) bool {
	if !e.canOverflow(c) {
		return false
	}
	from := c.g
	to := e.groups[from.opt.OverflowGroup]
	now := e.now()
	if c.queued {
		from.dequeue(c)
		e.emit(Decision{Kind: DQueueRemove, Call: c.view(), At: now})
	}
	v := c.view()
	e.emit(Decision{Kind: DOverflow, Status: to.num, Call: v, At: now})
	c.hops++
	c.g = to
	if c.defaultReqs { // the group's default requirement: the new group's applies
		c.reqs = append(c.reqs[:0], to.skills...)
	}
	c.waitGen = 0
	if mw := to.giveUp.MaxWait; mw > 0 {
		c.waitGen = e.gen()
		e.arm(timer{at: c.in.Add(mw), kind: tMaxWait, gen: c.waitGen, call: c})
	}
	if c.phase == phaseWaiting {
		e.route(c)
		e.wake(c)
	}
	e.requalify(c) // pool mode: the pool moves it too
	return true
}

// --- estimated wait ---

// ewtStats measures a group's handling rate: the mean interval between
// answers while calls were waiting, and the VIP arrival interval. Each is
// a ratio of decayed sums (time over count) over a window of about
// ewtWindow seconds: a busy group averages many answers, a quiet one still
// adapts within minutes, and long intervals are not over-weighted.
type ewtStats struct {
	lastAnswer time.Time
	backlog    bool // calls were waiting at lastAnswer
	interval   decayed
	lastVIP    time.Time
	vipGap     decayed
}

// ewtWindow is the measuring window in seconds.
const ewtWindow = 300.0

// decayed is a mean of samples with exponentially fading weights.
type decayed struct{ sum, n float64 }

func (d *decayed) add(sample float64) {
	f := math.Exp(-sample / ewtWindow)
	d.sum = d.sum*f + sample
	d.n = d.n*f + 1
}

// mean is 0 while nothing was measured.
func (d *decayed) mean() float64 {
	if d.n == 0 {
		return 0
	}
	return d.sum / d.n
}

func (s *ewtStats) answered(now time.Time, stillWaiting bool) {
	if s.backlog && !s.lastAnswer.IsZero() {
		if d := now.Sub(s.lastAnswer).Seconds(); d >= 0 {
			s.interval.add(max(d, 0.001))
		}
	}
	s.lastAnswer, s.backlog = now, stillWaiting
}

func (s *ewtStats) vipArrived(now time.Time) {
	if !s.lastVIP.IsZero() {
		if d := now.Sub(s.lastVIP).Seconds(); d >= 0 {
			s.vipGap.add(max(d, 0.001))
		}
	}
	s.lastVIP = now
}

// estimate: the wait of the call at position pos. A normal call also waits
// for the VIP callers who arrive meanwhile and are served first: with h the
// interval between answers and v the VIP arrival rate, W = pos·h + v·W·h,
// so W = pos·h / (1 − v·h) (capped when VIPs alone fill the agents).
func (s *ewtStats) estimate(pos int, l Level, now time.Time) (time.Duration, bool) {
	h := s.interval.mean()
	if h == 0 {
		return 0, false
	}
	w := float64(pos) * h
	if gap := s.vipGap.mean(); l != LevelVIP && gap > 0 {
		gap = max(gap, now.Sub(s.lastVIP).Seconds()) // none lately: the rate decays
		load := h / gap
		w /= max(1-load, 0.05)
	}
	return time.Duration(w * float64(time.Second)), true
}

// Position returns a waiting call's place in its group's line (1 = next)
// and its estimated wait (known once the group has measured its handling
// rate). ok is false for a call not waiting unoffered in a queue.
func (e *Engine) Position(uuid string) (pos int, ewt time.Duration, known, ok bool) {
	c := e.calls[uuid]
	if c == nil || !c.queued || c.agent != nil {
		return 0, 0, false, false
	}
	g := c.g
	for l := 0; l < 2; l++ {
		for x := g.q[l].head; x != nil; x = x.next {
			if x.agent == nil {
				pos++
			}
			if x == c {
				ewt, known = g.ewt.estimate(pos, c.level, e.now())
				return pos, ewt, known, true
			}
		}
	}
	return 0, 0, false, false
}

// Key is the caller pressing a DTMF digit while in the queue. The group's
// exit key ends the call with result exit (the session returns to the
// dialplan, which routes it on, e.g. to voicemail) and returns that step;
// its callback key, while the call waits unoffered, starts a callback
// request (callback_entry.go: a number may follow, ended by #); any other digit, or a call not waiting, returns a
// zero Step: carry on.
func (e *Engine) Key(uuid, digit string) (Step, error) {
	c := e.calls[uuid]
	if c == nil {
		if err := validUUID(uuid); err != nil {
			return Step{}, err
		}
		return Step{}, Errorf(ErrUnknownCall, "no queued call %s", uuid)
	}
	if !validDigit(digit) {
		return Step{}, Errorf(ErrBadArgument, "%q is not a DTMF digit", digit)
	}
	if c.cbEntry {
		if c.phase != phaseWaiting || c.agent != nil || c.cb { // offered meanwhile: the caller is served
			c.cbEntry = false
		} else {
			return e.callbackDigit(c, digit)
		}
	}
	if c.kind == kindQueued && c.g.opt.CallbackKey != "" && digit == c.g.opt.CallbackKey && c.phase == phaseWaiting && c.agent == nil && !c.cb {
		return e.startCallbackEntry(c)
	}
	if c.kind != kindQueued || c.g.opt.ExitKey == "" || digit != c.g.opt.ExitKey {
		return Step{}, nil
	}
	switch c.phase {
	case phaseWelcome, phaseWaiting, phaseOffering:
	default:
		return Step{}, nil
	}
	e.emit(Decision{Kind: DExit, Call: c.view(), At: e.now()})
	e.end(c, ResultExit)
	c.inWait = false
	return e.step(c), nil
}

// membersChanged recomputes g's highest tier; when it rose, waiting calls
// need tier timers.
func (e *Engine) membersChanged(g *group) {
	old := g.maxTier
	g.maxTier = 1
	for _, t := range g.mtier {
		g.maxTier = max(g.maxTier, t)
	}
	e.requalifyGroups(g)
	if g.maxTier > old {
		for l := 0; l < 2; l++ {
			for c := g.q[l].head; c != nil; c = c.next {
				if c.agent == nil {
					e.armNext(c)
				}
			}
		}
	}
}

// reexamineGroup re-examines every unoffered waiting call of g.
func (e *Engine) reexamineGroup(g *group) {
	e.batch = e.gen()
	defer func() { e.batch = 0 }()
	for l := 0; l < 2; l++ {
		for c := g.q[l].head; c != nil; {
			next := c.next
			if c.agent == nil && c.phase == phaseWaiting {
				e.reexamine(c)
			}
			c = next
		}
	}
}

func (g *group) anyIdle() bool {
	for _, a := range g.members {
		if a.idle() {
			return true
		}
	}
	return false
}

// remember records that m found no member of g in batch.
func (g *group) remember(m *matcher, batch uint64) {
	g.failBatch, g.failTier = batch, m.maxTier
	g.failReqs = g.failReqs[:0]
	for _, r := range m.reqs {
		g.failReqs = append(g.failReqs, skillLevel{id: r.id, level: uint8(max(int(r.level)-m.relax, MinSkillLevel))})
	}
}

// failed: m asks exactly what last found no member of g.
func (g *group) failed(m *matcher) bool {
	if m.maxTier != g.failTier || len(m.reqs) != len(g.failReqs) || m.any {
		return false
	}
	for i, r := range m.reqs {
		f := g.failReqs[i]
		if r.id != f.id || uint8(max(int(r.level)-m.relax, MinSkillLevel)) != f.level {
			return false
		}
	}
	return true
}
