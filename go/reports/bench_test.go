package reports_test

import (
	"context"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/reports"
)

// BenchmarkMonthReport: a month of CDRs at 100,000 calls a day (3 million
// rows, 50 groups, 500 agents) and a month of agent states; the group report
// for the month by day and by hour, and the agent report by day (issue 14:
// ≤ 1 s).
func BenchmarkMonthReport(b *testing.B) {
	st := freshDB(b)
	ctx := context.Background()
	t0 := time.Now()
	_, err := st.Pool().Exec(ctx, `
		INSERT INTO nwayacd_cdr (uuid, group_number, a_start_stamp, answer_stamp, a_end_stamp, billsec, flag, destination_number)
		SELECT 'u' || i, (100 + i % 50)::text,
		       to_char(timestamp '2026-03-01' + (i * interval '864 milliseconds'), 'YYYY-MM-DD HH24:MI:SS'),
		       CASE WHEN i % 10 < 8 THEN to_char(timestamp '2026-03-01' + (i * interval '864 milliseconds') + ((i % 40) * interval '1 second'), 'YYYY-MM-DD HH24:MI:SS') ELSE '' END,
		       to_char(timestamp '2026-03-01' + (i * interval '864 milliseconds') + interval '3 minutes', 'YYYY-MM-DD HH24:MI:SS'),
		       (60 + i % 300)::text,
		       CASE WHEN i % 10 < 8 THEN '正常接听' WHEN i % 10 = 8 THEN '排队放弃' ELSE '排队超时' END,
		       (1000 + i % 500)::text
		FROM generate_series(1, 3000000) AS i`)
	if err != nil {
		b.Fatal(err)
	}
	_, err = st.Pool().Exec(ctx, `
		INSERT INTO nwayacd_agent_log (id, ext, status, at)
		SELECT 'l' || i, (1000 + i % 500)::text, (ARRAY['ready','ring','talking','typing','busy'])[1 + (i / 500) % 5],
		       timestamptz '2026-03-01 00:00:00+00' + (i * interval '432 milliseconds')
		FROM generate_series(1, 6000000) AS i`)
	if err != nil {
		b.Fatal(err)
	}
	for _, tbl := range []string{"nwayacd_cdr", "nwayacd_agent_log"} {
		if _, err := st.Pool().Exec(ctx, "VACUUM ANALYZE "+tbl); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("loaded 3M CDRs and 6M agent states in %v", time.Since(t0).Round(time.Second))
	r := reports.New(st.Pool(), 20*time.Second, 5*time.Second)
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 1, 0)
	for _, c := range []struct {
		name     string
		kind     string
		interval time.Duration
	}{{"groups-by-day", "groups", 24 * time.Hour}, {"groups-by-hour", "groups", time.Hour}, {"agents-by-day", "agents", 24 * time.Hour}} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := r.Report(ctx, c.kind, from, to, c.interval, false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
