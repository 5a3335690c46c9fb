package node

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/valyala/fasthttp"

	"github.com/nwayacd/mod_nwayacd/go/service"
	"github.com/nwayacd/mod_nwayacd/go/store/pg"
	"github.com/nwayacd/mod_nwayacd/go/store/pgtest"
)

// BenchmarkLoadIntoCore: at module load, 10,000 extensions, 1,000 groups
// and 20,000 logins are read from PostgreSQL and filled into the core.
// Reports ms per complete load (target ≤ 1,000 ms).
func BenchmarkLoadIntoCore(b *testing.B) {
	need(b, "127.0.0.1:5432")
	_, dsn := pgtest.DB(b)
	ctx := context.Background()
	s, err := pg.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	_, err = conn.Exec(ctx, `
		INSERT INTO nwayacd_extension (number, job_number) SELECT (10000 + i)::text, i::text FROM generate_series(1, 10000) i;
		INSERT INTO ext_group (group_name, group_number, group_call_mode) SELECT 'g' || i, (500000 + i)::text, i % 6 FROM generate_series(1, 1000) i;
		INSERT INTO ext_group_map (ext_group_number, ext)
			SELECT (500000 + (i % 1000) + 1 + k)::text, (10000 + i)::text FROM generate_series(1, 10000) i, generate_series(0, 1) k;
		ANALYZE;`)
	conn.Close(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		snap, err := s.Load(ctx)
		if err != nil {
			b.Fatal(err)
		}
		svc := service.New(service.Options{})
		svc.Load(snap)
		if st := svc.Status(); st.Extensions != 10000 || st.Groups != 1000 {
			b.Fatalf("filled %d extensions, %d groups", st.Extensions, st.Groups)
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/load")
}

// BenchmarkRESTChangeDurable: REST seat changes (agent_busy / agent_ready)
// arriving at 1,000 per second, open loop, against a node with the embedded
// store; each is answered only after the journal's fsync. Reports the
// durability wait's p50/p99 (target: p99 ≤ 5 ms) and the whole request's.
func BenchmarkRESTChangeDurable(b *testing.B) {
	p := map[string]string{"rest-listen": "127.0.0.1:0", "publisher": "none", "fs-db-dir": b.TempDir(), "fs-log-dir": b.TempDir()}
	n, err := Start(p, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer n.Stop()
	var mu sync.Mutex
	var waits, total []time.Duration
	n.syncWait = func(d time.Duration) {
		mu.Lock()
		waits = append(waits, d)
		mu.Unlock()
	}
	const exts = 100
	if r := n.Command("nway_add_group", "110 2"); !strings.HasPrefix(r, "+OK") {
		b.Fatal(r)
	}
	for i := range exts {
		x := fmt.Sprint(5000 + i)
		if r := n.Command("nway_add_ext", x); !strings.HasPrefix(r, "+OK") {
			b.Fatal(r)
		}
		if r := n.Command("nway_login", x+" 110"); !strings.HasPrefix(r, "+OK") {
			b.Fatal(r)
		}
	}
	base := "http://" + n.Addr()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 10 * time.Second}
	resp, err := client.Post(base+"/api/login", "application/json", strings.NewReader(`{"username":"admin","password":"admin"}`))
	if err != nil {
		b.Fatal(err)
	}
	var tok struct{ Token string }
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	waits = waits[:0]

	b.ResetTimer()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := 0; i < b.N; i++ {
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := "/api/agent_busy"
			if (i/exts)%2 == 1 {
				path = "/api/agent_ready"
			}
			req, _ := http.NewRequest("POST", base+path, strings.NewReader(fmt.Sprintf(`{"Extension":"%d"}`, 5000+i%exts)))
			req.Header.Set("Authorization", "Nway "+tok.Token)
			req.Header.Set("Content-Type", "application/json")
			start := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				failed.Add(1)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				failed.Add(1)
				return
			}
			d := time.Since(start)
			mu.Lock()
			total = append(total, d)
			mu.Unlock()
		}()
	}
	wg.Wait()
	b.StopTimer()
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d changes failed", f, b.N)
	}
	pct := func(l []time.Duration, q float64) float64 {
		if len(l) == 0 {
			return 0
		}
		slices.Sort(l)
		return float64(l[int(float64(len(l)-1)*q)].Microseconds()) / 1000
	}
	b.ReportMetric(pct(waits, 0.5), "sync-p50-ms")
	b.ReportMetric(pct(waits, 0.99), "sync-p99-ms")
	b.ReportMetric(pct(total, 0.5), "req-p50-ms")
	b.ReportMetric(pct(total, 0.99), "req-p99-ms")
}

// BenchmarkRESTChangesThroughput: acknowledged REST seat changes per second
// through the whole node (REST, core, journal fsync, embedded store keeping
// up), 256 concurrent clients on keep-alive connections. Target ≥ 20,000/s.
func BenchmarkRESTChangesThroughput(b *testing.B) {
	// 256 clients from one address: over the default per-address limit (128).
	p := map[string]string{"rest-listen": "127.0.0.1:0", "publisher": "none", "fs-db-dir": b.TempDir(), "fs-log-dir": b.TempDir(),
		"rest-max-connections-per-ip": "512"}
	n, err := Start(p, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer n.Stop()
	const exts, clients = 512, 256
	if r := n.Command("nway_add_group", "110 2"); !strings.HasPrefix(r, "+OK") {
		b.Fatal(r)
	}
	for i := range exts {
		x := fmt.Sprint(5000 + i)
		if r := n.Command("nway_add_ext", x); !strings.HasPrefix(r, "+OK") {
			b.Fatal(r)
		}
		if r := n.Command("nway_login", x+" 110"); !strings.HasPrefix(r, "+OK") {
			b.Fatal(r)
		}
	}
	c := &fasthttp.Client{MaxConnsPerHost: clients}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	req.SetRequestURI("http://" + n.Addr() + "/api/login")
	req.Header.SetMethod("POST")
	req.Header.SetContentType("application/json")
	req.SetBodyString(`{"username":"admin","password":"admin"}`)
	if err := c.Do(req, resp); err != nil {
		b.Fatal(err)
	}
	var tok struct{ Token string }
	_ = json.Unmarshal(resp.Body(), &tok)
	var next, failed atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.Header.SetMethod("POST")
			req.Header.SetContentType("application/json")
			req.Header.Set("Authorization", "Nway "+tok.Token)
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				path := "/api/agent_busy"
				if (i/exts)%2 == 1 {
					path = "/api/agent_ready"
				}
				req.SetRequestURI("http://" + n.Addr() + path)
				req.SetBodyString(fmt.Sprintf(`{"Extension":"%d"}`, 5000+i%exts))
				if err := c.Do(req, resp); err != nil || resp.StatusCode() != 200 {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if err := n.journal.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	el := time.Since(start)
	b.StopTimer()
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d changes failed", f, b.N)
	}
	b.ReportMetric(float64(b.N)/el.Seconds(), "changes/s")
	b.ReportMetric(float64(b.N)/float64(max(n.journal.Stats().Commits, 1)), "changes/fsync")
}
