package api

import (
	"bytes"
	"crypto/subtle"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

// Stats renders the statistics reports (package stats).
type Stats interface {
	GroupsJSON(only string, gzip bool) []byte
	AgentsJSON(only string, gzip bool) []byte
}

// Observability is what the server shows besides SPEC §5: statistics,
// Prometheus metrics and the wallboard pages. A nil part answers 404.
type Observability struct {
	Stats   Stats
	Metrics http.Handler // GET /metrics
	// MetricsToken, when set, is required as "Authorization: Bearer <token>"
	// on /metrics (Prometheus' authorization.credentials); empty: open.
	MetricsToken string
	UI           fs.FS // served at /ui/ (index.html at its root)
	Reports      Reports
	Location     *time.Location // of report times; default time.Local

	metricsH fasthttp.RequestHandler
}

// SetObservability attaches o; safe while serving.
func (s *Server) SetObservability(o Observability) {
	if o.Metrics != nil {
		o.metricsH = fasthttpadaptor.NewFastHTTPHandler(o.Metrics)
	}
	s.obs.Store(&o)
}

func (s *Server) observability() *Observability {
	if o := s.obs.Load(); o != nil {
		return o
	}
	return &Observability{}
}

func (s *Server) statsGroups(ctx *fasthttp.RequestCtx, _ string) {
	st := s.observability().Stats
	if st == nil {
		writeError(ctx, fasthttp.StatusNotFound, "statistics are not enabled on this server")
		return
	}
	zip := acceptsGzip(ctx)
	writeReport(ctx, zip, st.GroupsJSON(string(ctx.QueryArgs().Peek("group")), zip))
}

func (s *Server) statsAgents(ctx *fasthttp.RequestCtx, _ string) {
	st := s.observability().Stats
	if st == nil {
		writeError(ctx, fasthttp.StatusNotFound, "statistics are not enabled on this server")
		return
	}
	zip := acceptsGzip(ctx)
	writeReport(ctx, zip, st.AgentsJSON(string(ctx.QueryArgs().Peek("extension")), zip))
}

// acceptsGzip: large reports go compressed to clients that take it (a
// 1,000-group report is 1 MB of JSON, 20 kB gzipped).
func acceptsGzip(ctx *fasthttp.RequestCtx) bool {
	return bytes.Contains(ctx.Request.Header.Peek("Accept-Encoding"), []byte("gzip"))
}

func writeReport(ctx *fasthttp.RequestCtx, zip bool, body []byte) {
	ctx.SetContentType(contentJSON)
	ctx.Response.Header.Set("Cache-Control", "no-cache")
	ctx.Response.Header.Set("Vary", "Accept-Encoding")
	if zip {
		ctx.Response.Header.Set("Content-Encoding", "gzip")
	}
	ctx.Response.SetBodyRaw(body) // reports are never modified once rendered
}

// serveOutsideAPI answers /metrics and /ui/…; false: not ours (404 follows).
func (s *Server) serveOutsideAPI(ctx *fasthttp.RequestCtx) bool {
	p := string(ctx.Path())
	o := s.observability()
	switch {
	case p == "/metrics" && o.Metrics != nil:
		if !ctx.IsGet() && !ctx.IsHead() {
			ctx.Response.Header.Set("Allow", "GET")
			writeError(ctx, fasthttp.StatusMethodNotAllowed, "method "+string(ctx.Method())+" not allowed for /metrics (use GET)")
			return true
		}
		if o.MetricsToken != "" && !bearerOK(ctx.Request.Header.Peek("Authorization"), o.MetricsToken) {
			ctx.Response.Header.Set("WWW-Authenticate", "Bearer")
			writeError(ctx, fasthttp.StatusUnauthorized, "Not Authorized: /metrics needs \"Authorization: Bearer <metrics-token>\"")
			return true
		}
		o.metricsH(ctx)
		return true
	case (p == "/ui" || strings.HasPrefix(p, "/ui/")) && o.UI != nil:
		serveFS(ctx, o.UI, strings.TrimPrefix(strings.TrimPrefix(p, "/ui"), "/"))
		return true
	case p == "/" && o.UI != nil:
		ctx.Redirect("/ui/", fasthttp.StatusFound)
		return true
	}
	return false
}

func bearerOK(h []byte, want string) bool {
	const scheme = "bearer "
	h = bytes.TrimSpace(h)
	if len(h) <= len(scheme) || !bytes.EqualFold(h[:len(scheme)], []byte(scheme)) {
		return false
	}
	return subtle.ConstantTimeCompare(bytes.TrimSpace(h[len(scheme):]), []byte(want)) == 1
}

// serveFS answers a GET for one embedded file; "" and folders mean index.html.
func serveFS(ctx *fasthttp.RequestCtx, files fs.FS, name string) {
	if !ctx.IsGet() && !ctx.IsHead() {
		ctx.Response.Header.Set("Allow", "GET")
		writeError(ctx, fasthttp.StatusMethodNotAllowed, "method "+string(ctx.Method())+" not allowed for /ui/ (use GET)")
		return
	}
	if name == "" || strings.HasSuffix(name, "/") {
		name += "index.html"
	}
	name = path.Clean(name)
	if !fs.ValidPath(name) {
		writeError(ctx, fasthttp.StatusBadRequest, "bad file name")
		return
	}
	b, err := fs.ReadFile(files, name)
	if err != nil {
		writeError(ctx, fasthttp.StatusNotFound, "no page "+name)
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	ctx.SetContentType(ct)
	ctx.Response.Header.Set("Cache-Control", "no-cache")
	ctx.Response.Header.Set("X-Content-Type-Options", "nosniff")
	ctx.SetBody(b)
}
