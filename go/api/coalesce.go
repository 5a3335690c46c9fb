package api

import (
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// coalescer shares one encoding of a list answer among the requests that
// arrive while the previous encoding is running. Dashboards poll
// get_extensions and queues from many desks at once, and each answer is
// hundreds of kilobytes; encoding once per batch instead of once per
// request is what keeps concurrent polling cheap.
//
// It stays exact: a request only ever joins a batch that has not started
// yet, so its answer is a snapshot taken after it arrived.
//
// Kept over golang.org/x/sync/singleflight, which lets a request join a
// build that began before it arrived (a stale answer; see
// TestCoalescerSnapshotsAfterArrival) and re-panics in every waiter's
// goroutine; sharing is worth it per BenchmarkQueues (3,186 vs 253 req/s
// without sharing) and BenchmarkGetExtensions (128 vs 29 req/s).
//
// The body is shared read-only by every member (fasthttp's SetBodyRaw, no
// copy) and left to the garbage collector, as nobody knows when the last
// response carrying it has been written.
type coalescer struct {
	mu      sync.Mutex
	ver     uint64 // state version the cached body was built at (0: none)
	cached  []byte
	running bool
	next    *batch       // collecting members; starts when the running one ends
	size    atomic.Int64 // last body size: the next buffer's capacity
}

type batch struct {
	done   chan struct{}
	body   []byte
	failed any // the panic value and stack, when the build panicked
}

// do calls use with a body built by build after the call began. The body
// must not be modified.
func (c *coalescer) do(build func([]byte) []byte, use func([]byte)) (failed any) {
	c.mu.Lock()
	if c.next == nil {
		c.next = &batch{done: make(chan struct{})}
	}
	b := c.next
	start := !c.running
	if start {
		c.running = true
		c.next = nil
	}
	c.mu.Unlock()
	if start {
		c.run(b, build)
	}
	<-b.done
	if b.failed != nil {
		return b.failed
	}
	use(b.body)
	return nil
}

// run builds b, then hands the next batch (if any) to a new goroutine so
// that no requester keeps building for others indefinitely.
func (c *coalescer) run(b *batch, build func([]byte) []byte) {
	func() {
		defer func() {
			if v := recover(); v != nil {
				b.failed = fmt.Sprintf("%v\n%s", v, debug.Stack())
			}
		}()
		b.body = build(make([]byte, 0, c.size.Load()+c.size.Load()/8))
		c.size.Store(int64(len(b.body)))
	}()
	close(b.done)
	c.mu.Lock()
	nb := c.next
	if nb == nil {
		c.running = false
		c.mu.Unlock()
		return
	}
	c.next = nil
	c.mu.Unlock()
	go c.run(nb, build)
}

// cachedAt returns the body built at state version v, if it is the last one.
func (c *coalescer) cachedAt(v uint64) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v != 0 && c.ver == v {
		return c.cached
	}
	return nil
}

// keep remembers body as the answer at state version v. The body was built
// after v was read, so it is at least as new as v; a later change moves the
// version on and the next request builds afresh.
func (c *coalescer) keep(v uint64, body []byte) {
	c.mu.Lock()
	if v > c.ver {
		c.ver, c.cached = v, body
	}
	c.mu.Unlock()
}
