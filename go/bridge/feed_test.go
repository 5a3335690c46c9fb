package bridge

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nwayacd/mod_nwayacd/go/session"
)

// tidHandler records the thread its channel events run on: the reader's.
type tidHandler struct {
	fakeHandler
	tid atomic.Int64
}

func (h *tidHandler) ChannelEvent(ev *session.ChannelEvent) {
	h.tid.Store(int64(unix.Gettid()))
	h.fakeHandler.ChannelEvent(ev)
}

type taken struct {
	mu    sync.Mutex
	pkts  []string
	from  []netip.AddrPort
	tids  map[int]int
	panic string // a packet that makes take panic
}

func (k *taken) take(pkt []byte, from netip.AddrPort) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.tids == nil {
		k.tids = map[int]int{}
	}
	k.tids[unix.Gettid()]++
	if string(pkt) == k.panic {
		panic("take " + k.panic)
	}
	k.pkts = append(k.pkts, string(pkt)) // pkt is the reader's buffer: copied
	k.from = append(k.from, from)
}

func (k *taken) count() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.pkts)
}

// The event reader drains an attached socket on its own thread, with the
// ring, from a duplicate of the socket (the caller closes its own), even
// while the ring never runs dry; a panicking take loses only its packet;
// stop closes the socket; a second feed is refused while one is attached.
func TestPacketFeedOnTheReader(t *testing.T) {
	h := &tidHandler{}
	startFake(t, h)
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := conn.LocalAddr().String()
	k := &taken{panic: "boom"}
	detach, err := events.attach(conn.(*net.UDPConn), k.take)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close() // the reader reads its duplicate
	other, _ := net.ListenPacket("udp", "127.0.0.1:0")
	defer other.Close()
	if _, err := events.attach(other.(*net.UDPConn), k.take); !errors.Is(err, ErrFeedTaken) {
		t.Fatalf("a second feed: %v, want ErrFeedTaken", err)
	}

	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const quiet = 200
	for i := range quiet {
		if _, err := c.Write(fmt.Appendf(nil, "pkt %d", i)); err != nil {
			t.Fatal(err)
		}
		if i == 50 {
			_, _ = c.Write([]byte("boom"))
		}
		if i%50 == 0 {
			waitFor(t, "the reader to take packets", func() bool { return k.count() == i+1 })
		}
	}
	waitFor(t, "every packet", func() bool { return k.count() == quiet })
	k.mu.Lock()
	for i, p := range k.pkts {
		if want := fmt.Sprintf("pkt %d", i); p != want {
			t.Fatalf("packet %d is %q, want %q", i, p, want)
		}
		if k.from[i].String() != c.LocalAddr().String() {
			t.Fatalf("packet %d from %v, want %v", i, k.from[i], c.LocalAddr())
		}
	}
	k.mu.Unlock()

	// The ring kept busy (the reader never parks): packets still come in.
	stopPush := make(chan struct{})
	var pushed sync.WaitGroup
	pushed.Add(1)
	halt := sync.OnceFunc(func() { close(stopPush); pushed.Wait() })
	defer halt() // a failing wait must not leave the ring flooded for the next test
	go func() {
		defer pushed.Done()
		for {
			select {
			case <-stopPush:
				return
			default:
				pushTestEvent(int(session.ChannelCreate), "busy")
			}
		}
	}()
	for i := range 100 {
		_, _ = c.Write(fmt.Appendf(nil, "busy %d", i))
		time.Sleep(200 * time.Microsecond)
	}
	waitFor(t, "packets while the ring is busy", func() bool { return k.count() == quiet+100 })
	halt()

	reader := int(h.tid.Load())
	k.mu.Lock()
	if len(k.tids) != 1 || k.tids[reader] == 0 {
		t.Errorf("packets taken on threads %v, want only the reader's %d", k.tids, reader)
	}
	k.mu.Unlock()

	detach()
	// The socket is closed: its port can be bound again.
	again, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatalf("after stop the feed's socket is still open: %v", err)
	}
	defer again.Close()
	// and another feed may be attached
	d2, err := events.attach(again.(*net.UDPConn), k.take)
	if err != nil {
		t.Fatalf("attach after stop: %v", err)
	}
	_, _ = c.Write([]byte("after"))
	waitFor(t, "a packet of the second feed", func() bool { return k.count() == quiet+101 })
	d2()
}

// A feed attached before the reader starts waits for it; one the reader
// never took is closed by its stop; the reader's end closes its feed.
func TestPacketFeedAcrossReaderStarts(t *testing.T) {
	stop()
	k := &taken{}
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := conn.LocalAddr().String()
	detach, err := events.attach(conn.(*net.UDPConn), k.take)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Write([]byte("early"))
	startFake(t, &fakeHandler{})
	waitFor(t, "the packet sent before the reader started", func() bool { return k.count() == 1 })
	stop() // the reader ends: it lets go of the socket
	if l, err := net.ListenPacket("udp", addr); err != nil {
		t.Fatalf("the reader ended with its feed's socket open: %v", err)
	} else {
		l.Close()
	}
	detach() // after the reader: returns at once

	// Never taken: its stop closes it.
	conn, _ = net.ListenPacket("udp", "127.0.0.1:0")
	addr = conn.LocalAddr().String()
	detach, err = events.attach(conn.(*net.UDPConn), k.take)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	detach()
	if l, err := net.ListenPacket("udp", addr); err != nil {
		t.Fatalf("a pending feed's stop left its socket open: %v", err)
	} else {
		l.Close()
	}
}

// Past its budget the feed waits for the next window: a flood costs the
// realtime reader a bounded share, and what the socket keeps meanwhile is
// taken later, not lost.
func TestPacketFeedBudget(t *testing.T) {
	defer func(b int) { feedBudget = b }(feedBudget)
	feedBudget = 10
	startFake(t, &fakeHandler{})
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	k := &taken{}
	detach, err := events.attach(conn.(*net.UDPConn), k.take)
	if err != nil {
		t.Fatal(err)
	}
	defer detach()
	c, err := net.Dial("udp", conn.LocalAddr().String())
	conn.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const sent = 35
	start := time.Now()
	for i := range sent {
		_, _ = c.Write(fmt.Appendf(nil, "flood %d", i))
	}
	waitFor(t, "the first window's share", func() bool { return k.count() >= 10 })
	time.Sleep(30 * time.Millisecond)
	if n, el := k.count(), time.Since(start); n >= sent {
		t.Fatalf("all %d datagrams taken within %v: no budget", n, el)
	}
	waitFor(t, "the rest in later windows", func() bool { return k.count() == sent })
	// four windows: the last five wait at least three windows' ends
	if el := time.Since(start); el < 2*feedWindow {
		t.Errorf("%d datagrams at 10 a window taken in %v, want well over %v", sent, el, 2*feedWindow)
	}
}
