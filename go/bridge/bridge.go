// Package bridge is the Go side of the cgo boundary declared in
// include/nwayacd.h. The c-archive's main package exports the C entry points
// and forwards them here; this package converts C values, recovers panics,
// queues channel events, dispatches to a Handler (the service), and gives it
// the Host: FreeSWITCH's services, including the direct wake of a waiting
// session. It also declares the shim's applications and event bindings
// (bindings.go), which go generate writes into include/nwayacd_commands.h.
package bridge

import (
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nwayacd/mod_nwayacd/go/session"
)

// Handler is what the boundary drives. The service implements it (wired in
// go/cmd/mod_nwayacd/wire.go). Session methods run on FreeSWITCH session
// threads and must not block on I/O; ChannelEvent runs on the bridge's event
// goroutine; Start/Stop/Reload/Command run on FreeSWITCH's API threads.
type Handler interface {
	// Start brings the service up with the <settings> of nwayacd.conf.xml
	// (plus fs-log-dir, fs-db-dir, fs-conf-dir, fs-recordings-dir).
	// host is valid until Stop returns.
	Start(cfg map[string]string, host *Host) error
	// Stop stops REST, drains publishers and flushes the spool.
	Stop()
	// Reload applies a re-read configuration (`nwayacd reload`).
	// It returns the changed settings that wait for unload/load.
	Reload(cfg map[string]string) ([]string, error)
	// Command runs API command name (e.g. "nway_add_ext") with its raw
	// argument text and returns the full reply: "+OK …", "-ERR …" or a listing.
	Command(name, args string) string

	Enter(c session.Call) session.Directive
	Next(uuid string) session.Directive
	OfferResult(r session.OfferResult)
	// Transferring: FreeSWITCH moved the caller's channel out of the bridge
	// to dest; BridgeEnded follows.
	Transferring(uuid, dest string)
	BridgeEnded(uuid string)
	Leave(uuid string)
	ChannelEvent(ev *session.ChannelEvent)
}

// failCause is the hangup cause used when Go cannot give a sensible step.
const failCause = "NORMAL_TEMPORARY_FAILURE"

var (
	// mu guards h: session calls hold it shared for their (short) duration,
	// Start and Stop exclusively, so Stop never races a call in flight.
	mu      sync.RWMutex
	h       Handler
	factory func() Handler
	// host is read without mu by loggers on any goroutine.
	host atomic.Pointer[Host]
)

// SetFactory names the constructor Start uses to build a fresh Handler each
// time the module loads (a reload after unload starts from a clean Handler).
func SetFactory(f func() Handler) {
	mu.Lock()
	factory = f
	mu.Unlock()
}

// start builds and starts a Handler. It is the pure-Go part of Start.
func start(cfg map[string]string, hst *Host) (err error) {
	defer recovered("start", "", func(r any) { err = fmt.Errorf("internal error: %v", r) })
	mu.Lock()
	defer mu.Unlock()
	if h != nil {
		return fmt.Errorf("already started")
	}
	if factory == nil {
		return fmt.Errorf("no handler factory")
	}
	host.Store(hst)
	setCrashOutput(cfg)
	nh := factory()
	if err := nh.Start(cfg, hst); err != nil {
		host.Store(nil)
		return fmt.Errorf("start: %w", err)
	}
	h = nh
	events.start(nh)
	return nil
}

// stop stops the Handler and the event goroutine; safe when not started.
func stop() {
	defer recovered("stop", "", nil)
	mu.Lock()
	defer mu.Unlock()
	if h == nil {
		return
	}
	events.stop()
	old := h
	h = nil
	defer func() {
		if hst := host.Swap(nil); hst != nil {
			hst.close()
		}
	}()
	old.Stop()
}

func reload(cfg map[string]string) (reply string) {
	defer recovered("reload", "", func(any) { reply = "-ERR internal error" })
	mu.RLock()
	defer mu.RUnlock()
	if h == nil {
		return "-ERR nwayacd is not running"
	}
	waiting, err := h.Reload(cfg)
	if err != nil {
		return "-ERR reload: " + err.Error()
	}
	if len(waiting) > 0 {
		return "+OK reloaded; these changed settings take effect after unload/load: " + strings.Join(waiting, ", ")
	}
	return "+OK reloaded"
}

func command(name, args string) (reply string) {
	defer recovered("command", name, func(any) { reply = "-ERR internal error" })
	mu.RLock()
	defer mu.RUnlock()
	if h == nil {
		return "-ERR nwayacd is not running"
	}
	reply = h.Command(name, args)
	if reply == "" {
		reply = "-ERR no reply"
	}
	return reply
}

// Namer is what a Handler implements to fill fs_cli's tab completion.
type Namer interface {
	// Names returns the names of list, "extensions" or "groups"
	// (nil for another list).
	Names(list string) []string
}

// maxNames bounds a completion list: fs_cli shows it in one go.
const maxNames = 1000

// names is nwayacd_names: one name a line, "" when the Handler has none.
func names(list string) string {
	defer recovered("names", list, nil)
	mu.RLock()
	defer mu.RUnlock()
	n, ok := h.(Namer)
	if !ok {
		return ""
	}
	var b strings.Builder
	for i, s := range n.Names(list) {
		if i == maxNames {
			break
		}
		if s == "" || strings.ContainsAny(s, "\n\x00") {
			continue
		}
		b.WriteString(s)
		b.WriteByte('\n')
	}
	return b.String()
}

// hangupOnPanic is the directive a session gets when Go fails.
var hangupOnPanic = session.Directive{Action: session.Hangup, Cause: failCause}

func enter(c session.Call) (d session.Directive) {
	defer recovered("enter", c.UUID, func(any) { d = hangupOnPanic })
	mu.RLock()
	defer mu.RUnlock()
	if h == nil {
		return session.Directive{Action: session.Done}
	}
	return sanitize(c.UUID, h.Enter(c), h)
}

func next(uuid string) (d session.Directive) {
	defer recovered("next", uuid, func(any) { d = hangupOnPanic })
	mu.RLock()
	defer mu.RUnlock()
	if h == nil {
		return session.Directive{Action: session.Done}
	}
	return sanitize(uuid, h.Next(uuid), h)
}

// maxRetries bounds how often an unusable Offer is reported failed and Next
// asked again before the call is hung up.
const maxRetries = 3

// sanitize replaces a directive the C side cannot carry (see the limits in
// nwayacd.h) with a safe one, so nothing is truncated silently.
func sanitize(uuid string, d session.Directive, hd Handler) session.Directive {
	for i := 0; ; i++ {
		d2, err := checkDirective(d)
		if err == nil {
			return d2
		}
		logf(LogError, "directive for %s: %v", uuid, err)
		if d.Action != session.Offer || i >= maxRetries {
			return session.Directive{Action: session.Hangup, Cause: failCause}
		}
		hd.OfferResult(session.OfferResult{UUID: uuid, Agent: d.Agent, Outcome: session.Failed, Cause: "INVALID_NUMBER_FORMAT"})
		d = hd.Next(uuid)
	}
}

func offerResult(r session.OfferResult) {
	defer recovered("offer_result", r.UUID, nil)
	mu.RLock()
	defer mu.RUnlock()
	if h != nil {
		h.OfferResult(r)
	}
}

func transferring(uuid, dest string) {
	defer recovered("transferring", uuid, nil)
	mu.RLock()
	defer mu.RUnlock()
	if h != nil {
		h.Transferring(uuid, dest)
	}
}

func bridgeEnded(uuid string) {
	defer recovered("bridge_ended", uuid, nil)
	mu.RLock()
	defer mu.RUnlock()
	if h != nil {
		h.BridgeEnded(uuid)
	}
}

func leave(uuid string) {
	defer recovered("leave", uuid, nil)
	mu.RLock()
	defer mu.RUnlock()
	if h != nil {
		h.Leave(uuid)
	}
}

// recovered is deferred by every entry point (a Go panic inside FreeSWITCH
// would kill every call): it logs the panic with its stack and, when onPanic
// is given, lets it set the entry point's safe answer (a session thread gets
// a hangup). id (a uuid, a command) is joined to where only on a panic: the
// calls stay free of allocations.
func recovered(where, id string, onPanic func(r any)) {
	if r := recover(); r != nil {
		if id != "" {
			where += " " + id
		}
		logPanic(where, r)
		if onPanic != nil {
			onPanic(r)
		}
	}
}

// logPanic writes a recovered panic with its stack to FreeSWITCH's log.
func logPanic(where string, r any) {
	logf(LogCrit, "panic in %s: %v\n%s", where, r, debug.Stack())
}

// logf logs through the current host, if any; used where no Host is at hand.
func logf(level int, format string, args ...any) {
	if hst := host.Load(); hst != nil {
		hst.log(level, 2, fmt.Sprintf(format, args...))
	}
}
