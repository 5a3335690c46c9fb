package bridge

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/nwayacd/mod_nwayacd/go/session"
)

// FreeSWITCH log levels (switch_log_level_t).
const (
	LogCrit    = 2
	LogError   = 3
	LogWarning = 4
	LogNotice  = 5
	LogInfo    = 6
	LogDebug   = 7
)

// EventSubclass is the custom event subclass the module reserves.
const EventSubclass = "nwayacd::info"

// ErrStopped is returned by Host calls after the module has stopped.
var ErrStopped = errors.New("host: module stopped")

// ErrAPI is wrapped by Host.API when FreeSWITCH ran the command and it
// answered -ERR, or could not run it.
var ErrAPI = errors.New("host: api command failed")

// HostFuncs is the set of switch services a Host forwards to. The cgo host
// fills it with calls through nwayacd_host_t; tests may fill it with fakes.
type HostFuncs struct {
	API       func(cmd, args string) (out string, ran bool)
	Log       func(level int, file string, line int, msg string)
	FireEvent func(subclass string, headers [][2]string, body string) bool
	Wake      func(uuid string) bool // nil: Wake fails with ErrNoWake
	// Offer starts an offer directive of a waiting caller at once (the
	// shim's offer); nil: Offer fails with ErrNoOffer.
	Offer func(uuid string, d session.Directive) bool
	// Feed hands a datagram socket to the event reader (FeedPackets);
	// nil: FeedPackets fails with ErrNoFeed.
	Feed func(conn syscall.Conn, take func(pkt []byte, from netip.AddrPort)) (stop func(), err error)
}

// Host is FreeSWITCH as seen from Go goroutines. Never call API, Log or
// FireEvent from inside a Handler method that FreeSWITCH is waiting on
// (session or API calls): queue the work and do it on your own goroutine.
// Wake is the exception: it never blocks.
type Host struct {
	f      HostFuncs
	closed atomic.Bool
}

// NewFuncHost returns a Host forwarding to f; for tests of Handlers.
func NewFuncHost(f HostFuncs) *Host { return &Host{f: f} }

func (hst *Host) close() { hst.closed.Store(true) }

// API runs a FreeSWITCH API command and returns its output. The error wraps
// ErrAPI when the command could not run or its output starts with -ERR or
// -USAGE (the output is returned too), ErrStopped after stop.
func (hst *Host) API(cmd, args string) (string, error) {
	if hst.closed.Load() {
		return "", ErrStopped
	}
	out, ran := hst.f.API(cmd, args)
	if !ran {
		return out, fmt.Errorf("%w: %s: cannot run", ErrAPI, cmd)
	}
	if strings.HasPrefix(out, "-ERR") || strings.HasPrefix(out, "-USAGE") {
		return out, fmt.Errorf("%w: %s: %s", ErrAPI, cmd, strings.TrimSpace(out))
	}
	return out, nil
}

// Log writes msg to FreeSWITCH's log at level, naming the Go caller.
func (hst *Host) Log(level int, msg string) { hst.log(level, 2, msg) }

func (hst *Host) log(level, skip int, msg string) {
	if hst.closed.Load() {
		return
	}
	_, file, line, ok := runtime.Caller(skip)
	if !ok {
		file, line = "nwayacd.go", 0
	}
	hst.f.Log(level, filepath.Base(file), line, strings.TrimRight(msg, "\n"))
}

// FireEvent fires a CUSTOM event of subclass with headers and an optional body.
func (hst *Host) FireEvent(subclass string, headers [][2]string, body string) error {
	if hst.closed.Load() {
		return ErrStopped
	}
	if subclass == "" {
		subclass = EventSubclass
	}
	if !hst.f.FireEvent(subclass, headers, body) {
		return fmt.Errorf("fire event %s: not created", subclass)
	}
	return nil
}

// ErrNoSession is returned by Wake when no session has that uuid (it has
// just hung up, which is routine).
var ErrNoSession = errors.New("host: no such session")

// ErrNoWake is returned by Wake when the host has no wake callback.
var ErrNoWake = errors.New("host: no wake callback")

// Wake ends the wait of the session uuid (a WAIT directive) so that it asks
// for its next step at once. It calls the shim directly, never an API
// command, and never blocks, so it may be called with locks held, from any
// goroutine, including inside a Handler method FreeSWITCH is waiting on.
func (hst *Host) Wake(uuid string) error {
	if hst.closed.Load() {
		return ErrStopped
	}
	if hst.f.Wake == nil {
		return ErrNoWake
	}
	if !hst.f.Wake(uuid) {
		return fmt.Errorf("wake %s: %w", uuid, ErrNoSession)
	}
	return nil
}

// ErrNoFeed is returned by FeedPackets when the host has no event reader
// to drain a socket (a Go test host).
var ErrNoFeed = errors.New("host: no event reader to feed")

// FeedPackets has the module's event reader drain conn's datagrams itself,
// on its own thread at the switch's priority, and hand each to take there
// (take must not block; it runs with no lock of the bridge's held). conn may
// be closed once FeedPackets returns: the reader reads a duplicate of its
// socket. stop detaches it and returns once the reader has let go of the
// socket; it must not be called from take.
func (hst *Host) FeedPackets(conn syscall.Conn, take func(pkt []byte, from netip.AddrPort)) (stop func(), err error) {
	if hst.closed.Load() {
		return nil, ErrStopped
	}
	if hst.f.Feed == nil {
		return nil, ErrNoFeed
	}
	return hst.f.Feed(conn, take)
}

// ErrNoOffer is returned by Offer when the host cannot start offers itself
// (no offer callback, or the shim declined: the caller is gone, it has one
// running already, or too many run).
var ErrNoOffer = errors.New("host: offer not started")

// Offer starts offer d (an Offer directive) of the waiting caller uuid at
// once on a switch thread, so the agent's INVITE leaves now rather than
// after the caller's next media frame; the caller's session, woken, takes
// it over when its next step is that same offer. Never blocks, like Wake.
func (hst *Host) Offer(uuid string, d session.Directive) error {
	if hst.closed.Load() {
		return ErrStopped
	}
	if hst.f.Offer == nil {
		return ErrNoOffer
	}
	if d.Action != session.Offer {
		return fmt.Errorf("%w: not an offer", ErrDirective)
	}
	d, err := checkDirective(d)
	if err != nil {
		return err
	}
	if !hst.f.Offer(uuid, d) {
		return fmt.Errorf("offer %s: %w", uuid, ErrNoOffer)
	}
	return nil
}

// crashPath is where fatal Go crash reports currently go.
var crashPath string

// setCrashOutput sends fatal Go crash reports to crash-log (default
// <fs-log-dir>/nwayacd-crash.log); under `freeswitch -nc` stderr goes nowhere.
func setCrashOutput(cfg map[string]string) {
	path := cfg["crash-log"]
	if path == "" && cfg["fs-log-dir"] != "" {
		path = filepath.Join(cfg["fs-log-dir"], "nwayacd-crash.log")
	}
	if path == "" || path == crashPath {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		logf(LogWarning, "crash log %s: %v", path, err)
		return
	}
	defer f.Close() // SetCrashOutput keeps its own duplicate of the descriptor
	if err := debug.SetCrashOutput(f, debug.CrashOptions{}); err != nil {
		logf(LogWarning, "crash log %s: %v", path, err)
		return
	}
	crashPath = path
}
