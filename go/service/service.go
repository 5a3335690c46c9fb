// Package service drives the ACD core for one node: it serialises access to
// the core, turns its steps into session directives for the FreeSWITCH shim,
// and its decisions into published events, host commands, journal writes and
// CDRs. Nothing here blocks on I/O: host commands run on a bounded executor,
// publishing and persistence are non-blocking enqueues.
package service

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/cdr"
	"github.com/nwayacd/mod_nwayacd/go/event"
	"github.com/nwayacd/mod_nwayacd/go/publish"
	"github.com/nwayacd/mod_nwayacd/go/store"
)

// Switch runs FreeSWITCH API commands (uuid_break, uuid_kill, uuid_transfer,
// originate …). It is only called from the service's own goroutines.
type Switch interface {
	API(cmd, args string) (string, error)
}

// Publisher takes messages for Redis/RabbitMQ; it must not block.
type Publisher interface {
	Publish(m publish.Message) bool
}

// Journal persists changes behind the call path; it must not block.
type Journal interface {
	UpsertExtension(e store.Extension)
	DeleteExtension(number string)
	UpsertGroup(g store.Group)
	DeleteGroup(number string)
	SetCurrentExt(group, ext string)
	ReplaceMemberships(ext string, groups []string)
	AddListEntry(l store.ListEntry)
	RemoveListEntry(l store.ListEntry)
	PutMemory(m store.Memory)
	InsertCDR(c event.CDR)
	AppendAgentLog(a store.AgentLog)
}

// Logf logs at a FreeSWITCH-like level: 3 error, 4 warning, 6 info, 7 debug.
type Logf func(level int, format string, args ...any)

// Options wires the service. Zero values take defaults.
type Options struct {
	Core         acd.Config
	Clock        acd.Clock // nil: wall clock
	Switch       Switch    // nil: commands are dropped (logged at debug)
	Publisher    Publisher
	Journal      Journal
	Logf         Logf
	DialTemplate string // how an agent is reached, %s = the extension; default "user/%s"
	Context      string // dialplan context of transfers; default "default"
	HoldMusic    string // what a waiting caller hears when the group has no busy ring; default "local_stream://moh"
	Location     *time.Location
	Version      string
	// ManualTimers: the owner calls Tick (the simulator); otherwise the
	// service runs its own timer goroutine after Start.
	ManualTimers bool
	// SyncHost runs host commands on the calling goroutine after the core's
	// lock is released, instead of on the executor (deterministic tests).
	SyncHost bool
	// HostQueue bounds pending host commands; default 4096.
	HostQueue int
	// CDRGrace is how long a finished call waits for its caller leg's
	// hangup event before its CDR is written with what is known; default 3 s.
	CDRGrace time.Duration
	// Status adds sections (publisher, database) to Status.
	Status func() map[string]any
	// Reload re-reads configuration; nil: reload only re-applies policies.
	Reload func() error
	// Observer sees each batch of the core's decisions after they are
	// handled, under the core's lock: it must be quick and not block.
	Observer interface{ Observe([]acd.Decision) }
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

type hostCmd struct{ cmd, args string }

// Service is one node's ACD. Its methods are safe for concurrent use.
type Service struct {
	opt   Options
	clock acd.Clock

	mu      sync.Mutex
	eng     *acd.Engine
	calls   map[string]*callInfo
	pending []hostCmd // host commands decided under mu, run after it
	armed   time.Time // what the timer goroutine sleeps until

	chMu     sync.Mutex
	channels map[string]*channel
	byNumber map[string][]string // extension → channel uuids, newest last

	subMu      sync.Mutex
	subs       map[*subscriber]struct{}
	nsubs      atomic.Int32         // len(subs), read without subMu on the call path
	fanQ       chan publish.Message // to live subscribers, rendered by fanLoop
	fanDropped atomic.Uint64

	hostQ       chan hostCmd
	kick        chan struct{}
	stop        chan struct{}
	wg          sync.WaitGroup
	started     atomic.Bool
	startedAt   time.Time
	hostDropped atomic.Uint64
	hostFailed  atomic.Uint64
	eventsIn    atomic.Uint64
	cti         atomic.Pointer[string]
	ver         atomic.Uint64
}

type callInfo struct {
	kind      uint8 // session.Kind
	group     string
	number    string
	level     acd.Level
	agent     string // answering agent
	legUUID   string // the agent leg of the current offer
	target    string // callout: the outside number
	rec       *cdr.Record
	entered   time.Time
	ended     bool
	left      bool
	aLegSeen  bool
	written   bool
	result    acd.Result
	waited    time.Duration
	offerAt   time.Time
	answerAt  time.Time
	transfers int
}

// New builds a service; Start begins its goroutines.
func New(opt Options) *Service {
	if opt.Clock == nil {
		opt.Clock = wallClock{}
	}
	if opt.DialTemplate == "" {
		opt.DialTemplate = "user/%s"
	}
	if opt.Context == "" {
		opt.Context = "default"
	}
	if opt.HoldMusic == "" {
		opt.HoldMusic = "local_stream://moh"
	}
	if opt.Location == nil {
		opt.Location = time.Local
	}
	if opt.HostQueue <= 0 {
		opt.HostQueue = 4096
	}
	if opt.CDRGrace <= 0 {
		opt.CDRGrace = 3 * time.Second
	}
	if opt.Logf == nil {
		opt.Logf = func(int, string, ...any) {}
	}
	if opt.Version == "" {
		opt.Version = Version
	}
	return &Service{
		opt:      opt,
		clock:    opt.Clock,
		eng:      acd.New(opt.Core, opt.Clock),
		calls:    make(map[string]*callInfo),
		channels: make(map[string]*channel),
		byNumber: make(map[string][]string),
		subs:     make(map[*subscriber]struct{}),
		fanQ:     make(chan publish.Message, 8192),
	}
}

// Version is the module's version.
const Version = "1.0.0"

// Start runs the host-command executor and (unless ManualTimers) the timer
// goroutine. Start after Stop starts again (a module reload in one process).
func (s *Service) Start() {
	if !s.started.CompareAndSwap(false, true) {
		return
	}
	s.startedAt = s.clock.Now()
	s.hostQ = make(chan hostCmd, s.opt.HostQueue)
	s.kick = make(chan struct{}, 1)
	s.stop = make(chan struct{})
	const executors = 4 // uuid_break/uuid_kill are quick; originate (eavesdrop) may take a while
	for i := 0; i < executors; i++ {
		s.wg.Add(1)
		go s.executor()
	}
	if !s.opt.ManualTimers {
		s.wg.Add(1)
		go s.timerLoop()
	}
	s.wg.Add(1)
	go s.fanLoop()
}

// Stop ends the goroutines after running the host commands already queued.
func (s *Service) Stop() {
	if !s.started.CompareAndSwap(true, false) {
		return
	}
	close(s.stop)
	s.wg.Wait()
	s.flushCDRs()
	s.unsubscribeAll()
}

// flushCDRs writes the record of every call still known, while the
// publishers and the journal are still open: an unload must not lose the
// CDRs of calls that just ended (waiting for their hangup event) or that are
// still up (FreeSWITCH is about to hang them up).
func (s *Service) flushCDRs() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	for uuid, ci := range s.calls {
		if !ci.left {
			ci.rec.Caller(cdr.Leg{End: now})
		}
		s.writeCDR(uuid, ci)
	}
}

func (s *Service) executor() {
	defer s.wg.Done()
	for {
		select {
		case c := <-s.hostQ:
			s.runHost(c)
		case <-s.stop:
			for {
				select {
				case c := <-s.hostQ:
					s.runHost(c)
				default:
					return
				}
			}
		}
	}
}

func (s *Service) runHost(c hostCmd) {
	defer func() {
		if r := recover(); r != nil {
			s.hostFailed.Add(1)
			s.opt.Logf(3, "host command %s %s panicked: %v", c.cmd, c.args, r)
		}
	}()
	if s.opt.Switch == nil {
		s.opt.Logf(7, "no switch: dropped %s %s", c.cmd, c.args)
		return
	}
	out, err := s.opt.Switch.API(c.cmd, c.args)
	if err != nil || strings.HasPrefix(out, "-ERR") {
		s.hostFailed.Add(1)
		// A wake or a take-back for a channel that just went is routine;
		// a failed operator command is worth a warning.
		level := 4
		if c.cmd == "uuid_break" || c.cmd == "uuid_kill" {
			level = 7
		}
		s.opt.Logf(level, "%s %s: %v %s", c.cmd, c.args, err, strings.TrimSpace(out))
	}
}

func (s *Service) timerLoop() {
	defer s.wg.Done()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		s.mu.Lock()
		d, ok := s.eng.NextDeadline()
		if !ok {
			d = s.clock.Now().Add(time.Hour)
		}
		s.armed = d
		s.mu.Unlock()
		t.Reset(max(time.Until(d), 0))
		select {
		case <-t.C:
			s.Tick()
		case <-s.kick:
		case <-s.stop:
			return
		}
	}
}

// Tick fires the core's due timers (wrap-up, offer safety, maximum wait).
func (s *Service) Tick() {
	s.mu.Lock()
	s.eng.Tick()
	s.unlock()
}

// NextDeadline is when Tick next has work (for ManualTimers owners).
func (s *Service) NextDeadline() (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.eng.NextDeadline()
}

// unlock handles the core's decisions, releases mu and runs what must run
// outside it. Every locked section ends with unlock.
func (s *Service) unlock() {
	s.handle(s.eng.Decisions())
	var sync []hostCmd
	if len(s.pending) > 0 {
		if s.opt.SyncHost || !s.started.Load() {
			sync = append(sync, s.pending...)
		} else {
			for _, c := range s.pending {
				select {
				case s.hostQ <- c:
				default:
					s.hostDropped.Add(1)
					s.opt.Logf(4, "host command queue full: dropped %s %s", c.cmd, c.args)
				}
			}
		}
		s.pending = s.pending[:0]
	}
	s.ver.Add(1)
	kick := false
	if !s.opt.ManualTimers && s.started.Load() {
		if d, ok := s.eng.NextDeadline(); ok && d.Before(s.armed) {
			kick = true
		}
	}
	s.mu.Unlock()
	for _, c := range sync {
		s.runHost(c)
	}
	if kick {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

// host queues a command to run once mu is released; one batch of decisions
// may wake the same session twice (taken back, then offered again): once is enough.
// StateVersion counts changes made under the core's lock: an unchanged
// version means unchanged lists (REST answers them from cache).
func (s *Service) StateVersion() uint64 { return s.ver.Load() }

func (s *Service) host(cmd, args string) {
	for _, p := range s.pending {
		if p.cmd == cmd && p.args == args {
			return
		}
	}
	s.pending = append(s.pending, hostCmd{cmd, args})
}

func (s *Service) stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(s.opt.Location).Format(event.TimeLayout)
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}
