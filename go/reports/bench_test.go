package reports_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/event"
	"github.com/nwayacd/mod_nwayacd/go/reports"
	"github.com/nwayacd/mod_nwayacd/go/store"
)

// BenchmarkMonthReport: a month of CDRs at 100,000 calls a day (3 million
// rows, 50 groups, 500 agents) and a month of agent states (6 million rows);
// the group report for the month by day and by hour, and the agent report by
// day (issue 14: ≤ 1 s). The rows are loaded with the rollup triggers off
// and the rollups then rebuilt in one pass (nwayacd_report_rebuild, as the
// migration's backfill does): the same rollups, in a fraction of the time
// (TestRollupTriggersMatchRebuild). Run it with `make bench-reports`.
func BenchmarkMonthReport(b *testing.B) {
	st := freshDB(b)
	ctx := context.Background()
	t0 := time.Now()
	exec := func(sql string) {
		b.Helper()
		if _, err := st.Pool().Exec(ctx, sql); err != nil {
			b.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`ALTER TABLE nwayacd_cdr DISABLE TRIGGER nwayacd_report_cdr`)
	exec(`ALTER TABLE nwayacd_agent_log DISABLE TRIGGER nwayacd_report_agent_log`)
	// Stamps from one to_char of a timestamp computed once per row.
	exec(`
		INSERT INTO nwayacd_cdr (uuid, group_number, a_start_stamp, answer_stamp, a_end_stamp, billsec, flag, destination_number)
		SELECT 'u' || i, (100 + i % 50)::text, to_char(t, 'YYYY-MM-DD HH24:MI:SS'),
		       CASE WHEN i % 10 < 8 THEN to_char(t + (i % 40) * interval '1 second', 'YYYY-MM-DD HH24:MI:SS') ELSE '' END,
		       to_char(t + interval '3 minutes', 'YYYY-MM-DD HH24:MI:SS'),
		       (60 + i % 300)::text,
		       CASE WHEN i % 10 < 8 THEN '正常接听' WHEN i % 10 = 8 THEN '排队放弃' ELSE '排队超时' END,
		       (1000 + i % 500)::text
		FROM generate_series(1, 3000000) AS i, LATERAL (SELECT timestamp '2026-03-01' + i * interval '864 milliseconds' AS t) AS x`)
	exec(`
		INSERT INTO nwayacd_agent_log (id, ext, status, at)
		SELECT 'l' || i, (1000 + i % 500)::text, (ARRAY['ready','ring','talking','typing','busy'])[1 + (i / 500) % 5],
		       timestamptz '2026-03-01 00:00:00+00' + (i * interval '432 milliseconds')
		FROM generate_series(1, 6000000) AS i`)
	loaded := time.Since(t0)
	exec(`SELECT nwayacd_report_rebuild()`)
	exec(`ALTER TABLE nwayacd_cdr ENABLE TRIGGER nwayacd_report_cdr`)
	exec(`ALTER TABLE nwayacd_agent_log ENABLE TRIGGER nwayacd_report_agent_log`)
	rebuilt := time.Since(t0) - loaded
	for _, tbl := range []string{"nwayacd_cdr", "nwayacd_agent_log", "nwayacd_report_group", "nwayacd_report_agent_calls",
		"nwayacd_report_agent_state", "nwayacd_report_agent_open", "nwayacd_report_agent_calls_1h", "nwayacd_report_agent_state_1h"} {
		exec("VACUUM ANALYZE " + tbl)
	}
	b.Logf("loaded 3M CDRs and 6M agent states in %v, rollups rebuilt in %v, all in %v",
		loaded.Round(time.Second), rebuilt.Round(time.Second), time.Since(t0).Round(time.Second))
	r := reports.New(st.Pool(), 20*time.Second, 5*time.Second)
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 1, 0)
	for _, c := range []struct {
		name     string
		kind     string
		interval time.Duration
	}{{"groups-by-day", "groups", 24 * time.Hour}, {"groups-by-hour", "groups", time.Hour},
		{"groups-by-15m", "groups", 15 * time.Minute}, {"agents-by-day", "agents", 24 * time.Hour},
		{"agents-by-hour", "agents", time.Hour}} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := r.Report(ctx, c.kind, from, to, c.interval, false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkInsertCDR: what the rollup trigger adds to one CDR's insert
// (InsertCDR, one statement, autocommit), calls at 100,000 a day over 50
// groups and 500 agents, 80 % answered within 40 s, 10 % abandoned.
func BenchmarkInsertCDR(b *testing.B) {
	st := freshDB(b)
	ctx := context.Background()
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	n := 0
	for _, trig := range []string{"ENABLE", "DISABLE", "ENABLE"} {
		if _, err := st.Pool().Exec(ctx, "ALTER TABLE nwayacd_cdr "+trig+" TRIGGER nwayacd_report_cdr"); err != nil {
			b.Fatal(err)
		}
		b.Run("trigger-"+map[string]string{"ENABLE": "on", "DISABLE": "off"}[trig], func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				n++
				t := start.Add(time.Duration(n) * 864 * time.Millisecond)
				c := event.CDR{UUID: fmt.Sprintf("b%d", n), Group: fmt.Sprint(100 + n%50), AStartStamp: t.Format(event.TimeLayout),
					AEndStamp: t.Add(3 * time.Minute).Format(event.TimeLayout), Billsec: fmt.Sprint(60 + n%300),
					DestinationNumber: fmt.Sprint(1000 + n%500), Flag: "正常接听"}
				switch {
				case n%10 < 8:
					c.AnswerStamp = t.Add(time.Duration(n%40) * time.Second).Format(event.TimeLayout)
				case n%10 == 8:
					c.Flag, c.DestinationNumber, c.NoAnswerAgents = "排队放弃", "", []string{fmt.Sprint(1000 + n%500)}
				default:
					c.Flag, c.DestinationNumber = "排队超时", ""
				}
				if err := st.InsertCDR(ctx, c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAppendAgentLog: what the rollup trigger adds to one agent-state
// row's insert, 500 agents changing state every few minutes, in order.
func BenchmarkAppendAgentLog(b *testing.B) {
	st := freshDB(b)
	ctx := context.Background()
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	states := []string{"ready", "ring", "talking", "typing", "busy"}
	n := 0
	for _, trig := range []string{"ENABLE", "DISABLE", "ENABLE"} {
		if _, err := st.Pool().Exec(ctx, "ALTER TABLE nwayacd_agent_log "+trig+" TRIGGER nwayacd_report_agent_log"); err != nil {
			b.Fatal(err)
		}
		b.Run("trigger-"+map[string]string{"ENABLE": "on", "DISABLE": "off"}[trig], func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				n++
				l := store.AgentLog{Ext: fmt.Sprint(1000 + n%500), Status: states[(n/500)%5],
					At: start.Add(time.Duration(n) * 432 * time.Millisecond)}
				if err := st.AppendAgentLog(ctx, l); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
