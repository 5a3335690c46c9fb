package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nwayacd/mod_nwayacd/go/internal/testsvc"
)

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func spawn(t testing.TB, args ...string) *exec.Cmd {
	cmd := exec.Command("redis-server", args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

func waitPing(t testing.TB, addr string) {
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	for i := 0; i < 100; i++ {
		if c.Ping(context.Background()).Err() == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not answer in 5 s", addr)
}

// A member configured with Sentinel follows a failover: the master is
// killed, Sentinel promotes the replica, and the member's heartbeat goes on
// (or, had the replica missed its join, it rejoins).
func TestClusterSentinelFailover(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		testsvc.Unavailable(t, "redis-server binary: %v", err)
	}
	mp, rp, sp := freePort(t), freePort(t), freePort(t)
	// --dir: the replica writes the master's RDB to disk, in the package
	// folder otherwise.
	base := []string{"--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no"}
	master := spawn(t, append([]string{"--port", strconv.Itoa(mp), "--dir", t.TempDir()}, base...)...)
	spawn(t, append([]string{"--port", strconv.Itoa(rp), "--dir", t.TempDir(), "--replicaof", "127.0.0.1", strconv.Itoa(mp)}, base...)...)
	conf := filepath.Join(t.TempDir(), "sentinel.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("port %d\nbind 127.0.0.1\nprotected-mode no\n"+
		"sentinel monitor acd 127.0.0.1 %d 1\nsentinel down-after-milliseconds acd 500\n"+
		"sentinel failover-timeout acd 3000\n", sp, mp)), 0o600); err != nil {
		t.Fatal(err)
	}
	spawn(t, conf, "--sentinel")
	for _, p := range []int{mp, rp, sp} {
		waitPing(t, "127.0.0.1:"+strconv.Itoa(p))
	}
	rdb, err := NewClient(RedisConfig{Addrs: []string{"127.0.0.1:" + strconv.Itoa(sp)}, MasterName: "acd",
		IOTimeout: 300 * time.Millisecond, DialTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	ctx := context.Background()
	m := join(t, rdb, "s:", "a", Options{})
	mustReady(t, m, "1001", "g")
	// Kill the master once Sentinel knows a replica in sync (it learns of
	// replicas from the master's INFO, every 10 s).
	sc := redis.NewSentinelClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(sp)})
	defer sc.Close()
	known := false
	for i := 0; i < 300 && !known; i++ {
		rs, _ := sc.Replicas(ctx, "acd").Result()
		for _, r := range rs {
			known = known || r["master-link-status"] == "ok" && r["flags"] == "slave"
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !known {
		t.Fatal("Sentinel learnt of no replica in 15 s")
	}
	master.Process.Kill()
	deadline := time.Now().Add(20 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		_, last = m.Tick(ctx, 0)
		if errors.Is(last, ErrFenced) {
			t.Log("fenced after the failover: rejoining")
			if last = m.Rejoin(ctx); last == nil {
				mustReady(t, m, "1001", "g") // a rejoin puts back what the node holds
			}
		}
		if last == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if last != nil {
		t.Fatalf("no heartbeat through Sentinel 20 s after the master died: %v", last)
	}
	addr, err := sc.GetMasterAddrByName(ctx, "acd").Result()
	if err != nil || addr[1] != strconv.Itoa(rp) {
		t.Fatalf("master after failover: %v %v, want port %d", addr, err, rp)
	}
	if _, ok := mustEnqueue(t, m, Call{UUID: "c1", Groups: []string{"g"}}); !ok {
		v, _ := m.AgentView(ctx, "1001")
		t.Fatalf("the agent was not offered after the failover: %+v", v)
	}
}
