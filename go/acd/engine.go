// Package acd is the call-distribution core. It owns every call the module
// handles — queued calls (nwayacd), direct calls (nway_bridge) and callouts
// (nwaycallout) — from entry until the caller's channel is gone, including
// after a transfer, and every agent's state: groups, the routing modes
// (the seed's 0–5 and 6–11: longest idle, fewest calls, least talk,
// ring-all, weighted random, best skill), tiers and skills that relax,
// blacklist, VIP-first dispatch, overflow, full queues, exit key, estimated
// wait, callbacks, no-answer, wrap-up and give-up policy, and the uuid of
// each agent leg it offers.
//
// Facts come in as method calls, decisions go out as Decisions and session
// Steps. It does no I/O, starts no goroutines and reads time only from its
// Clock (and leg names only from Config.NewUUID), so every scenario replays
// exactly. It is not safe for concurrent use: the service that drives it
// serialises calls.
package acd

import (
	"math/rand/v2"
	"time"
)

// Policy defaults, shared with nwayacd.conf.xml's reader (go/config) so that
// each lives in one place.
const (
	DefaultWrapUp        = 300 * time.Second
	DefaultNoAnswerLimit = 3
	DefaultDialTemplate  = "user/%s"
)

// Clock is the engine's only source of time.
type Clock interface{ Now() time.Time }

// Config holds the node-wide policies.
type Config struct {
	WrapUp         time.Duration // typing after a call; 0 = 300 s, negative = none
	NoAnswerLimit  int           // consecutive no-answers before no_ready; default 3, <0 never
	MemoryExpiry   time.Duration // how long caller↔agent memory lasts; 0 = forever
	OfferGrace     time.Duration // extra time over the group timeout before the core takes an offer back; default 10 s
	DefaultTimeout time.Duration // group_callout_timeout for new groups; default 15 s
	DefaultGiveUp  GiveUp        // give-up policy for new groups
	Seed           uint64        // random mode's seed
	// DialTemplate is how an agent without its own dial string is reached
	// (%s = the extension); the core only reads it to know whether an offer
	// rings one leg it can name. Default "user/%s".
	DialTemplate string
	// NewUUID names the agent leg of each offer (the offer step's Leg, the
	// kill decision's AgentUUID). nil: legs are left for the switch to name
	// and reported back with the offer's result.
	NewUUID func() string
	// Location is where "today" (modes 7 and 8) starts at midnight; nil =
	// the host's local time zone.
	Location *time.Location
	// OverloadIdleCPU (percent; 0 = off): a call entering while the
	// switch's idle CPU (100 - CallIn.CPUBusy) is below it, with no idle member
	// to take it, is refused as full: under overload queueing only deepens
	// it (each waiting caller costs the switch its media and its wakes).
	OverloadIdleCPU float64
	// NoAnswerIdleCPU (percent; 0 = DefaultNoAnswerIdleCPU, <0 = off): an
	// offer that fails while the switch's idle CPU, as last measured
	// (NoteCPUBusy: a call's entry, an offer's end; within LoadFresh), is
	// below it does not count toward NoAnswerLimit (in a shared pool the
	// pool is told so too, see Saturated). A saturated switch answers its agents'
	// SIP late and refuses channels; taking agents out for that shrinks the
	// pool when it is most needed, and the queue it leaves then never
	// drains (measured: 181 of 200 agents not ready within two minutes at
	// 50 calls/s on 2 cores). Such an agent rests OverloadRest instead.
	NoAnswerIdleCPU float64
}

// DefaultNoAnswerIdleCPU: below 10% idle CPU a failed offer is not the
// agent's fault (Config.NoAnswerIdleCPU).
const DefaultNoAnswerIdleCPU = 10

// LoadFresh is how long a measure of the switch's load stands for the
// present; OverloadRest how long an agent whose offer failed on a
// saturated switch sits out before its next one (a failure can be
// immediate, and an agent made ready at once would loop on it).
const (
	LoadFresh    = 10 * time.Second
	OverloadRest = 2 * time.Second
)

func (c *Config) fill() {
	if c.WrapUp == 0 {
		c.WrapUp = DefaultWrapUp
	}
	if c.NoAnswerLimit == 0 {
		c.NoAnswerLimit = DefaultNoAnswerLimit
	}
	if c.OfferGrace == 0 {
		c.OfferGrace = 10 * time.Second
	}
	if c.NoAnswerIdleCPU == 0 {
		c.NoAnswerIdleCPU = DefaultNoAnswerIdleCPU
	}
	if c.DefaultTimeout == 0 {
		c.DefaultTimeout = 15 * time.Second
	}
	if c.DialTemplate == "" {
		c.DialTemplate = DefaultDialTemplate
	}
	if c.Location == nil {
		c.Location = time.Local
	}
}

// Engine is the core. Create it with New.
type Engine struct {
	cfg    Config
	clock  Clock
	rng    *rand.Rand
	agents map[string]*agent
	groups map[string]*group
	calls  map[string]*call
	memory map[string]memo
	timers timerHeap
	seq    uint64
	out    []Decision
	free   []*call
	direct *group // the queue-less pseudo group of direct calls and callouts

	skillIDs   map[string]uint16
	skillNames []string
	ringBuf    []*agent
	due        []*call // calls whose re-examination is due in this Tick
	freeBuf    []*agent
	rungBuf    []*agent
	batch      uint64    // a re-examination batch is running (see reexamine)
	keepTimers bool      // the batch leaves armed re-examine timers alone
	pool       bool      // a shared pool reserves agents (pool.go)
	idle       float64   // the switch's idle CPU in percent as last measured (NoteCPUBusy)
	idleAt     time.Time // when; zero: never
}

type memo struct {
	ext string
	at  time.Time
}

// New returns an empty engine.
func New(cfg Config, clock Clock) *Engine {
	cfg.fill()
	return &Engine{
		cfg:    cfg,
		clock:  clock,
		rng:    rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		agents: make(map[string]*agent),
		groups: make(map[string]*group),
		calls:  make(map[string]*call),
		memory: make(map[string]memo),
	}
}

// Config returns the engine's effective configuration.
func (e *Engine) Config() Config { return e.cfg }

// SetPolicies changes the node-wide policies (reload). Seed, NewUUID,
// DialTemplate and Location are kept unless c sets them.
func (e *Engine) SetPolicies(c Config) {
	c.Seed = e.cfg.Seed
	if c.NewUUID == nil {
		c.NewUUID = e.cfg.NewUUID
	}
	if c.DialTemplate == "" {
		c.DialTemplate = e.cfg.DialTemplate
	}
	if c.Location == nil {
		c.Location = e.cfg.Location
	}
	c.fill()
	e.cfg = c
}

// Decisions returns what the engine decided since the last call and resets
// the buffer. The slice is reused: consume it before the next engine call.
func (e *Engine) Decisions() []Decision {
	d := e.out
	e.out = e.out[:0]
	return d
}

func (e *Engine) emit(d Decision) { e.out = append(e.out, d) }

func (e *Engine) now() time.Time { return e.clock.Now() }
