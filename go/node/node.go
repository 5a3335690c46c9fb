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
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/api"
	"github.com/nwayacd/mod_nwayacd/go/config"
	"github.com/nwayacd/mod_nwayacd/go/console"
	"github.com/nwayacd/mod_nwayacd/go/publish"
	"github.com/nwayacd/mod_nwayacd/go/service"
	"github.com/nwayacd/mod_nwayacd/go/store"
	"github.com/nwayacd/mod_nwayacd/go/store/embedded"
	"github.com/nwayacd/mod_nwayacd/go/store/pg"
	"github.com/nwayacd/mod_nwayacd/go/store/writeback"
)

// backend is what the node needs of a store.
type backend interface {
	writeback.Target
	Load(ctx context.Context) (store.Snapshot, error)
	Close() error
}

// Options are what the host supplies besides the configuration.
type Options struct {
	Switch       service.Switch
	Logf         service.Logf
	Clock        acd.Clock
	ManualTimers bool
	// StartTimeout bounds what Start may wait on the database: FreeSWITCH's
	// load must not hang on a dead server. Default 5 s.
	StartTimeout time.Duration
}

// Node is one running mod_nwayacd.
type Node struct {
	opt     Options
	cfg     config.Config
	Service *service.Service

	db      backend
	pgStore *pg.Store
	journal *writeback.Journal
	hub     *publish.Hub
	seq     *publish.Sequencer
	rest    *api.Server
	ln      net.Listener
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	dbErr   string
}

// Start builds and starts a node. On error nothing is left running.
func Start(params map[string]string, opt Options) (n *Node, err error) {
	cfg, warn, err := config.Parse(params)
	if err != nil {
		return nil, fmt.Errorf("nwayacd.conf.xml: %w", err)
	}
	if opt.Logf == nil {
		opt.Logf = func(int, string, ...any) {}
	}
	if opt.StartTimeout <= 0 {
		opt.StartTimeout = 5 * time.Second
	}
	for _, w := range warn {
		opt.Logf(4, "nwayacd.conf.xml: %s", w)
	}
	if !cfg.Loopback() && cfg.RESTPassword == api.DefaultPassword {
		return nil, fmt.Errorf("rest-listen %s is not loopback while rest-password is still the default: set rest-password in nwayacd.conf.xml", cfg.RESTListen)
	}
	n = &Node{opt: opt, cfg: cfg}
	ctx, cancel := context.WithCancel(context.Background())
	n.ctx, n.cancel = ctx, cancel
	defer func() {
		if err != nil {
			n.Stop()
			n = nil
		}
	}()

	// Store: a dead database must not stop calls — start empty and let the
	// journal write through once it is back.
	var snap store.Snapshot
	if err := n.openStore(ctx); err != nil {
		n.dbErr = err.Error()
		opt.Logf(3, "nwayacd: database: %v (routing runs from memory; writes queue until it is back)", err)
	} else {
		lctx, lcancel := context.WithTimeout(ctx, opt.StartTimeout)
		snap, err = n.db.Load(lctx)
		lcancel()
		if err != nil {
			n.dbErr = err.Error()
			opt.Logf(3, "nwayacd: loading configuration: %v", err)
		}
	}
	if n.db != nil {
		n.journal = writeback.New(n.db, writeback.Options{Logf: func(f string, a ...any) { opt.Logf(4, "nwayacd: "+f, a...) }})
	}

	if cfg.CTIIP == "" {
		cfg.CTIIP = publish.DefaultCTIIP()
	}
	pcfg := publish.Config{SpoolPath: filepath.Join(cfg.DBDir, "nwayacd-cdr-spool.db"), CTIIP: cfg.CTIIP,
		Logf:  func(f string, a ...any) { opt.Logf(4, "nwayacd: "+f, a...) },
		Infof: func(f string, a ...any) { opt.Logf(6, "nwayacd: "+f, a...) }}
	if cfg.Redis {
		pcfg.Redis = &publish.RedisConfig{Addr: cfg.RedisAddr, Password: cfg.RedisPass, DB: cfg.RedisDB}
	}
	if cfg.AMQP {
		pcfg.AMQP = &publish.AMQPConfig{URL: cfg.AMQPURL, Exchange: cfg.AMQPExchange}
	}
	var pub service.Publisher
	if cfg.Redis || cfg.AMQP {
		if err := os.MkdirAll(cfg.DBDir, 0o755); err != nil {
			return nil, fmt.Errorf("db folder: %w", err)
		}
		hub, err := publish.New(pcfg)
		if err != nil {
			return nil, fmt.Errorf("publisher: %w", err)
		}
		n.hub, pub = hub, hub
	}
	n.seq = n.sequencer(cfg) // stamps seq and node, keeps the Redis Streams (observe.go)
	pub = n.seq

	sopt := service.Options{
		Core:         coreConfig(cfg),
		Clock:        opt.Clock,
		Switch:       opt.Switch,
		Publisher:    pub,
		Logf:         opt.Logf,
		DialTemplate: cfg.DialTemplate,
		Context:      cfg.Context,
		HoldMusic:    cfg.HoldMusic,
		ManualTimers: opt.ManualTimers,
		Status:       n.status,
		Reload:       nil,
	}
	if n.journal != nil {
		sopt.Journal = n.journal
	}
	st := newStats(cfg, opt.Clock)
	sopt.Observer = st
	n.Service = service.New(sopt)
	n.Service.SetCTIIP(cfg.CTIIP)
	n.Service.Load(snap)
	n.Service.Start()

	rest, err := api.New(api.Config{Listen: cfg.RESTListen, Username: cfg.RESTUser, Password: cfg.RESTPassword, TokenTTL: cfg.TokenTTL},
		apiService{n.Service, n.seq}, func(f string, a ...any) { opt.Logf(4, "nwayacd rest: "+f, a...) })
	if err != nil {
		return nil, fmt.Errorf("rest: %w", err)
	}
	rest.SetObservability(n.observability(st))
	ln, err := net.Listen("tcp", cfg.RESTListen)
	if err != nil {
		return nil, fmt.Errorf("rest-listen %s: %w", cfg.RESTListen, err)
	}
	n.rest, n.ln = rest, ln
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := rest.Serve(ln); err != nil && !errors.Is(err, net.ErrClosed) {
			opt.Logf(3, "nwayacd rest: %v", err)
		}
	}()
	if n.pgStore != nil {
		n.wg.Add(1)
		go n.watch(ctx)
	}
	if opt.Switch != nil {
		// Phones registered before the module loaded send no new event: ask.
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			n.loadRegistrations()
		}()
	}
	opt.Logf(6, "nwayacd: started; REST on %s, %d extensions, %d groups", cfg.RESTListen, len(snap.Extensions), len(snap.Groups))
	return n, nil
}

func coreConfig(cfg config.Config) acd.Config {
	c := acd.Config{WrapUp: cfg.WrapUp, NoAnswerLimit: cfg.NoAnswerMax, MemoryExpiry: cfg.MemoryExpiry,
		DefaultGiveUp: acd.GiveUp{BusyRingTimes: cfg.BusyRings, MaxWait: cfg.MaxWait}}
	if c.WrapUp == 0 {
		c.WrapUp = -1 // configured as none
	}
	if c.NoAnswerLimit == 0 {
		c.NoAnswerLimit = -1
	}
	return c
}

func (n *Node) openStore(ctx context.Context) error {
	if n.cfg.DBDSN == "" {
		if err := os.MkdirAll(n.cfg.DBDir, 0o755); err != nil {
			return fmt.Errorf("db folder: %w", err)
		}
		s, err := embedded.Open(filepath.Join(n.cfg.DBDir, "nwayacd.db"))
		if err != nil {
			return fmt.Errorf("embedded store: %w", err)
		}
		n.db = s
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, n.opt.StartTimeout)
	defer cancel()
	s, err := pg.Open(cctx, n.cfg.DBDSN)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	n.db, n.pgStore = s, s
	if applied, err := s.Migrate(cctx); err != nil {
		return fmt.Errorf("postgres migrate: %w", err)
	} else if len(applied) > 0 {
		n.opt.Logf(6, "nwayacd: applied migrations %v", applied)
	}
	return nil
}

// loadRegistrations marks the extensions FreeSWITCH already has registrations
// for (`show registrations as json`); unknown users are not agents.
func (n *Node) loadRegistrations() {
	out, err := n.opt.Switch.API("show", "registrations as json")
	if err != nil {
		n.opt.Logf(4, "nwayacd: show registrations: %v", err)
		return
	}
	var regs struct {
		Rows []struct {
			User string `json:"reg_user"`
		} `json:"rows"`
	}
	if err := json.Unmarshal([]byte(out), &regs); err != nil {
		n.opt.Logf(7, "nwayacd: show registrations: %v", err)
		return
	}
	marked := 0
	for _, r := range regs.Rows {
		if n.Service.SetRegistered(r.User, true) == nil {
			marked++
		}
	}
	n.opt.Logf(6, "nwayacd: %d of %d registrations are agents", marked, len(regs.Rows))
}

// watch follows edits other tools make in ext_group/ext_group_map.
func (n *Node) watch(ctx context.Context) {
	defer n.wg.Done()
	err := n.pgStore.Watch(ctx, func() {
		if err := n.Resync(ctx); err != nil {
			n.opt.Logf(4, "nwayacd: resync after table change: %v", err)
		}
	})
	if err != nil && ctx.Err() == nil {
		n.opt.Logf(3, "nwayacd: watching configuration tables: %v", err)
	}
}

// Resync reloads groups and memberships from the store, once the journal
// has written what this node changed (so our own writes are not undone).
func (n *Node) Resync(ctx context.Context) error {
	if n.db == nil {
		return errors.New("no store")
	}
	for i := 0; n.journal != nil && n.journal.Backlog() > 0 && i < 50; i++ {
		time.Sleep(20 * time.Millisecond)
	}
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	snap, err := n.db.Load(lctx)
	if err != nil {
		return err
	}
	n.Service.Sync(snap)
	return nil
}

// Reload applies a re-read configuration: policies at once; the tables are
// re-read on a goroutine of the node's own (it runs on a FreeSWITCH API
// thread, which must not wait on the database). Changing the REST address,
// publishers or database needs an unload/load.
func (n *Node) Reload(params map[string]string) error {
	cfg, warn, err := config.Parse(params)
	if err != nil {
		return fmt.Errorf("nwayacd.conf.xml: %w", err)
	}
	for _, w := range warn {
		n.opt.Logf(4, "nwayacd.conf.xml: %s", w)
	}
	n.Service.SetPolicies(coreConfig(cfg))
	old := n.cfg
	if cfg.RESTListen != old.RESTListen || cfg.RESTUser != old.RESTUser || cfg.RESTPassword != old.RESTPassword ||
		cfg.DBDSN != old.DBDSN || cfg.Redis != old.Redis || cfg.AMQP != old.AMQP || cfg.RedisAddr != old.RedisAddr ||
		cfg.AMQPURL != old.AMQPURL || cfg.CTIIP != old.CTIIP || cfg.DialTemplate != old.DialTemplate ||
		cfg.Context != old.Context || cfg.HoldMusic != old.HoldMusic {
		n.opt.Logf(4, "nwayacd: reload applied wrap-up, no-answer, memory and give-up settings; REST, database, publisher, cti-ip, dial-template, transfer-context and hold-music changes take effect after unload/load")
	}
	if n.db != nil {
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			if err := n.Resync(n.ctx); err != nil && n.ctx.Err() == nil {
				n.opt.Logf(3, "nwayacd: reload: re-reading the tables: %v", err)
			}
		}()
	}
	return nil
}

// Command runs one fs_cli command.
func (n *Node) Command(name, args string) string { return console.Run(n.Service, name, args) }

func (n *Node) status() map[string]any {
	m := map[string]any{}
	if n.hub != nil {
		m["publisher"] = n.hub.Stats()
	} else {
		m["publisher"] = "none"
	}
	db := map[string]any{"kind": "embedded"}
	if n.cfg.DBDSN != "" {
		db["kind"] = "postgresql"
	}
	if n.journal != nil {
		db["journal"] = n.journal.Stats()
	} else {
		db["error"] = n.dbErr
	}
	m["database"] = db
	return m
}

// Stop stops REST, the service, then drains publishers and the journal.
func (n *Node) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if n.rest != nil {
		if err := n.rest.Shutdown(ctx); err != nil {
			n.opt.Logf(4, "nwayacd rest shutdown: %v", err)
		}
	}
	if n.ln != nil {
		_ = n.ln.Close()
	}
	if n.cancel != nil {
		n.cancel()
	}
	n.wg.Wait()
	if n.Service != nil {
		n.Service.Stop()
	}
	if n.seq != nil {
		n.seq.Close()
	}
	if n.hub != nil {
		if err := n.hub.Close(ctx); err != nil {
			n.opt.Logf(4, "nwayacd publisher close: %v", err)
		}
	}
	if n.journal != nil {
		if err := n.journal.Close(ctx); err != nil {
			n.opt.Logf(3, "nwayacd journal close: %v", err)
		}
	}
	if n.db != nil {
		_ = n.db.Close()
	}
}

// Addr is where REST listens (useful with rest-listen port 0).
func (n *Node) Addr() string { return n.ln.Addr().String() }
