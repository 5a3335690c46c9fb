package node

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nwayacd/mod_nwayacd/go/store/pgtest"
)

// Two nodes with cluster-redis (and one PostgreSQL) see each other in
// `nwayacd status json`; a stopped node leaves the pool at once.
func TestClusterNodesShowMembers(t *testing.T) {
	need(t, "127.0.0.1:5432")
	need(t, "127.0.0.1:6379")
	_, dsn := pgtest.DB(t)
	prefix := fmt.Sprintf("nwayacd:test:node:%x:", rand.Uint64())
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer func() {
		ctx := context.Background()
		keys, _ := rdb.Keys(ctx, prefix+"*").Result()
		if len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
		rdb.Close()
	}()
	cl := func(id string) map[string]string {
		return params(t, map[string]string{"db-dsn": dsn, "cluster-redis": "127.0.0.1:6379",
			"cluster-node-id": id, "cluster-key-prefix": prefix, "cluster-lease-seconds": "1"})
	}
	a := start(t, cl("node-a"))
	b := start(t, cl("node-b"))
	members := func(n *Node) []string {
		var st struct {
			Extra struct {
				Cluster struct {
					Node    string
					Healthy bool
					Members []struct {
						Node string
						Load int
					}
				}
			}
		}
		out := n.Command("nwayacd", "status json")
		if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &st); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		var ids []string
		for _, m := range st.Extra.Cluster.Members {
			ids = append(ids, m.Node)
		}
		return ids
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && len(members(a)) != 2 {
		time.Sleep(50 * time.Millisecond)
	}
	if got := members(a); len(got) != 2 || got[0] != "node-a" || got[1] != "node-b" {
		t.Fatalf("node-a sees %v", got)
	}
	b.Stop()
	deadline = time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && len(members(a)) != 1 {
		time.Sleep(50 * time.Millisecond)
	}
	if got := members(a); len(got) != 1 || got[0] != "node-a" {
		t.Fatalf("after node-b stopped, node-a sees %v", got)
	}
	a.Stop()
	if n, _ := rdb.ZCard(context.Background(), prefix+"nodes").Result(); n != 0 {
		t.Fatalf("%d members left after both stopped", n)
	}
}

func TestClusterRefusedWithTheEmbeddedStore(t *testing.T) {
	_, err := Start(params(t, map[string]string{"cluster-redis": "127.0.0.1:6379"}), Options{})
	if err == nil || !strings.Contains(err.Error(), "embedded store is single-node only") {
		t.Fatalf("%v", err)
	}
}
