// Package node assembles one mod_nwayacd node from its configuration: the
// store (PostgreSQL or embedded), the write-behind journal, the publishers,
// the service and the REST server. The FreeSWITCH module and the demo both
// run a Node; only the Switch differs.
package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/api"
	"github.com/nwayacd/mod_nwayacd/go/config"
	"github.com/nwayacd/mod_nwayacd/go/console"
	"github.com/nwayacd/mod_nwayacd/go/event"
	"github.com/nwayacd/mod_nwayacd/go/logx"
	"github.com/nwayacd/mod_nwayacd/go/publish"
	"github.com/nwayacd/mod_nwayacd/go/service"
	"github.com/nwayacd/mod_nwayacd/go/stats"
	"github.com/nwayacd/mod_nwayacd/go/store"
	"github.com/nwayacd/mod_nwayacd/go/store/embedded"
	"github.com/nwayacd/mod_nwayacd/go/store/pg"
	"github.com/nwayacd/mod_nwayacd/go/store/writeback"
)

// backend is what the node needs of a store.
type backend interface {
	store.Writer
	store.PendingReader
	Load(ctx context.Context) (store.Snapshot, error)
	CDR(ctx context.Context, uuid string) (event.CDR, error)
	Close() error
}

// JournalDir is the journal's folder under fs-db-dir: every acknowledged
// change is here (fsynced) before REST or the console answers.
const JournalDir = "nwayacd-journal"

// Options are what the host supplies besides the configuration.
type Options struct {
	Switch service.Switch
	// Logger is everyone's logger (go/logx forwards to FreeSWITCH's log);
	// nil discards.
	Logger       *slog.Logger
	Clock        acd.Clock
	ManualTimers bool
	// CDRGrace is how long a finished call waits for its caller leg's hangup
	// event before its CDR is written (service.Options.CDRGrace; 0: its
	// default). A switch that sends no such events (the simulator) sets it short.
	CDRGrace time.Duration
	// JournalLimit is how many unwritten changes the journal holds before
	// it refuses new ones (writeback.DefaultLimit when 0).
	JournalLimit int
	// StartTimeout bounds what Start may wait on the database: FreeSWITCH's
	// load must not hang on a dead server. Default 5 s.
	StartTimeout time.Duration
	// Tap gets every published message's JSON, as RabbitMQ gets it, on the
	// sequencer's goroutine (publish.StreamConfig.Tap); the module fires
	// each as a nwayacd::info event. It must not block for long.
	Tap func(data []byte)
}

// Node is one running mod_nwayacd.
type Node struct {
	opt     Options
	cfg     config.Config
	log     *slog.Logger
	Service *service.Service

	db      backend
	pgStore *pg.Store
	journal *writeback.Journal
	kept    *keptJournal // the journal as the service writes to it
	ready   bool         // the store was read at start, backlog included
	// published: pending CDRs of an earlier run this node published
	// (emitPendingCDRs runs on one goroutine at a time).
	published map[string]bool
	hub       *publish.Hub
	seq       *publish.Sequencer // stamps seq and node, keeps the Redis Streams (observe.go)
	stats     *stats.Stats
	rest      *api.Server
	ln        net.Listener
	capture   net.PacketConn // sip-capture-listen read by a goroutine (capture.go)
	stopFeed  func()         // ... or by the switch's event reader
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	dbErr     atomic.Pointer[string] // the last load failure, for status

	cluster *membership // cluster-redis: this node in the shared pool (cluster.go)

	syncWait func(time.Duration) // benchmarks observe the durability wait
	serving  chan struct{}       // closed once the service runs
}

// Start builds and starts a node. On error nothing is left running. It
// refuses to start when the store or the journal cannot be opened: a node
// that answered +OK to changes it cannot keep would lose them.
func Start(params map[string]string, opt Options) (n *Node, err error) {
	cfg, warn, err := config.Parse(params)
	if err != nil {
		return nil, fmt.Errorf("nwayacd.conf.xml: %w", err)
	}
	opt = opt.withDefaults()
	n = &Node{opt: opt, cfg: cfg, log: opt.Logger, serving: make(chan struct{}), published: map[string]bool{}}
	for _, w := range warn {
		n.log.Warn("nwayacd.conf.xml: " + w)
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	built := n // `return nil, err` clears n before this runs
	defer func() {
		if err != nil {
			built.Stop()
		}
	}()
	snap, err := n.openStore()
	if err != nil {
		return nil, err
	}
	pub, err := n.startPublisher()
	if err != nil {
		return nil, err
	}
	n.recoverCDRs(n.ready)
	n.startService(snap, pub)
	close(n.serving)
	if err := n.startREST(); err != nil {
		return nil, err
	}
	if err := n.startCapture(); err != nil {
		return nil, err
	}
	n.startWatchers()
	if err := n.startCluster(); err != nil {
		return nil, err
	}
	n.log.Info("nwayacd: started", "rest", n.cfg.RESTListen, "extensions", len(snap.Extensions), "groups", len(snap.Groups))
	return n, nil
}

func (o Options) withDefaults() Options {
	o.Logger = logx.OrDiscard(o.Logger)
	if o.StartTimeout <= 0 {
		o.StartTimeout = 5 * time.Second
	}
	return o
}

// openStore opens the store and the journal, writes what a previous run
// left in the journal, and loads the snapshot the core starts from.
func (n *Node) openStore() (store.Snapshot, error) {
	if err := os.MkdirAll(n.cfg.DBDir, 0o755); err != nil {
		return store.Snapshot{}, fmt.Errorf("db folder: %w", err)
	}
	if n.cfg.DBDSN == "" {
		path := filepath.Join(n.cfg.DBDir, "nwayacd.db")
		s, err := embedded.Open(path)
		if err != nil {
			return store.Snapshot{}, fmt.Errorf("embedded store: %w (is another FreeSWITCH or nwayacd-demo using %s?)", err, n.cfg.DBDir)
		}
		n.db = s
	} else {
		s, err := pg.Open(n.ctx, n.cfg.DBDSN) // lazy: succeeds while the server is down
		if err != nil {
			return store.Snapshot{}, fmt.Errorf("postgres: %w", err)
		}
		if origin, err := folderOrigin(n.cfg.DBDir); err != nil {
			n.log.Warn("nwayacd: no lasting origin tag; the last run's late writes may show as another writer's", "err", err)
		} else {
			s.SetOrigin(origin)
		}
		// Cluster members write the same rows: their writes take turns.
		s.SetShared(n.cfg.Cluster.Enabled())
		n.db, n.pgStore = s, s
	}
	// The journal file makes each write durable; the store only has to
	// catch up. A tenth of a second between its transactions (each a bbolt
	// commit with two fdatasyncs, or a PostgreSQL round trip) cut them
	// tenfold under load: they were a fifth of the module's CPU per call.
	j, err := writeback.New(n.db, writeback.Options{Dir: filepath.Join(n.cfg.DBDir, JournalDir), Limit: n.opt.JournalLimit,
		Linger: storeLinger, Logger: n.log})
	if err != nil {
		return store.Snapshot{}, fmt.Errorf("journal: %w", err)
	}
	n.journal = j
	n.kept = &keptJournal{Journal: j, node: nodeID(n.cfg)}

	ctx, cancel := context.WithTimeout(n.ctx, n.opt.StartTimeout)
	defer cancel()
	if n.pgStore != nil {
		if applied, err := n.pgStore.Migrate(ctx); err != nil {
			n.failedLoad(fmt.Errorf("postgres migrate: %w", err))
			n.wg.Add(1)
			go n.migrateLater()
			return store.Snapshot{}, nil
		} else if len(applied) > 0 {
			n.log.Info("nwayacd: applied migrations", "migrations", applied)
		}
	}
	// What the last run acknowledged but had not yet written goes first, so
	// the snapshot holds it.
	flushed := true
	if err := j.Flush(ctx); err != nil {
		flushed = false
		if n.pgStore == nil {
			return store.Snapshot{}, fmt.Errorf("embedded store: writing the journal's backlog: %w", err)
		}
		// A long backlog for PostgreSQL: start from what it holds now plus
		// the backlog, replayed in memory, while the journal writes it.
		n.log.Warn("nwayacd: the journal's backlog is still being written; starting from the database plus the backlog", "backlog", j.Backlog())
	}
	// A deadline of its own: the flush may have used up the first.
	lctx, lcancel := context.WithTimeout(n.ctx, n.opt.StartTimeout)
	defer lcancel()
	snap, err := n.loadCurrent(lctx, nil)
	if errors.Is(err, writeback.ErrNotInMemory) {
		// Part of the backlog is in the journal file only: wait for the
		// database to take it rather than serve a state without it.
		n.log.Warn("nwayacd: waiting for the database to take the journal's backlog", "backlog", j.Backlog())
		if err = j.Flush(n.ctx); err == nil {
			snap, err = n.loadCurrent(n.ctx, nil)
		}
	}
	if err != nil {
		if n.pgStore == nil {
			return store.Snapshot{}, fmt.Errorf("embedded store: %w", err)
		}
		n.failedLoad(err)
		return store.Snapshot{}, nil
	}
	n.ready = flushed
	return snap, nil
}

// loadCurrent loads a snapshot from the store and replays onto it the
// journal's writes the store may not hold yet, so that it shows every
// acknowledged change. With use, the replay and use run under the service's
// lock (no change is made meanwhile) and use takes the result. Errors are
// the store's, or writeback.ErrNotInMemory.
func (n *Node) loadCurrent(ctx context.Context, use func(func() (store.Snapshot, bool))) (store.Snapshot, error) {
	applied, release := n.journal.Retain()
	defer release()
	snap, err := n.db.Load(ctx)
	if err != nil {
		return store.Snapshot{}, err
	}
	replayOnto := n.journal.ReplayOnto
	if use == nil { // at start: nothing else writes, the file may be read
		replayOnto = n.journal.ReplayAllOnto
	}
	replay := func() (store.Snapshot, bool) {
		o := store.NewOverlay(snap)
		if err = replayOnto(ctx, o, applied); err != nil {
			return store.Snapshot{}, false
		}
		snap = o.Snapshot()
		return snap, true
	}
	if use == nil {
		replay()
	} else {
		use(replay)
	}
	return snap, err
}

// originFile keeps the tag this node's PostgreSQL writes carry (see
// pg.Store.SetOrigin), the same for every process on the folder.
const originFile = "nwayacd-origin"

// folderOrigin reads the folder's origin tag, making it the first time.
func folderOrigin(dir string) (string, error) {
	path := filepath.Join(dir, originFile)
	if b, err := os.ReadFile(path); err == nil {
		if o := strings.TrimSpace(string(b)); o != "" {
			return o, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	o := store.NewID()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(o+"\n"), 0o644); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", err
	}
	return o, nil
}

// failedLoad records that PostgreSQL could not be read at start: routing
// runs from memory, and changes are journaled until it is back.
func (n *Node) failedLoad(err error) {
	msg := err.Error()
	n.dbErr.Store(&msg)
	n.log.Error("nwayacd: database unavailable at start; routing runs from memory and changes are journaled until it is back",
		"err", err, "journal", filepath.Join(n.cfg.DBDir, JournalDir))
}

// migrateLater applies the migrations once PostgreSQL answers (the journal
// retries its writes meanwhile), then reloads the tables.
func (n *Node) migrateLater() {
	defer n.wg.Done()
	bo := backoff.WithContext(backoff.NewExponentialBackOff(backoff.WithMaxElapsedTime(0),
		backoff.WithMaxInterval(30*time.Second)), n.ctx)
	err := backoff.Retry(func() error {
		ctx, cancel := context.WithTimeout(n.ctx, 10*time.Second)
		defer cancel()
		_, err := n.pgStore.Migrate(ctx)
		return err
	}, bo)
	if err != nil {
		return // stopped
	}
	n.log.Info("nwayacd: database reachable, migrations applied; reloading the tables")
	select {
	case <-n.serving:
	case <-n.ctx.Done():
		return
	}
	if err := n.Resync(n.ctx); err != nil && n.ctx.Err() == nil {
		n.log.Error("nwayacd: reloading the tables", "err", err)
		return
	}
	n.dbErr.Store(nil)
}

func (n *Node) startPublisher() (service.Publisher, error) {
	if n.cfg.CTIIP == "" {
		n.cfg.CTIIP = publish.DefaultCTIIP()
	}
	if n.cfg.Redis || n.cfg.AMQP {
		pcfg := publish.Config{SpoolPath: filepath.Join(n.cfg.DBDir, "nwayacd-cdr-spool.db"), CTIIP: n.cfg.CTIIP, Linger: n.cfg.PublishLinger, Logger: n.log}
		if n.cfg.Redis {
			pcfg.Redis = &publish.RedisConfig{Addr: n.cfg.RedisAddr, Password: n.cfg.RedisPass, DB: n.cfg.RedisDB}
		}
		if n.cfg.AMQP {
			pcfg.AMQP = &publish.AMQPConfig{URL: n.cfg.AMQPURL, Exchange: n.cfg.AMQPExchange}
		}
		hub, err := publish.New(pcfg)
		if err != nil {
			return nil, fmt.Errorf("publisher: %w", err)
		}
		n.hub = hub
	}
	// In front of the hub, or alone: live streams resume by id either way.
	n.seq = n.sequencer(n.cfg)
	return n.seq, nil
}

func (n *Node) startService(snap store.Snapshot, pub service.Publisher) {
	sopt := service.Options{
		Core:         coreConfig(n.cfg),
		Clock:        n.opt.Clock,
		Switch:       n.opt.Switch,
		Logger:       n.log,
		DialTemplate: n.cfg.DialTemplate,
		Context:      n.cfg.Context,
		HoldMusic:    n.cfg.HoldMusic,
		NoEarlyOffer: !n.cfg.EarlyOffer,
		SIPCapture:   n.cfg.SIPCapture != "",
		ManualTimers: n.opt.ManualTimers,
		CDRGrace:     n.opt.CDRGrace,
		Status:       n.status,
		Reload:       n.reloadTables,
		Journal:      n.kept,
		NodeName:     nodeID(n.cfg),
	}
	n.stats = newStats(n.cfg, n.opt.Clock)
	sopt.Observer = n.stats
	if pub != nil { // a nil *Hub in the interface would not be nil
		sopt.Publisher = pub
	}
	n.Service = service.New(sopt)
	n.Service.SetCTIIP(n.cfg.CTIIP)
	n.Service.Load(snap)
	n.Service.Start()
}

func (n *Node) startREST() error {
	restCfg := n.cfg.REST()
	restCfg.Logger = n.log.With("part", "rest")
	rest, err := api.New(restCfg, apiService{durableService{n.Service, n}, n.seq})
	if err != nil {
		return fmt.Errorf("rest: %w", err)
	}
	rest.SetObservability(n.observability(n.stats))
	ln, err := net.Listen("tcp", n.cfg.RESTListen)
	if err != nil {
		return fmt.Errorf("rest-listen %s: %w", n.cfg.RESTListen, err)
	}
	n.rest, n.ln = rest, ln
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := rest.Serve(ln); err != nil && !errors.Is(err, net.ErrClosed) {
			n.log.Error("nwayacd rest: stopped serving", "err", err)
		}
	}()
	return nil
}

func (n *Node) startWatchers() {
	if n.pgStore != nil {
		n.wg.Add(1)
		go n.watch(n.ctx)
	}
	if n.opt.Switch != nil {
		// Phones registered before the module loaded send no new event: ask.
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			n.loadRegistrations()
		}()
	}
}

// coreConfig translates the configuration for the core. The defaults live
// in config; the core's own defaults (for a zero value) are for callers
// that give none, so "0 = none" in the file becomes the core's "none".
func coreConfig(cfg config.Config) acd.Config {
	return acd.Config{WrapUp: orNone(cfg.WrapUp), NoAnswerLimit: orNone(cfg.NoAnswerMax), MemoryExpiry: cfg.MemoryExpiry,
		DefaultGiveUp: acd.GiveUp{BusyRingTimes: cfg.BusyRings, MaxWait: cfg.MaxWait}, OverloadIdleCPU: float64(cfg.OverloadIdleCPU),
		NoAnswerIdleCPU: float64(orNone(cfg.NoAnswerIdleCPU))}
}

// orNone maps the configuration's 0 ("none") to the core's -1 ("none").
func orNone[T time.Duration | int](v T) T {
	if v == 0 {
		return -1
	}
	return v
}

// loadRegistrations marks the extensions FreeSWITCH already has registrations
// for (`show registrations as json`); unknown users are not agents.
func (n *Node) loadRegistrations() {
	out, err := n.opt.Switch.API("show", "registrations as json")
	if err != nil {
		n.log.Warn("nwayacd: show registrations", "err", err)
		return
	}
	var regs struct {
		Rows []struct {
			User string `json:"reg_user"`
		} `json:"rows"`
	}
	if err := json.Unmarshal([]byte(out), &regs); err != nil {
		n.log.Debug("nwayacd: show registrations", "err", err)
		return
	}
	marked := 0
	for _, r := range regs.Rows {
		if n.Service.SetRegistered(r.User, true) == nil {
			marked++
		}
	}
	n.log.Info("nwayacd: registrations at load", "agents", marked, "registrations", len(regs.Rows))
}

// watch follows edits other tools make in ext_group/ext_group_map.
func (n *Node) watch(ctx context.Context) {
	defer n.wg.Done()
	err := n.pgStore.Watch(ctx, func() {
		if err := n.Resync(ctx); err != nil {
			n.log.Warn("nwayacd: resync after table change", "err", err)
		}
	})
	if err != nil && ctx.Err() == nil {
		n.log.Error("nwayacd: watching configuration tables", "err", err)
	}
}

// Resync reloads groups and memberships from the store, with this node's
// writes the store has not taken yet replayed on top (so they are not
// undone), atomically with respect to changes made meanwhile.
func (n *Node) Resync(ctx context.Context) error {
	if n.db == nil {
		return errors.New("no store")
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := n.loadCurrent(ctx, n.Service.SyncFrom)
	if errors.Is(err, writeback.ErrNotInMemory) {
		// The store is far behind: reload once it has caught up.
		if err = n.journal.Flush(ctx); err == nil {
			_, err = n.loadCurrent(ctx, n.Service.SyncFrom)
		}
	}
	if err != nil {
		return fmt.Errorf("resync: %w", err)
	}
	return nil
}

// GoMaxProcs is the go-max-procs setting (0: Go's default).
func (n *Node) GoMaxProcs() int { return n.cfg.GoMaxProcs }

// PublishLinger is how long a message may wait to be batched
// (publish-linger-ms); channel events the core need not see at once wait
// on the same grid.
func (n *Node) PublishLinger() time.Duration { return n.cfg.PublishLinger }

// Reload applies a re-read configuration: policies at once; the tables are
// re-read on a goroutine of the node's own (it runs on a FreeSWITCH API
// thread, which must not wait on the database). Changing the REST address,
// publishers or database needs an unload/load.
func (n *Node) Reload(params map[string]string) (waiting []string, err error) {
	cfg, warn, err := config.Parse(params)
	if err != nil {
		return nil, fmt.Errorf("nwayacd.conf.xml: %w", err)
	}
	for _, w := range warn {
		n.log.Warn("nwayacd.conf.xml: " + w)
	}
	waiting = restartOnly(n.cfg, cfg)
	if len(waiting) > 0 {
		n.log.Warn("nwayacd: reload applied wrap-up, no-answer, memory and give-up settings; these take effect after unload/load", "settings", waiting)
	}
	n.Service.SetPolicies(coreConfig(cfg))
	return waiting, n.reloadTables()
}

// restartOnly names the changed settings a reload cannot apply in place:
// they are wired into the REST server, the store, the publishers or the
// service at start.
func restartOnly(old, cfg config.Config) []string {
	var out []string
	for _, c := range []struct {
		name    string
		changed bool
	}{
		{"rest-listen", cfg.RESTListen != old.RESTListen},
		{"rest-user/rest-password", cfg.RESTUser != old.RESTUser || cfg.RESTPassword != old.RESTPassword},
		{"db-dsn", cfg.DBDSN != old.DBDSN},
		{"go-max-procs", cfg.GoMaxProcs != old.GoMaxProcs},
		{"publish-linger-ms", cfg.PublishLinger != old.PublishLinger},
		{"publisher", cfg.Redis != old.Redis || cfg.AMQP != old.AMQP},
		{"redis-addr", cfg.RedisAddr != old.RedisAddr},
		{"amqp-url", cfg.AMQPURL != old.AMQPURL},
		{"cti-ip", cfg.CTIIP != "" && cfg.CTIIP != old.CTIIP},
		{"dial-template", cfg.DialTemplate != old.DialTemplate},
		{"transfer-context", cfg.Context != old.Context},
		{"hold-music", cfg.HoldMusic != old.HoldMusic},
	} {
		if c.changed {
			out = append(out, c.name)
		}
	}
	return out
}

// reloadTables is `nwayacd reload` without new parameters (the console's,
// when no host re-read the XML): re-read the tables in the background.
func (n *Node) reloadTables() error {
	if n.ctx.Err() != nil {
		return errors.New("stopping")
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := n.Resync(n.ctx); err != nil && n.ctx.Err() == nil {
			n.log.Error("nwayacd: reload: re-reading the tables", "err", err)
		}
	}()
	return nil
}

// readOnly reports the console commands that change nothing (every list,
// the version, nwayacd help/status/reload): never refused when the journal
// is full, and nothing to wait for. A prefix and a switch, not a map: this
// runs on every fs_cli command (BenchmarkAPIRoundTrip).
func readOnly(name string) bool {
	switch name {
	case "nwayacd_version", "nwayacd":
		return true
	}
	return strings.HasPrefix(name, "nway_list_")
}

// Command runs one fs_cli command. A change is answered +OK only once the
// journal holds it on disk.
func (n *Node) Command(name, args string) string {
	ro := readOnly(name)
	if !ro {
		if err := n.journal.Admit(); err != nil {
			return "-ERR change refused, nothing was changed: " + err.Error() + "\n"
		}
	}
	reply := console.Run(n.Service, name, args)
	if ro || !strings.HasPrefix(reply, "+OK") {
		return reply
	}
	if err := n.sync(); err != nil {
		return "-ERR " + err.Error() + "\n"
	}
	return reply
}

// storeLinger is the least time between two store transactions that are
// not full (writeback.Options.Linger).
const storeLinger = 100 * time.Millisecond

// JournalCloseTimeout bounds how long Stop waits for the store to take the
// journal's backlog.
const JournalCloseTimeout = 2 * time.Second

// SyncTimeout bounds the wait for the journal's fsync before an answer.
const SyncTimeout = 2 * time.Second

// Sync waits until every change made so far (CDRs and agent log rows too)
// is in the journal on disk.
func (n *Node) Sync() error { return n.sync() }

func (n *Node) sync() error {
	ctx, cancel := context.WithTimeout(n.ctx, SyncTimeout)
	defer cancel()
	if n.syncWait != nil {
		defer func(t time.Time) { n.syncWait(time.Since(t)) }(time.Now())
	}
	if err := n.journal.Sync(ctx); err != nil {
		return fmt.Errorf("change applied in memory but not on disk (it may be lost by a crash): %w", err)
	}
	return nil
}

func (n *Node) status() map[string]any {
	m := map[string]any{}
	if n.hub != nil {
		m["publisher"] = n.hub.Stats()
	} else {
		m["publisher"] = "none"
	}
	if n.seq != nil {
		// Drop counts what the sequencer's queue turned away: those
		// messages missed the streams, SSE and nwayacd::info.
		m["sequencer"] = n.seq.Stats()
	}
	db := map[string]any{"kind": "embedded"}
	if n.cfg.DBDSN != "" {
		db["kind"] = "postgresql"
	}
	if n.journal != nil {
		db["journal"] = n.journal.Stats()
	}
	if e := n.dbErr.Load(); e != nil {
		db["error"] = *e
	}
	m["database"] = db
	if c := n.clusterStatus(); c != nil {
		m["cluster"] = c
	}
	return m
}

// Stop stops REST, the service, then drains publishers and the journal.
func (n *Node) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if n.rest != nil {
		if err := n.rest.Shutdown(ctx); err != nil {
			n.log.Warn("nwayacd rest shutdown", "err", err)
		}
	}
	if n.ln != nil {
		_ = n.ln.Close()
	}
	if n.capture != nil {
		_ = n.capture.Close()
	}
	if n.stopFeed != nil {
		n.stopFeed()
	}
	if n.cancel != nil {
		n.cancel()
	}
	n.wg.Wait()
	if n.Service != nil {
		n.Service.Stop()
	}
	if n.cluster != nil {
		_ = n.cluster.rdb.Close()
	}
	if n.seq != nil {
		n.seq.Close()
	}
	if n.hub != nil {
		if err := n.hub.Close(ctx); err != nil {
			n.log.Warn("nwayacd publisher close", "err", err)
		}
	}
	if n.journal != nil {
		// What the store has not taken in this time is safe in the journal
		// file and written at the next start: a dead database must not hold
		// FreeSWITCH's shutdown.
		jctx, cancel := context.WithTimeout(ctx, JournalCloseTimeout)
		defer cancel()
		if err := n.journal.Close(jctx); err != nil {
			n.log.Warn("nwayacd journal close", "err", err)
		}
	}
	if n.db != nil {
		_ = n.db.Close()
	}
}

// Addr is where REST listens (useful with rest-listen port 0).
func (n *Node) Addr() string { return n.ln.Addr().String() }
