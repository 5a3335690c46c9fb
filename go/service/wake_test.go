package service

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/session"
)

// wakingHost is a switch that wakes sessions itself, as bridge.Host does.
type wakingHost struct {
	host
	wmu  sync.Mutex
	woke []string
	fail bool
}

func (w *wakingHost) Wake(uuid string) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	w.woke = append(w.woke, uuid)
	if w.fail {
		return errors.New("no such session")
	}
	return nil
}

// A Waker switch wakes the waiting caller directly, with no API command;
// when its wake fails, uuid_break is the fallback.
func TestWakeUsesWaker(t *testing.T) {
	for _, fail := range []bool{false, true} {
		h := &wakingHost{fail: fail}
		s := New(Options{Clock: &clock{t: t0}, Switch: h, Publisher: &pub{}, ManualTimers: true, SyncHost: true,
			Location: time.UTC, Core: acd.Config{WrapUp: 30 * time.Second}})
		must(t, s.AddGroup("120", acd.ModeSequential))
		must(t, s.AddExtension("1011", "J1011"))
		must(t, s.SetRegistered("1011", true))
		must(t, s.Login("1011", []string{"120"}))
		must(t, s.SetBusy("1011"))
		if d := s.Enter(session.Call{Kind: session.Queue, UUID: "w1", Group: "120", CallerNumber: "139"}); d.Action != session.Wait {
			t.Fatalf("fail=%v: directive %+v, want a wait", fail, d)
		}
		must(t, s.SetReady("1011"))
		h.wmu.Lock()
		woke := h.woke
		h.wmu.Unlock()
		if len(woke) != 1 || woke[0] != "w1" {
			t.Fatalf("fail=%v: woke %q, want [w1]", fail, woke)
		}
		cmds := h.take()
		if !fail && len(cmds) != 0 {
			t.Errorf("direct wake still ran %q", cmds)
		}
		if fail && (len(cmds) != 1 || cmds[0] != "uuid_break w1 all") {
			t.Errorf("failed wake: commands %q, want uuid_break", cmds)
		}
		if d := s.Next("w1"); d.Action != session.Offer || d.Agent != "1011" {
			t.Errorf("fail=%v: after the wake %+v, want an offer to 1011", fail, d)
		}
	}
}
