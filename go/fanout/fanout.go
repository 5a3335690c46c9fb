// Package fanout hands published messages to live subscribers (those of
// Service.Subscribe; in the module, SSE and nwayacd::info come from
// publish.Sequencer), rendered on a goroutine of its own: a sender never
// blocks, and a slow reader loses messages rather than slowing calls.
package fanout

import (
	"sync"
	"sync/atomic"

	"github.com/nwayacd/mod_nwayacd/go/publish"
)

// Hub fans messages out to its subscribers. Its methods are safe for concurrent use.
type Hub struct {
	render func(publish.Message) []byte

	mu   sync.Mutex
	subs map[*sub]struct{}
	n    atomic.Int32 // len(subs), read without mu on the sender's path

	q       chan publish.Message
	stop    chan struct{}
	wg      sync.WaitGroup
	running atomic.Bool
	dropped atomic.Uint64
}

type sub struct {
	ch   chan []byte
	once sync.Once
}

// New returns a hub that queues up to queue messages (default 8192) and
// renders each once for all subscribers with render.
func New(queue int, render func(publish.Message) []byte) *Hub {
	if queue <= 0 {
		queue = 8192
	}
	return &Hub{render: render, subs: make(map[*sub]struct{}), q: make(chan publish.Message, queue)}
}

// Start runs the rendering goroutine; before Start (and after Stop) Send
// renders on the caller's goroutine.
func (h *Hub) Start() {
	if h.running.Load() {
		return
	}
	h.stop = make(chan struct{})
	h.wg.Add(1)
	go h.loop(h.stop)
	h.running.Store(true)
}

// Stop ends the goroutine after delivering what is queued. Subscribers stay
// open (CloseAll ends them).
func (h *Hub) Stop() {
	if !h.running.CompareAndSwap(true, false) {
		return
	}
	close(h.stop)
	h.wg.Wait()
}

// Subscribe returns a stream of rendered messages with room for buf
// (default 256); cancel ends it.
func (h *Hub) Subscribe(buf int) (<-chan []byte, func()) {
	if buf <= 0 {
		buf = 256
	}
	s := &sub{ch: make(chan []byte, buf)}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.n.Store(int32(len(h.subs)))
	h.mu.Unlock()
	return s.ch, func() {
		h.mu.Lock()
		delete(h.subs, s)
		h.n.Store(int32(len(h.subs)))
		h.mu.Unlock()
		s.once.Do(func() { close(s.ch) })
	}
}

// Send hands m to the subscribers. It never blocks: a full queue drops m.
func (h *Hub) Send(m publish.Message) {
	if h.n.Load() == 0 {
		return
	}
	if !h.running.Load() {
		h.deliver(m)
		return
	}
	select {
	case h.q <- m:
	default:
		h.dropped.Add(1)
	}
}

func (h *Hub) loop(stop chan struct{}) {
	defer h.wg.Done()
	for {
		select {
		case m := <-h.q:
			h.deliver(m)
		case <-stop:
			for {
				select {
				case m := <-h.q:
					h.deliver(m)
				default:
					return
				}
			}
		}
	}
}

func (h *Hub) deliver(m publish.Message) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.subs) == 0 {
		return
	}
	b := h.render(m)
	for s := range h.subs {
		select {
		case s.ch <- b:
		default:
		}
	}
}

// CloseAll ends every subscriber's stream.
func (h *Hub) CloseAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		delete(h.subs, s)
		s.once.Do(func() { close(s.ch) })
	}
	h.n.Store(0)
}

// Subscribers is how many streams are open.
func (h *Hub) Subscribers() int { return int(h.n.Load()) }

// Dropped counts messages dropped because the queue was full.
func (h *Hub) Dropped() uint64 { return h.dropped.Load() }
