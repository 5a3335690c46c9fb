package api

import (
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/hostexec"
	"github.com/valyala/fasthttp"
)

// route is one endpoint. A path with a parameter is written "/api/hold/{ext}"
// and matched by its prefix "/api/hold/".
type route struct {
	method  string
	pattern string
	public  bool // no token needed
	handler func(s *Server, ctx *fasthttp.RequestCtx, arg string)
}

// routes is the API, in SPEC §5 order then our additions; the OpenAPI
// document must list exactly these (a test checks it).
var routes = []route{
	{method: "POST", pattern: "/api/login", public: true, handler: (*Server).login},
	{method: "POST", pattern: "/api/agent_up", handler: (*Server).agentUp},
	{method: "POST", pattern: "/api/agent_down", handler: (*Server).agentDown},
	{method: "POST", pattern: "/api/agent_ready", handler: (*Server).agentReady},
	{method: "POST", pattern: "/api/agent_busy", handler: (*Server).agentBusy},
	{method: "POST", pattern: "/api/extension_callstate", handler: (*Server).extensionCallState},
	{method: "POST", pattern: "/api/extension_dialstring", handler: (*Server).extensionDialString},
	{method: "GET", pattern: "/api/queues", handler: (*Server).queues},
	{method: "GET", pattern: "/api/get_extensions", handler: (*Server).getExtensions},
	{method: "GET", pattern: "/api/extension_info/{ext}", handler: (*Server).extensionInfo},
	{method: "POST", pattern: "/api/transfer", handler: (*Server).transfer},
	{method: "GET", pattern: "/api/answer/{ext}", handler: extCall(Service.Answer)},
	{method: "GET", pattern: "/api/hangup/{ext}", handler: extCall(Service.Hangup)},
	{method: "POST", pattern: "/api/eavesdrop", handler: (*Server).eavesdrop},
	{method: "POST", pattern: "/api/threeway", handler: (*Server).threeWay},
	{method: "GET", pattern: "/api/hold/{ext}", handler: extCall(Service.Hold)},
	{method: "GET", pattern: "/api/unhold/{ext}", handler: extCall(Service.Unhold)},
	{method: "GET", pattern: "/api/phone_hold/{ext}", handler: extCall(Service.PhoneHold)},
	{method: "GET", pattern: "/api/phone_unhold/{ext}", handler: extCall(Service.PhoneUnhold)},
	{method: "GET", pattern: "/api/groups", handler: (*Server).groups},
	{method: "GET", pattern: "/api/groups/{group}", handler: (*Server).group},
	{method: "GET", pattern: "/api/stats/groups", handler: (*Server).statsGroups},
	{method: "GET", pattern: "/api/stats/agents", handler: (*Server).statsAgents},
	{method: "GET", pattern: "/api/reports/groups", handler: (*Server).reportGroups},
	{method: "GET", pattern: "/api/reports/agents", handler: (*Server).reportAgents},
	{method: "POST", pattern: "/api/tier", handler: (*Server).tier},
	{method: "POST", pattern: "/api/skill", handler: (*Server).skill},
	{method: "POST", pattern: "/api/skill_remove", handler: (*Server).skillRemove},
	{method: "POST", pattern: "/api/group_option", handler: (*Server).groupOption},
	{method: "GET", pattern: "/api/group_options", handler: (*Server).groupOptions},
	{method: "GET", pattern: "/api/tiers", handler: (*Server).tiers},
	{method: "GET", pattern: "/api/skills", handler: (*Server).skills},
	{method: "GET", pattern: "/api/events", public: true, handler: (*Server).events}, // checks its own token (header or ?token=)
	{method: "GET", pattern: "/api/openapi.json", public: true, handler: (*Server).openAPI},
}

var (
	exactRoutes  = map[string]*route{}
	prefixRoutes = map[string]*route{} // "/api/hold/" → route
)

func init() {
	for i := range routes {
		r := &routes[i]
		if j := strings.IndexByte(r.pattern, '{'); j >= 0 {
			prefixRoutes[r.pattern[:j]] = r
			// "/api/hold" without the parameter is a known path missing its
			// argument, not an unknown one (unless another route owns it).
			if exactRoutes[r.pattern[:j-1]] == nil {
				exactRoutes[r.pattern[:j-1]] = r
			}
		} else {
			exactRoutes[r.pattern] = r
		}
	}
}

// lookup finds the route for path and the path parameter, if any.
func lookup(path []byte) (*route, string) {
	if r := exactRoutes[string(path)]; r != nil {
		return r, ""
	}
	i := lastSlash(path)
	if i < 0 {
		return nil, ""
	}
	if r := prefixRoutes[string(path[:i+1])]; r != nil {
		return r, string(path[i+1:])
	}
	return nil, ""
}

func lastSlash(b []byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '/' {
			return i
		}
	}
	return -1
}

var (
	contentJSON = "application/json; charset=utf-8"
	okBody      = []byte(`{"result":"ok"}`)
)

// handle is the fasthttp entry: recover, route, method, auth, handler.
func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("rest: panic", "method", string(ctx.Method()), "path", string(ctx.Path()), "panic", v, "stack", string(debug.Stack()))
			ctx.Response.Reset()
			writeError(ctx, fasthttp.StatusInternalServerError, "internal error")
		}
	}()
	if s.cors(ctx) {
		return
	}
	r, arg := lookup(ctx.Path())
	if r == nil && s.serveOutsideAPI(ctx) { // /metrics, /ui/
		return
	}
	if r == nil {
		writeError(ctx, fasthttp.StatusNotFound, fmt.Sprintf("unknown path %q", ctx.Path()))
		return
	}
	if string(ctx.Method()) != r.method {
		ctx.Response.Header.Set("Allow", r.method)
		writeError(ctx, fasthttp.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed for %s (use %s)", ctx.Method(), r.pattern, r.method))
		return
	}
	if !r.public && !s.authorized(ctx.Request.Header.Peek("Authorization")) {
		unauthorized(ctx)
		return
	}
	r.handler(s, ctx, arg)
}

func unauthorized(ctx *fasthttp.RequestCtx) {
	ctx.Response.Header.Set("WWW-Authenticate", "Nway")
	writeError(ctx, fasthttp.StatusUnauthorized, "Not Authorized: send the header \"Authorization: Nway <token>\" with a token from POST /api/login")
}

func (s *Server) authorized(header []byte) bool {
	return s.tokens.check(parseAuthorization(header), s.now(), s.cfg.TokenTTL)
}

// handleParseError answers requests fasthttp could not read. The answer
// never carries err's text: fasthttp's parse errors quote the raw request,
// Authorization token included.
func (s *Server) handleParseError(ctx *fasthttp.RequestCtx, err error) {
	var small *fasthttp.ErrSmallBuffer
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		writeError(ctx, fasthttp.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", s.cfg.MaxBodySize))
	case errors.As(err, &small):
		writeError(ctx, fasthttp.StatusRequestHeaderFieldsTooLarge, "request headers too large")
	case isTimeout(err):
		writeError(ctx, fasthttp.StatusRequestTimeout, "timed out reading the request")
	default:
		writeError(ctx, fasthttp.StatusBadRequest, "malformed HTTP request (bad request line, header or chunk encoding)")
	}
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

func writeError(ctx *fasthttp.RequestCtx, status int, msg string) {
	ctx.SetStatusCode(status)
	ctx.SetContentType(contentJSON)
	b := ctx.Response.SwapBody(nil)[:0]
	ctx.Response.SwapBody(appendError(b, msg))
}

func writeOK(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType(contentJSON)
	ctx.SetBody(okBody)
}

// writeJSON answers 200 with the body fn appends, built in the response's
// own pooled buffer.
func writeJSON(ctx *fasthttp.RequestCtx, fn func([]byte) []byte) {
	ctx.SetContentType(contentJSON)
	b := ctx.Response.SwapBody(nil)[:0]
	ctx.Response.SwapBody(fn(b))
}

// statusOf maps the core's error classes, and why a FreeSWITCH command did
// not happen, to HTTP.
func statusOf(err error) int {
	switch {
	case errors.Is(err, hostexec.ErrRefused):
		return fasthttp.StatusBadGateway
	case errors.Is(err, hostexec.ErrTimeout):
		return fasthttp.StatusGatewayTimeout
	case errors.Is(err, hostexec.ErrQueueFull), errors.Is(err, hostexec.ErrStopped):
		return fasthttp.StatusServiceUnavailable
	}
	switch acd.CodeOf(err) {
	case acd.ErrBadArgument:
		return fasthttp.StatusBadRequest
	case acd.ErrUnknownGroup, acd.ErrUnknownExtension, acd.ErrUnknownCall:
		return fasthttp.StatusNotFound
	case acd.ErrExists, acd.ErrNoCall, acd.ErrState:
		return fasthttp.StatusConflict
	case acd.ErrUnavailable:
		return fasthttp.StatusServiceUnavailable
	}
	return fasthttp.StatusInternalServerError
}

// reply answers a mutation: ok, or the service's error with its status.
func (s *Server) reply(ctx *fasthttp.RequestCtx, err error) {
	if err == nil {
		writeOK(ctx)
		return
	}
	st := statusOf(err)
	if st == fasthttp.StatusInternalServerError {
		s.log.Error("rest: request failed", "method", string(ctx.Method()), "path", string(ctx.Path()), "err", err)
	}
	writeError(ctx, st, err.Error())
}

func retryAfter(d time.Duration) string {
	secs := int64((d + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	return strconv.FormatInt(secs, 10)
}
