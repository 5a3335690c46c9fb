package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/nwayacd/mod_nwayacd/go/internal/testsvc"
	"github.com/nwayacd/mod_nwayacd/go/store/embedded"
	"github.com/nwayacd/mod_nwayacd/go/store/pgtest"
)

// The fault suite's CDR-grace test: a finished call's CDR waits (here 30 s)
// for the caller leg's hangup event, and the node is killed (kill -9) in
// that wait, round after round. After the restarts every call that had
// finished before a kill has exactly one CDR, in the store and on Redis.

const redisAddr = "127.0.0.1:6379"

func TestKillBeforeCDRGrace(t *testing.T) {
	if testing.Short() {
		t.Skip("kill-before-grace runs real processes")
	}
	testsvc.Need(t, "redis", redisAddr)
	bin := buildDemo(t)
	t.Run("embedded", func(t *testing.T) { killBeforeGrace(t, bin, "") })
	t.Run("postgresql", func(t *testing.T) {
		_, dsn := pgtest.DB(t)
		killBeforeGrace(t, bin, dsn)
	})
}

// cdrWatch counts the CDRs published on Redis by uuid, for uuids starting
// with prefix.
type cdrWatch struct {
	prefix string
	mu     sync.Mutex
	seen   map[string]int
}

func watchCDRs(t *testing.T, prefix string) *cdrWatch {
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	t.Cleanup(func() { rdb.Close() })
	sub := rdb.PSubscribe(context.Background(), "cdr_*")
	t.Cleanup(func() { sub.Close() })
	if _, err := sub.Receive(context.Background()); err != nil {
		t.Fatal(err)
	}
	w := &cdrWatch{prefix: prefix, seen: map[string]int{}}
	ch := sub.Channel(redis.WithChannelSize(100_000))
	go func() {
		for m := range ch {
			if u, _, _ := strings.Cut(m.Payload, ","); strings.HasPrefix(u, prefix) {
				w.mu.Lock()
				w.seen[u]++
				w.mu.Unlock()
			}
		}
	}()
	return w
}

func (w *cdrWatch) counts() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := make(map[string]int, len(w.seen))
	for k, v := range w.seen {
		m[k] = v
	}
	return m
}

func killBeforeGrace(t *testing.T, bin, dsn string) {
	rounds := 5
	if v, err := strconv.Atoi(os.Getenv("NWAYACD_GRACE_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	prefix := "g" + strconv.FormatInt(time.Now().UnixNano(), 36) + "-"
	w := watchCDRs(t, prefix)
	dir, port := t.TempDir(), sparePort(t)
	args := func(round int, rate string) []string {
		a := []string{"-listen", fmt.Sprintf("127.0.0.1:%d", port), "-redis", redisAddr, "-dir", dir,
			"-rate", rate, "-speed", "100", "-commands", "-cdr-grace", "30s",
			"-uuid-prefix", fmt.Sprintf("%sr%02d-", prefix, round)}
		if dsn != "" {
			a = append(a, "-dsn", dsn)
		}
		return a
	}
	finished := make([]int, rounds)
	early := 0 // CDRs of a round on Redis before its kill (none expected: the grace is 30 s)
	for r := range rounds {
		p := startProc(t, bin, args(r, "0.3")...)
		deadline := time.Now().Add(10 * time.Second)
		for {
			time.Sleep(500 * time.Millisecond)
			st, err := p.stats()
			if err != nil {
				t.Fatalf("round %d: stats: %v", r, err)
			}
			finished[r] = st.Finished
			if st.Finished >= 5 || time.Now().After(deadline) {
				break
			}
		}
		// Every call counted above has left: its provisional CDR is journaled.
		if reply, err := p.console("demo_sync"); err != nil || reply != "+OK synced" {
			t.Fatalf("round %d: demo_sync: %q %v", r, reply, err)
		}
		for u := range w.counts() {
			if strings.HasPrefix(u, fmt.Sprintf("%sr%02d-", prefix, r)) {
				early++
			}
		}
		p.kill()
	}
	// A last start without traffic emits what the last kill left; wait until
	// Redis has at least one CDR per finished call, and stop cleanly.
	calls := 0
	for _, n := range finished {
		calls += n
	}
	p := startProc(t, bin, args(rounds, "0")...)
	for deadline := time.Now().Add(20 * time.Second); len(w.counts()) < calls && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	p.stop(t)
	stored := storedWithPrefix(t, dir, dsn, prefix)
	time.Sleep(200 * time.Millisecond) // the last messages off the subscription

	perRound := map[int]int{}
	for _, u := range stored {
		var r int
		if _, err := fmt.Sscanf(strings.TrimPrefix(u, prefix), "r%02d-", &r); err == nil {
			perRound[r]++
		}
	}
	missing := 0
	for r := range rounds {
		if perRound[r] < finished[r] {
			missing += finished[r] - perRound[r]
			t.Errorf("round %d: %d CDRs stored, but %d calls had finished before the kill", r, perRound[r], finished[r])
		}
	}
	seen := w.counts()
	isStored := map[string]bool{}
	dups, unpublished := 0, 0
	for _, u := range stored {
		isStored[u] = true
		switch n := seen[u]; {
		case n == 0:
			unpublished++
			t.Errorf("CDR %s stored but never published", u)
		case n > 1:
			dups += n - 1
			t.Errorf("CDR %s published %d times", u, n)
		}
	}
	for u := range seen {
		if !isStored[u] {
			t.Errorf("CDR %s published but not stored", u)
		}
	}
	if early != 0 {
		t.Errorf("%d CDRs published before their round's kill: the test did not kill in the grace", early)
	}
	t.Logf("%d rounds of kill -9 inside a 30 s CDR grace; %d calls finished before the kills; %d CDRs stored, %d published; "+
		"missing %d, duplicates %d, unpublished %d", rounds, calls, len(stored), len(seen), missing, dups, unpublished)
}

// storedWithPrefix lists the stored CDRs' uuids; with PostgreSQL it checks
// that no uuid has two rows (the primary key says so; the count proves it).
func storedWithPrefix(t *testing.T, dir, dsn, prefix string) []string {
	t.Helper()
	ctx := context.Background()
	if dsn == "" {
		st, err := embedded.Open(filepath.Join(dir, "nwayacd.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		uuids, err := st.CDRUUIDs(ctx, prefix)
		if err != nil {
			t.Fatal(err)
		}
		return uuids
	}
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var n, distinct int
	if err := c.QueryRow(ctx, `SELECT count(*), count(DISTINCT uuid) FROM nwayacd_cdr`).Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	if n != distinct {
		t.Errorf("%d CDR rows for %d calls", n, distinct)
	}
	rows, _ := c.Query(ctx, `SELECT uuid FROM nwayacd_cdr WHERE starts_with(uuid, $1) ORDER BY uuid`, prefix)
	uuids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return uuids
}
