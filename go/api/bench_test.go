package api

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/valyala/fasthttp"
)

const benchConns = 64

// startBare serves a fixed 200-byte body: the yardstick for the API's
// throughput, measured in the same run on the same machine.
func startBare(b *testing.B) string {
	b.Helper()
	body := make([]byte, 200)
	for i := range body {
		body[i] = 'x'
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { ctx.SetBody(body) }}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Shutdown() })
	return ln.Addr().String()
}

type loadResult struct {
	lat     []time.Duration
	elapsed time.Duration
	bytes   int
}

func (r *loadResult) add(o loadResult) {
	r.lat = append(r.lat, o.lat...)
	r.elapsed += o.elapsed
	r.bytes = o.bytes
}

func (r *loadResult) rps() float64 { return float64(len(r.lat)) / r.elapsed.Seconds() }

func (r *loadResult) p99() time.Duration {
	sort.Slice(r.lat, func(i, j int) bool { return r.lat[i] < r.lat[j] })
	return r.lat[len(r.lat)*99/100]
}

// load sends n requests from conns connections (one goroutine each,
// one request in flight per connection) and measures them. The client is a
// minimal HTTP/1.1 reader that discards bodies into a reused buffer, so the
// figures are the server's, not a client's allocations.
func load(b *testing.B, addr string, conns, n int, req []byte) loadResult {
	b.Helper()
	per := (n + conns - 1) / conns
	lat := make([][]time.Duration, conns)
	errs := make(chan error, conns)
	var size atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			br := bufio.NewReaderSize(c, 64<<10)
			ls := make([]time.Duration, 0, per)
			for i := 0; i < per; i++ {
				t0 := time.Now()
				if _, err := c.Write(req); err != nil {
					errs <- err
					return
				}
				n, err := readResponse(br)
				if err != nil {
					errs <- err
					return
				}
				ls = append(ls, time.Since(t0))
				size.Store(n)
			}
			lat[w] = ls
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	return loadResult{lat: all, elapsed: elapsed, bytes: int(size.Load())}
}

// readResponse reads one 200 answer with a Content-Length (or a bodiless
// 304) and discards its body, returning the body's size.
func readResponse(br *bufio.Reader) (int64, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	notModified := bytes.HasPrefix(line, []byte("HTTP/1.1 304"))
	if !bytes.HasPrefix(line, []byte("HTTP/1.1 200")) && !notModified {
		return 0, fmt.Errorf("answer %q", line)
	}
	length := int64(-1)
	if notModified {
		length = 0
	}
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(line) <= 2 {
			break
		}
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(k, []byte("Content-Length")) {
			length, err = strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
			if err != nil {
				return 0, err
			}
		}
	}
	if length < 0 {
		return 0, fmt.Errorf("answer without Content-Length")
	}
	_, err = br.Discard(int(length))
	return length, err
}

// benchAPI measures one API request shape against the bare handler and
// reports req/s, the ratio to bare, p99 latency and the response size.
func benchAPI(b *testing.B, fake *fakeService, method, path, body string) {
	ts := startServer(b, Config{}, fake)
	auth := "Nway " + ts.login(b)
	bare := startBare(b)
	// Alternate bare and API rounds so load from elsewhere on the machine
	// falls on both alike.
	req := fmt.Appendf(nil, "%s %s HTTP/1.1\r\nHost: x\r\nAuthorization:%s \r\n", method, path, auth)
	if body != "" {
		req = fmt.Appendf(req, "Content-Type: application/json\r\nContent-Length: %d\r\n", len(body))
	}
	req = append(append(req, "\r\n"...), body...)
	const rounds = 4
	per := max(b.N/rounds, benchConns)
	var base, api loadResult
	b.StopTimer()
	for range rounds {
		base.add(load(b, bare, benchConns, per, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")))
		b.StartTimer()
		api.add(load(b, ts.addr, benchConns, per, req))
		b.StopTimer()
	}
	// Latency without queueing behind 63 other connections.
	single := load(b, ts.addr, 1, 200, req)
	b.SetBytes(int64(api.bytes))
	b.ReportMetric(float64(single.p99())/float64(time.Millisecond), "p99-1conn-ms")
	b.ReportMetric(api.rps(), "req/s")
	b.ReportMetric(base.rps(), "bare-req/s")
	b.ReportMetric(api.rps()/base.rps(), "ratio")
	b.ReportMetric(float64(api.p99())/float64(time.Millisecond), "p99-ms")
	b.ReportMetric(float64(base.p99())/float64(time.Millisecond), "bare-p99-ms")
}

func waitingCalls(n int) []acd.WaitingInfo {
	t0 := time.Now().Add(-time.Hour)
	ws := make([]acd.WaitingInfo, n)
	for i := range ws {
		lv := acd.LevelNormal
		if i%10 == 0 {
			lv = acd.LevelVIP
		}
		ws[i] = acd.WaitingInfo{
			UUID:             fmt.Sprintf("6f1c2a4e-%04x-4d1b-9a3e-%012x", i, i),
			Number:           fmt.Sprintf("1380013%04d", i),
			RealCallinNumber: fmt.Sprintf("01380013%04d", i),
			Group:            []string{"110", "120", "12345", "12320"}[i%4],
			Level:            lv,
			CallinTime:       t0.Add(time.Duration(i) * time.Second),
		}
	}
	return ws
}

func extensions(n int) []acd.ExtensionInfo {
	now := time.Now()
	es := make([]acd.ExtensionInfo, n)
	for i := range es {
		es[i] = acd.ExtensionInfo{
			Extension: fmt.Sprintf("%d", 10000+i), JobNumber: fmt.Sprintf("J%d", i),
			RegStatus: acd.Reged, Seat: acd.SeatIdle, CallState: acd.CallReady,
			LoggedIn: i%2 == 0, Groups: []string{"110", "12345"}, LastStatusChange: now,
		}
	}
	return es
}

// BenchmarkQueues: GET /api/queues with 1,000 waiting calls.
func BenchmarkQueues(b *testing.B) {
	fake := newFake()
	fake.record = false
	fake.waiting = waitingCalls(1000)
	benchAPI(b, fake, "GET", "/api/queues", "")
}

// BenchmarkGetExtensions: GET /api/get_extensions with 10,000 extensions.
func BenchmarkGetExtensions(b *testing.B) {
	fake := newFake()
	fake.record = false
	fake.snapshot = extensions(10000)
	benchAPI(b, fake, "GET", "/api/get_extensions", "")
}

// BenchmarkAgentReady: POST /api/agent_ready round trips (the fake takes a
// mutex and updates a map entry, as the service does).
func BenchmarkAgentReady(b *testing.B) {
	fake := newFake()
	fake.record = false
	benchAPI(b, fake, "POST", "/api/agent_ready", `{"Extension":"1002"}`)
}

// BenchmarkHandler* measure the handler alone (no network, no client), to
// show the encoding's allocations per request.
func benchHandler(b *testing.B, fake *fakeService, method, path, body string) {
	s, err := New(Config{}, fake)
	if err != nil {
		b.Fatal(err)
	}
	tok, _ := s.tokens.issue(time.Now(), time.Hour)
	var req fasthttp.Request
	req.Header.SetMethod(method)
	req.SetRequestURI(path)
	req.Header.Set("Authorization", "Nway "+tok)
	req.SetBodyString(body)
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, nil, nil)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ctx.Response.Reset()
		s.handle(&ctx)
		if ctx.Response.StatusCode() != 200 {
			b.Fatalf("status %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
	b.SetBytes(int64(len(ctx.Response.Body())))
}

func BenchmarkHandlerQueues(b *testing.B) {
	fake := newFake()
	fake.record = false
	fake.waiting = waitingCalls(1000)
	benchHandler(b, fake, "GET", "/api/queues", "")
}

func BenchmarkHandlerGetExtensions(b *testing.B) {
	fake := newFake()
	fake.record = false
	fake.snapshot = extensions(10000)
	benchHandler(b, fake, "GET", "/api/get_extensions", "")
}

func BenchmarkHandlerAgentReady(b *testing.B) {
	fake := newFake()
	fake.record = false
	benchHandler(b, fake, "POST", "/api/agent_ready", `{"Extension":"1002"}`)
}

// BenchmarkAppend* measure the encoders alone, into a reused buffer.
func BenchmarkAppendExtensions(b *testing.B) {
	es := extensions(10000)
	buf := appendExtensions(nil, es)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = appendExtensions(buf[:0], es)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(es)), "ns/extension")
}

func BenchmarkAppendWaiting(b *testing.B) {
	ws := waitingCalls(1000)
	buf := appendWaiting(nil, ws)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = appendWaiting(buf[:0], ws)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(ws)), "ns/call")
}
