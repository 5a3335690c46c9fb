package acd

import (
	"container/heap"
	"time"
)

type timerKind uint8

const (
	tOffer   timerKind = iota + 1 // an offer was not reported in time
	tWrapUp                       // wrap-up is over
	tMaxWait                      // a waiting call reached its group's maximum wait
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

type timerHeap []timer

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h timerHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)        { *h = append(*h, x.(timer)) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = timer{}
	*h = old[:len(old)-1]
	return t
}

func (e *Engine) arm(t timer) { heap.Push(&e.timers, t) }

// NextDeadline is when Tick next has work, if any timer is armed.
func (e *Engine) NextDeadline() (time.Time, bool) {
	if len(e.timers) == 0 {
		return time.Time{}, false
	}
	return e.timers[0].at, true
}

// Tick fires every timer that is due by the clock's now.
func (e *Engine) Tick() {
	now := e.now()
	for len(e.timers) > 0 && !e.timers[0].at.After(now) {
		t := heap.Pop(&e.timers).(timer)
		switch t.kind {
		case tOffer:
			if c := t.call; c.gen == t.gen && c.phase == phaseOffering {
				e.offerFailed(c, true)
			}
		case tWrapUp:
			if a := t.agent; a.wrapGen == t.gen && a.state == CallTyping && a.call == nil {
				e.afterWrapUp(a)
			}
		case tMaxWait:
			if c := t.call; c.waitGen == t.gen && (c.phase == phaseWaiting) {
				e.giveUp(c, ResultTimeout)
			}
		}
	}
}
