package writeback_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/event"
	"github.com/nwayacd/mod_nwayacd/go/store"
	"github.com/nwayacd/mod_nwayacd/go/store/pg"
	"github.com/nwayacd/mod_nwayacd/go/store/pgtest"
	"github.com/nwayacd/mod_nwayacd/go/store/writeback"
)

// TestSharedDatabaseNoDeadlock runs the journals of several nodes against
// one PostgreSQL database, each writing what a cluster node writes on its
// call path (CDRs and agent logs, whose triggers add to the shared report
// rows; cyclic cursors; extension state; memory) for the same groups and
// agents in random orders, and checks that no transaction had to be retried
// (a deadlock is a retried batch) and that every write landed.
func TestSharedDatabaseNoDeadlock(t *testing.T) {
	_, dsn := pgtest.DB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	const nodes, perNode = 3, 600
	groups := []string{"110", "120", "130", "140"}
	exts := []string{"1001", "1002", "1003", "1004", "1005", "1006", "1007", "1008"}

	stores := make([]*pg.Store, nodes)
	for i := range stores {
		s, err := pg.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = s.Close() }()
		s.SetOrigin(fmt.Sprintf("node-%d", i))
		s.SetShared(true)
		stores[i] = s
	}
	if _, err := stores[0].Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, g := range groups {
		if err := stores[0].UpsertGroup(ctx, store.Group{Number: g, Name: g, Mode: 2, CalloutTimeout: 15 * time.Second}); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range exts {
		if err := stores[0].UpsertExtension(ctx, store.Extension{Number: e, JobNumber: e, JobEnabled: true}); err != nil {
			t.Fatal(err)
		}
	}

	journals := make([]*writeback.Journal, nodes)
	for i := range journals {
		j, err := writeback.New(stores[i], writeback.Options{Dir: t.TempDir(), Linger: time.Millisecond,
			MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		journals[i] = j
	}
	start := time.Now().Add(-time.Minute).Format(event.TimeLayout)
	var wg sync.WaitGroup
	for i, j := range journals {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(i), 7))
			for k := range perNode {
				g, e := groups[r.IntN(len(groups))], exts[r.IntN(len(exts))]
				other := exts[r.IntN(len(exts))]
				j.SetCurrentExt(g, e)
				j.UpsertExtension(store.Extension{Number: e, JobNumber: e, JobEnabled: true, Busy: k%2 == 0})
				j.InsertCDR(event.CDR{UUID: fmt.Sprintf("n%d-%05d", i, k), Group: g, DestinationNumber: e,
					AStartStamp: start, StartStamp: start, AnswerStamp: start, Billsec: "3",
					NoAnswerAgents: []string{other}})
				j.AppendAgentLog(store.AgentLog{Ext: e, Status: "talking", At: time.Now()})
				j.AppendAgentLog(store.AgentLog{Ext: other, Status: "ready", At: time.Now()})
				j.PutMemory(store.Memory{Caller: fmt.Sprint(500 + r.IntN(20)), Group: g, Ext: e, LastTime: time.Now()})
				if k%50 == 0 {
					time.Sleep(time.Millisecond) // let batches of several sizes form
				}
			}
		}()
	}
	wg.Wait()
	var retries uint64
	var lastErr []string
	for i, j := range journals {
		if err := j.Close(ctx); err != nil {
			t.Errorf("node %d: %v", i, err)
		}
		st := j.Stats()
		t.Logf("node %d journal: %+v", i, st)
		if st.Dropped != 0 || st.Rejected != 0 || st.Backlog != 0 || st.Applied != 6*perNode {
			t.Errorf("node %d: stats %+v, want %d applied and nothing lost", i, st, 6*perNode)
		}
		retries += st.Retries
		if st.LastError != "" {
			lastErr = append(lastErr, st.LastError)
		}
	}
	if retries != 0 {
		t.Errorf("%d retried transactions (deadlocks): %s", retries, strings.Join(lastErr, "; "))
	}

	db := stores[0].Pool()
	var cdrs, logs, calls, noans int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM nwayacd_cdr`).Scan(&cdrs); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, `SELECT count(*) FROM nwayacd_agent_log`).Scan(&logs); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, `SELECT coalesce(sum(calls), 0), coalesce(sum(no_answers), 0) FROM nwayacd_report_agent_calls`).Scan(&calls, &noans); err != nil {
		t.Fatal(err)
	}
	if cdrs != nodes*perNode || logs != 2*nodes*perNode || calls != nodes*perNode || noans != nodes*perNode {
		t.Fatalf("%d CDRs, %d agent logs, report %d calls %d no-answers; want %d, %d, %d, %d",
			cdrs, logs, calls, noans, nodes*perNode, 2*nodes*perNode, nodes*perNode, nodes*perNode)
	}
}
