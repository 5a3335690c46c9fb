package service

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/event"
	"github.com/nwayacd/mod_nwayacd/go/session"
	"github.com/nwayacd/mod_nwayacd/go/store"
)

// cdrJournal records the CDR writes a service makes, in order.
type cdrJournal struct {
	Journal // the other writes are not used by these tests
	mu      sync.Mutex
	ops     []string
	pending map[string]event.CDR
}

func (j *cdrJournal) InsertCDR(c event.CDR) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.ops = append(j.ops, "cdr "+c.UUID)
}

func (j *cdrJournal) PutPendingCDR(c event.CDR) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.ops = append(j.ops, "pending "+c.UUID)
	j.pending[c.UUID] = c
}

func (j *cdrJournal) DeletePendingCDR(uuid string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.ops = append(j.ops, "delete pending "+uuid)
	delete(j.pending, uuid)
}

func (j *cdrJournal) AppendAgentLog(store.AgentLog) {}
func (j *cdrJournal) PutMemory(store.Memory)        {}
func (j *cdrJournal) SetCurrentExt(string, string)  {}
func (j *cdrJournal) UpsertGroup(store.Group)       {}

func (j *cdrJournal) state() (ops string, pending map[string]event.CDR) {
	j.mu.Lock()
	defer j.mu.Unlock()
	p := map[string]event.CDR{}
	for k, v := range j.pending {
		p[k] = v
	}
	return fmt.Sprint(j.ops), p
}

// A caller who left has its provisional CDR journaled at once (a crash
// before the caller leg's hangup event must not lose the CDR); the final CDR
// is journaled, then the provisional one deleted, in that order.
func TestPendingCDRWrittenAtLeaveRemovedAtClose(t *testing.T) {
	j := &cdrJournal{pending: map[string]event.CDR{}}
	c := &clock{t: t0}
	s := New(Options{Clock: c, Switch: &host{}, Publisher: &pub{}, Journal: j, SyncHost: true, Location: time.UTC, CDRGrace: time.Hour})
	must(t, s.AddGroup("120", acd.ModeSequential))
	s.Enter(session.Call{Kind: session.Queue, UUID: "c1", Group: "120", CallerNumber: "138", DestNumber: "120"})
	if ops, _ := j.state(); ops != "[]" {
		t.Fatalf("journaled before the caller left: %s", ops)
	}
	c.t = t0.Add(20 * time.Second)
	s.Leave("c1")
	ops, p := j.state()
	if ops != "[pending c1]" || p["c1"].AEndStamp != "2021-05-30 16:57:30" || p["c1"].ACallerIDNumber != "138" || p["c1"].Flag == "" {
		t.Fatalf("after leave: %s %+v", ops, p)
	}
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelHangupComplete, UUID: "c1", CallerNumber: "138", DestNumber: "120",
		StartUsec: t0.UnixMicro(), EndUsec: t0.Add(21 * time.Second).UnixMicro(), SIPHangupDisposition: "recv_bye"})
	ops, p = j.state()
	if ops != "[pending c1 cdr c1 delete pending c1]" || len(p) != 0 {
		t.Fatalf("after the caller leg's hangup: %s %+v", ops, p)
	}

	// An unload closes a waiting call the same way.
	s.Enter(session.Call{Kind: session.Queue, UUID: "c2", Group: "120", CallerNumber: "139", DestNumber: "120"})
	s.Leave("c2")
	s.Start()
	s.Stop()
	ops, p = j.state()
	if ops != "[pending c1 cdr c1 delete pending c1 pending c2 cdr c2 delete pending c2]" || len(p) != 0 {
		t.Fatalf("after stop: %s %+v", ops, p)
	}
}

// The simulator's service (no grace) writes each CDR at once: nothing pending.
func TestNoPendingCDRWithoutGrace(t *testing.T) {
	j := &cdrJournal{pending: map[string]event.CDR{}}
	s := New(Options{Clock: &clock{t: t0}, Switch: &host{}, Journal: j, ManualTimers: true, SyncHost: true})
	must(t, s.AddGroup("120", acd.ModeSequential))
	s.Enter(session.Call{Kind: session.Queue, UUID: "c1", Group: "120", CallerNumber: "138"})
	s.Leave("c1")
	if ops, _ := j.state(); ops != "[cdr c1]" {
		t.Fatalf("ops %s", ops)
	}
}
