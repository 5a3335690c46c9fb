package api

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// Reports answers the historical reports (package reports); kind is
// "groups" or "agents", from/to are node local time.
type Reports interface {
	Report(ctx context.Context, kind string, from, to time.Time, interval time.Duration, csv bool) ([]byte, error)
}

// reportTimeout bounds one report's SQL.
const reportTimeout = 20 * time.Second

func (s *Server) reportGroups(ctx *fasthttp.RequestCtx, _ string) { s.report(ctx, "groups") }
func (s *Server) reportAgents(ctx *fasthttp.RequestCtx, _ string) { s.report(ctx, "agents") }

// report: GET /api/reports/{groups|agents}?from=&to=&interval=15m|1h|1d
// [&format=csv], or Accept: text/csv.
func (s *Server) report(ctx *fasthttp.RequestCtx, kind string) {
	o := s.observability()
	if o.Reports == nil {
		writeError(ctx, fasthttp.StatusNotImplemented, "historical reports need PostgreSQL (db-dsn): the embedded store keeps no report tables; /api/stats/"+kind+" has today, the last 15 minutes and the last hour")
		return
	}
	args := ctx.QueryArgs()
	loc := o.Location
	if loc == nil {
		loc = time.Local
	}
	from, err := parseReportTime(string(args.Peek("from")), loc)
	if err != nil {
		writeError(ctx, fasthttp.StatusBadRequest, "from: "+err.Error())
		return
	}
	to, err := parseReportTime(string(args.Peek("to")), loc)
	if err != nil {
		writeError(ctx, fasthttp.StatusBadRequest, "to: "+err.Error())
		return
	}
	var interval time.Duration
	switch iv := string(args.Peek("interval")); iv {
	case "15m":
		interval = 15 * time.Minute
	case "1h", "":
		interval = time.Hour
	case "1d":
		interval = 24 * time.Hour
	default:
		writeError(ctx, fasthttp.StatusBadRequest, fmt.Sprintf("interval %q: want 15m, 1h or 1d", iv))
		return
	}
	if !to.After(from) {
		writeError(ctx, fasthttp.StatusBadRequest, "to must be after from")
		return
	}
	csv := string(args.Peek("format")) == "csv" || bytes.Contains(ctx.Request.Header.Peek("Accept"), []byte("text/csv"))
	c, cancel := context.WithTimeout(context.Background(), reportTimeout)
	defer cancel()
	body, err := o.Reports.Report(c, kind, from, to, interval, csv)
	if err != nil {
		st := fasthttp.StatusBadRequest
		if c.Err() != nil || strings.Contains(err.Error(), "report:") {
			st = fasthttp.StatusServiceUnavailable
		}
		writeError(ctx, st, err.Error())
		return
	}
	if csv {
		ctx.SetContentType("text/csv; charset=utf-8")
		ctx.Response.Header.Set("Content-Disposition", `attachment; filename="nwayacd-`+kind+`.csv"`)
	} else {
		ctx.SetContentType(contentJSON)
	}
	ctx.SetBody(body)
}

// parseReportTime takes "2026-03-02", "2026-03-02 10:00[:00]" (node local
// time, also with T) or RFC 3339.
func parseReportTime(v string, loc *time.Location) (time.Time, error) {
	if v == "" {
		return time.Time{}, fmt.Errorf("missing (e.g. 2026-03-02 or 2026-03-02T10:00:00)")
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.In(loc), nil
	}
	for _, layout := range []string{"2006-01-02", "2006-01-02 15:04", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date or time (e.g. 2026-03-02 or 2026-03-02T10:00:00)", v)
}
