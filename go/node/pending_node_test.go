package node

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/nwayacd/mod_nwayacd/go/logx"
	"github.com/nwayacd/mod_nwayacd/go/session"
	"github.com/nwayacd/mod_nwayacd/go/store/pgtest"
)

// Issue 13: nodes sharing a database. Node a holds a call whose CDR is
// pending; node b starting does not emit it (the call is a's, and live).
// a, killed, emits it at its next start, exactly once.
func TestPendingCDRsOnlyTheirNodes(t *testing.T) {
	need(t, "127.0.0.1:5432")
	need(t, "127.0.0.1:6379")
	_, dsn := pgtest.DB(t)
	ctx := context.Background()
	prefix := fmt.Sprintf("nwayacd:test:pending:%x:", rand.Uint64())
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	t.Cleanup(func() {
		if keys, _ := rdb.Keys(ctx, prefix+"*").Result(); len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
	})
	uuid := fmt.Sprintf("pendnode-%d", time.Now().UnixNano())
	sub := rdb.Subscribe(ctx, "cdr_110")
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	published := 0
	collect := func(d time.Duration) {
		deadline := time.After(d)
		for {
			select {
			case m := <-sub.Channel():
				if u, _, _ := strings.Cut(m.Payload, ","); u == uuid {
					published++
				}
			case <-deadline:
				return
			}
		}
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	count := func(table string) int {
		t.Helper()
		var k int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+table+" WHERE uuid=$1", uuid).Scan(&k); err != nil {
			t.Fatal(err)
		}
		return k
	}
	startNode := func(id, dir string) *Node {
		t.Helper()
		p := params(t, map[string]string{"db-dsn": dsn, "publisher": "redis", "cluster-redis": "127.0.0.1:6379",
			"cluster-node-id": id, "cluster-key-prefix": prefix, "cluster-lease-seconds": "1"})
		if dir != "" {
			p["fs-db-dir"] = dir
		}
		n, err := Start(p, Options{CDRGrace: time.Hour,
			Logger: logx.New(func(l int, line string) { t.Logf("[%s %d] %s", id, l, line) }, slog.LevelInfo)})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	a := startNode("a", "")
	cmd(t, a, "nway_add_group", "110 2")
	a.Service.Enter(session.Call{Kind: session.Queue, UUID: uuid, Group: "110", CallerNumber: "138"})
	a.Service.Leave(uuid) // its CDR waits (an hour) for the caller leg's hangup: pending
	waitFor(t, "a's call's pending CDR", func() bool {
		_ = a.Sync()
		return count("nwayacd_pending_cdr") == 1
	})

	// b starts (a restart is a start) while a's call is live.
	b := startNode("b", "")
	collect(500 * time.Millisecond)
	b.Stop()
	if published != 0 || count("nwayacd_cdr") != 0 || count("nwayacd_pending_cdr") != 1 {
		t.Fatalf("b emitted a's live call: published %d, stored %d, pending %d", published, count("nwayacd_cdr"), count("nwayacd_pending_cdr"))
	}

	// a is killed: its folder as kill -9 leaves it (the journal applied:
	// Sync above); the run itself goes without writing to the database.
	crashed := t.TempDir()
	copyTree(t, a.cfg.DBDir, crashed)
	a.db.Close() // its unload's writes stay in its old folder's journal
	a.Stop()
	collect(300 * time.Millisecond)
	published = 0 // what that unload published a kill -9 would not have
	if count("nwayacd_cdr") != 0 || count("nwayacd_pending_cdr") != 1 {
		t.Fatal("the killed run wrote its CDR")
	}

	a = startNode("a", crashed)
	collect(500 * time.Millisecond)
	if published != 1 || count("nwayacd_cdr") != 1 || count("nwayacd_pending_cdr") != 0 {
		t.Fatalf("a's next start: published %d, stored %d, pending %d; want 1, 1, 0", published, count("nwayacd_cdr"), count("nwayacd_pending_cdr"))
	}
	a.Stop()
	a = startNode("a", crashed)
	collect(300 * time.Millisecond)
	a.Stop()
	if published != 1 || count("nwayacd_cdr") != 1 {
		t.Fatalf("a's second start emitted again: published %d, stored %d", published, count("nwayacd_cdr"))
	}
}

// copyTree copies the files of folder from (one level of subfolders, as a
// node's folder holds its journal) into to.
func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}
