package service

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/hostexec"
	"github.com/nwayacd/mod_nwayacd/go/session"
)

// refusingSwitch answers -ERR to everything, as FreeSWITCH does for a
// channel that is gone; block makes it never answer until released.
type refusingSwitch struct {
	mu      sync.Mutex
	cmds    []string
	block   chan struct{} // nil: answer at once
	entered chan struct{}
}

func (f *refusingSwitch) API(cmd, args string) (string, error) {
	f.mu.Lock()
	f.cmds = append(f.cmds, cmd+" "+args)
	f.mu.Unlock()
	if f.block != nil {
		f.entered <- struct{}{}
		<-f.block
	}
	return "-ERR No such channel!\n", nil
}

// A -ERR from FreeSWITCH is the command's answer: call control says so
// instead of OK, over every path (SyncHost and the executor).
func TestControlReportsTheSwitchsRefusal(t *testing.T) {
	for _, sync := range []bool{true, false} {
		f := &refusingSwitch{}
		s := New(Options{Switch: f, SyncHost: sync})
		s.Start()
		s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelCreate, UUID: "chan-1", User: "1018"})
		for name, err := range map[string]error{
			"HoldUUID":   s.HoldUUID("chan-1"),
			"UnholdUUID": s.UnholdUUID("chan-1"),
			"Hold":       s.Hold("1018"),
			"Hangup":     s.Hangup("1018"),
			"Transfer":   s.Transfer("1018", "1003", ""),
			"Eavesdrop":  s.Eavesdrop("1018", "1019", ""),
			"PhoneHold":  s.PhoneHold("1018"),
		} {
			var he *hostexec.Error
			if !errors.Is(err, hostexec.ErrRefused) || !errors.As(err, &he) || !strings.Contains(err.Error(), "No such channel") {
				t.Errorf("sync=%v %s: got %v, want FreeSWITCH's refusal", sync, name, err)
			}
		}
		s.Stop()
		if st := s.Status(); st.HostFailed != 7 {
			t.Errorf("sync=%v: host_commands_failed %d, want 7", sync, st.HostFailed)
		}
	}
}

// A switch that does not answer: the command fails with a timeout after
// HostWait, and the core's lock is free meanwhile.
func TestControlTimesOutWithoutHoldingTheCore(t *testing.T) {
	f := &refusingSwitch{block: make(chan struct{}), entered: make(chan struct{}, 16)}
	s := New(Options{Switch: f, HostWait: 100 * time.Millisecond})
	s.Start()
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelCreate, UUID: "chan-1"})
	done := make(chan error, 1)
	go func() { done <- s.HoldUUID("chan-1") }()
	<-f.entered
	// While the switch is silent, the core still answers.
	must(t, s.AddGroup("120", acd.ModeSequential))
	select {
	case err := <-done:
		if !errors.Is(err, hostexec.ErrTimeout) {
			t.Fatalf("got %v, want a timeout", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("HoldUUID waited past its bound")
	}
	close(f.block)
	s.Stop()
}

// A full executor queue drops the command and says so, instead of OK.
func TestControlReportsAFullQueue(t *testing.T) {
	f := &refusingSwitch{block: make(chan struct{}), entered: make(chan struct{}, 16)}
	s := New(Options{Switch: f, HostQueue: 1, HostWait: 5 * time.Second})
	s.Start()
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelCreate, UUID: "chan-1"})
	errs := make(chan error, 8)
	for i := 0; i < 4; i++ { // occupy the four workers
		go func() { errs <- s.HoldUUID("chan-1") }()
		<-f.entered
	}
	// Two more: one fills the queue of one, the other finds it full.
	go func() { errs <- s.UnholdUUID("chan-1") }()
	go func() { errs <- s.UnholdUUID("chan-1") }()
	select {
	case err := <-errs:
		if !errors.Is(err, hostexec.ErrQueueFull) {
			t.Fatalf("got %v, want a full queue", err)
		}
	case <-time.After(4 * time.Second):
		t.Fatal("no command found the queue full")
	}
	if s.Status().HostDropped == 0 {
		t.Fatal("the drop is not counted")
	}
	close(f.block)
	for i := 0; i < 5; i++ {
		if err := <-errs; !errors.Is(err, hostexec.ErrRefused) {
			t.Errorf("a command that ran: %v, want the switch's -ERR", err)
		}
	}
	s.Stop()
}

// An outside caller who sets its caller ID to an agent's extension is never
// the target of that extension's call control; the agent's own channels are.
func TestControlByExtensionIgnoresCallerID(t *testing.T) {
	s, h, _, _ := newTest(t)
	// The spoofer calls in as "1018", and a leg rings out to "1018" that no
	// user/ dial string made (e.g. a gateway): neither belongs to 1018.
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelCreate, UUID: "spoof", Direction: "inbound", CallerNumber: "1018", DestNumber: "120"})
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelCreate, UUID: "gw-leg", Direction: "outbound", CallerNumber: "1018", DestNumber: "1018"})
	h.take()
	for name, err := range map[string]error{
		"Hangup":      s.Hangup("1018"),
		"Hold":        s.Hold("1018"),
		"Unhold":      s.Unhold("1018"),
		"Transfer":    s.Transfer("1018", "1003", ""),
		"Eavesdrop":   s.Eavesdrop("1018", "1011", ""),
		"ThreeWay":    s.ThreeWay("1011", "1018", ""),
		"PhoneHold":   s.PhoneHold("1018"),
		"PhoneUnhold": s.PhoneUnhold("1018"),
		"Answer":      s.Answer("1018"),
	} {
		if acd.CodeOf(err) != acd.ErrNoCall {
			t.Errorf("%s(1018) with only a spoofed channel: %v, want ErrNoCall", name, err)
		}
	}
	if got := h.take(); len(got) != 0 {
		t.Fatalf("acted on a spoofed channel: %q", got)
	}

	// 1018's own phone (authenticated as 1018) calls out: that one is 1018's.
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelCreate, UUID: "phone-1018", Direction: "inbound", CallerNumber: "1018", DestNumber: "9001", User: "1018"})
	// A newer spoofed channel does not take its place.
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelCreate, UUID: "spoof-2", Direction: "inbound", CallerNumber: "1018", DestNumber: "120"})
	must(t, s.Hangup("1018"))
	if got := h.take(); len(got) != 1 || got[0] != "uuid_kill phone-1018 NORMAL_CLEARING" {
		t.Fatalf("commands %q", got)
	}

	// The leg the module originated to 1018 for a queued call is 1018's too,
	// and preferred over its phone's other channels.
	d := s.Enter(session.Call{Kind: session.Queue, UUID: "call1", Group: "120", CallerNumber: "1018"})
	if d.Agent != "1011" {
		t.Fatalf("offered to %q", d.Agent)
	}
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelCreate, UUID: "leg-1011", Direction: "outbound", CallerNumber: "1018", DestNumber: "1011"})
	s.OfferResult(session.OfferResult{UUID: "call1", Agent: "1011", AgentUUID: "leg-1011", Outcome: session.Answered})
	h.take()
	must(t, s.Hold("1011"))
	if err := s.Hold("1018"); err != nil { // still 1018's own phone channel
		t.Fatal(err)
	}
	if got := h.take(); strings.Join(got, ",") != "uuid_hold leg-1011,uuid_hold phone-1018" {
		t.Fatalf("commands %q", got)
	}
}

// A user known only from a later event (a variable set after the channel was
// created) still makes the channel that extension's; an unknown channel's
// events make nothing up.
func TestChannelOwnerFromALaterEvent(t *testing.T) {
	s, h, _, _ := newTest(t)
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelCreate, UUID: "b-leg", Direction: "outbound", DestNumber: "1018"})
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelAnswer, UUID: "never-created", User: "1018"})
	if err := s.Hold("1018"); acd.CodeOf(err) != acd.ErrNoCall {
		t.Fatalf("before the user is known: %v", err)
	}
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelAnswer, UUID: "b-leg", Direction: "outbound", DestNumber: "1018", User: "1018"})
	h.take()
	must(t, s.Hold("1018"))
	if got := h.take(); len(got) != 1 || got[0] != "uuid_hold b-leg" {
		t.Fatalf("commands %q", got)
	}
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelDestroy, UUID: "b-leg"})
	if err := s.Hold("1018"); acd.CodeOf(err) != acd.ErrNoCall {
		t.Fatalf("after destroy: %v", err)
	}
}

// Without a switch nothing can happen, so nothing is acknowledged.
func TestControlWithoutASwitchIsUnavailable(t *testing.T) {
	s := New(Options{SyncHost: true})
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelCreate, UUID: "chan-1"})
	if err := s.HoldUUID("chan-1"); acd.CodeOf(err) != acd.ErrUnavailable {
		t.Fatalf("got %v, want ErrUnavailable", err)
	}
}
