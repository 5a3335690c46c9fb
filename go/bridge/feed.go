package bridge

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A packet feed is a datagram socket the event reader drains itself, on
// its own thread, as it drains the ring: the switch's SIP capture, whose
// agent BYE frees an agent for a waiting call (service/earlybye.go). Read
// by a goroutine, each datagram waits for Go's netpoller and one of Go's
// normal threads, which a switch busy with media at realtime priority
// starves for milliseconds; the reader runs at the switch's priority and
// sleeps in one ppoll on both the ring's eventfd and the socket.

// ErrFeedTaken is returned by FeedPackets while another feed is attached.
var ErrFeedTaken = errors.New("bridge: a packet feed is already attached")

// feedBurst bounds the datagrams taken per wake, so the ring gets its turn
// under a flood (the socket stays readable and wakes the reader again).
const feedBurst = 64

// The reader takes at most feedBudget datagrams per feedWindow; past that
// the socket waits for the next window. The capture mirrors every INVITE
// the switch receives, a scanner's flood too, and the reader runs at the
// switch's realtime priority: a flood must cost it a bounded share of a
// core (each datagram and the spin after it, some 25 us: 5% at most), not
// all of it. ~4 datagrams per call reach it, so 2,000/s is some 500
// calls/s, ten times what two cores carry. What the kernel then drops only
// loses the early BYE: the leg's own hang-up still frees its agent.
const feedWindow = 100 * time.Millisecond

var feedBudget = 200 // a var: tests lower it

type packetFeed struct {
	fd   int // the reader's own descriptor (a dup of the caller's socket)
	take func(pkt []byte, from netip.AddrPort)
	quit atomic.Bool
	done chan struct{} // closed once fd is closed
	once sync.Once
	buf  []byte
}

func (f *packetFeed) release() {
	f.once.Do(func() {
		_ = unix.Close(f.fd)
		close(f.done)
	})
}

// feeds is the event queue's side of packet feeds: one attached at a time.
type feeds struct {
	mu      sync.Mutex
	pending *packetFeed // attached, not yet taken by the reader
	up      bool        // a reader runs and owns cur
	changed atomic.Bool // pending or a quit to look at
	cur     *packetFeed // the reader's: it changes it under mu, and reads it without
	// the budget's window and what it took in it (reader only)
	window   time.Time
	inWindow int
}

// attach hands conn's socket to the reader; the caller may close conn once
// attach returns (the reader holds a duplicate). take runs on the reader's
// thread for each datagram and must not block. stop detaches the feed and
// returns once the reader has let go of the socket.
func (q *eventQueue) attach(conn syscall.Conn, take func([]byte, netip.AddrPort)) (stop func(), err error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("packet feed: %w", err)
	}
	fd := -1
	var derr error
	if err := rc.Control(func(s uintptr) { fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return nil, fmt.Errorf("packet feed: %w", err)
	}
	if derr != nil {
		return nil, fmt.Errorf("packet feed: dup: %w", derr)
	}
	f := &packetFeed{fd: fd, take: take, done: make(chan struct{}), buf: make([]byte, 65536)}
	fs := &q.feeds
	fs.mu.Lock()
	if fs.pending != nil || fs.cur != nil && !fs.cur.quit.Load() {
		fs.mu.Unlock()
		_ = unix.Close(fd)
		return nil, ErrFeedTaken
	}
	fs.pending = f
	fs.changed.Store(true)
	up := fs.up
	fs.mu.Unlock()
	if up {
		q.src.kick()
	}
	return func() { q.detach(f) }, nil
}

func (q *eventQueue) detach(f *packetFeed) {
	f.quit.Store(true)
	fs := &q.feeds
	fs.mu.Lock()
	if fs.pending == f {
		fs.pending = nil
		fs.mu.Unlock()
		f.release()
		return
	}
	up := fs.up
	fs.changed.Store(true)
	fs.mu.Unlock()
	if !up {
		f.release() // the reader has ended, and let go of it (or never took it)
		return
	}
	q.src.kick()
	<-f.done
}

// feedFD is the descriptor the reader waits on, -1 for none. Reader only.
func (q *eventQueue) feedFD() int {
	fs := &q.feeds
	if fs.changed.Load() {
		fs.mu.Lock()
		fs.changed.Store(false)
		if fs.cur != nil && fs.cur.quit.Load() {
			fs.cur.release()
			fs.cur = nil
		}
		if fs.cur == nil && fs.pending != nil {
			fs.cur, fs.pending = fs.pending, nil
			fs.window, fs.inWindow = time.Time{}, 0
		}
		fs.mu.Unlock()
	}
	if fs.cur == nil {
		return -1
	}
	return fs.cur.fd
}

// readerUp marks the reader running (it takes a pending feed) or ended (it
// lets go of its feed). Reader only.
func (q *eventQueue) readerUp(up bool) {
	fs := &q.feeds
	fs.mu.Lock()
	fs.up = up
	fs.changed.Store(true)
	if !up && fs.cur != nil {
		fs.cur.release()
		fs.cur = nil
	}
	fs.mu.Unlock()
}

// drainFeed takes what the socket holds now, up to feedBurst datagrams
// and the feed's budget. Reader only.
func (q *eventQueue) drainFeed(now time.Time) {
	f := q.feeds.cur
	if f == nil {
		return
	}
	fs := &q.feeds
	if now.Sub(fs.window) >= feedWindow {
		fs.window, fs.inWindow = now, 0
	}
	for range feedBurst {
		if fs.inWindow >= feedBudget {
			return
		}
		// syscall's, not x/sys/unix's: that one asks the socket its
		// protocol (a getsockopt) on every IPv4 datagram, to tell L2TP.
		n, from, err := syscall.Recvfrom(f.fd, f.buf, syscall.MSG_DONTWAIT)
		if err != nil {
			// EAGAIN: drained. Anything else (an ICMP error queued on the
			// socket) is consumed by this very call; the next wake retries.
			return
		}
		fs.inWindow++
		q.takePacket(f, f.buf[:n], addrPort(from))
	}
}

// feedWait is what the reader's wait looks at: the feed's descriptor
// (-1: none, or the feed is over its budget) and deadline, moved up to the
// budget window's end when the feed waits for it. Reader only.
func (q *eventQueue) feedWait(now, deadline time.Time) (int, time.Time) {
	fd := q.feedFD()
	fs := &q.feeds
	if end := fs.window.Add(feedWindow); fd >= 0 && fs.inWindow >= feedBudget && now.Before(end) {
		fd = -1
		if deadline.IsZero() || end.Before(deadline) {
			deadline = end
		}
	}
	return fd, deadline
}

func (q *eventQueue) takePacket(f *packetFeed, pkt []byte, from netip.AddrPort) {
	defer recovered("packet feed", "", nil)
	f.take(pkt, from)
}

func addrPort(sa syscall.Sockaddr) netip.AddrPort {
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *syscall.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port))
	}
	return netip.AddrPort{}
}
