package api

import (
	"net/http"
	"testing"
)

func corsRequest(t *testing.T, addr, method, path, origin string, preflight bool) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", origin)
	if preflight {
		req.Header.Set("Access-Control-Request-Method", "GET")
		req.Header.Set("Access-Control-Request-Headers", "authorization")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// A listed origin may read the API (and the event stream) from a page; any
// other origin gets no CORS header, so the browser keeps the answer from it.
func TestCORSOnlyForConfiguredOrigins(t *testing.T) {
	ts := startServer(t, Config{CORSOrigins: []string{"https://board.example"}}, nil)
	r := corsRequest(t, ts.addr, http.MethodOptions, "/api/events", "https://board.example", true)
	if r.StatusCode != http.StatusNoContent || r.Header.Get("Access-Control-Allow-Origin") != "https://board.example" ||
		r.Header.Get("Access-Control-Allow-Headers") == "" || r.Header.Get("Vary") != "Origin" {
		t.Fatalf("preflight from a listed origin: %d %v", r.StatusCode, r.Header)
	}
	r = corsRequest(t, ts.addr, http.MethodGet, "/api/queues", "https://board.example", false)
	if r.StatusCode != http.StatusUnauthorized || r.Header.Get("Access-Control-Allow-Origin") != "https://board.example" {
		t.Fatalf("a listed origin's request must still need a token, and be readable: %d %v", r.StatusCode, r.Header)
	}
	for _, o := range []string{"https://evil.example", "null", "https://board.example.evil"} {
		r = corsRequest(t, ts.addr, http.MethodOptions, "/api/events", o, true)
		if r.Header.Get("Access-Control-Allow-Origin") != "" || r.StatusCode == http.StatusNoContent {
			t.Errorf("origin %s: %d %v, want no CORS", o, r.StatusCode, r.Header)
		}
	}
	none := startServer(t, Config{}, nil)
	if r = corsRequest(t, none.addr, http.MethodGet, "/api/queues", "https://board.example", false); r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("no origins configured, yet %v", r.Header)
	}
}
