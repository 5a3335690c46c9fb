package main

// TEMPORARY: the lead replaces this file with the real service wiring.
// tempHandler only lets the stand-in host exercise the boundary: it answers
// every command, and walks a call through wait → offer → hangup/done.

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/nwayacd/mod_nwayacd/go/bridge"
	"github.com/nwayacd/mod_nwayacd/go/session"
)

func newHandler() bridge.Handler { return &tempHandler{calls: map[string]*tempCall{}} }

type tempCall struct {
	c     session.Call
	step  int
	offer session.Outcome
}

type tempHandler struct {
	mu     sync.Mutex
	host   *bridge.Host
	cfg    map[string]string
	calls  map[string]*tempCall
	events atomic.Int64
}

func (t *tempHandler) Start(cfg map[string]string, host *bridge.Host) error {
	if cfg["fail-start"] == "true" {
		return fmt.Errorf("fail-start is set")
	}
	t.cfg, t.host = cfg, host
	host.Log(bridge.LogInfo, "nwayacd: temporary handler started")
	return nil
}

func (t *tempHandler) Stop() {}

func (t *tempHandler) Reload(cfg map[string]string) error {
	t.mu.Lock()
	t.cfg = cfg
	t.mu.Unlock()
	return nil
}

// usage: minimum argument counts of the commands that take arguments.
var usage = map[string]int{
	"nway_add_ext": 1, "nway_set_ext_jobnumber": 3, "nway_rm_ext": 1, "nway_set_reged_ext": 1,
	"nway_set_unreg_ext": 1, "nway_add_group": 2, "nway_rm_group": 1, "nway_set_ring_group": 5,
	"nway_login": 2, "nway_logout": 1, "nway_busy": 1, "nway_ready": 1, "nwayacd_transfer": 2,
	"nway_uuid_hold": 1, "nway_uuid_unhold": 1, "nway_threeway": 2, "nway_set_ext_dialstring": 2,
	"nway_set_callstate": 2, "nway_set_group": 3, "nway_add_blacklist": 2, "nway_rm_blacklist": 2,
	"nway_add_vip": 2, "nway_rm_vip": 2, "nwayacd": 1,
}

func (t *tempHandler) Command(name, args string) string {
	f := strings.Fields(args)
	switch name {
	case "nwayacd_version":
		return "+OK nwayacd temporary\n"
	case "nway_list_exts", "nway_list_groups", "nway_list_queue":
		return "+OK 0 rows\n"
	case "nwayacd":
		if len(f) == 1 && f[0] == "status" {
			t.mu.Lock()
			n := len(t.calls)
			t.mu.Unlock()
			return fmt.Sprintf("+OK calls=%d events=%d\n", n, t.events.Load())
		}
	}
	min, ok := usage[name]
	if !ok {
		return "-ERR unknown command " + name + "\n"
	}
	if len(f) < min || strings.ContainsRune(args, 0) || strings.ContainsRune(args, 1) || !utf8.ValidString(args) {
		return "-ERR usage: " + name + "\n"
	}
	return "+OK\n"
}

func (t *tempHandler) Enter(c session.Call) session.Directive {
	t.mu.Lock()
	t.calls[c.UUID] = &tempCall{c: c}
	t.mu.Unlock()
	return t.Next(c.UUID)
}

func (t *tempHandler) Next(uuid string) session.Directive {
	t.mu.Lock()
	defer t.mu.Unlock()
	tc := t.calls[uuid]
	if tc == nil {
		return session.Directive{Action: session.Done}
	}
	tc.step++
	switch {
	case tc.step == 1 && tc.c.Kind == session.Queue:
		return session.Directive{Action: session.Wait, File: "local_stream://moh", TimeoutMS: 100}
	case tc.offer == 0:
		dial := "{nwayacd_call=" + uuid + "}user/1000"
		if tc.c.Kind == session.Callout {
			dial = "sofia/gateway/" + tc.c.Gateway + "/" + tc.c.Target
		} else if tc.c.Kind == session.Direct {
			dial = "user/" + tc.c.Target
		}
		return session.Directive{Action: session.Offer, Dial: dial, Agent: "1000", TimeoutMS: 15000, CallerNumber: tc.c.CallerNumber}
	case tc.offer == session.Answered && tc.c.Kind == session.Queue:
		return session.Directive{Action: session.Hangup, Cause: "NORMAL_CLEARING"}
	case tc.offer == session.NoAnswer:
		tc.offer = session.Failed // play once, then hang up
		return session.Directive{Action: session.Play, File: "/nway/busy.wav", Loops: 2}
	case tc.offer == session.Failed:
		return session.Directive{Action: session.Hangup, File: "/nway/busy.wav", Cause: "USER_BUSY"}
	}
	return session.Directive{Action: session.Done, Vars: [][2]string{{"nwayacd_result", fmt.Sprint(int(tc.offer))}}}
}

func (t *tempHandler) OfferResult(r session.OfferResult) {
	t.mu.Lock()
	if tc := t.calls[r.UUID]; tc != nil {
		tc.offer = r.Outcome
	}
	t.mu.Unlock()
}

func (t *tempHandler) BridgeEnded(string) {}

func (t *tempHandler) Leave(uuid string) {
	t.mu.Lock()
	delete(t.calls, uuid)
	t.mu.Unlock()
}

func (t *tempHandler) ChannelEvent(ev *session.ChannelEvent) {
	t.events.Add(1)
	if ev.Kind == session.ChannelDTMF && ev.DTMF == "#" {
		// lets the stand-in host check host calls made from a Go goroutine
		go func() {
			out, err := t.host.API("nway_echo", ev.UUID)
			_ = t.host.FireEvent(bridge.EventSubclass, [][2]string{{"Action", "dtmf"}, {"Echo", out}}, fmt.Sprint(err))
		}()
	}
}
