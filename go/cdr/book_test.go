package cdr

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/event"
)

type sink struct {
	mu   sync.Mutex
	cdrs []event.CDR
}

func (s *sink) emit(_ string, c event.CDR) { s.cdrs = append(s.cdrs, c) }

func (s *sink) got() []event.CDR {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]event.CDR(nil), s.cdrs...)
}

func newBook(grace time.Duration) (*Book, *sink) {
	s := &sink{}
	return NewBook(BookOptions{Grace: grace, Location: cst, Lock: &s.mu, Emit: s.emit}), s
}

// leaveForTheGrace opens a call whose caller leaves without the caller
// leg's facts (under the Book's lock, as a switch thread holds it), then
// waits up to 5s for the grace timer's CDR to reach s.
func leaveForTheGrace(b *Book, s *sink) {
	s.mu.Lock()
	b.Open(uuid, "120", false).Caller(seedCaller())
	b.Left(uuid, at(16, 57, 29))
	s.mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for len(s.got()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
}

// The caller leaves, then FreeSWITCH's hangup facts arrive: one CDR, with
// the switch's own end stamp and disposition.
func TestBookWaitsForTheCallerLegsFacts(t *testing.T) {
	b, s := newBook(time.Hour)
	r := b.Open(uuid, "120", false)
	r.Caller(seedCaller())
	r.NoAnswer("1011", at(16, 57, 11))
	b.Left(uuid, at(16, 57, 28))
	if len(s.got()) != 0 {
		t.Fatal("written before the caller leg's facts or the grace")
	}
	if !b.CallerLeg(Leg{UUID: uuid, End: at(16, 57, 29), HangupDisposition: "recv_bye"}) {
		t.Fatal("caller leg of an open call not taken")
	}
	got := s.got()
	if len(got) != 1 || got[0].AEndStamp != "2021-05-30 16:57:29" || got[0].ASIPHangupDisposition != "recv_bye" {
		t.Fatalf("CDRs %+v", got)
	}
	if b.Len() != 0 || b.CallerLeg(Leg{UUID: uuid}) {
		t.Fatal("a written call is still open")
	}
}

// Facts first, then the caller leaves: written at once.
func TestBookFactsFirst(t *testing.T) {
	b, s := newBook(time.Hour)
	b.Open(uuid, "120", false)
	b.CallerLeg(seedCaller())
	if len(s.got()) != 0 {
		t.Fatal("written while the caller is still in the application")
	}
	b.Left(uuid, at(16, 57, 29))
	if len(s.got()) != 1 {
		t.Fatalf("%d CDRs", len(s.got()))
	}
}

// No facts: the grace timer writes what is known, once.
func TestBookGraceWritesWhatIsKnown(t *testing.T) {
	b, s := newBook(20 * time.Millisecond)
	leaveForTheGrace(b, s)
	got := s.got()
	if len(got) != 1 || got[0].AEndStamp != "2021-05-30 16:57:29" {
		t.Fatalf("CDRs %+v", got)
	}
}

// A channel sent on to nwayacd again: the first visit is written at once,
// and its grace timer never writes the second visit early.
func TestBookSecondVisitOfTheSameChannel(t *testing.T) {
	b, s := newBook(20 * time.Millisecond)
	s.mu.Lock()
	b.Open(uuid, "120", false)
	b.Left(uuid, at(16, 57, 20))
	b.Close(uuid)
	b.Open(uuid, "121", false)
	s.mu.Unlock()
	time.Sleep(100 * time.Millisecond)
	got := s.got()
	if len(got) != 1 || got[0].Group != "120" {
		t.Fatalf("CDRs %+v", got)
	}
	s.mu.Lock()
	b.CloseAll(at(16, 58, 0))
	s.mu.Unlock()
	got = s.got()
	if len(got) != 2 || got[1].Group != "121" || got[1].AEndStamp != "2021-05-30 16:58:00" {
		t.Fatalf("CDRs after CloseAll %+v", got)
	}
}

func TestBookDropWritesNothing(t *testing.T) {
	b, s := newBook(0)
	b.Open(uuid, "120", false)
	b.Drop(uuid)
	b.Left(uuid, at(16, 57, 29))
	b.CloseAll(at(16, 58, 0))
	if len(s.got()) != 0 || b.Record(uuid) != nil {
		t.Fatal("a dropped call was written")
	}
}

// A transferred caller leaves the application but talks on: the CDR waits
// for its leg to end, however long that takes, and a return to the
// application (nway_bridge after the transfer) keeps the same record.
func TestBookAwayWaitsForTheCallerLeg(t *testing.T) {
	b, s := newBook(time.Millisecond)
	r := b.Open(uuid, "120", false)
	r.Caller(seedCaller())
	r.Answered("1011", Leg{Start: at(16, 57, 11), Answer: at(16, 57, 12)})
	r.Transferred("1012")
	b.Away(uuid, at(16, 57, 30))
	b.Back(uuid) // the transfer's route enters nway_bridge
	b.Away(uuid, at(16, 57, 30))
	time.Sleep(20 * time.Millisecond) // longer than the grace: no timer for a transfer
	if len(s.got()) != 0 || b.Record(uuid) != r {
		t.Fatal("a transferred call was written before its caller leg ended")
	}
	b.CallerLeg(Leg{UUID: uuid, End: at(16, 59, 0), HangupDisposition: "send_bye"})
	got := s.got()
	if len(got) != 1 || got[0].Flag != FlagTransferred || got[0].AEndStamp != "2021-05-30 16:59:00" || got[0].ABillsec != "110" {
		t.Fatalf("CDRs %+v", got)
	}
}

// Unload with a transferred call still talking: it ends now.
func TestBookCloseAllEndsAwayCalls(t *testing.T) {
	b, s := newBook(time.Hour)
	b.Open(uuid, "120", false).Caller(seedCaller())
	b.Away(uuid, at(16, 57, 30))
	b.CloseAll(at(17, 0, 0))
	got := s.got()
	if len(got) != 1 || got[0].AEndStamp != "2021-05-30 17:00:00" {
		t.Fatalf("CDRs %+v", got)
	}
}

// keeper records what a Book hands to Keep and Forget, in order.
type keeper struct {
	sink
	kept   map[string]event.CDR // provisional CDRs not yet forgotten
	events []string
}

func (k *keeper) emit(u string, c event.CDR) {
	k.sink.emit(u, c)
	k.events = append(k.events, "emit "+u)
}
func (k *keeper) keep(c event.CDR) { k.kept[c.UUID] = c; k.events = append(k.events, "keep "+c.UUID) }
func (k *keeper) forget(u string)  { delete(k.kept, u); k.events = append(k.events, "forget "+u) }

func newKeptBook(grace time.Duration) (*Book, *keeper) {
	k := &keeper{kept: map[string]event.CDR{}}
	return NewBook(BookOptions{Grace: grace, Location: cst, Lock: &k.mu, Emit: k.emit, Keep: k.keep, Forget: k.forget}), k
}

// While the CDR waits for the caller leg's facts, its provisional CDR is
// kept (what a crash now would leave); the final CDR forgets it, after the emit.
func TestBookKeepsTheWaitingCDR(t *testing.T) {
	b, k := newKeptBook(time.Hour)
	r := b.Open(uuid, "120", false)
	r.Caller(seedCaller())
	r.Answered("1011", Leg{Start: at(16, 57, 11), Answer: at(16, 57, 12)})
	if len(k.events) != 0 {
		t.Fatalf("kept before the caller left: %v", k.events)
	}
	b.Left(uuid, at(16, 57, 28))
	p, ok := k.kept[uuid]
	if !ok || len(k.got()) != 0 {
		t.Fatalf("after Left: kept %v, emitted %d", k.kept, len(k.got()))
	}
	if p.AEndStamp != "2021-05-30 16:57:28" || p.ADestinationNumber != "120" || p.DestinationNumber != "1011" || p.Flag != FlagAnswered {
		t.Fatalf("provisional CDR %+v", p)
	}
	b.CallerLeg(Leg{UUID: uuid, End: at(16, 57, 29), HangupDisposition: "recv_bye"})
	if len(k.kept) != 0 || len(k.got()) != 1 {
		t.Fatalf("after the caller leg: kept %v, emitted %d", k.kept, len(k.got()))
	}
	want := []string{"keep " + uuid, "emit " + uuid, "forget " + uuid}
	if fmt.Sprint(k.events) != fmt.Sprint(want) {
		t.Fatalf("order %v, want %v", k.events, want)
	}
}

// The grace timer's CDR forgets the kept one too; a CDR written at once
// (facts first, or no grace) keeps nothing.
func TestBookKeepForgetPaths(t *testing.T) {
	b, k := newKeptBook(10 * time.Millisecond)
	leaveForTheGrace(b, &k.sink)
	k.mu.Lock()
	if len(k.kept) != 0 || len(k.cdrs) != 1 {
		t.Fatalf("after the grace: kept %v, emitted %d", k.kept, len(k.cdrs))
	}
	k.mu.Unlock()

	b, k = newKeptBook(0)
	b.Open(uuid, "120", false)
	b.Left(uuid, at(16, 57, 29))
	if len(k.events) != 1 || k.events[0] != "emit "+uuid {
		t.Fatalf("no grace: %v", k.events)
	}

	// The caller leg ends while the caller is still in the application: kept
	// (with the leg's own end), then Left writes at once and forgets it.
	b, k = newKeptBook(time.Hour)
	b.Open(uuid, "120", false).Caller(seedCaller())
	b.CallerLeg(seedHangup())
	b.CallerLeg(Leg{UUID: uuid, End: at(16, 57, 29)})
	if p := k.kept[uuid]; p.AEndStamp != "2021-05-30 16:57:29" {
		t.Fatalf("leg ended first: kept %+v", k.kept)
	}
	b.Left(uuid, at(16, 57, 30))
	if len(k.kept) != 0 || len(k.got()) != 1 {
		t.Fatalf("leg ended first, then left: kept %v, emitted %d", k.kept, len(k.got()))
	}
}

// A transferred caller: kept with the transfer's time as its end (the best
// known if the process dies with the call); the real end replaces it.
func TestBookKeepsAwayCalls(t *testing.T) {
	b, k := newKeptBook(time.Hour)
	r := b.Open(uuid, "120", false)
	r.Caller(seedCaller())
	r.Answered("1011", Leg{Start: at(16, 57, 11), Answer: at(16, 57, 12)})
	r.Transferred("1012")
	b.Away(uuid, at(16, 58, 0))
	if p := k.kept[uuid]; p.AEndStamp != "2021-05-30 16:58:00" || p.Flag != FlagTransferred {
		t.Fatalf("kept %+v", k.kept)
	}
	if r.caller.End != (time.Time{}) {
		t.Fatal("keeping changed the record")
	}
	b.CallerLeg(Leg{UUID: uuid, End: at(16, 59, 0), HangupDisposition: "send_bye"})
	got := k.got()
	if len(k.kept) != 0 || len(got) != 1 || got[0].AEndStamp != "2021-05-30 16:59:00" {
		t.Fatalf("kept %v, CDRs %+v", k.kept, got)
	}
	// Dropped calls and calls closed before leaving keep nothing.
	b.Open("other", "120", false)
	b.Close("other")
	if len(k.events) != 3+1 {
		t.Fatalf("events %v", k.events)
	}
}

// A call held for a callback: its first leg's facts and failed callback
// legs do not write it, nor does an unload (CloseAll); the callback leg
// that comes Back ends it, keeping the first leg's start and caller.
func TestBookHoldsACallback(t *testing.T) {
	b, s := newBook(time.Hour)
	r := b.Open(uuid, "120", false)
	r.Caller(Leg{UUID: uuid, CallerIDNumber: "13900000001", DestinationNumber: "120", Start: at(16, 57, 10)})
	r.Callback()
	b.Hold(uuid, at(16, 57, 20))
	b.CallerLeg(Leg{UUID: uuid, CallerIDNumber: "13900000001", End: at(16, 57, 21)})
	b.CallerLeg(Leg{UUID: uuid, CallerIDNumber: "120", DestinationNumber: "13900000001", Start: at(17, 0, 0), End: at(17, 0, 30)})
	if len(s.got()) != 0 || !b.Held(uuid) {
		t.Fatal("a held call was written")
	}
	b.Back(uuid)
	r.Answered("1011", Leg{Start: at(17, 1, 0), Answer: at(17, 1, 5)})
	b.Left(uuid, at(17, 3, 0))
	b.CallerLeg(Leg{UUID: uuid, CallerIDNumber: "120", Start: at(17, 0, 50), Answer: at(17, 0, 55), End: at(17, 3, 1)})
	got := s.got()
	if len(got) != 1 || got[0].AStartStamp != "2021-05-30 16:57:10" || got[0].ACallerIDNumber != "13900000001" ||
		got[0].AEndStamp != "2021-05-30 17:03:01" || got[0].Flag != FlagCallback {
		t.Fatalf("CDR %+v", got)
	}
	// Held at an unload: no CDR (the pending callback is restored after it).
	b.Open("other", "120", false).Callback()
	b.Hold("other", at(17, 5, 0))
	b.CloseAll(at(17, 6, 0))
	if len(s.got()) != 1 || b.Len() != 0 {
		t.Fatalf("CloseAll wrote a held call: %d CDRs, %d open", len(s.got()), b.Len())
	}
}
