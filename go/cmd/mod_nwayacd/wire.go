package main

import (
	"bytes"
	"log/slog"
	"os"
	"runtime"
	"sync/atomic"

	"github.com/nwayacd/mod_nwayacd/go/bridge"
	"github.com/nwayacd/mod_nwayacd/go/logx"
	"github.com/nwayacd/mod_nwayacd/go/node"
	"github.com/nwayacd/mod_nwayacd/go/service"
)

// newHandler is the real module: a node whose switch is FreeSWITCH itself.
func newHandler() bridge.Handler { return &handler{} }

// handler is the module's bridge.Handler: lifecycle and commands here, the
// session protocol straight from the embedded service.
type handler struct {
	*service.Service
	n    *node.Node
	host *bridge.Host
	// firing: nwayacd::info events may be fired (not once Stop began:
	// the switch is unloading the module)
	firing atomic.Bool
}

func (h *handler) Start(cfg map[string]string, host *bridge.Host) error {
	h.host = host
	h.firing.Store(true)
	n, err := node.Start(cfg, node.Options{
		Switch: host,
		Logger: logx.New(func(level int, line string) { host.Log(level, "nwayacd: "+line) }, slog.LevelDebug),
		// nwayacd::info carries the same messages as RabbitMQ, so plain
		// ESL clients can follow queues, agents and offers without a
		// broker. They are fired from the sequencer's own wake, on the
		// publishers' grid: no goroutine hand-off per message.
		Tap: func(b []byte) {
			if h.firing.Load() {
				host.FireEvent(bridge.EventSubclass, [][2]string{{"Action", action(b)}}, string(b))
			}
		},
	})
	if err != nil {
		h.firing.Store(false)
		return err
	}
	h.n, h.Service = n, n.Service
	limitProcs(n.GoMaxProcs())
	bridge.SetEventPacing(n.PublishLinger(), service.PromptEvents)
	return nil
}

// limitProcs runs the module's Go code on go-max-procs cores at once
// unless FreeSWITCH was started with GOMAXPROCS set; 0 is Go's choice.
// With one P the runtime's own wake-ups inside the switch cost less
// (measured at 20 calls/s: ~12.6% of FreeSWITCH's CPU against ~14.3%), but
// a FreeSWITCH thread calling in waits while that P runs a goroutine, which
// showed in the offer's p99 at 50 calls/s: an operator's trade, not a
// default.
func limitProcs(p int) {
	switch {
	case os.Getenv("GOMAXPROCS") != "":
	case p > 0:
		runtime.GOMAXPROCS(p)
	default:
		// The runtime outlives unload/load (-z nodelete): a 1 set by an
		// earlier load must not stay.
		runtime.SetDefaultGOMAXPROCS()
	}
}

// action names a message for ESL filters: its "type", or its "method" when
// it has one (callout, nway_queue_add …).
func action(b []byte) string {
	for _, key := range []string{`"method":"`, `"type":"`} {
		if i := bytes.Index(b, []byte(key)); i >= 0 {
			rest := b[i+len(key):]
			if j := bytes.IndexByte(rest, '"'); j >= 0 {
				return string(rest[:j])
			}
		}
	}
	return "unknown"
}

func (h *handler) Stop() {
	h.firing.Store(false)
	if h.n != nil {
		h.n.Stop()
	}
}

func (h *handler) Reload(cfg map[string]string) ([]string, error) { return h.n.Reload(cfg) }
func (h *handler) Command(name, args string) string               { return h.n.Command(name, args) }

// Names fills fs_cli's completion of extension and group arguments.
func (h *handler) Names(list string) []string {
	if h.Service == nil {
		return nil
	}
	var out []string
	switch list {
	case "extensions":
		for _, e := range h.Extensions() {
			out = append(out, e.Extension)
		}
	case "groups":
		for _, g := range h.Groups() {
			out = append(out, g.Number)
		}
	}
	return out
}
