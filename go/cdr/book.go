package cdr

import (
	"sync"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/event"
)

// Book keeps the Record of every call from its entry until its CDR is
// complete: the caller has left the application and FreeSWITCH's own
// hangup facts for the caller leg (stamps, disposition, record file) have
// arrived, or Grace has passed without them.
//
// While a complete CDR waits (for the hangup facts, or for a transferred
// caller's channel to end), the Book hands a provisional one to Keep, so that
// its owner can record it durably: a crash in those seconds must not lose the
// call's CDR. Forget follows once the call's CDR was emitted.
//
// Like a Record, a Book is not locked: its owner calls it under its own lock
// (Lock), which the grace timers take too.
type Book struct {
	grace  time.Duration
	loc    *time.Location
	lock   sync.Locker
	emit   func(uuid string, c event.CDR)
	keep   func(c event.CDR)
	forget func(uuid string)
	open   map[string]entry // by value: one allocation per call fewer
}

type entry struct {
	rec     *Record
	left    bool // the caller left the application
	away    bool // … but its channel goes on elsewhere (a transfer)
	legSeen bool // FreeSWITCH's hangup facts for the caller leg arrived
	kept    bool // a provisional CDR went to Keep: Forget it after the emit
	held    bool // … and the call waits for a callback (Hold)
	cb      bool // the call went through a callback: later legs keep the first one's start
}

// BookOptions configure a Book.
type BookOptions struct {
	// Grace is how long a call whose caller left waits for the caller leg's
	// hangup facts; 0 writes at once (deterministic owners such as the simulator).
	Grace    time.Duration
	Location *time.Location // how stamps are shown; nil: UTC
	Lock     sync.Locker    // the owner's lock, taken by grace timers
	// Emit receives each complete CDR once, with Lock held.
	Emit func(uuid string, c event.CDR)
	// Keep (optional) receives, with Lock held, the provisional CDR of a call
	// whose CDR now waits: its caller left, or its caller leg ended. It must
	// not block. Forget (optional) receives the uuid of a kept call right
	// after its CDR went to Emit.
	Keep   func(c event.CDR)
	Forget func(uuid string)
}

// NewBook returns an empty book.
func NewBook(o BookOptions) *Book {
	return &Book{grace: o.Grace, loc: o.Location, lock: o.Lock, emit: o.Emit, keep: o.Keep, forget: o.Forget,
		open: make(map[string]entry)}
}

// Open starts the record of the call whose caller channel is uuid (see New).
// A record still open under uuid is replaced without being written: callers
// Close it first.
func (b *Book) Open(uuid, group string, callout bool) *Record {
	r := New(uuid, group, callout)
	b.open[uuid] = entry{rec: r}
	return r
}

// Record returns the open record of call uuid, or nil.
func (b *Book) Record(uuid string) *Record {
	return b.open[uuid].rec
}

// CallerLeg merges FreeSWITCH's hangup facts for a caller leg (l.UUID is the
// call's uuid) and completes the record when the caller has already left.
// It reports whether l was the caller leg of an open call.
func (b *Book) CallerLeg(l Leg) bool {
	uuid := l.UUID
	e, ok := b.open[uuid]
	if !ok {
		return false
	}
	if e.cb { // a callback leg: the call started with the first one
		l.UUID, l.CallerIDNumber, l.DestinationNumber, l.Start = "", "", "", time.Time{}
	}
	e.rec.Caller(l)
	e.legSeen = true
	if e.held {
		b.open[uuid] = e
		return true
	}
	if !e.left && b.grace > 0 {
		b.keepNow(&e, l.End) // the leg ended before the application returned
	}
	b.open[uuid] = e
	if e.left {
		b.Close(uuid)
	}
	return true
}

// keepNow hands e's provisional CDR to Keep: the caller leg ends at end
// unless its own end is known.
func (b *Book) keepNow(e *entry, end time.Time) {
	if b.keep == nil {
		return
	}
	e.kept = true
	b.keep(e.rec.buildEnding(b.loc, end))
}

// Left records that the caller of call uuid left the application at at. The
// CDR is written now when the leg's facts are in (or Grace is 0), otherwise
// when they arrive or Grace has passed, whichever comes first.
func (b *Book) Left(uuid string, at time.Time) {
	e, ok := b.open[uuid]
	if !ok {
		return
	}
	e.left = true
	e.rec.Caller(Leg{End: at})
	if e.legSeen || b.grace <= 0 {
		b.open[uuid] = e
		b.Close(uuid)
		return
	}
	b.keepNow(&e, at)
	b.open[uuid] = e
	rec := e.rec // not e: its address is taken above, which would move it to the heap on every call
	time.AfterFunc(b.grace, func() {
		b.lock.Lock()
		defer b.lock.Unlock()
		if b.open[uuid].rec == rec { // not written meanwhile, nor a later visit of the same channel
			b.Close(uuid)
		}
	})
}

// Away records that the caller left the application while its channel goes
// on elsewhere (a transfer): the call is over only when the caller leg ends,
// so the CDR is written when its hangup facts arrive, with no grace timer.
// Its provisional CDR (see Keep) ends at at, the best known if the process
// dies with the call.
func (b *Book) Away(uuid string, at time.Time) {
	e, ok := b.open[uuid]
	if !ok {
		return
	}
	e.left, e.away = true, true
	if !e.legSeen {
		b.keepNow(&e, at)
	}
	b.open[uuid] = e
	if e.legSeen {
		b.Close(uuid)
	}
}

// Back records that a call that was Away entered the application again (a
// transfer's route into nway_bridge), or that a held callback's leg did:
// the same record goes on.
func (b *Book) Back(uuid string) {
	e, ok := b.open[uuid]
	if !ok {
		return
	}
	e.left, e.away, e.held = false, false, false
	e.legSeen = false // a held call's earlier legs ended; this one has not
	b.open[uuid] = e
}

// Hold records that the caller left to be called back: the call waits
// without a channel, its record open, until a callback leg comes Back (its
// facts then end the record as any caller leg's) or the owner Closes it
// (the callback was given up). A held call is persisted by its owner as a
// pending callback, not as a provisional CDR, and CloseAll leaves it out:
// it outlives a reload.
func (b *Book) Hold(uuid string, at time.Time) {
	e, ok := b.open[uuid]
	if !ok {
		return
	}
	e.left, e.held, e.cb = true, true, true
	e.rec.Caller(Leg{End: at})
	if e.kept && b.forget != nil {
		b.forget(uuid)
	}
	e.kept = false
	b.open[uuid] = e
}

// Held reports whether call uuid waits for a callback (Hold).
func (b *Book) Held(uuid string) bool { return b.open[uuid].held }

// Close writes call uuid's CDR with what is known now (a channel re-entering,
// an unload) and forgets the call. It reports whether the call was open.
func (b *Book) Close(uuid string) bool {
	e, ok := b.open[uuid]
	if !ok {
		return false
	}
	delete(b.open, uuid)
	b.emit(uuid, e.rec.Build(b.loc))
	if e.kept && b.forget != nil {
		b.forget(uuid)
	}
	return true
}

// Drop forgets call uuid without a CDR (a call the core refused to take).
func (b *Book) Drop(uuid string) { delete(b.open, uuid) }

// Len is how many calls are open.
func (b *Book) Len() int { return len(b.open) }

// CloseAll ends every open record at now (unload): calls still up get now
// as their caller leg's end, since FreeSWITCH is about to hang them up.
func (b *Book) CloseAll(now time.Time) {
	for uuid, e := range b.open {
		if e.held { // a pending callback: restored after the reload
			delete(b.open, uuid)
			continue
		}
		if !e.left || e.away {
			e.rec.Caller(Leg{End: now})
		}
		b.Close(uuid)
	}
}
