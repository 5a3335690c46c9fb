package api

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/valyala/fasthttp"
)

var validStatus = map[int]bool{200: true, 400: true, 401: true, 404: true, 405: true, 409: true, 429: true, 503: true}

// FuzzHandler feeds arbitrary requests to the router: it must always answer
// one of the API's statuses (never 500, which only the panic guard sends)
// with a well-formed body.
func FuzzHandler(f *testing.F) {
	fake := newFake()
	fake.record = false
	fake.inCall["1002"] = true
	fake.waiting = []acd.WaitingInfo{{UUID: "u1", Number: "1380000", Group: "110", Level: acd.LevelVIP, CallinTime: time.Now()}}
	s, err := New(Config{}, fake)
	if err != nil {
		f.Fatal(err)
	}
	tok, err := s.tokens.issue(time.Now(), time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []struct {
		method, path, auth, body string
		useToken                 bool
	}{
		{"POST", "/api/login", "", `{"username": "admin", "password": "admin"}`, false},
		{"POST", "/api/login", "", `{"username": "admin", "password": "x"}`, false},
		{"POST", "/api/agent_up", "", `{"Extension":"1002","Groups":"12345,110"}`, true},
		{"POST", "/api/agent_up", "", `{"Extension":"1002","Groups":["110"]}`, true},
		{"POST", "/api/agent_down", "", `{"Extension":"1002"}`, true},
		{"POST", "/api/agent_ready", "", `{"Extension":"1002"}`, true},
		{"POST", "/api/agent_busy", "", `{"Extension":"1002"}`, true},
		{"POST", "/api/extension_callstate", "", `{"Extension":"1002","Value":"ready" }`, true},
		{"GET", "/api/queues", "", ``, true},
		{"GET", "/api/get_extensions", "", ``, true},
		{"GET", "/api/extension_info/1002", "", ``, true},
		{"POST", "/api/transfer", "", `{"EvdedPhone":"1002","EvdPhone":"1003","EvdGateway":""}`, true},
		{"POST", "/api/eavesdrop", "", `{"EvdedPhone":"1002","EvdPhone":"1003","EvdGateway":"gw1"}`, true},
		{"POST", "/api/threeway", "", `{"EvdedPhone":"1002","EvdPhone":"1003","EvdGateway":""}`, true},
		{"GET", "/api/answer/1002", "", ``, true},
		{"GET", "/api/hangup/1003", "", ``, true},
		{"GET", "/api/hold/1002", "", ``, true},
		{"GET", "/api/unhold/1002", "", ``, true},
		{"GET", "/api/phone_hold/1002", "", ``, true},
		{"GET", "/api/phone_unhold/1002", "", ``, true},
		{"GET", "/api/groups", "", ``, true},
		{"GET", "/api/groups/110", "", ``, true},
		{"GET", "/api/events", "", ``, true},
		{"GET", "/api/openapi.json", "", ``, false},
		{"POST", "/api/tier", "", `{"Extension":"1002","Group":"110","Tier":2,"Weight":5}`, true},
		{"POST", "/api/skill", "", `{"Extension":"1002","Skill":"zh","Level":5}`, true},
		{"POST", "/api/skill_remove", "", `{"Extension":"1002","Skill":"zh"}`, true},
		{"POST", "/api/group_option", "", `{"Group":"110","Option":"skills","Value":"zh:5,en"}`, true},
		{"POST", "/api/group_option", "", `{"Group":"110","Option":"mode","Value":9}`, true},
		{"GET", "/api/group_options", "", ``, true},
		{"GET", "/api/tiers", "", ``, true},
		{"GET", "/api/skills", "", ``, true},
		{"DELETE", "/api/hold/%2e%2e/x", "Nway ", `{`, false},
		{"POST", "/api/agent_up", "Nway nope", `{"Extension":null,"Groups":{}}`, false},
		{"GET", "//api//queues?x=1#f", "", ``, true},
	} {
		f.Add(seed.method, seed.path, seed.auth, []byte(seed.body), seed.useToken)
	}
	f.Fuzz(func(t *testing.T, method, path, auth string, body []byte, useToken bool) {
		var req fasthttp.Request
		req.Header.SetMethod(method)
		req.SetRequestURI(path)
		if useToken {
			auth = "Nway " + tok
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		req.SetBody(body)
		var ctx fasthttp.RequestCtx
		ctx.Init(&req, nil, nil)
		s.handle(&ctx)
		st := ctx.Response.StatusCode()
		if !validStatus[st] {
			t.Fatalf("%s %q → status %d %s", method, path, st, ctx.Response.Body())
		}
		ct := string(ctx.Response.Header.ContentType())
		switch {
		case ctx.Response.IsBodyStream():
			if st != 200 || !strings.HasPrefix(ct, "text/event-stream") {
				t.Fatalf("stream with status %d type %q", st, ct)
			}
			ctx.Response.Reset() // closes the stream, ending its writer
		case strings.HasPrefix(ct, "application/json"):
			if !json.Valid(ctx.Response.Body()) {
				t.Fatalf("%s %q → invalid JSON %q", method, path, ctx.Response.Body())
			}
			if st != 200 && !strings.HasPrefix(string(ctx.Response.Body()), `{"error":"`) {
				t.Fatalf("error body %q", ctx.Response.Body())
			}
		case st == 401 && string(ctx.Response.Body()) == "Not Authorized":
		default:
			t.Fatalf("%s %q → %d with type %q body %q", method, path, st, ct, ctx.Response.Body())
		}
	})
}

// FuzzAppendString checks the hand-written JSON string encoder against
// encoding/json.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "1002", `a"b\c`, "\x00\x1f\n\r\t", "号码", "\xff\xfe", "\u2028\u2029", "<&>", "a\xc3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := appendString(nil, s)
		if !json.Valid(got) {
			t.Fatalf("appendString(%q) = %s is not JSON", s, got)
		}
		want, _ := json.Marshal(s)
		var a, b string
		if err := json.Unmarshal(got, &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(want, &b); err != nil {
			t.Fatal(err)
		}
		if a != b {
			t.Fatalf("appendString(%q) decodes to %q, encoding/json's to %q", s, a, b)
		}
	})
}

// FuzzTimeFormats checks the hand-rolled formats against time.AppendFormat.
func FuzzTimeFormats(f *testing.F) {
	f.Add(int64(0), int64(0), 0)
	f.Add(time.Now().Unix(), int64(123456789), 8*3600)
	f.Add(int64(-62135596800), int64(100), -(3*3600 + 30*60))
	f.Add(int64(253402300799), int64(999999999), 5*3600+45*60+30)
	f.Fuzz(func(t *testing.T, sec, nsec int64, off int) {
		off %= 18 * 3600
		tm := time.Unix(sec, nsec%1e9).In(time.FixedZone("Z", off))
		if got, want := string(appendRFC3339Nano(nil, tm)), tm.Format(time.RFC3339Nano); got != want {
			t.Fatalf("appendRFC3339Nano(%v) = %s, want %s", tm, got, want)
		}
		if got, want := string(appendLocalTime(nil, tm)), tm.Local().Format(localTimeLayout); got != want {
			t.Fatalf("appendLocalTime(%v) = %s, want %s", tm, got, want)
		}
	})
}
