// Package reports computes historical per-group and per-agent figures from
// the CDRs and the agent-state log stored in PostgreSQL (GET
// /api/reports/groups|agents). The figures come from rollups per 15-minute
// bucket that triggers keep on insert (migration 0011), so a month is a few
// hundred thousand small rows rather than millions of CDRs; a report the
// rollups cannot answer exactly (from or to not on a quarter hour, T or N
// beyond 600 s, a zone offset that is no quarter hour) reads the raw rows
// (indexes of migration 0010). Either way the node never loads the rows.
package reports

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Query is one report request.
type Query struct {
	From, To     time.Time     // node local time
	Interval     time.Duration // 15m, 1h or 1d
	ServiceLevel time.Duration // T
	ShortAbandon time.Duration // N
}

// Check validates q: the interval, the order and the size.
func (q Query) Check() error {
	switch q.Interval {
	case 15 * time.Minute, time.Hour, 24 * time.Hour:
	default:
		return fmt.Errorf("interval %v: want 15m, 1h or 1d", q.Interval)
	}
	if !q.To.After(q.From) {
		return errors.New("to must be after from")
	}
	if q.To.Sub(q.From) > 366*24*time.Hour {
		return errors.New("at most a year per report")
	}
	if n := q.To.Sub(q.From) / q.Interval; n > 40000 {
		return fmt.Errorf("%d intervals: at most 40000 per report (use a longer interval)", n)
	}
	return nil
}

// GroupRow is one group's figures in one interval.
type GroupRow struct {
	Group          string  `json:"group"`
	Start          string  `json:"start"` // YYYY-MM-DD HH:MM:SS, local
	Offered        int64   `json:"offered"`
	Answered       int64   `json:"answered"`
	AnsweredInSL   int64   `json:"answered_in_sl"`
	Abandoned      int64   `json:"abandoned"`
	AbandonedShort int64   `json:"abandoned_short"`
	Unanswered     int64   `json:"gave_up_or_timeout"`
	Blacklisted    int64   `json:"blacklisted"`
	ServiceLevel   float64 `json:"service_level"`
	ASA            float64 `json:"asa_seconds"`
	AvgTalk        float64 `json:"avg_talk_seconds"`
}

// AgentRow is one agent's figures in one interval.
type AgentRow struct {
	Extension   string             `json:"extension"`
	Start       string             `json:"start"`
	Calls       int64              `json:"calls"`
	TalkSeconds float64            `json:"talk_seconds"`
	NoAnswers   int64              `json:"no_answers"`
	States      map[string]float64 `json:"state_seconds"`
	Occupancy   float64            `json:"occupancy"`
}

// Reports runs the queries on a pool.
type Reports struct {
	pool      *pgxpool.Pool
	sl, short time.Duration
	complete  atomic.Bool // the rollups were seen complete
}

// New uses pool (the caller closes it) with the service level's T and the
// abandoned-short threshold N.
func New(pool *pgxpool.Pool, serviceLevel, shortAbandon time.Duration) *Reports {
	return &Reports{pool: pool, sl: serviceLevel, short: shortAbandon}
}

// Report renders one report as JSON or CSV (the REST API's interface).
func (r *Reports) Report(ctx context.Context, kind string, from, to time.Time, interval time.Duration, csv bool) ([]byte, error) {
	q := Query{From: from, To: to, Interval: interval, ServiceLevel: r.sl, ShortAbandon: r.short}
	if err := q.Check(); err != nil {
		return nil, err
	}
	switch kind {
	case "groups":
		rows, err := r.Groups(ctx, q)
		if err != nil {
			return nil, err
		}
		if csv {
			return GroupsCSV(rows), nil
		}
		return JSON(kind, q, rows), nil
	case "agents":
		rows, err := r.Agents(ctx, q, time.Now())
		if err != nil {
			return nil, err
		}
		if csv {
			return AgentsCSV(rows), nil
		}
		return JSON(kind, q, rows), nil
	}
	return nil, fmt.Errorf("unknown report %q", kind)
}

const stampLayout = "2006-01-02 15:04:05"

// Flags of unanswered calls the caller ended (cdr package).
const abandonedFlags = `('排队放弃', '单座席无应答', '多座席无应答')`

// groupRawSQL computes the group report from the CDRs themselves: the
// definition the rollups must match.
const groupRawSQL = `
WITH c AS (
  SELECT group_number AS g, date_bin($3::interval, nwayacd_ts(a_start_stamp), $1::timestamp) AS b,
         nwayacd_ts(a_start_stamp) AS t0, answer_stamp, a_end_stamp, billsec, flag
  FROM nwayacd_cdr
  WHERE nwayacd_ts(a_start_stamp) >= $1::timestamp AND nwayacd_ts(a_start_stamp) < $2::timestamp AND NOT is_callout
)
SELECT g, b,
  count(*) FILTER (WHERE flag <> '黑名单'),
  count(*) FILTER (WHERE answer_stamp <> ''),
  count(*) FILTER (WHERE answer_stamp <> '' AND nwayacd_ts(answer_stamp) - t0 <= $4::interval),
  count(*) FILTER (WHERE answer_stamp = '' AND flag IN ` + abandonedFlags + `),
  count(*) FILTER (WHERE answer_stamp = '' AND flag IN ` + abandonedFlags + ` AND nwayacd_ts(a_end_stamp) - t0 < $5::interval),
  count(*) FILTER (WHERE flag = '黑名单'),
  coalesce(extract(epoch FROM avg(nwayacd_ts(answer_stamp) - t0) FILTER (WHERE answer_stamp <> ''))::float8, -1),
  coalesce(avg(CASE WHEN billsec ~ '^[0-9]+$' THEN billsec::float8 END) FILTER (WHERE answer_stamp <> ''), -1)
FROM c GROUP BY g, b ORDER BY g, b`

// rollupCap is the longest wait or abandon the rollups' histograms tell
// apart (nwayacd_cum_add in migration 0011).
const rollupCap = 600 * time.Second

// groupRollupSQL sums nwayacd_report_group. The stamps have whole seconds,
// so "wait ≤ T" is "wait ≤ ⌊T⌋ s" ($4) and "abandoned < N" is "abandoned ≤
// ⌈N⌉−1 s" ($5): entry $4+1 (or the last, which counts them all) of the
// cumulative histograms. wait_sum is an interval summed as avg() sums, so
// the ASA is avg()'s own division.
const groupRollupSQL = `
SELECT group_number, date_bin($3::interval, bucket, $1::timestamp) AS b,
  sum(offered)::bigint, sum(answered)::bigint,
  sum(coalesce(wait_cum[least($4::int + 1, cardinality(wait_cum))], 0))::bigint,
  sum(abandoned)::bigint,
  sum(coalesce(abandon_cum[least($5::int + 1, cardinality(abandon_cum))], 0))::bigint,
  sum(blacklisted)::bigint,
  coalesce(extract(epoch FROM sum(wait_sum) / nullif(sum(wait_n), 0)::float8)::float8, -1),
  coalesce(sum(talk_sum) / nullif(sum(talk_n), 0)::float8, -1)
FROM nwayacd_report_group
WHERE bucket >= $1::timestamp AND bucket < $2::timestamp
GROUP BY 1, 2 ORDER BY 1, 2`

// onQuarter: t's wall clock is on a quarter hour, a rollup bucket's edge.
func onQuarter(t time.Time) bool {
	return t.Minute()%15 == 0 && t.Second() == 0 && t.Nanosecond() == 0
}

// groupRollups: the rollups answer q exactly.
func groupRollups(q Query) bool {
	return onQuarter(q.From) && onQuarter(q.To) &&
		q.ServiceLevel >= 0 && q.ServiceLevel < rollupCap && q.ShortAbandon > 0 && q.ShortAbandon <= rollupCap
}

// rollupsComplete reports whether the rollups hold every row: a large
// database upgraded to them is not backfilled at load (migration 0011), and
// until `SELECT nwayacd_report_rebuild()` has run the raw rows answer.
// Once complete they stay so; the answer is then kept.
func (r *Reports) rollupsComplete(ctx context.Context) bool {
	if r.complete.Load() {
		return true
	}
	var ok bool
	err := r.pool.QueryRow(ctx, "SELECT coalesce((SELECT complete FROM nwayacd_report_complete WHERE id = 1), false)").Scan(&ok)
	if err != nil {
		return false
	}
	if ok {
		r.complete.Store(true)
	}
	return ok
}

// Groups runs the group report.
func (r *Reports) Groups(ctx context.Context, q Query) ([]GroupRow, error) {
	if err := q.Check(); err != nil {
		return nil, err
	}
	if groupRollups(q) && r.rollupsComplete(ctx) {
		slSecs := int64(q.ServiceLevel / time.Second)
		shortSecs := int64((q.ShortAbandon+time.Second-1)/time.Second) - 1
		return r.groups(ctx, groupRollupSQL, local(q.From), local(q.To), q.Interval, slSecs, shortSecs)
	}
	return r.groups(ctx, groupRawSQL, local(q.From), local(q.To), q.Interval, q.ServiceLevel, q.ShortAbandon)
}

func (r *Reports) groups(ctx context.Context, sql string, args ...any) ([]GroupRow, error) {
	rows, err := r.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("group report: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (GroupRow, error) {
		var g GroupRow
		var b time.Time
		err := row.Scan(&g.Group, &b, &g.Offered, &g.Answered, &g.AnsweredInSL, &g.Abandoned, &g.AbandonedShort,
			&g.Blacklisted, &g.ASA, &g.AvgTalk)
		g.Start = b.Format(stampLayout)
		g.Unanswered = g.Offered - g.Answered - g.Abandoned
		g.ServiceLevel = -1
		if d := g.Offered - g.AbandonedShort; d > 0 {
			g.ServiceLevel = 100 * float64(g.AnsweredInSL) / float64(d)
		}
		return g, err
	})
	if err != nil {
		return nil, fmt.Errorf("group report: %w", err)
	}
	return out, nil
}

// The agent log's times are timestamptz; the report works in the node's
// local time at the offset of From (hotline regions rarely have DST).
// agentRawSQL is the definition the rollups must match, with one
// difference: it looks back one day before From for the state an agent was
// in, while the rollups count a state however long ago it began.
const agentRawSQL = `
WITH l AS (
  SELECT ext, CASE status WHEN 'logout' THEN 'logged_out' WHEN 'login' THEN 'ready' ELSE status END AS st,
         (at AT TIME ZONE $4::interval) AS t, seq
  FROM nwayacd_agent_log
  WHERE at < $2::timestamp AT TIME ZONE $4::interval
    AND at >= ($1::timestamp - interval '1 day') AT TIME ZONE $4::interval
    AND status IN ('login', 'logout', 'ready', 'ring', 'talking', 'typing', 'ivr', 'no_answer', 'no_ready', 'busy', 'rest')
), s AS (
  SELECT ext, st, greatest(t, $1::timestamp) AS a0,
         least(coalesce(lead(t) OVER (PARTITION BY ext ORDER BY t, seq), least($2::timestamp, $5::timestamp)), $2::timestamp) AS e
  FROM l
), spans AS (
  SELECT ext, st, bs, extract(epoch FROM least(e, bs + $3::interval) - greatest(a0, bs))::float8 AS secs
  FROM s, LATERAL generate_series(date_bin($3::interval, a0, $1::timestamp), e - interval '1 microsecond', $3::interval) AS bs
  WHERE e > a0
), calls AS (
  SELECT destination_number AS ext, date_bin($3::interval, nwayacd_ts(a_start_stamp), $1::timestamp) AS bs,
         count(*) AS n, sum(CASE WHEN billsec ~ '^[0-9]+$' THEN billsec::float8 ELSE 0 END) AS talk
  FROM nwayacd_cdr
  WHERE nwayacd_ts(a_start_stamp) >= $1::timestamp AND nwayacd_ts(a_start_stamp) < $2::timestamp
    AND answer_stamp <> '' AND destination_number <> '' AND NOT is_callout
  GROUP BY 1, 2
), noans AS (
  SELECT u.ext, date_bin($3::interval, nwayacd_ts(a_start_stamp), $1::timestamp) AS bs, count(*) AS n
  FROM nwayacd_cdr, unnest(no_answer_agents) AS u(ext)
  WHERE nwayacd_ts(a_start_stamp) >= $1::timestamp AND nwayacd_ts(a_start_stamp) < $2::timestamp
  GROUP BY 1, 2
)
SELECT 's', ext, bs, st, secs FROM (SELECT ext, bs, st, sum(secs) AS secs FROM spans GROUP BY 1, 2, 3) x
UNION ALL SELECT 'c', ext, bs, '', n::float8 FROM calls
UNION ALL SELECT 't', ext, bs, '', talk FROM calls
UNION ALL SELECT 'n', ext, bs, '', n::float8 FROM noans
ORDER BY 2, 3`

// rollupStates are the state columns of the agent-state rollups, in order.
var rollupStates = [...]string{"ready", "ring", "talking", "typing", "ivr", "no_answer", "no_ready", "busy", "rest", "logged_out"}

// agentRollupSQL sums nwayacd_report_agent_state (UTC quarter hours, which
// are local quarter hours at a quarter-hour offset; the _1h table: UTC hours,
// for whole-hour offsets and windows) and nwayacd_report_agent_calls (local
// quarter hours or hours), and adds each agent's running state
// (nwayacd_report_agent_open) up to min(To, now). Rows: ext, start, µs in
// each of rollupStates, calls, talk, no-answers; one (ext, start) may come in
// several rows (Agents adds them up).
func agentRollupSQL(suffix string) string {
	return `
WITH o AS (
  SELECT ext, state AS st, greatest(at AT TIME ZONE $4::interval, $1::timestamp) AS a0, least($2::timestamp, $5::timestamp) AS e
  FROM nwayacd_report_agent_open
  WHERE at < $2::timestamp AT TIME ZONE $4::interval
), os AS (
  SELECT ext, bs, st, (extract(epoch FROM least(e, bs + $3::interval) - greatest(a0, bs)) * 1000000)::bigint AS u
  FROM o, LATERAL generate_series(date_bin($3::interval, a0, $1::timestamp), e - interval '1 microsecond', $3::interval) AS bs
  WHERE e > a0
)
SELECT ext, date_bin($3::interval, bucket AT TIME ZONE $4::interval, $1::timestamp) AS bs,
       sum(ready)::bigint, sum(ring)::bigint, sum(talking)::bigint, sum(typing)::bigint, sum(ivr)::bigint, sum(no_answer)::bigint, sum(no_ready)::bigint, sum(busy)::bigint, sum(rest)::bigint, sum(logged_out)::bigint, 0::bigint, 0::float8, 0::bigint
FROM nwayacd_report_agent_state` + suffix + `
WHERE bucket >= $1::timestamp AT TIME ZONE $4::interval AND bucket < $2::timestamp AT TIME ZONE $4::interval
GROUP BY 1, 2
UNION ALL
SELECT ext, bs, CASE WHEN st = 'ready' THEN u ELSE 0 END, CASE WHEN st = 'ring' THEN u ELSE 0 END, CASE WHEN st = 'talking' THEN u ELSE 0 END, CASE WHEN st = 'typing' THEN u ELSE 0 END, CASE WHEN st = 'ivr' THEN u ELSE 0 END, CASE WHEN st = 'no_answer' THEN u ELSE 0 END, CASE WHEN st = 'no_ready' THEN u ELSE 0 END, CASE WHEN st = 'busy' THEN u ELSE 0 END, CASE WHEN st = 'rest' THEN u ELSE 0 END, CASE WHEN st = 'logged_out' THEN u ELSE 0 END, 0, 0, 0 FROM os
UNION ALL
SELECT ext, date_bin($3::interval, bucket, $1::timestamp), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
       sum(calls)::bigint, sum(talk_sum), sum(no_answers)::bigint
FROM nwayacd_report_agent_calls` + suffix + `
WHERE bucket >= $1::timestamp AND bucket < $2::timestamp
GROUP BY 1, 2
ORDER BY 1, 2`
}

var (
	agentQuarterSQL = agentRollupSQL("")
	agentHourSQL    = agentRollupSQL("_1h")
)

// agentSQL picks the query for q: the hourly rollups when the window and the
// offset are whole hours and the interval is an hour or more, the quarter
// hours when they are quarter hours, else the raw rows.
func agentSQL(q Query) string {
	_, off := q.From.Zone()
	switch {
	case q.Interval >= time.Hour && off%3600 == 0 && onHour(q.From) && onHour(q.To):
		return agentHourSQL
	case off%900 == 0 && onQuarter(q.From) && onQuarter(q.To):
		return agentQuarterSQL
	}
	return agentRawSQL
}

func onHour(t time.Time) bool { return t.Minute() == 0 && onQuarter(t) }

// Agents runs the agent report.
func (r *Reports) Agents(ctx context.Context, q Query, now time.Time) ([]AgentRow, error) {
	if err := q.Check(); err != nil {
		return nil, err
	}
	sql := agentSQL(q)
	if sql == agentRawSQL || !r.rollupsComplete(ctx) {
		return r.agents(ctx, agentRawSQL, q, now)
	}
	return r.agentRollups(ctx, sql, q, now)
}

// agentRollups reads agentRollupSQL's rows, adding up those of one agent
// and interval (in µs, so that the seconds are the raw computation's).
func (r *Reports) agentRollups(ctx context.Context, sql string, q Query, now time.Time) ([]AgentRow, error) {
	_, off := q.From.Zone()
	tx, err := r.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("agent report: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	// A month by hour hashes a few hundred thousand rows: in memory, not on disk.
	if _, err := tx.Exec(ctx, "SET LOCAL work_mem = '64MB'"); err != nil {
		return nil, fmt.Errorf("agent report: %w", err)
	}
	rows, err := tx.Query(ctx, sql, local(q.From), local(q.To), q.Interval,
		time.Duration(off)*time.Second, local(now.In(q.From.Location())))
	if err != nil {
		return nil, fmt.Errorf("agent report: %w", err)
	}
	defer rows.Close()
	type acc struct {
		row AgentRow
		us  [len(rollupStates)]int64
	}
	var out []acc
	idx := map[string]int{}
	var ext string
	var b time.Time
	var us [len(rollupStates)]int64
	var calls, na int64
	var talk float64
	dst := []any{&ext, &b}
	for i := range us {
		dst = append(dst, &us[i])
	}
	dst = append(dst, &calls, &talk, &na)
	for rows.Next() {
		if err := rows.Scan(dst...); err != nil {
			return nil, fmt.Errorf("agent report: %w", err)
		}
		if us == [len(rollupStates)]int64{} && calls == 0 && na == 0 {
			continue // a quarter hour a late log row emptied
		}
		key := ext + "\x00" + b.Format(stampLayout)
		i, ok := idx[key]
		if !ok {
			i = len(out)
			idx[key] = i
			out = append(out, acc{row: AgentRow{Extension: ext, Start: b.Format(stampLayout), States: map[string]float64{}}})
		}
		a := &out[i]
		for k, v := range us {
			a.us[k] += v
		}
		a.row.Calls += calls
		a.row.TalkSeconds += talk
		a.row.NoAnswers += na
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("agent report: %w", err)
	}
	res := make([]AgentRow, len(out))
	for i := range out {
		a := &out[i].row
		for k, v := range out[i].us {
			if v != 0 {
				a.States[rollupStates[k]] = float64(v) / 1e6
			}
		}
		occupancy(a)
		res[i] = *a
	}
	return res, nil
}

// occupancy: talking and typing over the time ready, ringing, talking or
// typing (-1 without any).
func occupancy(a *AgentRow) {
	work := a.States["talking"] + a.States["typing"]
	a.Occupancy = -1
	if d := work + a.States["ready"] + a.States["ring"]; d > 0 {
		a.Occupancy = 100 * work / d
	}
}

func (r *Reports) agents(ctx context.Context, sql string, q Query, now time.Time) ([]AgentRow, error) {
	_, off := q.From.Zone()
	rows, err := r.pool.Query(ctx, sql, local(q.From), local(q.To), q.Interval,
		time.Duration(off)*time.Second, local(now.In(q.From.Location())))
	if err != nil {
		return nil, fmt.Errorf("agent report: %w", err)
	}
	defer rows.Close()
	var out []AgentRow
	idx := map[string]int{}
	for rows.Next() {
		var kind, ext, st string
		var b time.Time
		var v float64
		if err := rows.Scan(&kind, &ext, &b, &st, &v); err != nil {
			return nil, fmt.Errorf("agent report: %w", err)
		}
		key := ext + "\x00" + b.Format(stampLayout)
		i, ok := idx[key]
		if !ok {
			i = len(out)
			idx[key] = i
			out = append(out, AgentRow{Extension: ext, Start: b.Format(stampLayout), States: map[string]float64{}})
		}
		a := &out[i]
		switch kind {
		case "s":
			a.States[st] += v
		case "c":
			a.Calls = int64(v)
		case "t":
			a.TalkSeconds = v
		case "n":
			a.NoAnswers = int64(v)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("agent report: %w", err)
	}
	for i := range out {
		occupancy(&out[i])
	}
	return out, nil
}

// local is t's wall clock as a zone-less timestamp (the CDR stamps' kind).
func local(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// GroupsCSV renders rows as CSV with a header.
func GroupsCSV(rows []GroupRow) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"group", "start", "offered", "answered", "answered_in_sl", "abandoned", "abandoned_short",
		"gave_up_or_timeout", "blacklisted", "service_level", "asa_seconds", "avg_talk_seconds"})
	for _, r := range rows {
		_ = w.Write([]string{r.Group, r.Start, i64(r.Offered), i64(r.Answered), i64(r.AnsweredInSL), i64(r.Abandoned),
			i64(r.AbandonedShort), i64(r.Unanswered), i64(r.Blacklisted), f64(r.ServiceLevel), f64(r.ASA), f64(r.AvgTalk)})
	}
	w.Flush()
	return b.Bytes()
}

// States in the agent CSV's columns.
var csvStates = []string{"ready", "ring", "talking", "typing", "ivr", "no_answer", "no_ready", "busy", "rest", "logged_out"}

// AgentsCSV renders rows as CSV with a header.
func AgentsCSV(rows []AgentRow) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	head := []string{"extension", "start", "calls", "talk_seconds", "no_answers", "occupancy"}
	for _, s := range csvStates {
		head = append(head, s+"_seconds")
	}
	_ = w.Write(head)
	for _, r := range rows {
		rec := []string{r.Extension, r.Start, i64(r.Calls), f64(r.TalkSeconds), i64(r.NoAnswers), f64(r.Occupancy)}
		for _, s := range csvStates {
			rec = append(rec, f64(r.States[s]))
		}
		_ = w.Write(rec)
	}
	w.Flush()
	return b.Bytes()
}

func i64(v int64) string   { return strconv.FormatInt(v, 10) }
func f64(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// JSON renders a report document.
func JSON(kind string, q Query, rows any) []byte {
	b, _ := json.Marshal(map[string]any{"report": kind, "from": q.From.Format(stampLayout), "to": q.To.Format(stampLayout),
		"interval": q.Interval.String(), "rows": rows})
	return b
}
