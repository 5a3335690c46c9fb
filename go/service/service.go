// Package service is one node's thin driver of the ACD core: it feeds
// FreeSWITCH's facts and the operators' commands into the core under one
// lock, and turns the core's steps into session directives and its decisions
// into host commands (hostexec), published events (and live subscribers,
// fanout), journal writes and CDRs (cdr.Book). Nothing here blocks on I/O
// under the lock.
package service

import (
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/cdr"
	"github.com/nwayacd/mod_nwayacd/go/event"
	"github.com/nwayacd/mod_nwayacd/go/fanout"
	"github.com/nwayacd/mod_nwayacd/go/hostexec"
	"github.com/nwayacd/mod_nwayacd/go/logx"
	"github.com/nwayacd/mod_nwayacd/go/publish"
	"github.com/nwayacd/mod_nwayacd/go/store"
)

// Switch runs FreeSWITCH API commands (uuid_break, uuid_kill, uuid_transfer,
// originate …). It is only called from the executor's goroutines (or the
// caller's, with SyncHost).
type Switch = hostexec.Switch

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
	// The provisional CDR of a call whose final CDR waits (cdr.Book's Keep),
	// deleted after its InsertCDR: what a crash leaves is emitted at start.
	PutPendingCDR(c event.CDR)
	DeletePendingCDR(uuid string)
}

// Options wires the service. Zero values take defaults.
type Options struct {
	Core         acd.Config
	Clock        acd.Clock // nil: wall clock
	Switch       Switch    // nil: the core's commands are dropped (logged at debug), call control is unavailable
	Publisher    Publisher
	Journal      Journal
	Logger       *slog.Logger // nil: discard
	DialTemplate string       // how an agent is reached, %s = the extension; default "user/%s"
	Context      string       // dialplan context of transfers; default "default"
	HoldMusic    string       // what a waiting caller hears when the group has no busy ring; default "local_stream://moh"
	Location     *time.Location
	Version      string
	// NodeName names this node on the pending callbacks it keeps: nodes
	// sharing a database restore only their own (and those without one).
	NodeName string
	// ManualTimers: the owner calls Tick (the simulator); otherwise the
	// service runs its own timer goroutine after Start.
	ManualTimers bool
	// SyncHost runs host commands on the calling goroutine after the core's
	// lock is released, instead of on the executor (deterministic tests).
	SyncHost bool
	// NoEarlyOffer leaves every offer to the caller's session even when the
	// Switch is an Offerer (see offerEarly).
	NoEarlyOffer bool
	// SIPCapture: the node feeds the switch's SIP capture to Capture. Agent
	// legs then get the SIP Call-ID of their uuid, and an agent's BYE ends
	// its bridge as it arrives (earlybye.go).
	SIPCapture bool
	// HostQueue bounds pending host commands; default 4096.
	HostQueue int
	// HostWait bounds how long a call-control command (hold, transfer,
	// hangup …) waits for FreeSWITCH's answer; default 2 s.
	HostWait time.Duration
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

// hostCmd is a command to run once mu is released. With done, it runs on a
// goroutine of its own (it may take as long as a phone rings) and done gets
// the answer; a done without cmd only runs done.
type hostCmd struct {
	cmd, args string
	done      func(out string, err error)
}

// Service is one node's ACD. Its methods are safe for concurrent use.
type Service struct {
	opt   Options
	clock acd.Clock
	log   *slog.Logger

	mu      sync.Mutex
	eng     *acd.Engine
	calls   map[string]*callInfo
	book    *cdr.Book // the calls' CDRs, until each is complete
	pending []hostCmd // host commands decided under mu, run after it
	closing []string  // held callbacks ended in this batch (closeHeld)
	cbGone  recentSet // callbacks given up lately: a late callback leg is refused
	armed   time.Time // what the timer goroutine sleeps until

	chMu     sync.Mutex
	channels map[string]*channel
	byOwner  map[string][]string // extension → uuids of channels that belong to it, newest last

	exec *hostexec.Executor
	live *fanout.Hub

	kick      chan struct{}
	stop      chan struct{}
	wg        sync.WaitGroup
	started   atomic.Bool
	startedAt time.Time
	eventsIn  atomic.Uint64
	lockWait  lockWaits // waits for mu (lockwait.go)
	lockedAt  time.Time // when mu's holder took it
	comb      combiner  // session threads' bodies queued for mu (combine.go)
	// Early BYE (earlybye.go).
	bye        byeWatch
	earlyByes  atomic.Uint64
	captureBad atomic.Uint64
	captured   atomic.Uint64          // capture datagrams that passed the kernel's filter
	captureBy  atomic.Pointer[string] // who reads the capture (SetCaptureReader)
	cti        atomic.Pointer[string]
	ver        atomic.Uint64
	// agentFirst counts agent-first callbacks waiting for the caller's answer.
	agentFirst atomic.Int64
	cbDeferred atomic.Int64 // callback originates waiting for a channel's end
	pool       *poolState   // cluster mode only (pool.go); nil: single node
}

// callInfo is what the service keeps of a call for its CDR and the
// session's channel variables; the call itself is the core's.
type callInfo struct {
	group     string
	number    string
	level     acd.Level
	agent     string // the party that answered (a callout's outside number)
	rec       *cdr.Record
	entered   time.Time
	left      bool
	result    acd.Result
	waited    time.Duration
	offerAt   time.Time
	answerAt  time.Time
	transfers int
	ringLegs  map[string]string // ring-all offer in progress: leg uuid → agent
	// Callbacks (callback.go).
	cb        string // the number called back: the call went through a callback
	cbAttempt int    // attempts placed by this process
	cbLeg     string // agent first: the agent leg of the attempt under way
	cbBridged bool   // agent first: connected; the caller leg's end ends the call
	// cbDeferred: the attempt's originate, waiting for the caller's own
	// channel under the same uuid to be destroyed.
	cbDeferred *hostCmd
}

// New builds a service; Start begins its goroutines.
func New(opt Options) *Service {
	if opt.Clock == nil {
		opt.Clock = wallClock{}
	}
	if opt.DialTemplate == "" {
		opt.DialTemplate = acd.DefaultDialTemplate
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
	if opt.HostWait <= 0 {
		opt.HostWait = 2 * time.Second
	}
	if opt.CDRGrace <= 0 {
		opt.CDRGrace = 3 * time.Second
	}
	if opt.Version == "" {
		opt.Version = Version
	}
	if opt.Core.DialTemplate == "" {
		opt.Core.DialTemplate = opt.DialTemplate
	}
	if opt.Core.NewUUID == nil {
		opt.Core.NewUUID = newUUID
	}
	s := &Service{
		opt:      opt,
		clock:    opt.Clock,
		log:      logx.OrDiscard(opt.Logger),
		eng:      acd.New(opt.Core, opt.Clock),
		calls:    make(map[string]*callInfo),
		channels: make(map[string]*channel),
		byOwner:  make(map[string][]string),
	}
	grace := opt.CDRGrace
	if opt.ManualTimers {
		grace = 0 // the simulator has no wall-clock timers: write at once
	}
	bo := cdr.BookOptions{Grace: grace, Location: opt.Location, Lock: svcLocker{s}, Emit: s.emitCDR}
	if opt.Journal != nil {
		bo.Keep, bo.Forget = opt.Journal.PutPendingCDR, opt.Journal.DeletePendingCDR
	}
	s.book = cdr.NewBook(bo)
	s.exec = hostexec.New(hostexec.Options{Switch: opt.Switch, Queue: opt.HostQueue, Workers: 4, Logger: s.log,
		// A wake or a take-back for a channel that just went is routine.
		Routine: func(cmd string) bool { return cmd == "uuid_break" || cmd == "uuid_kill" }})
	s.live = fanout.New(8192, func(m publish.Message) []byte { return m.AppendJSON(nil, s.ctiIP()) })
	return s
}

// Version is the module's version.
const Version = "1.0.0"

// Start runs the host-command executor, the live fan-out and (unless
// ManualTimers) the timer goroutine. Start after Stop starts again (a module
// reload in one process).
func (s *Service) Start() {
	if !s.started.CompareAndSwap(false, true) {
		return
	}
	s.startedAt = s.clock.Now()
	s.kick = make(chan struct{}, 1)
	s.stop = make(chan struct{})
	s.exec.Start()
	s.live.Start()
	if !s.opt.ManualTimers {
		s.wg.Add(1)
		go s.timerLoop()
	}
	s.startPool()
}

// Stop ends the goroutines after running the host commands already queued,
// writes the CDRs of the calls still known and closes the live streams.
func (s *Service) Stop() {
	if !s.started.CompareAndSwap(true, false) {
		return
	}
	close(s.stop)
	s.wg.Wait()
	s.exec.Stop()
	s.live.Stop()
	s.flushCDRs()
	s.live.CloseAll()
}

// flushCDRs writes the record of every call still known, while the
// publishers and the journal are still open: an unload must not lose the
// CDRs of calls that just ended (waiting for their hangup event) or that are
// still up (FreeSWITCH is about to hang them up).
func (s *Service) flushCDRs() {
	s.lock()
	defer s.release()
	s.saveStats() // today's counters outlive the unload
	s.book.CloseAll(s.clock.Now())
}

// emitCDR publishes and stores a complete CDR and forgets its call. Called
// by the book with mu held.
func (s *Service) emitCDR(uuid string, c event.CDR) {
	delete(s.calls, uuid)
	if s.opt.SIPCapture {
		s.unwatchCall(uuid)
	}
	s.publish(&c)
	if s.opt.Journal != nil {
		s.opt.Journal.InsertCDR(c)
	}
}

func (s *Service) timerLoop() {
	defer s.wg.Done()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		s.lock()
		d, ok := s.eng.NextDeadline()
		if !ok {
			d = s.clock.Now().Add(time.Hour)
		}
		s.armed = d
		s.release()
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
	s.lock()
	s.eng.Tick()
	s.unlock()
}

// NextDeadline is when Tick next has work (for ManualTimers owners).
func (s *Service) NextDeadline() (time.Time, bool) {
	s.lock()
	defer s.release()
	return s.eng.NextDeadline()
}

// unlock handles the core's decisions, releases mu and runs what must run
// outside it. Every locked section ends with unlock.
func (s *Service) unlock() {
	s.handle(s.eng.Decisions())
	var sync, async []hostCmd
	if len(s.pending) > 0 {
		if s.opt.SyncHost || !s.exec.Running() {
			sync = append(sync, s.pending...)
		} else {
			for _, c := range s.pending {
				if c.done != nil {
					async = append(async, c)
					continue
				}
				// A full queue is counted and logged by the executor; one
				// stopped meanwhile (an unload) leaves the command to us.
				if err := s.exec.Post(c.cmd, c.args); errors.Is(err, hostexec.ErrStopped) {
					sync = append(sync, c)
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
	s.release()
	for _, c := range sync {
		s.runHost(c)
	}
	for _, c := range async {
		go s.runHost(c)
	}
	if kick {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

// runHost runs c and hands its answer to c.done, if any.
func (s *Service) runHost(c hostCmd) {
	if c.done == nil {
		_, _ = s.exec.Run(c.cmd, c.args) // a failure is counted and logged by the executor
		return
	}
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("host command follow-up panicked", "cmd", c.cmd, "panic", r)
		}
	}()
	var out string
	var err error
	if c.cmd != "" {
		out, err = s.exec.Run(c.cmd, c.args)
	}
	c.done(out, err)
}

// StateVersion counts changes made under the core's lock: an unchanged
// version means unchanged lists (REST answers them from cache).
func (s *Service) StateVersion() uint64 { return s.ver.Load() }

// host queues a command to run once mu is released; one batch of decisions
// may wake the same session twice (taken back, then offered again): once is enough.
func (s *Service) host(cmd, args string) {
	for _, p := range s.pending {
		if p.cmd == cmd && p.args == args {
			return
		}
	}
	s.pending = append(s.pending, hostCmd{cmd: cmd, args: args})
}

func (s *Service) stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(s.opt.Location).Format(event.TimeLayout)
}

// newUUID names a leg the module originates (origination_uuid).
func newUUID() string { return uuid.NewString() }
