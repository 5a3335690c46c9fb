package api

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/ident"
	"github.com/nwayacd/mod_nwayacd/go/ident/identtest"
)

// rawBytes writes wire as is on a fresh connection and returns all the
// server answers until it closes or 5 s pass.
func rawBytes(t *testing.T, addr, wire string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, wire); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(c)
	return string(b)
}

// A request fasthttp cannot parse is answered without any of its bytes: the
// Authorization token must never come back (or reach the log).
func TestMalformedRequestNeverEchoed(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	const secret = "deadbeefcafe0123456789secrettoken"
	for _, wire := range []string{
		"GET /api/queues\x00x HTTP/1.1\r\nHost: x\r\nAuthorization: Nway " + secret + "\r\n\r\n",
		"GET /api/queues HTTP/1.1\r\nHost: x\r\nAuthorization: Nway " + secret + "\r\nBad Header\x00: 1\r\n\r\n",
		"GET /api/queues HTTP/9.9 junk\r\nAuthorization: Nway " + secret + "\r\n\r\n",
		"POST /api/agent_up HTTP/1.1\r\nHost: x\r\nAuthorization: Nway " + secret + "\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" + secret + "\r\n",
		"GET /api/queues HTTP/1.1\r\nHost: x\r\nAuthorization: Nway " + secret + "\r\nX: " + strings.Repeat("a", 16<<10) + "\r\n\r\n",
	} {
		got := rawBytes(t, ts.addr, wire)
		if !strings.HasPrefix(got, "HTTP/1.1 4") {
			t.Errorf("%.40q…: answer %.80q, want a 4xx", wire, got)
		}
		if strings.Contains(got, secret) || strings.Contains(got, "Authorization") {
			t.Errorf("%.40q…: the answer echoes the request: %q", wire, got)
		}
	}
}

func TestLoggerWithholdsRequests(t *testing.T) {
	var got strings.Builder
	l := fasthttpLogger{log: newTestLogger(&got)}
	l.Printf("error when serving connection: cannot parse. Buffer size=90, contents: %q", "GET / HTTP/1.1\r\nAuthorization: Nway secret\r\n")
	if strings.Contains(got.String(), "secret") || !strings.Contains(got.String(), "[request withheld]") {
		t.Fatalf("log line %q", got.String())
	}
}

// agent_up's duplicate check is linear: a 64 KB Groups list of distinct
// numbers is refused for its length quickly, and one of repeats is folded.
func TestAgentUpLongGroups(t *testing.T) {
	var b strings.Builder
	for i := 0; b.Len() < 64<<10; i++ {
		fmt.Fprintf(&b, "%d,", 100000+i)
	}
	start := time.Now()
	_, problem := parseGroups(b.String())
	if !strings.Contains(problem, "too many groups") {
		t.Fatalf("64 KB of distinct groups: %q", problem)
	}
	rep := strings.Repeat("110,120,", 8<<10)
	gs, problem := parseGroups(rep)
	if problem != "" || len(gs) != 2 {
		t.Fatalf("repeats: %v %q", gs, problem)
	}
	t.Logf("parsed 2×64 KB in %v", time.Since(start))
}

func BenchmarkParseGroups64KB(b *testing.B) {
	rep := strings.Repeat("110,120,119,12345,", 4<<10) // 64 KB, folded to 4 groups
	b.SetBytes(int64(len(rep)))
	for b.Loop() {
		if _, p := parseGroups(rep); p != "" {
			b.Fatal(p)
		}
	}
}

// Dial strings: every legitimate form is stored, every injection is refused
// before the service sees it.
func TestDialStringCorpusREST(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	tok := "Nway " + ts.login(t)
	for _, d := range identtest.GoodDials {
		body := `{"Extension":"1002","DialString":"` + jsonEscapeRaw(d) + `"}`
		if r := ts.do(t, "POST", "/api/extension_dialstring", tok, body); r.status != 200 {
			t.Errorf("good dial %q: %d %s", d, r.status, r.body)
		}
	}
	ts.fake.calls = nil
	for _, d := range identtest.BadDials {
		if d == "" {
			continue // "" resets to the template
		}
		body := `{"Extension":"1002","DialString":"` + jsonEscapeRaw(d) + `"}`
		r := ts.do(t, "POST", "/api/extension_dialstring", tok, body)
		if r.status != 400 {
			t.Errorf("bad dial %q: %d %s", d, r.status, r.body)
		}
	}
	if calls := ts.fake.Calls(); len(calls) != 0 {
		t.Errorf("refused dial strings reached the service: %q", calls)
	}
}

// jsonEscapeRaw escapes s for a JSON string but leaves invalid UTF-8 bytes
// as they are, as a hostile client would send them.
func jsonEscapeRaw(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20:
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Numbers that would read as an option or name a host are refused over REST.
func TestNumbersREST(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	tok := "Nway " + ts.login(t)
	for _, n := range identtest.BadNumbers {
		if n == "" {
			continue
		}
		for _, body := range []string{
			`{"EvdedPhone":"1002","EvdPhone":"` + jsonEscapeRaw(n) + `","EvdGateway":"gw1"}`,
			`{"EvdedPhone":"` + jsonEscapeRaw(n) + `","EvdPhone":"1003"}`,
		} {
			if r := ts.do(t, "POST", "/api/transfer", tok, body); r.status != 400 {
				t.Errorf("transfer %s: %d %s", body, r.status, r.body)
			}
		}
	}
}

// acceptErrListener fails Accept like a process out of descriptors.
type acceptErrListener struct {
	net.Listener
	fails atomic.Int32
}

func (l *acceptErrListener) Accept() (net.Conn, error) {
	if l.fails.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
	}
	return l.Listener.Accept()
}

// EMFILE from Accept (descriptors exhausted) does not stop the server.
func TestServeSurvivesAcceptErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	el := &acceptErrListener{Listener: ln}
	el.fails.Store(5)
	s, err := New(Config{Listen: "127.0.0.1:0"}, newFake())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(el) }()
	r := raw(t, ln.Addr().String(), "GET /api/queues HTTP/1.1\nHost: x\n\n")
	if r.status != 401 {
		t.Fatalf("after EMFILE: %d", r.status)
	}
	if err := s.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

// A broken listener fails Accept with an error fasthttp calls permanent:
// Serve restarts fasthttp's loop instead of returning.
type brokenOnce struct {
	net.Listener
	broken atomic.Bool
}

func (l *brokenOnce) Accept() (net.Conn, error) {
	if l.broken.CompareAndSwap(false, true) {
		return nil, errors.New("accept: something odd")
	}
	return l.Listener.Accept()
}

func TestServeKeepsAccepting(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Listen: "127.0.0.1:0"}, newFake())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(&brokenOnce{Listener: ln}) }()
	if r := raw(t, ln.Addr().String(), "GET /api/queues HTTP/1.1\nHost: x\n\n"); r.status != 401 {
		t.Fatalf("after an odd accept error: %d", r.status)
	}
	select {
	case err := <-done:
		t.Fatalf("Serve returned: %v", err)
	default:
	}
	if err := s.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

// An idle connection that sends nothing, or a request that trickles in, is
// closed after ReadTimeout (slowloris).
func TestSlowClientsTimedOut(t *testing.T) {
	ts := startServer(t, Config{ReadTimeout: 300 * time.Millisecond, IdleTimeout: 300 * time.Millisecond}, nil)
	for _, send := range []string{"", "GET /api/queues HTTP/1.1\r\nHost: x\r\n"} {
		c, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(c, send)
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		start := time.Now()
		_, _ = io.ReadAll(bufio.NewReader(c))
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("sent %q: closed after %v, want about 300ms", send, d)
		}
		c.Close()
	}
}

func newTestLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

// fakeConnListener hands out pipe conns that claim the given remote addresses.
type fakeConnListener struct {
	net.Listener
	addrs chan net.IP
}

type addrConn struct {
	net.Conn
	ip net.IP
}

func (c addrConn) RemoteAddr() net.Addr { return &net.TCPAddr{IP: c.ip, Port: 5000} }

func (l *fakeConnListener) Accept() (net.Conn, error) {
	ip, ok := <-l.addrs
	if !ok {
		return nil, net.ErrClosed
	}
	a, b := net.Pipe()
	go func() { _, _ = io.Copy(io.Discard, b) }()
	return addrConn{Conn: a, ip: ip}, nil
}

// IPv6 clients are limited per /64, IPv4 clients per address; a closed
// connection gives its slot back.
func TestPerAddressLimit(t *testing.T) {
	fl := &fakeConnListener{addrs: make(chan net.IP, 16)}
	l := newPerAddrListener(fl, 2, 100, newTestLogger(io.Discard))
	in := []string{"2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2::3", "2001:db8:1:3::1", "10.0.0.1", "10.0.0.1", "10.0.0.1", "10.0.0.2"}
	for _, s := range in {
		fl.addrs <- net.ParseIP(s)
	}
	close(fl.addrs)
	var got []string
	var conns []net.Conn
	for {
		c, err := l.Accept()
		if err != nil {
			break
		}
		conns = append(conns, c)
		got = append(got, c.RemoteAddr().(*net.TCPAddr).IP.String())
	}
	want := "2001:db8:1:2::1 2001:db8:1:2::2 2001:db8:1:3::1 10.0.0.1 10.0.0.1 10.0.0.2"
	if strings.Join(got, " ") != want {
		t.Fatalf("accepted %q, want %q", strings.Join(got, " "), want)
	}
	for _, c := range conns {
		c.Close()
		c.Close() // twice: the slot is given back once
	}
	if len(l.open) != 0 {
		t.Fatalf("slots left after closing: %v", l.open)
	}
}

// An event stream outlives the read and idle timeouts: they bound reading a
// request, not a long answer.
func TestEventStreamOutlivesTimeouts(t *testing.T) {
	ts := startServer(t, Config{ReadTimeout: 200 * time.Millisecond, IdleTimeout: 200 * time.Millisecond, Heartbeat: 100 * time.Millisecond}, nil)
	tok := "Nway " + ts.login(t)
	s, head := openEvents(t, ts, "/api/events", tok)
	if !strings.HasPrefix(head, "HTTP/1.1 200") {
		t.Fatalf("stream: %q", head)
	}
	start := time.Now()
	for time.Since(start) < time.Second {
		s.until(t, ": ping")
	}
}

// The OpenAPI document's number pattern is package ident's rule.
func TestOpenAPIPatternIsIdent(t *testing.T) {
	b, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`"pattern": "([^"]+)"`).FindAllSubmatch(b, -1)
	if len(m) == 0 {
		t.Fatal("no patterns")
	}
	for _, p := range m {
		re := regexp.MustCompile(string(p[1]))
		for _, s := range append(append([]string{}, identtest.GoodNumbers...), identtest.BadNumbers...) {
			if re.MatchString(s) != (ident.Extension(s) == nil) {
				t.Errorf("pattern %s and ident disagree on %q", p[1], s)
			}
		}
	}
}

// Past MaxConns a connection is refused with 503 at once (no descriptor
// kept), and the idle connections that filled the server are timed out, so
// service resumes.
func TestTotalConnectionLimit(t *testing.T) {
	ts := startServer(t, Config{MaxConns: 8, MaxConnsPerIP: 100, ReadTimeout: 500 * time.Millisecond}, nil)
	var idle []net.Conn
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}} // per-address limit 8 too
	for range 8 {
		c, err := d.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	time.Sleep(100 * time.Millisecond) // let the server take them
	got := rawBytes(t, ts.addr, "GET /api/queues HTTP/1.1\r\nHost: x\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.1 503") || !strings.HasSuffix(got, `{"error":"too many connections; try again shortly"}`) {
		t.Fatalf("over the total: %q, want a JSON 503", got)
	}
	time.Sleep(time.Second) // the idle ones time out
	if r := raw(t, ts.addr, "GET /api/queues HTTP/1.1\nHost: x\n\n"); r.status != 401 {
		t.Fatalf("after the idle connections timed out: %d", r.status)
	}
}
