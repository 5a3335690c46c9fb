package api

import (
	"errors"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"
)

// retryListener keeps Accept going through errors: when the process runs out
// of descriptors (EMFILE/ENFILE) or a client resets before accept
// (ECONNABORTED), fasthttp would end its Serve loop for good. Here the error
// is logged (at most once a minute), Accept waits with backoff and tries
// again; only a closed listener ends it.
type retryListener struct {
	net.Listener
	stop    <-chan struct{}
	log     *slog.Logger
	lastLog time.Time
}

func (l *retryListener) Accept() (net.Conn, error) {
	bo := backoff{min: 5 * time.Millisecond, max: time.Second}
	for {
		c, err := l.Listener.Accept()
		if err == nil {
			return c, nil
		}
		if errors.Is(err, net.ErrClosed) {
			return nil, err
		}
		if time.Since(l.lastLog) > time.Minute {
			l.lastLog = time.Now()
			l.log.Warn("rest: accept failed; retrying", "err", err)
		}
		if !bo.sleep(l.stop) {
			return nil, net.ErrClosed
		}
	}
}

// backoff doubles a wait from min to max.
type backoff struct {
	min, max, cur time.Duration
}

// sleep waits the next interval; false when stop closed first.
func (b *backoff) sleep(stop <-chan struct{}) bool {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	t := time.NewTimer(b.cur)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-stop:
		return false
	}
}

// addrKey is the client a limit counts by: an IPv4 address, or an IPv6 /64
// (one host usually owns the whole prefix).
func addrKey(ip net.IP) string {
	if v4 := ip.To4(); v4 != nil {
		return string(v4)
	}
	if len(ip) == net.IPv6len {
		return string(ip[:8])
	}
	return string(ip)
}

// perAddrListener limits open connections per client address (addrKey) and
// in all. fasthttp's own MaxConnsPerIP counts every IPv6 address apart, so
// one host with a /64 would have no limit, and its Concurrency refusal is
// plain text. Over a limit a connection gets a short JSON 429 or 503 and is
// closed at once, so it holds no descriptor.
type perAddrListener struct {
	net.Listener
	max, maxTotal int
	log           *slog.Logger

	mu      sync.Mutex
	open    map[string]int
	total   int
	lastLog time.Time
}

func newPerAddrListener(ln net.Listener, max, maxTotal int, log *slog.Logger) *perAddrListener {
	return &perAddrListener{Listener: ln, max: max, maxTotal: maxTotal, log: log, open: make(map[string]int)}
}

func fastAnswer(status, msg string) []byte {
	body := `{"error":"` + msg + `"}`
	return []byte("HTTP/1.1 " + status + "\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
}

var (
	tooManyFromAddr = fastAnswer("429 Too Many Requests", "too many connections from this address")
	tooManyInAll    = fastAnswer("503 Service Unavailable", "too many connections; try again shortly")
)

func (l *perAddrListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ta, ok := c.RemoteAddr().(*net.TCPAddr)
		if !ok {
			return c, nil
		}
		key := addrKey(ta.IP)
		l.mu.Lock()
		var refusal []byte
		switch {
		case l.open[key] >= l.max:
			refusal = tooManyFromAddr
		case l.total >= l.maxTotal:
			refusal = tooManyInAll
		}
		if refusal != nil {
			logIt := time.Since(l.lastLog) > time.Minute
			if logIt {
				l.lastLog = time.Now()
			}
			l.mu.Unlock()
			if logIt {
				l.log.Warn("rest: connection limit reached; refusing more", "addr", ta.IP.String(),
					"per_address", l.max, "total", l.maxTotal)
			}
			_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
			_, _ = c.Write(refusal)
			_ = c.Close()
			continue
		}
		l.open[key]++
		l.total++
		l.mu.Unlock()
		return &countedConn{Conn: c, l: l, key: key}, nil
	}
}

func (l *perAddrListener) release(key string) {
	l.mu.Lock()
	if l.open[key]--; l.open[key] <= 0 {
		delete(l.open, key)
	}
	l.total--
	l.mu.Unlock()
}

// countedConn gives its slot back once, when closed.
type countedConn struct {
	net.Conn
	l    *perAddrListener
	key  string
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.l.release(c.key) })
	return c.Conn.Close()
}
