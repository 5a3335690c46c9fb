package api

import (
	"slices"

	"github.com/valyala/fasthttp"
)

// corsMaxAge is how long a browser may cache a preflight's answer (seconds).
const corsMaxAge = "600"

// cors lets the configured origins' pages (a CTI toolbar, a wallboard served
// elsewhere) read the REST API and the event stream. Tokens travel in a
// header or ?token=, never in cookies, so a listed origin gains nothing a
// token does not already give. It reports whether the request was a
// preflight it answered.
func (s *Server) cors(ctx *fasthttp.RequestCtx) bool {
	origin := string(ctx.Request.Header.Peek("Origin"))
	if origin == "" || len(s.cfg.CORSOrigins) == 0 {
		return false
	}
	if !slices.Contains(s.cfg.CORSOrigins, origin) && !slices.Contains(s.cfg.CORSOrigins, "*") {
		return false // no header: the browser keeps the answer from the page
	}
	h := &ctx.Response.Header
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Vary", "Origin")
	if string(ctx.Method()) != fasthttp.MethodOptions || len(ctx.Request.Header.Peek("Access-Control-Request-Method")) == 0 {
		return false
	}
	h.Set("Access-Control-Allow-Methods", "GET, POST")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Last-Event-ID")
	h.Set("Access-Control-Max-Age", corsMaxAge)
	ctx.SetStatusCode(fasthttp.StatusNoContent)
	return true
}
