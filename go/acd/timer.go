package acd

import (
	"cmp"
	"slices"
	"time"
)

type timerKind uint8

const (
	tOffer         timerKind = iota + 1 // an offer was not reported in time
	tWrapUp                             // wrap-up is over
	tMaxWait                            // a waiting call reached its group's maximum wait
	tReexamine                          // a waiting call's skills relax, a tier joins, or it overflows
	tCallback                           // a callback attempt was not reported in time
	tCallbackEntry                      // a caller keying in a callback number stopped
	tRest                               // an agent excused a failed offer (saturated switch) may take calls again
)

// timer entries are never removed: each carries the generation of its owner
// at arming time and is ignored when the owner has moved on.
type timer struct {
	at    time.Time
	kind  timerKind
	gen   uint64
	call  *call
	agent *agent
}

// timerHeap is a binary min-heap by deadline, typed so that pushing and
// popping does not box timers into interfaces (container/heap would).
type timerHeap []timer

func (h *timerHeap) push(t timer) {
	*h = append(*h, t)
	a := *h
	for i := len(a) - 1; i > 0; {
		p := (i - 1) / 2
		if !a[i].at.Before(a[p].at) {
			break
		}
		a[i], a[p] = a[p], a[i]
		i = p
	}
}

func (h *timerHeap) pop() timer {
	a := *h
	t := a[0]
	n := len(a) - 1
	a[0] = a[n]
	a[n] = timer{}
	a = a[:n]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && a[l].at.Before(a[m].at) {
			m = l
		}
		if r < n && a[r].at.Before(a[m].at) {
			m = r
		}
		if m == i {
			break
		}
		a[i], a[m] = a[m], a[i]
		i = m
	}
	*h = a
	return t
}

func (e *Engine) arm(t timer) { e.timers.push(t) }

// NextDeadline is when Tick next has work, if any timer is armed.
func (e *Engine) NextDeadline() (time.Time, bool) {
	if len(e.timers) == 0 {
		return time.Time{}, false
	}
	return e.timers[0].at, true
}

// Tick fires every timer that is due by the clock's now. Calls due for
// re-examination are taken best first (VIP, then oldest), so that an agent
// several of them now qualify for gets the one it would have chosen.
func (e *Engine) Tick() {
	now := e.now()
	defer e.reexamineDue()
	for len(e.timers) > 0 && !e.timers[0].at.After(now) {
		t := e.timers.pop()
		switch t.kind {
		case tOffer:
			if c := t.call; c.gen == t.gen && c.phase == phaseOffering {
				e.offerFailed(c, true)
			}
		case tCallback:
			if c := t.call; c.gen == t.gen && c.phase == phaseCallback {
				e.callbackFailed(c, false) // never reported: the caller is taken as not answering
			}
		case tCallbackEntry:
			if c := t.call; c.cbEntry && c.cbEntryGen == t.gen {
				e.endCallbackEntry(c)
			}
		case tWrapUp:
			if a := t.agent; a.wrapGen == t.gen && a.state == CallTyping && a.call == nil {
				e.afterWrapUp(a)
			}
		case tRest:
			if a := t.agent; a.wrapGen == t.gen && a.state == CallNoAnswer && a.call == nil && e.agents[a.ext] == a {
				e.afterNoAnswer(a)
			}
		case tMaxWait:
			c := t.call
			if c.waitGen != t.gen {
				break
			}
			if c.cb {
				break // a caller waiting for a callback keeps its place
			}
			switch c.phase {
			case phaseOffering:
				c.overdue = true // let the ringing agent answer; give up if it does not
			case phaseWaiting:
				e.giveUp(c, ResultTimeout)
			}
		case tReexamine:
			if c := t.call; c.life == t.gen && c.nextAt.Equal(t.at) {
				e.due = append(e.due, c)
			}
		}
	}
}

func (e *Engine) reexamineDue() {
	if len(e.due) == 0 {
		return
	}
	slices.SortFunc(e.due, func(a, b *call) int {
		if d := levelIndex(a.level) - levelIndex(b.level); d != 0 {
			return d
		}
		return cmp.Compare(a.seq, b.seq)
	})
	e.batch = e.gen()
	defer func() { e.batch = 0 }()
	for i, c := range e.due {
		e.due[i] = nil
		c.nextAt = time.Time{} // its timer fired
		e.reexamine(c)
	}
	e.due = e.due[:0]
}
