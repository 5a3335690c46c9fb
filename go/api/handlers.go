package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/ident"
	"github.com/valyala/fasthttp"
)

// Request bodies. encoding/json matches field names case-insensitively, as
// the original Go server did, so {"extension":"1002"} works too.
type (
	loginReq struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	extReq struct {
		Extension string
	}
	upReq struct {
		Extension string
		Groups    groupList
	}
	stateReq struct {
		Extension string
		Value     string
	}
	dialReq struct {
		Extension  string
		DialString string
	}
	phonesReq struct {
		EvdedPhone string
		EvdPhone   string
		EvdGateway string
	}
)

// groupList is agent_up's Groups: "12345,110" as documented, or a JSON
// array of strings.
type groupList string

func (g *groupList) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '[' {
		var ss []string
		if err := json.Unmarshal(b, &ss); err != nil {
			return errors.New(`field Groups must be a string like "12345,110" or an array of strings`)
		}
		*g = groupList(strings.Join(ss, ","))
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`field Groups must be a string like "12345,110"`)
	}
	*g = groupList(s)
	return nil
}

// decode reads the JSON body into v, answering 400 itself when it cannot.
func decode(ctx *fasthttp.RequestCtx, v any) bool {
	body := ctx.PostBody()
	if len(bytes.TrimSpace(body)) == 0 {
		writeError(ctx, fasthttp.StatusBadRequest, "empty request body: want a JSON object")
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		writeError(ctx, fasthttp.StatusBadRequest, jsonProblem(err))
		return false
	}
	return true
}

func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("malformed JSON body at byte %d: %v", syn.Offset, err)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return fmt.Sprintf("field %s must be a %s, not a JSON %s", typ.Field, typ.Type, typ.Value)
		}
		return fmt.Sprintf("request body must be a JSON object, not a JSON %s", typ.Value)
	}
	return "bad JSON body: " + err.Error()
}

// checkIdent answers 400 and returns false when field where (value v) is
// missing or check (package ident's definition, shared with the console and
// the core) refuses it.
func checkIdent(ctx *fasthttp.RequestCtx, where, v string, check func(string) error) bool {
	if v == "" {
		writeError(ctx, fasthttp.StatusBadRequest, "missing "+where)
		return false
	}
	if err := check(v); err != nil {
		writeError(ctx, fasthttp.StatusBadRequest, where+": "+err.Error())
		return false
	}
	return true
}

func checkExt(ctx *fasthttp.RequestCtx, where, v string) bool {
	return checkIdent(ctx, where, v, ident.Extension)
}

// maxGroups bounds one agent_up's group list, as the console does.
const maxGroups = 64

// parseGroups splits "12345,110" (ASCII or full-width commas, spaces
// allowed, empty items and repeats dropped) in one pass.
func parseGroups(s string) ([]string, string) {
	s = strings.ReplaceAll(s, "，", ",")
	var out []string
	seen := make(map[string]struct{})
	for g := range strings.SplitSeq(s, ",") {
		g = strings.TrimSpace(g)
		if g == "" {
			continue
		}
		if err := ident.Group(g); err != nil {
			return nil, "Groups: " + err.Error()
		}
		if _, dup := seen[g]; dup {
			continue
		}
		seen[g] = struct{}{}
		out = append(out, g)
		if len(out) > maxGroups {
			return nil, fmt.Sprintf("Groups: too many groups (at most %d)", maxGroups)
		}
	}
	if len(out) == 0 {
		return nil, `missing Groups: want group numbers like "12345,110"`
	}
	return out, ""
}

func (s *Server) login(ctx *fasthttp.RequestCtx, _ string) {
	ip, now := ctx.RemoteIP(), s.now()
	var req loginReq
	if !decode(ctx, &req) {
		return
	}
	if req.Username == "" {
		writeError(ctx, fasthttp.StatusBadRequest, "missing username")
		return
	}
	if req.Password == "" {
		writeError(ctx, fasthttp.StatusBadRequest, "missing password")
		return
	}
	if ok, wait := s.limiter.allow(ip, req.Username, now); !ok {
		ra := retryAfter(wait)
		ctx.Response.Header.Set("Retry-After", ra)
		writeError(ctx, fasthttp.StatusTooManyRequests, "too many failed logins for this user from this address; retry after "+ra+" s")
		return
	}
	// Both comparisons always run so timing does not tell which was wrong.
	userOK := equalSecret(req.Username, s.cfg.Username)
	passOK := equalSecret(req.Password, s.cfg.Password)
	if !userOK || !passOK {
		s.limiter.fail(ip, req.Username, now)
		ctx.SetStatusCode(fasthttp.StatusUnauthorized)
		ctx.SetContentType("text/plain; charset=utf-8")
		ctx.SetBodyString("Not Authorized")
		return
	}
	tok, err := s.tokens.issue(now, s.cfg.TokenTTL)
	if err != nil {
		s.log.Error("rest: login", "err", err)
		writeError(ctx, fasthttp.StatusInternalServerError, "cannot make a token")
		return
	}
	writeJSON(ctx, func(b []byte) []byte {
		b = append(b, `{"token":"`...)
		b = append(b, tok...)
		return append(b, `"}`...)
	})
}

func (s *Server) agentUp(ctx *fasthttp.RequestCtx, _ string) {
	var req upReq
	if !decode(ctx, &req) || !checkExt(ctx, "Extension", req.Extension) {
		return
	}
	groups, problem := parseGroups(string(req.Groups))
	if problem != "" {
		writeError(ctx, fasthttp.StatusBadRequest, problem)
		return
	}
	s.reply(ctx, s.svc.Login(req.Extension, groups))
}

// extBody handles the {"Extension":…} bodies.
func (s *Server) extBody(ctx *fasthttp.RequestCtx, call func(string) error) {
	var req extReq
	if !decode(ctx, &req) || !checkExt(ctx, "Extension", req.Extension) {
		return
	}
	s.reply(ctx, call(req.Extension))
}

func (s *Server) agentDown(ctx *fasthttp.RequestCtx, _ string)  { s.extBody(ctx, s.svc.Logout) }
func (s *Server) agentReady(ctx *fasthttp.RequestCtx, _ string) { s.extBody(ctx, s.svc.SetReady) }
func (s *Server) agentBusy(ctx *fasthttp.RequestCtx, _ string)  { s.extBody(ctx, s.svc.SetBusy) }

// extensionDialString sets how an extension is reached (beyond the seed):
// {"Extension":"1002","DialString":"sofia/gateway/gw1/13800000000"}; an empty
// DialString or "default" returns it to the node's dial-template.
func (s *Server) extensionDialString(ctx *fasthttp.RequestCtx, _ string) {
	var req dialReq
	if !decode(ctx, &req) || !checkExt(ctx, "Extension", req.Extension) {
		return
	}
	if req.DialString != "" && req.DialString != "default" && !checkIdent(ctx, "DialString", req.DialString, ident.Dial) {
		return
	}
	s.reply(ctx, s.svc.SetDialString(req.Extension, req.DialString))
}

func (s *Server) extensionCallState(ctx *fasthttp.RequestCtx, _ string) {
	var req stateReq
	if !decode(ctx, &req) || !checkExt(ctx, "Extension", req.Extension) {
		return
	}
	if req.Value == "" {
		writeError(ctx, fasthttp.StatusBadRequest, "missing Value: want ring, talking, ivr, ready, typing, no_answer, no_ready, busy or rest")
		return
	}
	st, err := acd.ParseCallState(req.Value)
	if err != nil {
		s.reply(ctx, err)
		return
	}
	s.reply(ctx, s.svc.SetCallState(req.Extension, st))
}

func (s *Server) queues(ctx *fasthttp.RequestCtx, _ string) {
	s.list(ctx, &s.queuesC, s.buildQueues)
}

func (s *Server) getExtensions(ctx *fasthttp.RequestCtx, _ string) {
	s.list(ctx, &s.extsC, s.buildExtensions)
}

func (s *Server) buildQueues(b []byte) []byte     { return appendWaiting(b, s.svc.Waiting()) }
func (s *Server) buildExtensions(b []byte) []byte { return appendExtensions(b, s.svc.Extensions()) }
func (s *Server) buildGroups(b []byte) []byte     { return appendGroups(b, s.svc.Groups()) }

// versioned is a service that counts its state changes; lists are then
// encoded once per change, and pollers that send If-None-Match get 304.
type versioned interface{ StateVersion() uint64 }

// list answers a list through its coalescer.
func (s *Server) list(ctx *fasthttp.RequestCtx, c *coalescer, build func([]byte) []byte) {
	ctx.SetContentType(contentJSON)
	var ver uint64
	if vs, ok := s.svc.(versioned); ok {
		ver = vs.StateVersion()
		etag := s.etag(ver)
		ctx.Response.Header.Set("ETag", etag)
		if inm := ctx.Request.Header.Peek("If-None-Match"); len(inm) > 0 && string(inm) == etag {
			ctx.SetStatusCode(fasthttp.StatusNotModified)
			return
		}
		if b := c.cachedAt(ver); b != nil {
			ctx.Response.SetBodyRaw(b)
			return
		}
	}
	if failed := c.do(build, func(b []byte) {
		c.keep(ver, b)
		ctx.Response.SetBodyRaw(b)
	}); failed != nil {
		s.log.Error("rest: panic building a list", "path", string(ctx.Path()), "panic", failed)
		writeError(ctx, fasthttp.StatusInternalServerError, "internal error")
	}
}

// etag names state version v of this server's lifetime: versions restart
// with the module, the boot id keeps old tags from matching.
func (s *Server) etag(v uint64) string {
	return `W/"` + s.bootID + "-" + strconv.FormatUint(v, 10) + `"`
}

func (s *Server) extensionInfo(ctx *fasthttp.RequestCtx, ext string) {
	if !checkExt(ctx, "extension in the path (/api/extension_info/{ext})", ext) {
		return
	}
	e, err := s.svc.Extension(ext)
	if err != nil {
		s.reply(ctx, err)
		return
	}
	writeJSON(ctx, func(b []byte) []byte { return appendExtensionInfo(b, &e) })
}

func (s *Server) groups(ctx *fasthttp.RequestCtx, _ string) {
	s.list(ctx, &s.groupsC, s.buildGroups)
}

func (s *Server) group(ctx *fasthttp.RequestCtx, number string) {
	if !checkIdent(ctx, "group in the path (/api/groups/{group})", number, ident.Group) {
		return
	}
	g, err := s.svc.Group(number)
	if err != nil {
		s.reply(ctx, err)
		return
	}
	writeJSON(ctx, func(b []byte) []byte { return appendGroup(b, &g) })
}

// phones reads {"EvdedPhone","EvdPhone","EvdGateway"}; the gateway may be
// empty (an internal extension).
func phones(ctx *fasthttp.RequestCtx) (phonesReq, bool) {
	var req phonesReq
	ok := decode(ctx, &req) &&
		checkIdent(ctx, "EvdedPhone", req.EvdedPhone, ident.Caller) &&
		checkIdent(ctx, "EvdPhone", req.EvdPhone, ident.Caller) &&
		(req.EvdGateway == "" || checkIdent(ctx, "EvdGateway", req.EvdGateway, ident.Gateway))
	return req, ok
}

// transfer: the call EvdedPhone is in goes to EvdPhone.
func (s *Server) transfer(ctx *fasthttp.RequestCtx, _ string) {
	if req, ok := phones(ctx); ok {
		s.reply(ctx, s.svc.Transfer(req.EvdedPhone, req.EvdPhone, req.EvdGateway))
	}
}

// eavesdrop: EvdPhone listens to EvdedPhone's call.
func (s *Server) eavesdrop(ctx *fasthttp.RequestCtx, _ string) {
	if req, ok := phones(ctx); ok {
		s.reply(ctx, s.svc.Eavesdrop(req.EvdedPhone, req.EvdPhone, req.EvdGateway))
	}
}

// threeWay: EvdedPhone is invited into the call EvdPhone is in.
func (s *Server) threeWay(ctx *fasthttp.RequestCtx, _ string) {
	if req, ok := phones(ctx); ok {
		s.reply(ctx, s.svc.ThreeWay(req.EvdedPhone, req.EvdPhone, req.EvdGateway))
	}
}

// extCall makes a GET /api/<verb>/{ext} handler.
func extCall(call func(Service, string) error) func(*Server, *fasthttp.RequestCtx, string) {
	return func(s *Server, ctx *fasthttp.RequestCtx, ext string) {
		if !checkExt(ctx, "extension in the path", ext) {
			return
		}
		s.reply(ctx, call(s.svc, ext))
	}
}
