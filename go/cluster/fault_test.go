package cluster

import (
	"context"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/internal/tcpproxy"
	"github.com/nwayacd/mod_nwayacd/go/internal/testsvc"
	"github.com/redis/go-redis/v9"
)

// proxy is a TCP proxy between one node and Redis that the test can cut
// (every connection closed, new ones refused) and restore.
type proxy = tcpproxy.Proxy

func newProxy(t testing.TB, target string) *proxy { return tcpproxy.New(t, target) }

// proxied is a client of a private Redis through a proxy the test can cut;
// short timeouts, so a cut shows at once.
func proxied(t testing.TB) (*privateRedis, *proxy, redis.UniversalClient) {
	rd := startPrivateRedis(t)
	px := newProxy(t, rd.Addr())
	rdb, err := NewClient(RedisConfig{Addrs: []string{px.Addr()}, IOTimeout: 300 * time.Millisecond, DialTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	return rd, px, rdb
}

// privateRedis is a redis-server of the test's own (no persistence), which
// it may kill and start again: the shared one serves other tests.
type privateRedis struct {
	t    testing.TB
	port int
	cmd  *exec.Cmd
}

func startPrivateRedis(t testing.TB) *privateRedis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		testsvc.Unavailable(t, "redis-server binary: %v", err)
	}
	r := &privateRedis{t: t, port: freePort(t)}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *privateRedis) Addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

func (r *privateRedis) start() {
	r.cmd = exec.Command("redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--protected-mode", "no")
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: r.Addr()})
	defer c.Close()
	for i := 0; i < 100; i++ {
		if c.Ping(context.Background()).Err() == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.t.Fatal("private redis-server did not start in 5 s")
}

// stop kills the server (its data is gone: no persistence).
func (r *privateRedis) stop() {
	if r.cmd != nil && r.cmd.Process != nil {
		r.cmd.Process.Kill()
		r.cmd.Wait()
		r.cmd = nil
	}
}

func (r *privateRedis) restart() { r.stop(); r.start() }

func TestClusterProxyCutAndRestore(t *testing.T) {
	rd, px, rdb := proxied(t)
	ctx := context.Background()
	m := join(t, rdb, "p:", "a", Options{})
	px.Cut()
	if _, err := m.Tick(ctx, 0); err == nil {
		t.Fatal("tick through a cut proxy succeeded")
	}
	px.Restore()
	var last error
	for i := 0; i < 20; i++ {
		if _, last = m.Tick(ctx, 0); last == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if last != nil {
		t.Fatalf("no tick after restore: %v", last)
	}
	rd.restart()
	var ferr error
	for i := 0; i < 40; i++ {
		if _, ferr = m.Tick(ctx, 0); ferr != nil && ferr == ErrFenced {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if ferr != ErrFenced {
		t.Fatalf("after a Redis restart without data: %v, want ErrFenced", ferr)
	}
	old := m.Epoch()
	if err := m.Rejoin(ctx); err != nil {
		t.Fatal(err)
	}
	o, _ := strconv.ParseInt(old, 10, 64)
	if n, _ := strconv.ParseInt(m.Epoch(), 10, 64); n <= o {
		t.Fatalf("epoch %s after %s: reused after the data was lost", m.Epoch(), old)
	}
}
