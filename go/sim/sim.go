// Package sim is a simulated switch: a deterministic, virtual-time stand-in
// for FreeSWITCH with synthetic callers and agents. It drives an ACD board
// exactly through the session protocol the C shim uses (package session):
// callers Enter, ask Next, report OfferResult and BridgeEnded, and Leave; the
// board wakes and kills channels through API (uuid_break, uuid_kill).
//
// Everything runs on one goroutine from a min-heap of scheduled events; time
// only moves when the sim advances its Clock, and every random draw comes from
// one seeded PCG, so a seed replays exactly. It serves tests, benchmarks and
// the demo (RunRealtime).
package sim

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/session"
)

// Board is the ACD as the switch sees it. It reads time from the sim's Clock
// and issues switch commands through (*Sim).API. In RunRealtime it may also
// be used from other goroutines, so it must be goroutine-safe there.
type Board interface {
	Enter(c session.Call) session.Directive
	Next(uuid string) session.Directive
	OfferResult(r session.OfferResult)
	BridgeEnded(uuid string)
	Leave(uuid string)
	Tick() // fire the board's timers due at the clock's now
	NextDeadline() (time.Time, bool)
	AddExtension(ext, jobNumber string) error
	AddGroup(number string, mode acd.Mode) error
	SetRegistered(ext string, reged bool) error
	Login(ext string, groups []string) error
	SetReady(ext string) error
	SetBusy(ext string) error
}

// GroupSpec is one simulated group and its agents.
type GroupSpec struct {
	Number string
	Mode   acd.Mode
	Agents int     // synthetic agents logged in to this group only
	Weight float64 // share of the arrivals; 0 = 1
}

// Config describes the simulated traffic. Durations given as [2]time.Duration
// are uniform ranges [lo, hi].
type Config struct {
	Seed   uint64
	Start  time.Time // virtual time at the start; zero = 2026-01-01 00:00 UTC
	Groups []GroupSpec

	CallsPerSecond float64 // Poisson arrivals across the groups, by weight; 0 = only Place
	MaxCalls       int     // stop arrivals after this many; 0 = no limit
	Callers        int     // distinct caller numbers drawn from; 0 = 10000
	VIPRate        float64 // share of callers entering with level "vip"

	AnswerRate  float64          // probability an agent answers an offer (0 = never)
	AnswerDelay [2]time.Duration // ring time before an answer; answers only if shorter than the offer's timeout
	TalkTime    [2]time.Duration
	Patience    [2]time.Duration // until the caller hangs up unanswered; hi == 0 = infinite

	BusyRingLength time.Duration // one play of a Wait file with Loops > 0; 0 = 10 s
	PlayLength     time.Duration // one play of a Play or Hangup file; 0 = 3 s

	// Agents take breaks (SetBusy, then SetReady after BreakLength) at
	// exponentially distributed intervals of mean BreakEvery; 0 = never.
	BreakEvery  time.Duration
	BreakLength [2]time.Duration

	// UUIDPrefix starts every channel uuid; "" = "sim-". A run on a store
	// that outlives it needs its own, or its CDRs collide with the last run's.
	UUIDPrefix string

	// Trace, if set, sees every step of the simulation (on the sim's goroutine).
	Trace func(Record)
}

// Record is one traced step.
type Record struct {
	At    time.Time
	What  string // arrive, enter, directive, offer, answer, noanswer, busy, failed, cancel, talkend, wake, kill, leave, break, back, tick
	UUID  string // the caller
	Agent string // the extension, for offers and breaks
	Leg   string // the agent leg, for offers
	Info  string // directive action, cause or result
}

// Stats counts what the callers experienced. Arrived == Answered + Abandoned
// + GaveUp + Blacklisted + InProgress at every moment.
type Stats struct {
	Arrived     int // calls that entered the board
	Offered     int // agent legs rung (offers)
	Answered    int // calls finished after talking to an agent
	Abandoned   int // the caller hung up before an answer (patience or uuid_kill)
	GaveUp      int // the board ended the call unanswered (gave up, timeout, error)
	Blacklisted int // rejected on entry (CALL_REJECTED or nwayacd_result=blacklisted)
	NoAnswers   int // offers that rang out (or were killed or refused busy)
	Failed      int // offers to an extension the sim does not know
	Canceled    int // offers canceled because the caller hung up
	Finished    int // calls that left the board
	InProgress  int
	Conflicts   int // offers to an agent already ringing or talking (must stay 0)
	Wakes       int // uuid_break that stopped a Wait or Play
	Kills       int // uuid_kill that found a channel
	Breaks      int // agent breaks started
	MaxWait     time.Duration
	TotalWait   time.Duration // until answer, or until leaving unanswered
}

// Clock is the sim's virtual clock. Safe for concurrent use.
type Clock struct {
	start time.Time
	off   atomic.Int64
}

// Now returns the virtual time.
func (c *Clock) Now() time.Time { return c.start.Add(time.Duration(c.off.Load())) }

var _ acd.Clock = (*Clock)(nil)

// APICall is a switch command the sim recorded but does not act on.
type APICall struct {
	At   time.Time
	Cmd  string
	Args string
}

const maxAPILog = 4096

// ErrConfig reports an unusable Config.
var ErrConfig = errors.New("sim: bad config")

// ErrAttached reports a second Attach.
var ErrAttached = errors.New("sim: board already attached")

// Sim is the simulated switch. Create it with New, then Attach a board.
type Sim struct {
	cfg   Config
	clock Clock
	now   int64 // ns since cfg.Start; only the loop goroutine writes it
	rng   *rand.Rand
	board Board

	events   eventHeap
	seq      uint64
	tickDone bool // Tick ran and nothing happened since: ignore a deadline still due

	groups    []*groupSim
	weightSum float64
	agents    map[string]*agentSim
	agentList []*agentSim
	calls     map[string]*caller // by caller uuid
	legs      map[string]*caller // by agent leg uuid
	free      []*caller
	callerTab []*caller // by caller.idx
	strQ      []string
	strHead   int
	places    int      // evPlace events pending
	numbers   []string // caller numbers, built on first use
	uuidSeq   uint64
	buf       []byte
	arena     []byte // uuid bytes, append-only
	arriving  bool
	arrivals  int
	live      int // callers between arrival and Leave

	hash uint64 // FNV-1a over the trace

	statsMu sync.Mutex
	stats   Stats

	inboxMu  sync.Mutex
	inbox    []apiCmd
	inboxN   atomic.Int32
	kick     chan struct{}
	apiLog   []APICall
	apiCount map[string]int
}

type apiCmd struct {
	kind evKind
	uuid string
}

type groupSim struct {
	spec   GroupSpec
	weight float64
}

type agentSim struct {
	ext     string
	idx     int32
	ringing *caller
	talking *caller
	onBreak bool
}

// New builds a simulator; nothing happens until Attach and Run.
func New(cfg Config) *Sim {
	if cfg.Start.IsZero() {
		cfg.Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if cfg.Callers <= 0 {
		cfg.Callers = 10000
	}
	if cfg.BusyRingLength <= 0 {
		cfg.BusyRingLength = 10 * time.Second
	}
	if cfg.PlayLength <= 0 {
		cfg.PlayLength = 3 * time.Second
	}
	if cfg.UUIDPrefix == "" {
		cfg.UUIDPrefix = "sim-"
	}
	s := &Sim{
		cfg:      cfg,
		rng:      rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0xda942042e4dd58b5)),
		agents:   make(map[string]*agentSim),
		calls:    make(map[string]*caller),
		legs:     make(map[string]*caller),
		numbers:  make([]string, cfg.Callers),
		hash:     fnvOffset,
		kick:     make(chan struct{}, 1),
		apiCount: make(map[string]int),
	}
	s.clock.start = cfg.Start
	return s
}

// Clock returns the virtual clock the board must read time from.
func (s *Sim) Clock() *Clock { return &s.clock }

// Now is the current virtual time.
func (s *Sim) Now() time.Time { return s.clock.Now() }

func (s *Sim) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
	}
	rng := func(name string, r [2]time.Duration) error {
		if r[0] < 0 || r[1] < r[0] {
			return bad("%s range [%v, %v]", name, r[0], r[1])
		}
		return nil
	}
	c := &s.cfg
	if len(c.Groups) == 0 {
		return bad("no groups")
	}
	if c.CallsPerSecond < 0 || c.AnswerRate < 0 || c.AnswerRate > 1 || c.VIPRate < 0 || c.VIPRate > 1 || c.MaxCalls < 0 || c.BreakEvery < 0 {
		return bad("rate or count out of range")
	}
	for _, r := range []struct {
		n string
		r [2]time.Duration
	}{{"answer delay", c.AnswerDelay}, {"talk time", c.TalkTime}, {"patience", c.Patience}, {"break length", c.BreakLength}} {
		if err := rng(r.n, r.r); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	for _, g := range c.Groups {
		if g.Agents < 0 || g.Weight < 0 {
			return bad("group %s: negative agents or weight", g.Number)
		}
		if seen[g.Number] {
			return bad("group %s listed twice", g.Number)
		}
		seen[g.Number] = true
	}
	return nil
}

// Attach connects the board and provisions it: groups, then extensions
// (10000, 10001, … with job number 8<ext>), registered and logged in to
// their group. Arrivals and agent breaks are scheduled from now.
func (s *Sim) Attach(b Board) error {
	if s.board != nil {
		return ErrAttached
	}
	if b == nil {
		return fmt.Errorf("%w: nil board", ErrConfig)
	}
	if err := s.validate(); err != nil {
		return err
	}
	s.board = b
	next := 10000
	for _, gs := range s.cfg.Groups {
		g := &groupSim{spec: gs, weight: gs.Weight}
		if g.weight == 0 {
			g.weight = 1
		}
		s.weightSum += g.weight
		s.groups = append(s.groups, g)
		if err := b.AddGroup(gs.Number, gs.Mode); err != nil {
			return fmt.Errorf("sim: add group %s: %w", gs.Number, err)
		}
	}
	for _, g := range s.groups {
		for i := 0; i < g.spec.Agents; i++ {
			ext := strconv.Itoa(next)
			next++
			a := &agentSim{ext: ext, idx: int32(len(s.agentList))}
			s.agents[ext] = a
			s.agentList = append(s.agentList, a)
			if err := b.AddExtension(ext, "8"+ext); err != nil {
				return fmt.Errorf("sim: add extension %s: %w", ext, err)
			}
			if err := b.SetRegistered(ext, true); err != nil {
				return fmt.Errorf("sim: register %s: %w", ext, err)
			}
			if err := b.Login(ext, []string{g.spec.Number}); err != nil {
				return fmt.Errorf("sim: login %s: %w", ext, err)
			}
		}
	}
	s.drainInbox()
	if s.cfg.CallsPerSecond > 0 {
		s.arriving = true
		s.scheduleArrival()
	}
	if s.cfg.BreakEvery > 0 {
		for _, a := range s.agentList {
			s.agentEvent(s.now+s.expDur(s.cfg.BreakEvery), evBreak, a)
		}
	}
	return nil
}

// Agents lists the synthetic extensions in creation order.
func (s *Sim) Agents() []string {
	out := make([]string, len(s.agentList))
	for i, a := range s.agentList {
		out[i] = a.ext
	}
	return out
}

// Stats returns the counters so far. Safe for concurrent use.
func (s *Sim) Stats() Stats {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	return s.stats
}

// TraceHash is a digest of every step so far: equal seeds give equal hashes.
// Read it from the goroutine that runs the sim.
func (s *Sim) TraceHash() uint64 { return s.hash }

// API is the switch's command interface for the board. uuid_break wakes a
// caller's Wait or Play; uuid_kill hangs up an agent leg (its offer ends
// NoAnswer, or its bridge ends) or a caller. Both take effect on the sim's
// goroutine after the current step, never inside this call. Other commands
// are recorded (APICalls) and answered "+OK". Safe for concurrent use.
func (s *Sim) API(cmd, args string) (string, error) {
	var kind evKind
	switch cmd {
	case "uuid_break":
		kind = evWake
	case "uuid_kill":
		kind = evKill
	default:
		s.inboxMu.Lock()
		s.apiCount[cmd]++
		if len(s.apiLog) < maxAPILog {
			s.apiLog = append(s.apiLog, APICall{At: s.clock.Now(), Cmd: cmd, Args: args})
		}
		s.inboxMu.Unlock()
		return "+OK", nil
	}
	uuid := firstField(args)
	if uuid == "" {
		return "", fmt.Errorf("sim: %s: missing uuid", cmd)
	}
	s.inboxMu.Lock()
	s.inbox = append(s.inbox, apiCmd{kind: kind, uuid: uuid})
	s.inboxN.Store(int32(len(s.inbox)))
	s.inboxMu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
	return "+OK", nil
}

// APICalls returns the recorded commands other than uuid_break and uuid_kill
// (the first 4096) and how many of each were issued. Safe for concurrent use.
func (s *Sim) APICalls() ([]APICall, map[string]int) {
	s.inboxMu.Lock()
	defer s.inboxMu.Unlock()
	counts := make(map[string]int, len(s.apiCount))
	for k, v := range s.apiCount {
		counts[k] = v
	}
	return append([]APICall(nil), s.apiLog...), counts
}

func firstField(s string) string {
	i := 0
	for i < len(s) && s[i] == ' ' {
		i++
	}
	j := i
	for j < len(s) && s[j] != ' ' {
		j++
	}
	return s[i:j]
}

// drainInbox turns queued API commands into events at now, in issue order.
func (s *Sim) drainInbox() {
	if s.inboxN.Load() == 0 {
		return
	}
	s.inboxMu.Lock()
	for _, c := range s.inbox {
		s.strEvent(c.kind, c.uuid, 0, false)
	}
	clear(s.inbox)
	s.inbox = s.inbox[:0]
	s.inboxN.Store(0)
	s.inboxMu.Unlock()
}

// --- random draws ---

func (s *Sim) uniform(r [2]time.Duration) int64 {
	lo, hi := int64(r[0]), int64(r[1])
	if hi <= lo {
		return lo
	}
	return lo + s.rng.Int64N(hi-lo+1)
}

func (s *Sim) expDur(mean time.Duration) int64 {
	return int64(s.rng.ExpFloat64() * float64(mean))
}

// newUUID returns "<UUIDPrefix><prefix><n>". The bytes are carved from a shared
// arena that is never written again, so one allocation serves many uuids.
func (s *Sim) newUUID(prefix byte) string {
	s.uuidSeq++
	if cap(s.arena)-len(s.arena) < 32+len(s.cfg.UUIDPrefix) {
		s.arena = make([]byte, 0, 8192)
	}
	start := len(s.arena)
	s.arena = append(s.arena, s.cfg.UUIDPrefix...)
	s.arena = append(s.arena, prefix)
	s.arena = strconv.AppendUint(s.arena, s.uuidSeq, 10)
	b := s.arena[start:]
	return unsafe.String(&b[0], len(b))
}

func (s *Sim) number(i int) string {
	if n := s.numbers[i]; n != "" {
		return n
	}
	s.buf = append(s.buf[:0], "139"...)
	l := len(s.buf)
	s.buf = strconv.AppendUint(s.buf, uint64(i), 10)
	for len(s.buf)-l < 8 { // zero-pad to 11 digits like a mobile number
		s.buf = append(s.buf, 0)
		copy(s.buf[l+1:], s.buf[l:])
		s.buf[l] = '0'
	}
	s.numbers[i] = string(s.buf)
	return s.numbers[i]
}

// --- trace digest ---

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func (s *Sim) note(what string, c *caller, a *agentSim, info string) {
	h := s.hash
	for i := 0; i < 8; i++ {
		h = (h ^ uint64(byte(s.now>>(8*i)))) * fnvPrime
	}
	h = fnvString(h, what)
	if c != nil {
		h = fnvString(h, c.uuid)
	}
	if a != nil {
		h = fnvString(h, a.ext)
	}
	s.hash = fnvString(h, info)
	if s.cfg.Trace != nil {
		r := Record{At: s.clock.Now(), What: what, Info: info}
		if c != nil {
			r.UUID, r.Leg = c.uuid, c.leg
		}
		if a != nil {
			r.Agent = a.ext
		}
		s.cfg.Trace(r)
	}
}

func fnvString(h uint64, v string) uint64 {
	for i := 0; i < len(v); i++ {
		h = (h ^ uint64(v[i])) * fnvPrime
	}
	return (h ^ 0xff) * fnvPrime // separator
}
