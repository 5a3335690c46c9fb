package reports_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nwayacd/mod_nwayacd/go/event"
	"github.com/nwayacd/mod_nwayacd/go/reports"
	"github.com/nwayacd/mod_nwayacd/go/store"
	"github.com/nwayacd/mod_nwayacd/go/store/pg"
)

const admin = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// freshDB makes a database of its own, migrated, dropped at the end.
func freshDB(t testing.TB) *pg.Store {
	t.Helper()
	if c, err := net.DialTimeout("tcp", "127.0.0.1:5432", time.Second); err != nil {
		if os.Getenv("NWAYACD_REQUIRE_SERVICES") == "1" {
			t.Fatalf("postgres: %v", err)
		}
		t.Skipf("postgres: %v", err)
	} else {
		c.Close()
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("nwayacd_reports_%d_%d", os.Getpid(), time.Now().UnixNano()%1e6)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	st, err := pg.Open(ctx, strings.Replace(admin, "/postgres?", "/"+name+"?", 1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		st.Close()
		_, _ = conn.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)")
		conn.Close(ctx)
	})
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

var day = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

func stamp(sec int) string { return day.Add(time.Duration(sec) * time.Second).Format(event.TimeLayout) }

func cdr(uuid, group string, start, answer, end int, agent, billsec, flag string, noAnswer ...string) event.CDR {
	c := event.CDR{UUID: uuid, Group: group, AStartStamp: stamp(start), AEndStamp: stamp(end), DestinationNumber: agent,
		Billsec: billsec, Flag: flag, NoAnswerAgents: noAnswer}
	if answer >= 0 {
		c.AnswerStamp = stamp(answer)
	}
	return c
}

func TestReports(t *testing.T) {
	st := freshDB(t)
	ctx := context.Background()
	for _, c := range []event.CDR{
		// 10:00–10:15, group 110: answered in 10 s and in 40 s, abandoned after 3 s (short) and 50 s, blacklisted
		cdr("a", "110", 36000, 36010, 36070, "1000", "60", "正常接听"),
		cdr("b", "110", 36100, 36140, 36200, "1001", "60", "无应答后接听", "1000"),
		cdr("c", "110", 36200, -1, 36203, "", "0", "排队放弃"),
		cdr("d", "110", 36300, -1, 36350, "1000", "0", "单座席无应答", "1000"),
		cdr("e", "110", 36400, -1, 36400, "", "0", "黑名单"),
		// 10:15–10:30: a timeout
		cdr("f", "110", 36900, -1, 37200, "", "0", "排队超时"),
		// a callout is not a queue call
		{UUID: "g", IsCallout: true, Group: "110", AStartStamp: stamp(36000), AnswerStamp: stamp(36001), Flag: "外呼"},
	} {
		if err := st.InsertCDR(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range []store.AgentLog{
		{Ext: "1000", Status: "login", At: day.Add(9*time.Hour + 55*time.Minute)}, // ready from 09:55
		{Ext: "1000", Status: "ring", At: day.Add(36005 * time.Second)},
		{Ext: "1000", Status: "talking", At: day.Add(36010 * time.Second)},
		{Ext: "1000", Status: "reged", At: day.Add(36020 * time.Second)}, // not a state
		{Ext: "1000", Status: "typing", At: day.Add(36070 * time.Second)},
		{Ext: "1000", Status: "ready", At: day.Add(36100 * time.Second)},
		{Ext: "1000", Status: "logout", At: day.Add(36000*time.Second + 20*time.Minute)}, // 10:20
	} {
		if err := st.AppendAgentLog(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	r := reports.New(st.Pool(), 20*time.Second, 5*time.Second)
	q := reports.Query{From: day.Add(10 * time.Hour), To: day.Add(11 * time.Hour), Interval: 15 * time.Minute,
		ServiceLevel: 20 * time.Second, ShortAbandon: 5 * time.Second}
	gs, err := r.Groups(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != 2 {
		t.Fatalf("rows %+v", gs)
	}
	g := gs[0]
	if g.Group != "110" || g.Start != "2026-03-02 10:00:00" || g.Offered != 4 || g.Answered != 2 || g.AnsweredInSL != 1 ||
		g.Abandoned != 2 || g.AbandonedShort != 1 || g.Blacklisted != 1 || g.Unanswered != 0 || g.ASA != 25 || g.AvgTalk != 60 {
		t.Fatalf("10:00 %+v", g)
	}
	if g.ServiceLevel < 33.3 || g.ServiceLevel > 33.4 { // 1 / (4 − 1)
		t.Fatalf("service level %v", g.ServiceLevel)
	}
	if g := gs[1]; g.Start != "2026-03-02 10:15:00" || g.Offered != 1 || g.Unanswered != 1 || g.ServiceLevel != 0 {
		t.Fatalf("10:15 %+v", g)
	}
	as, err := r.Agents(ctx, q, day.Add(12*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]reports.AgentRow{}
	for _, a := range as {
		byKey[a.Extension+" "+a.Start] = a
	}
	a := byKey["1000 2026-03-02 10:00:00"]
	// 10:00–10:15: ready 0–5 s and 100–900 s, ring 5 s, talking 60 s, typing 30 s
	want := map[string]float64{"ready": 805, "ring": 5, "talking": 60, "typing": 30}
	for k, v := range want {
		if a.States[k] != v {
			t.Fatalf("1000 at 10:00: %s %v, want %v (%+v)", k, a.States[k], v, a)
		}
	}
	if a.Calls != 1 || a.TalkSeconds != 60 || a.NoAnswers != 2 {
		t.Fatalf("1000 at 10:00: %+v", a)
	}
	b := byKey["1000 2026-03-02 10:15:00"] // ready 5 min, then logged out
	if b.States["ready"] != 300 || b.States["logged_out"] != 600 || b.Occupancy != 0 {
		t.Fatalf("1000 at 10:15: %+v", b)
	}
	if x := byKey["1001 2026-03-02 10:00:00"]; x.Calls != 1 {
		t.Fatalf("1001: %+v", x)
	}
	csv := string(reports.GroupsCSV(gs))
	if !strings.HasPrefix(csv, "group,start,offered,") || !strings.Contains(csv, "\n110,2026-03-02 10:00:00,4,2,1,2,1,0,1,") {
		t.Fatalf("csv:\n%s", csv)
	}
	if _, err := r.Groups(ctx, reports.Query{From: q.From, To: q.To, Interval: 7 * time.Minute}); err == nil {
		t.Fatal("a 7-minute interval was accepted")
	}
}
