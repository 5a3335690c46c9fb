package api

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// versionedFake counts state changes like the service does.
type versionedFake struct {
	*fakeService
	v atomic.Uint64
}

func (f *versionedFake) StateVersion() uint64 { return f.v.Load() }

func startVersioned(t testing.TB, fake *versionedFake) (addr, auth string) {
	t.Helper()
	s, err := New(Config{Listen: "127.0.0.1:0"}, fake)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	ts := &testServer{Server: s, addr: ln.Addr().String()}
	return ts.addr, "Nway " + ts.login(t)
}

func get(t testing.TB, addr, path, auth, inm string) reply {
	t.Helper()
	req := fmt.Sprintf("GET %s HTTP/1.1\nHost: x\nAuthorization:%s\n", path, auth)
	if inm != "" {
		req += "If-None-Match: " + inm + "\n"
	}
	return raw(t, addr, req+"\n")
}

// Lists are encoded once per state change; pollers with the ETag get 304.
func TestListsCachedByStateVersion(t *testing.T) {
	fake := &versionedFake{fakeService: newFake()}
	fake.snapshot = extensions(3)
	fake.v.Store(1)
	addr, auth := startVersioned(t, fake)
	fake.Calls()

	r1 := get(t, addr, "/api/get_extensions", auth, "")
	r2 := get(t, addr, "/api/get_extensions", auth, "")
	if r1.status != 200 || r2.body != r1.body || r1.header.Get("ETag") == "" || r2.header.Get("ETag") != r1.header.Get("ETag") {
		t.Fatalf("r1 %d %q, r2 %q", r1.status, r1.header.Get("ETag"), r2.header.Get("ETag"))
	}
	if calls := fake.Calls(); len(calls) != 1 {
		t.Fatalf("the unchanged list was built %d times: %q", len(calls), calls)
	}
	r3 := get(t, addr, "/api/get_extensions", auth, r1.header.Get("ETag"))
	if r3.status != 304 || r3.body != "" {
		t.Fatalf("conditional GET: %d %q", r3.status, r3.body)
	}
	// A change: a new body, a new tag, and the old tag no longer matches.
	fake.mu.Lock()
	fake.snapshot[0].CallState = "talking"
	fake.mu.Unlock()
	fake.v.Add(1)
	r4 := get(t, addr, "/api/get_extensions", auth, r1.header.Get("ETag"))
	if r4.status != 200 || !strings.Contains(r4.body, `"talking"`) || r4.header.Get("ETag") == r1.header.Get("ETag") {
		t.Fatalf("after a change: %d %q %q", r4.status, r4.header.Get("ETag"), r4.body)
	}
	// Without auth nothing is revealed, not even a 304.
	if r := get(t, addr, "/api/get_extensions", "Nway wrong", r4.header.Get("ETag")); r.status != 401 {
		t.Fatalf("unauthenticated conditional GET: %d", r.status)
	}
}

// BenchmarkGetExtensionsPolling: 64 dashboards polling GET /api/get_extensions
// (10,000 extensions) with If-None-Match while nothing changed: 304s.
func BenchmarkGetExtensionsPolling(b *testing.B) {
	benchVersioned(b, "/api/get_extensions", true)
}

// BenchmarkGetExtensionsCached: full 10,000-extension bodies served from the
// per-version cache (state unchanged between requests).
func BenchmarkGetExtensionsCached(b *testing.B) {
	benchVersioned(b, "/api/get_extensions", false)
}

// BenchmarkQueuesCached: full 1,000-call queue bodies from the cache.
func BenchmarkQueuesCached(b *testing.B) {
	benchVersioned(b, "/api/queues", false)
}

func benchVersioned(b *testing.B, path string, conditional bool) {
	fake := &versionedFake{fakeService: newFake()}
	fake.record = false
	fake.snapshot = extensions(10000)
	fake.waiting = waitingCalls(1000)
	fake.v.Store(1)
	addr, auth := startVersioned(b, fake)
	bare := startBare(b)
	first := get(b, addr, path, auth, "")
	req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: x\r\nAuthorization:%s\r\n", path, auth)
	if conditional {
		req += "If-None-Match: " + first.header.Get("ETag") + "\r\n"
	}
	reqb := []byte(req + "\r\n")
	const rounds = 4
	per := max(b.N/rounds, benchConns)
	var base, api loadResult
	b.StopTimer()
	for range rounds {
		base.add(load(b, bare, benchConns, per, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")))
		b.StartTimer()
		api.add(load(b, addr, benchConns, per, reqb))
		b.StopTimer()
	}
	b.ReportMetric(api.rps(), "req/s")
	b.ReportMetric(base.rps(), "bare-req/s")
	b.ReportMetric(api.rps()/base.rps(), "ratio")
	b.ReportMetric(float64(api.p99())/float64(time.Millisecond), "p99-ms")
	b.ReportMetric(float64(base.p99())/float64(time.Millisecond), "bare-p99-ms")
}
