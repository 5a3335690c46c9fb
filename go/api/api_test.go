package api

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
)

// testServer is a Server on a real loopback listener with a movable clock.
type testServer struct {
	*Server
	fake *fakeService
	addr string

	mu    sync.Mutex
	clock time.Time
}

func startServer(t testing.TB, cfg Config, fake *fakeService) *testServer {
	t.Helper()
	if fake == nil {
		fake = newFake()
	}
	cfg.Listen = "127.0.0.1:0"
	s, err := New(cfg, fake)
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{Server: s, fake: fake, clock: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}
	s.now = ts.now
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.addr = ln.Addr().String()
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return ts
}

func (ts *testServer) now() time.Time {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.clock
}

func (ts *testServer) advance(d time.Duration) {
	ts.mu.Lock()
	ts.clock = ts.clock.Add(d)
	ts.mu.Unlock()
}

type reply struct {
	status int
	header http.Header
	body   string
}

// raw sends one raw HTTP/1.1 request (with \n line ends, turned into CRLF)
// on a fresh connection and reads the answer.
func raw(t testing.TB, addr, req string) reply {
	t.Helper()
	return rawFrom(t, nil, addr, req)
}

func rawFrom(t testing.TB, local net.Addr, addr, req string) reply {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: local}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	head, body, _ := strings.Cut(req, "\n\n")
	wire := strings.ReplaceAll(head, "\n", "\r\n") + "\r\n\r\n" + body
	if _, err := io.WriteString(c, wire); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the answer to %q: %v", req, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header, string(b)}
}

// do builds a curl-like request: a POST with a JSON body when body != "".
func (ts *testServer) do(t testing.TB, method, path, auth, body string) reply {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\nHost: %s\nUser-Agent: curl/8.5.0\nAccept: */*\n", method, path, ts.addr)
	if auth != "" {
		fmt.Fprintf(&b, "Authorization:%s\n", auth)
	}
	if body != "" || method == "POST" {
		fmt.Fprintf(&b, "Content-Type: application/json\nContent-Length: %d\n", len(body))
	}
	b.WriteString("\n" + body)
	return raw(t, ts.addr, b.String())
}

func (ts *testServer) login(t testing.TB) string {
	t.Helper()
	r := ts.do(t, "POST", "/api/login", "", `{"username": "admin", "password": "admin"}`)
	if r.status != 200 {
		t.Fatalf("login: %d %s", r.status, r.body)
	}
	var v struct{ Token string }
	if err := json.Unmarshal([]byte(r.body), &v); err != nil || len(v.Token) < 32 {
		t.Fatalf("login body %q: %v", r.body, err)
	}
	return v.Token
}

func wantError(t *testing.T, r reply, status int, substr string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d (body %s)", r.status, status, r.body)
	}
	var e struct {
		Error *string `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.body), &e); err != nil || e.Error == nil || *e.Error == "" {
		t.Fatalf("error body %q is not {\"error\":\"…\"}: %v", r.body, err)
	}
	if !strings.Contains(*e.Error, substr) {
		t.Fatalf("error %q does not mention %q", *e.Error, substr)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error Content-Type %q", ct)
	}
}

func wantOK(t *testing.T, r reply) {
	t.Helper()
	if r.status != 200 || r.body != `{"result":"ok"}` {
		t.Fatalf("got %d %q, want 200 {\"result\":\"ok\"}", r.status, r.body)
	}
}

func wantCalls(t *testing.T, f *fakeService, want ...string) {
	t.Helper()
	got := f.Calls()
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("service calls %q, want %q", got, want)
	}
}

// TestSeedCurlShapes replays the original document's curl lines byte for
// byte as curl sends them: "Authorization:Nway token " with no space after
// the colon and a trailing space.
func TestSeedCurlShapes(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	f := ts.fake
	host := ts.addr

	// curl -d '{"username": "admin", "password": "admin"}' -H "Content-Type:application/json" http://ip:8085/api/login
	lb := `{"username": "admin", "password": "admin"}`
	r := raw(t, host, fmt.Sprintf("POST /api/login HTTP/1.1\nHost: %s\nUser-Agent: curl/8.5.0\nAccept: */*\nContent-Type:application/json\nContent-Length: %d\n\n%s", host, len(lb), lb))
	if r.status != 200 || !strings.HasPrefix(r.body, `{"token":"`) {
		t.Fatalf("login: %d %s", r.status, r.body)
	}
	var lv struct{ Token string }
	if err := json.Unmarshal([]byte(r.body), &lv); err != nil || len(lv.Token) != 64 {
		t.Fatalf("token %q: %v", r.body, err)
	}
	tok := lv.Token

	post := func(path, body, auth string) reply {
		return raw(t, host, fmt.Sprintf("POST %s HTTP/1.1\nHost: %s\nUser-Agent: curl/8.5.0\nAccept: */*\nContent-Type: application/json\nAuthorization:%s\nContent-Length: %d\n\n%s", path, host, auth, len(body), body))
	}
	get := func(path, auth string) reply {
		return raw(t, host, fmt.Sprintf("GET %s HTTP/1.1\nHost: %s\nUser-Agent: curl/8.5.0\nAccept: */*\nAuthorization:%s\n\n", path, host, auth))
	}
	trailing := "Nway " + tok + " " // "Authorization:Nway token "
	plain := "Nway " + tok          // "Authorization:Nway token"

	wantOK(t, post("/api/agent_up", `{"Extension":"1002","Groups":"12345,110"}`, trailing))
	wantCalls(t, f, "Login 1002 12345,110")
	wantOK(t, post("/api/agent_ready", `{"Extension":"1002"}`, trailing))
	wantCalls(t, f, "SetReady 1002")
	wantOK(t, post("/api/agent_busy", `{"Extension":"1002"}`, trailing))
	wantCalls(t, f, "SetBusy 1002")
	wantOK(t, post("/api/extension_callstate", `{"Extension":"1002","Value":"ready" }`, trailing))
	wantCalls(t, f, "SetCallState 1002 ready")
	wantOK(t, post("/api/agent_down", `{"Extension":"1002"}`, trailing))
	wantCalls(t, f, "Logout 1002")
	wantOK(t, post("/api/extension_dialstring", `{"Extension":"1002","DialString":"sofia/internal/1002@127.0.0.1:5070"}`, trailing))
	wantCalls(t, f, "SetDialString 1002 sofia/internal/1002@127.0.0.1:5070")

	r = get("/api/queues", trailing)
	if r.status != 200 || r.body != "[]" {
		t.Fatalf("queues: %d %s", r.status, r.body)
	}
	r = get("/api/get_extensions", trailing)
	if r.status != 200 || !strings.HasPrefix(r.body, `[{"Extension":"1001","RegStatus":"reged","AgentState":"busy","CallState":"ready","LastStatusChangeTime":"`) {
		t.Fatalf("get_extensions: %d %s", r.status, r.body)
	}
	r = get("/api/extension_info/1002", plain)
	if r.status != 200 || r.body != `{"reg_state":"reged","seat_status":"busy","call_state":"ready"}` {
		t.Fatalf("extension_info: %d %s", r.status, r.body)
	}
	f.Calls()

	f.mu.Lock()
	f.inCall["1002"], f.inCall["1003"] = true, true
	f.mu.Unlock()
	phones := `{"EvdedPhone":"1002","EvdPhone":"1003","EvdGateway":""}`
	wantOK(t, post("/api/transfer", phones, plain))
	wantCalls(t, f, "Transfer 1002 1003")
	wantOK(t, post("/api/eavesdrop", phones, trailing))
	wantCalls(t, f, "Eavesdrop 1002 1003")
	wantOK(t, post("/api/threeway", phones, trailing))
	wantCalls(t, f, "ThreeWay 1002 1003")
	wantOK(t, post("/api/transfer", `{"EvdedPhone":"1002","EvdPhone":"018621575908","EvdGateway":"gw1"}`, plain))
	wantCalls(t, f, "Transfer 1002 018621575908 gw1")

	for _, c := range []struct{ path, call string }{
		{"/api/answer/1002", "Answer 1002"},
		{"/api/hangup/1002", "Hangup 1002"},
		{"/api/hold/1002", "Hold 1002"},
		{"/api/unhold/1002", "Unhold 1002"},
		{"/api/phone_hold/1002", "PhoneHold 1002"},
		{"/api/phone_unhold/1002", "PhoneUnhold 1002"},
	} {
		wantOK(t, get(c.path, plain))
		wantCalls(t, f, c.call)
	}
}

func TestAuthorizationHeaderForms(t *testing.T) {
	for _, c := range []struct {
		in, want string
	}{
		{"Nway abc", "abc"},
		{"Nway abc ", "abc"},
		{"  Nway   abc  ", "abc"},
		{"nway abc", "abc"},
		{"NWAY\tabc", "abc"},
		{"Nwayabc", ""},
		{"Bearer abc", ""},
		{"Nway", ""},
		{"Nway ", ""},
		{"", ""},
	} {
		if got := string(parseAuthorization([]byte(c.in))); got != c.want {
			t.Errorf("parseAuthorization(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestAuth(t *testing.T) {
	ts := startServer(t, Config{TokenTTL: time.Hour}, nil)
	tok := ts.login(t)

	wantError(t, ts.do(t, "GET", "/api/queues", "", ""), 401, "Not Authorized")
	wantError(t, ts.do(t, "GET", "/api/queues", "Nway wrong", ""), 401, "Authorization: Nway <token>")
	wantError(t, ts.do(t, "GET", "/api/queues", "Bearer "+tok, ""), 401, "Not Authorized")
	wantError(t, ts.do(t, "GET", "/api/queues", "Nway "+tok[:63], ""), 401, "Not Authorized")
	if r := ts.do(t, "GET", "/api/queues", " nway   "+tok+"   ", ""); r.status != 200 {
		t.Fatalf("spaced token: %d %s", r.status, r.body)
	}
	r := ts.do(t, "GET", "/api/queues", "", "")
	if r.header.Get("WWW-Authenticate") != "Nway" {
		t.Fatalf("401 without WWW-Authenticate: %v", r.header)
	}

	// Only a digest of the token is kept: lookup is by SHA-256, never by
	// comparing the token's bytes.
	ts.tokens.mu.RLock()
	_, byDigest := ts.tokens.m[sha256.Sum256([]byte(tok))]
	n := len(ts.tokens.m)
	ts.tokens.mu.RUnlock()
	if !byDigest || n != 1 {
		t.Fatalf("token table holds %d entries, digest present %v", n, byDigest)
	}

	// Use within the TTL keeps the token alive; an hour without use ends it.
	ts.advance(50 * time.Minute)
	if r := ts.do(t, "GET", "/api/queues", "Nway "+tok, ""); r.status != 200 {
		t.Fatalf("token used within TTL: %d", r.status)
	}
	ts.advance(50 * time.Minute)
	if r := ts.do(t, "GET", "/api/queues", "Nway "+tok, ""); r.status != 200 {
		t.Fatalf("token kept alive by use: %d", r.status)
	}
	ts.advance(time.Hour)
	wantError(t, ts.do(t, "GET", "/api/queues", "Nway "+tok, ""), 401, "Not Authorized")

	// A second login gets a different token.
	if a, b := ts.login(t), ts.login(t); a == b {
		t.Fatal("two logins gave the same token")
	}
}

func TestLogin(t *testing.T) {
	ts := startServer(t, Config{Username: "boss", Password: "s3cret", LoginBurst: 100}, nil)
	for _, body := range []string{
		`{"username":"admin","password":"admin"}`,
		`{"username":"boss","password":"s3cre"}`,
		`{"username":"bos","password":"s3cret"}`,
		`{"username":"boss","password":"s3cret "}`,
	} {
		r := ts.do(t, "POST", "/api/login", "", body)
		if r.status != 401 || r.body != "Not Authorized" {
			t.Fatalf("login %s: %d %q, want 401 Not Authorized", body, r.status, r.body)
		}
	}
	wantError(t, ts.do(t, "POST", "/api/login", "", `{"username":"boss"}`), 400, "missing password")
	wantError(t, ts.do(t, "POST", "/api/login", "", `{"password":"x"}`), 400, "missing username")
	wantError(t, ts.do(t, "POST", "/api/login", "", `{"username":`), 400, "malformed JSON")
	wantError(t, ts.do(t, "GET", "/api/login", "", ""), 405, "POST")
	r := ts.do(t, "POST", "/api/login", "", `{"username":"boss","password":"s3cret"}`)
	if r.status != 200 || !strings.HasPrefix(r.body, `{"token":"`) {
		t.Fatalf("good login: %d %s", r.status, r.body)
	}
}

func TestLoginRateLimit(t *testing.T) {
	ts := startServer(t, Config{LoginBurst: 3, LoginRefill: 10 * time.Second}, nil)
	bad := `{"username":"admin","password":"guess"}`
	for i := 0; i < 3; i++ {
		if r := ts.do(t, "POST", "/api/login", "", bad); r.status != 401 {
			t.Fatalf("failure %d: %d", i, r.status)
		}
	}
	r := ts.do(t, "POST", "/api/login", "", bad)
	wantError(t, r, 429, "too many failed logins")
	if r.header.Get("Retry-After") != "10" {
		t.Fatalf("Retry-After %q, want 10", r.header.Get("Retry-After"))
	}
	// Even the right password waits: otherwise guessing could go on.
	wantError(t, ts.do(t, "POST", "/api/login", "", `{"username":"admin","password":"admin"}`), 429, "retry after")

	// Another address is not affected (all of 127/8 is loopback on Linux).
	other := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}
	body := `{"username":"admin","password":"admin"}`
	req := fmt.Sprintf("POST /api/login HTTP/1.1\nHost: x\nContent-Length: %d\n\n%s", len(body), body)
	if r := rawFrom(t, other, ts.addr, req); r.status != 200 {
		t.Fatalf("other address: %d %s", r.status, r.body)
	}

	ts.advance(4 * time.Second)
	if r := ts.do(t, "POST", "/api/login", "", bad); r.status != 429 || r.header.Get("Retry-After") != "6" {
		t.Fatalf("after 4s: %d Retry-After %q, want 429 and 6", r.status, r.header.Get("Retry-After"))
	}
	ts.advance(6 * time.Second)
	ts.login(t) // one failure's worth refilled; a success costs nothing
	ts.login(t)
	if r := ts.do(t, "POST", "/api/login", "", bad); r.status != 401 {
		t.Fatalf("refilled: %d", r.status)
	}
	wantError(t, ts.do(t, "POST", "/api/login", "", bad), 429, "too many")
}

func TestLoginLimiterKeys(t *testing.T) {
	l := newLoginLimiter(1, time.Minute)
	now := time.Now()
	a, b, c := net.ParseIP("2001:db8:1:2::1"), net.ParseIP("2001:db8:1:2::ffff"), net.ParseIP("2001:db8:1:3::1")
	l.fail(a, "admin", now)
	if ok, _ := l.allow(b, "admin", now); ok {
		t.Fatal("same /64 should share the bucket")
	}
	if ok, _ := l.allow(c, "admin", now); !ok {
		t.Fatal("another /64 should have its own bucket")
	}
	if ok, _ := l.allow(a, "ops", now); !ok {
		t.Fatal("another user name from the same address should have its own bucket")
	}
	if ok, wait := l.allow(a, "admin", now.Add(30*time.Second)); ok || wait != 30*time.Second {
		t.Fatalf("half refilled: ok %v wait %v", ok, wait)
	}
	l.sweepLocked(now.Add(2 * time.Minute))
	if len(l.m) != 0 {
		t.Fatalf("sweep kept %d full buckets", len(l.m))
	}
}

// The global ceiling refuses keys that failed recently, never a clean one.
func TestLoginGlobalCeiling(t *testing.T) {
	l := newLoginLimiter(5, 10*time.Second)
	now := time.Now()
	for i := range loginGlobalBurst {
		l.fail(net.IPv4(10, 0, byte(i>>8), byte(i)), "admin", now)
	}
	if ok, _ := l.allow(net.IPv4(10, 0, 0, 1), "admin", now); ok {
		t.Fatal("a key with a recent failure passes while the global ceiling is exceeded")
	}
	if ok, _ := l.allow(net.IPv4(192, 168, 1, 1), "admin", now); !ok {
		t.Fatal("a clean key is refused for others' failures")
	}
	if ok, _ := l.allow(net.IPv4(10, 0, 0, 1), "admin", now.Add(loginGlobalRefill)); !ok {
		t.Fatal("the global ceiling does not refill")
	}
}

// A flood of wrong logins — from the same address for other user names, and
// from another address for the same one — never refuses the right password.
func TestLoginFlood(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	post := func(local net.IP, body string) reply {
		req := fmt.Sprintf("POST /api/login HTTP/1.1\nHost: x\nContent-Length: %d\n\n%s", len(body), body)
		return rawFrom(t, &net.TCPAddr{IP: local}, ts.addr, req)
	}
	attacker, user := net.IPv4(127, 0, 0, 1), net.IPv4(127, 0, 0, 3)
	var wg sync.WaitGroup
	var mu sync.Mutex
	count := map[int]int{}
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				// half guess the real user name from the attacker's address,
				// half other names from the user's own address
				from, name := attacker, "admin"
				if i%2 == 1 {
					from, name = user, fmt.Sprintf("root%d", w)
				}
				r := post(from, fmt.Sprintf(`{"username":%q,"password":"guess%d"}`, name, i))
				mu.Lock()
				count[r.status]++
				mu.Unlock()
			}
		}()
	}
	// The right password from the user's address answers during the flood …
	for range 5 {
		if r := post(user, `{"username":"admin","password":"admin"}`); r.status != 200 {
			t.Fatalf("right password during the flood: %d %s", r.status, r.body)
		}
	}
	wg.Wait()
	// … and after it.
	if r := post(user, `{"username":"admin","password":"admin"}`); r.status != 200 {
		t.Fatalf("right password after the flood: %d %s", r.status, r.body)
	}
	// The attacker's own key is throttled.
	if r := post(attacker, `{"username":"admin","password":"admin"}`); r.status != 429 {
		t.Fatalf("attacker's key after 200 failures: %d, want 429", r.status)
	}
	if count[401] == 0 || count[429] == 0 || count[401]+count[429] != 400 {
		t.Fatalf("flood answers %v: want only 401 and 429", count)
	}
	t.Logf("flood of 400 wrong logins: %v", count)
}

func TestTokenTableBounded(t *testing.T) {
	ts := newTokenStore()
	now := time.Now()
	first, _ := ts.issue(now, time.Hour)
	for i := 0; i < maxTokens+10; i++ {
		if _, err := ts.issue(now.Add(time.Duration(i+1)*time.Millisecond), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if len(ts.m) != maxTokens {
		t.Fatalf("table has %d tokens, want %d", len(ts.m), maxTokens)
	}
	if ts.check([]byte(first), now, time.Hour) {
		t.Fatal("the oldest token should have been evicted")
	}
}

func TestErrors(t *testing.T) {
	ts := startServer(t, Config{MaxBodySize: 1024}, nil)
	tok := "Nway " + ts.login(t)
	f := ts.fake
	f.mu.Lock()
	f.inCall["1003"] = true
	f.mu.Unlock()
	for _, c := range []struct {
		name, method, path, body string
		status                   int
		msg                      string
	}{
		{"malformed JSON", "POST", "/api/agent_ready", `{"Extension":"1002"`, 400, "malformed JSON"},
		{"not an object", "POST", "/api/agent_ready", `["1002"]`, 400, "must be a JSON object"},
		{"empty body", "POST", "/api/agent_ready", ``, 400, "empty request body"},
		{"wrong type", "POST", "/api/agent_ready", `{"Extension":1002}`, 400, "field Extension must be a string"},
		{"missing field", "POST", "/api/agent_ready", `{"Ext":"1002"}`, 400, "missing Extension"},
		{"empty field", "POST", "/api/agent_busy", `{"Extension":""}`, 400, "missing Extension"},
		{"bad extension", "POST", "/api/agent_down", `{"Extension":"10 02"}`, 400, `Extension: bad extension "10 02"`},
		{"trailing garbage", "POST", "/api/agent_down", `{"Extension":"1002"} x`, 400, "malformed JSON"},
		{"missing groups", "POST", "/api/agent_up", `{"Extension":"1002"}`, 400, "missing Groups"},
		{"bad groups", "POST", "/api/agent_up", `{"Extension":"1002","Groups":"110;120"}`, 400, `group "110;120"`},
		{"groups wrong type", "POST", "/api/agent_up", `{"Extension":"1002","Groups":110}`, 400, "Groups must be a string"},
		{"unknown group", "POST", "/api/agent_up", `{"Extension":"1002","Groups":"110,999"}`, 404, "unknown group 999"},
		{"unknown extension", "POST", "/api/agent_ready", `{"Extension":"7777"}`, 404, "unknown extension 7777"},
		{"state conflict", "POST", "/api/agent_down", `{"Extension":"1001"}`, 409, "not logged in"},
		{"bad call state", "POST", "/api/extension_callstate", `{"Extension":"1002","Value":"sleeping"}`, 400, `unknown call state "sleeping"`},
		{"missing call state", "POST", "/api/extension_callstate", `{"Extension":"1002"}`, 400, "missing Value"},
		{"dial string unknown extension", "POST", "/api/extension_dialstring", `{"Extension":"7777","DialString":"user/7777"}`, 404, "unknown extension 7777"},
		{"no call", "GET", "/api/hangup/1002", ``, 409, "has no call"},
		{"unknown ext in path", "GET", "/api/hold/7777", ``, 404, "unknown extension 7777"},
		{"bad ext in path", "GET", "/api/hold/10.02!", ``, 400, "bad extension"},
		{"missing ext in path", "GET", "/api/answer/", ``, 400, "missing extension"},
		{"path without ext", "GET", "/api/extension_info", ``, 400, "missing extension"},
		{"unknown ext info", "GET", "/api/extension_info/7777", ``, 404, "unknown extension"},
		{"unknown group info", "GET", "/api/groups/999", ``, 404, "unknown group 999"},
		{"missing EvdPhone", "POST", "/api/transfer", `{"EvdedPhone":"1003"}`, 400, "missing EvdPhone"},
		{"bad gateway", "POST", "/api/eavesdrop", `{"EvdedPhone":"1003","EvdPhone":"1002","EvdGateway":"gw 1"}`, 400, "EvdGateway"},
		{"threeway no call", "POST", "/api/threeway", `{"EvdedPhone":"1003","EvdPhone":"1002","EvdGateway":""}`, 409, "1002 has no call"},
		{"wrong method", "GET", "/api/agent_up", ``, 405, "use POST"},
		{"wrong method param", "POST", "/api/hold/1002", `{}`, 405, "use GET"},
		{"unknown path", "GET", "/api/nothing", ``, 404, "unknown path"},
		{"unknown deep path", "GET", "/api/hold/1002/x", ``, 404, "unknown path"},
		{"root", "GET", "/", ``, 404, "unknown path"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := ts.do(t, c.method, c.path, tok, c.body)
			wantError(t, r, c.status, c.msg)
			if c.status == 405 {
				if a := r.header.Get("Allow"); a == "" || a == c.method {
					t.Fatalf("405 with Allow %q", a)
				}
			}
		})
	}

	t.Run("body too large", func(t *testing.T) {
		body := `{"Extension":"1002","pad":"` + strings.Repeat("x", 2000) + `"}`
		wantError(t, ts.do(t, "POST", "/api/agent_ready", tok, body), 413, "larger than 1024 bytes")
	})
	t.Run("malformed HTTP", func(t *testing.T) {
		wantError(t, raw(t, ts.addr, "GET /api/queues HTTP/1.1\nHost: x\nContent-Length: nope\n\n"), 400, "malformed HTTP request")
	})
	t.Run("unavailable", func(t *testing.T) {
		f.mu.Lock()
		f.down = true
		f.mu.Unlock()
		defer func() { f.mu.Lock(); f.down = false; f.mu.Unlock() }()
		wantError(t, ts.do(t, "POST", "/api/agent_ready", tok, `{"Extension":"1002"}`), 503, "switch unavailable")
	})
	t.Run("exists", func(t *testing.T) {
		wantOK(t, ts.do(t, "POST", "/api/agent_up", tok, `{"Extension":"1003","Groups":"110"}`))
		wantError(t, ts.do(t, "POST", "/api/agent_up", tok, `{"Extension":"1003","Groups":"110"}`), 409, "already logged in")
	})
	t.Run("panic is a 500", func(t *testing.T) {
		f.mu.Lock()
		f.panicOn = "1001"
		f.mu.Unlock()
		wantError(t, ts.do(t, "POST", "/api/agent_ready", tok, `{"Extension":"1001"}`), 500, "internal error")
		f.mu.Lock()
		f.panicOn = "Waiting"
		f.mu.Unlock()
		wantError(t, ts.do(t, "GET", "/api/queues", tok, ""), 500, "internal error")
		f.mu.Lock()
		f.panicOn = ""
		f.mu.Unlock()
		if r := ts.do(t, "GET", "/api/queues", tok, ""); r.status != 200 {
			t.Fatalf("queues after a panic: %d %s", r.status, r.body)
		}
		wantOK(t, ts.do(t, "POST", "/api/agent_ready", tok, `{"Extension":"1002"}`))
	})
	t.Run("plain error from service is a 500", func(t *testing.T) {
		if st := statusOf(errors.New("boom")); st != 500 {
			t.Fatalf("untyped error → %d", st)
		}
		if st := statusOf(fmt.Errorf("wrapped: %w", acd.Errorf(acd.ErrUnknownCall, "x"))); st != 404 {
			t.Fatalf("wrapped ErrUnknownCall → %d", st)
		}
	})
}

func TestAgentUpGroupForms(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	tok := "Nway " + ts.login(t)
	wantOK(t, ts.do(t, "POST", "/api/agent_up", tok, `{"Extension":"1001","Groups":" 12345 ，110,,110 "}`))
	wantCalls(t, ts.fake, "Login 1001 12345,110")
	wantOK(t, ts.do(t, "POST", "/api/agent_up", tok, `{"extension":"1002","groups":["12320","110"]}`))
	wantCalls(t, ts.fake, "Login 1002 12320,110")
}

func TestQueuesAndExtensionsJSON(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	tok := "Nway " + ts.login(t)
	callin := time.Date(2026, 11, 24, 9, 30, 15, 123456789, time.FixedZone("CST", 8*3600))
	changed := time.Date(2026, 11, 24, 10, 0, 5, 0, time.Local)
	f := ts.fake
	f.mu.Lock()
	f.waiting = []acd.WaitingInfo{
		{UUID: "u-1", Number: "13800000000", RealCallinNumber: "013800000000", Group: "110", Level: acd.LevelVIP, CallinTime: callin, OfferedTo: "1002"},
		{UUID: "u-\"2\"", Number: "号码\n", Group: "120", Level: acd.LevelNormal, CallinTime: callin,
			Position: 3, EWT: 90*time.Second + time.Millisecond, EWTKnown: true, Callback: "13900000001"},
	}
	f.exts["1002"].Seat, f.exts["1002"].LastStatusChange = acd.SeatIdle, changed
	f.exts["1002"].LoggedIn, f.exts["1002"].Groups = true, []string{"110", "12345"}
	f.mu.Unlock()

	r := ts.do(t, "GET", "/api/queues", tok, "")
	var qs []map[string]any
	if err := json.Unmarshal([]byte(r.body), &qs); err != nil || r.status != 200 {
		t.Fatalf("queues %d %s: %v", r.status, r.body, err)
	}
	if len(qs) != 2 {
		t.Fatalf("%d queue entries", len(qs))
	}
	for _, k := range []string{"Uuid", "Number", "RealCallinNumber", "Group", "Level", "CallinTime"} {
		if _, ok := qs[0][k]; !ok {
			t.Fatalf("queue entry lacks %s: %v", k, qs[0])
		}
	}
	// Issue 12: position, estimated wait (seconds, rounded up; null while
	// unknown) and the callback number.
	if qs[0]["Position"] != 0.0 || qs[0]["EWT"] != nil || qs[0]["Callback"] != "" {
		t.Fatalf("offered call: %v", qs[0])
	}
	if _, ok := qs[0]["EWT"]; !ok {
		t.Fatalf("no EWT key: %v", qs[0])
	}
	if qs[1]["Position"] != 3.0 || qs[1]["EWT"] != 91.0 || qs[1]["Callback"] != "13900000001" {
		t.Fatalf("waiting call: %v", qs[1])
	}
	// CallinTime decodes back into the same instant, as the original's time.Time did.
	var typed []struct {
		Uuid       string
		Number     string
		CallinTime time.Time
		Level      string
	}
	if err := json.Unmarshal([]byte(r.body), &typed); err != nil {
		t.Fatal(err)
	}
	if !typed[0].CallinTime.Equal(callin) || typed[0].Level != "vip" || typed[1].Uuid != `u-"2"` || typed[1].Number != "号码\n" {
		t.Fatalf("decoded %+v", typed)
	}
	want, _ := json.Marshal(callin)
	if !strings.Contains(r.body, `"CallinTime":`+string(want)) {
		t.Fatalf("CallinTime not encoded like encoding/json's %s: %s", want, r.body)
	}

	r = ts.do(t, "GET", "/api/get_extensions", tok, "")
	var es []struct {
		Extension, RegStatus, AgentState, CallState, LastStatusChangeTime, JobNumber string
		LoggedIn                                                                     bool
		Groups                                                                       []string
	}
	if err := json.Unmarshal([]byte(r.body), &es); err != nil {
		t.Fatalf("get_extensions %s: %v", r.body, err)
	}
	if len(es) != 3 || es[1].Extension != "1002" || es[1].AgentState != "idle" || es[1].LastStatusChangeTime != "2026-11-24 10:00:05" ||
		!es[1].LoggedIn || strings.Join(es[1].Groups, ",") != "110,12345" || es[0].LastStatusChangeTime != "" || es[0].Groups == nil {
		t.Fatalf("extensions %+v", es)
	}

	r = ts.do(t, "GET", "/api/groups", tok, "")
	var gs []struct {
		Number   string
		Mode     int
		ModeName string
		Members  []string
		Waiting  int
	}
	if err := json.Unmarshal([]byte(r.body), &gs); err != nil || len(gs) != 3 || gs[0].Number != "110" || gs[0].Mode != 5 || gs[0].ModeName != "remember+2" {
		t.Fatalf("groups %s: %v", r.body, err)
	}
	r = ts.do(t, "GET", "/api/groups/12345", tok, "")
	if r.status != 200 || !strings.HasPrefix(r.body, `{"Number":"12345",`) || !json.Valid([]byte(r.body)) {
		t.Fatalf("group: %d %s", r.status, r.body)
	}
}

func TestOpenAPI(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	r := ts.do(t, "GET", "/api/openapi.json", "", "")
	if r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	var doc struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]struct {
			Responses map[string]any `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal([]byte(r.body), &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.0.") {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	var served, documented []string
	for _, rt := range routes {
		served = append(served, rt.method+" "+rt.pattern)
	}
	for p, ops := range doc.Paths {
		for m, op := range ops {
			documented = append(documented, strings.ToUpper(m)+" "+p)
			if _, ok := op.Responses["200"]; !ok {
				t.Errorf("%s %s documents no 200", m, p)
			}
		}
	}
	sort.Strings(served)
	sort.Strings(documented)
	if strings.Join(served, "\n") != strings.Join(documented, "\n") {
		t.Fatalf("served:\n%s\ndocumented:\n%s", strings.Join(served, "\n"), strings.Join(documented, "\n"))
	}
}

func TestNewRefusesPublicDefaultPassword(t *testing.T) {
	f := newFake()
	for _, addr := range []string{"0.0.0.0:8085", ":8085", "192.168.1.115:8085", "[::]:8085"} {
		_, err := New(Config{Listen: addr}, f)
		if err == nil || !strings.Contains(err.Error(), "set rest-password in nwayacd.conf.xml") {
			t.Errorf("New(%s) with password admin: %v", addr, err)
		}
		if _, err := New(Config{Listen: addr, Password: "x9!long"}, f); err != nil {
			t.Errorf("New(%s) with a password: %v", addr, err)
		}
	}
	for _, addr := range []string{"", "127.0.0.1:8085", "localhost:8085", "[::1]:8085", "127.0.0.5:1"} {
		if _, err := New(Config{Listen: addr}, f); err != nil {
			t.Errorf("New(%q): %v", addr, err)
		}
	}
	if _, err := New(Config{Listen: "nohost", Password: "x9!long"}, f); err == nil {
		t.Error("New accepted a listen address without a port")
	}
	if _, err := New(Config{}, nil); err == nil {
		t.Error("New accepted a nil service")
	}
}

func TestListenAndServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s, err := New(Config{Listen: addr}, newFake())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ListenAndServe(ctx) }()
	var r reply
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if i == 500 {
			t.Fatalf("server never listened: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	r = raw(t, addr, "GET /api/queues HTTP/1.1\nHost: x\n\n")
	if r.status != 401 {
		t.Fatalf("status %d", r.status)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("ListenAndServe: %v", err)
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatal("still listening after ctx ended")
	}
}

func TestServeRefusesPublicListenerWithDefaultPassword(t *testing.T) {
	s, err := New(Config{}, newFake())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Skipf("cannot listen on all interfaces: %v", err)
	}
	defer ln.Close()
	if err := s.Serve(ln); err == nil || !strings.Contains(err.Error(), "set rest-password in nwayacd.conf.xml") {
		t.Fatalf("Serve on %s: %v", ln.Addr(), err)
	}
}
