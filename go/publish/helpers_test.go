package publish

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/event"
	"github.com/nwayacd/mod_nwayacd/go/logx"

	"github.com/nwayacd/mod_nwayacd/go/internal/testsvc"
)

// needService skips (or fails, with NWAYACD_REQUIRE_SERVICES=1) when addr
// does not accept TCP connections.
func needService(t testing.TB, name, addr string) {
	t.Helper()
	testsvc.Need(t, name, addr)
}

func needBinary(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		testsvc.Unavailable(t, "%s not installed", name)
	}
	return p
}

const (
	redisAddr = "127.0.0.1:6379"
	amqpAddr  = "127.0.0.1:5672"
)

// token makes channel names and payloads unique to one test run, since the
// shared brokers may carry other tests' traffic.
func token() string {
	return strconv.Itoa(os.Getpid()) + "x" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
}

// testMsg is a minimal Message whose payloads carry a run token and an id.
type testMsg struct {
	fam event.Family
	ent string
	tok string
	id  int
}

func (m *testMsg) Family() event.Family { return m.fam }
func (m *testMsg) Channel() string      { return m.fam.String() + "_" + m.ent }
func (m *testMsg) RoutingKey() string   { return m.fam.String() + "." + m.ent }
func (m *testMsg) AppendRedis(dst []byte) []byte {
	dst = append(dst, m.tok...)
	dst = append(dst, ',')
	return strconv.AppendInt(dst, int64(m.id), 10)
}
func (m *testMsg) AppendJSON(dst []byte, ctiIP string) []byte {
	return fmt.Appendf(dst, `{"type":%q,"cti_ip":%q,"tok":%q,"id":%d}`, m.fam.String(), ctiIP, m.tok, m.id)
}

// parseRedis reads a testMsg Redis payload back; ok is false for foreign
// traffic.
func parseRedis(payload, tok string) (id int, ok bool) {
	p, rest, found := strings.Cut(payload, ",")
	if !found || p != tok {
		return 0, false
	}
	id, err := strconv.Atoi(rest)
	return id, err == nil
}

// logSink collects log lines.
type logSink struct {
	mu    sync.Mutex
	lines []string
	t     testing.TB
}

// logger is a Config.Logger writing to the sink.
func (l *logSink) logger() *slog.Logger {
	return logx.New(func(_ int, line string) { l.add(line) }, slog.LevelDebug)
}

func (l *logSink) add(s string) {
	l.mu.Lock()
	l.lines = append(l.lines, s)
	l.mu.Unlock()
	l.t.Log(s)
}

func (l *logSink) has(sub string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.lines {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func spoolPath(t testing.TB) string { return filepath.Join(t.TempDir(), "spool.db") }

// eventually polls cond until it holds or d passes.
func eventually(d time.Duration, cond func() bool) bool {
	end := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(end) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func closeHub(t testing.TB, h *Hub) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func transportStats(h *Hub, name string) TransportStats {
	for _, ts := range h.Stats().Transports {
		if ts.Name == name {
			return ts
		}
	}
	return TransportStats{}
}

// freePort returns a TCP port nothing listens on right now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
