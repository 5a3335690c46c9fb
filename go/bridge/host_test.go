package bridge

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/nwayacd/mod_nwayacd/go/session"
)

func TestHostAPI(t *testing.T) {
	var gotCmd, gotArgs string
	out, ran := "+OK done\n", true
	hst := NewFuncHost(HostFuncs{API: func(cmd, args string) (string, bool) {
		gotCmd, gotArgs = cmd, args
		return out, ran
	}})
	s, err := hst.API("uuid_break", "abc all")
	if err != nil || s != "+OK done\n" || gotCmd != "uuid_break" || gotArgs != "abc all" {
		t.Fatalf("API = %q, %v (cmd %q args %q)", s, err, gotCmd, gotArgs)
	}
	out = "-ERR no such channel\n"
	if s, err = hst.API("uuid_break", "x"); !errors.Is(err, ErrAPI) || s != out || !strings.Contains(err.Error(), "no such channel") {
		t.Errorf("-ERR output: %q, %v", s, err)
	}
	out, ran = "", false
	if _, err = hst.API("nope", ""); !errors.Is(err, ErrAPI) {
		t.Errorf("command that could not run: %v", err)
	}
	hst.close()
	if _, err = hst.API("status", ""); !errors.Is(err, ErrStopped) {
		t.Errorf("after close: %v", err)
	}
}

func TestHostLogNamesCaller(t *testing.T) {
	var file, msg string
	var level int
	hst := NewFuncHost(HostFuncs{Log: func(l int, f string, line int, m string) { level, file, msg = l, f, m }})
	hst.Log(LogWarning, "queue full\n")
	if level != LogWarning || file != "host_test.go" || msg != "queue full" {
		t.Errorf("log got level %d file %q msg %q", level, file, msg)
	}
}

func TestHostFireEvent(t *testing.T) {
	var sub, body string
	var hdrs [][2]string
	ok := true
	hst := NewFuncHost(HostFuncs{FireEvent: func(s string, h [][2]string, b string) bool {
		sub, hdrs, body = s, h, b
		return ok
	}})
	if err := hst.FireEvent("", [][2]string{{"Action", "agent"}}, `{"a":1}`); err != nil {
		t.Fatal(err)
	}
	if sub != EventSubclass || len(hdrs) != 1 || hdrs[0][1] != "agent" || body != `{"a":1}` {
		t.Errorf("fired %q %v %q", sub, hdrs, body)
	}
	ok = false
	if err := hst.FireEvent(EventSubclass, nil, ""); err == nil {
		t.Error("a failed fire reported no error")
	}
}

func TestHostWake(t *testing.T) {
	var got []string
	h := NewFuncHost(HostFuncs{Wake: func(uuid string) bool { got = append(got, uuid); return uuid == "here" }})
	if err := h.Wake("here"); err != nil {
		t.Errorf("Wake(here) = %v", err)
	}
	if err := h.Wake("gone"); !errors.Is(err, ErrNoSession) {
		t.Errorf("Wake(gone) = %v, want ErrNoSession", err)
	}
	if len(got) != 2 || got[0] != "here" || got[1] != "gone" {
		t.Errorf("wake callback got %q", got)
	}
	if err := NewFuncHost(HostFuncs{}).Wake("x"); !errors.Is(err, ErrNoWake) {
		t.Errorf("no callback: %v, want ErrNoWake", err)
	}
	h.close()
	if err := h.Wake("here"); !errors.Is(err, ErrStopped) {
		t.Errorf("after close: %v, want ErrStopped", err)
	}
}

func TestHostOffer(t *testing.T) {
	var got []session.Directive
	ok := true
	h := NewFuncHost(HostFuncs{Offer: func(uuid string, d session.Directive) bool {
		if uuid == "c1" {
			got = append(got, d)
		}
		return ok
	}})
	offer := session.Directive{Action: session.Offer, Dial: "{origination_uuid=l1}user/1000", Agent: "1000", TimeoutMS: 15000}
	if err := h.Offer("c1", offer); err != nil || len(got) != 1 || got[0].Dial != offer.Dial || got[0].Agent != "1000" {
		t.Fatalf("offer: %v %+v", err, got)
	}
	if err := h.Offer("c1", session.Directive{Action: session.Wait}); !errors.Is(err, ErrDirective) {
		t.Fatalf("a wait handed over as an offer: %v", err)
	}
	big := offer
	big.Dial = strings.Repeat("x", dialLen)
	if err := h.Offer("c1", big); !errors.Is(err, ErrDirective) || len(got) != 1 {
		t.Fatalf("an oversized dial string reached the shim: %v", err)
	}
	ok = false
	if err := h.Offer("c1", offer); !errors.Is(err, ErrNoOffer) {
		t.Fatalf("declined offer: %v", err)
	}
	if err := NewFuncHost(HostFuncs{}).Offer("c1", offer); !errors.Is(err, ErrNoOffer) {
		t.Fatalf("no offer callback: %v", err)
	}
	h.close()
	if err := h.Offer("c1", offer); !errors.Is(err, ErrStopped) {
		t.Fatalf("after stop: %v", err)
	}
}

// The switch's idle CPU crosses as a busy percent where 0 means not known:
// a wholly idle switch must not read as unknown, nor an unknown one as idle.
func TestCPUBusyKeepsIdleApartFromUnknown(t *testing.T) {
	for _, c := range []struct{ idle, busy float64 }{
		{-1, 0}, {math.NaN(), 0}, {101, 0}, {100, 0.001}, {90, 10}, {3, 97}, {0, 100},
	} {
		if got := cpuBusy(c.idle); got != c.busy {
			t.Errorf("cpuBusy(%v) = %v, want %v", c.idle, got, c.busy)
		}
	}
}
