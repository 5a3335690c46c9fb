package service

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/api"
	"github.com/nwayacd/mod_nwayacd/go/console"
	"github.com/nwayacd/mod_nwayacd/go/session"
)

// restServer serves s's REST API on loopback and returns a function that
// sends one authenticated GET and returns its status and body.
func restServer(t *testing.T, s *Service) func(path string) (int, string) {
	t.Helper()
	srv, err := api.New(api.Config{Listen: "127.0.0.1:0", Username: "admin", Password: "s3cret-for-test"}, s)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	base := "http://" + ln.Addr().String()
	c := &http.Client{Timeout: 10 * time.Second}
	r, err := c.Post(base+"/api/login", "application/json", strings.NewReader(`{"username":"admin","password":"s3cret-for-test"}`))
	if err != nil {
		t.Fatal(err)
	}
	var tok struct{ Token string }
	_ = json.NewDecoder(r.Body).Decode(&tok)
	r.Body.Close()
	if tok.Token == "" {
		t.Fatalf("login: %d", r.StatusCode)
	}
	return func(path string) (int, string) {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Nway "+tok.Token)
		r, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, string(b)
	}
}

// FreeSWITCH answers -ERR: the console says -ERR and REST answers 502; a
// silent switch is 504 on REST. Neither says OK.
func TestTransportsReportTheSwitchsAnswer(t *testing.T) {
	f := &refusingSwitch{}
	s := New(Options{Switch: f})
	s.Start()
	defer s.Stop()
	must(t, s.AddExtension("1018", ""))
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelCreate, UUID: "chan-1", User: "1018"})

	if got := console.Run(s, "nway_uuid_hold", "chan-1"); !strings.HasPrefix(got, "-ERR ") || !strings.Contains(got, "No such channel") {
		t.Fatalf("console: %q", got)
	}
	get := restServer(t, s)
	if st, body := get("/api/hold/1018"); st != http.StatusBadGateway || !strings.Contains(body, `"error"`) {
		t.Fatalf("REST hold on -ERR: %d %s", st, body)
	}
}

func TestRESTTimeoutIs504(t *testing.T) {
	f := &refusingSwitch{block: make(chan struct{}), entered: make(chan struct{}, 16)}
	s := New(Options{Switch: f, HostWait: 50 * time.Millisecond})
	s.Start()
	defer func() { close(f.block); s.Stop() }()
	must(t, s.AddExtension("1018", ""))
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelCreate, UUID: "chan-1", User: "1018"})
	get := restServer(t, s)
	if st, body := get("/api/hangup/1018"); st != http.StatusGatewayTimeout {
		t.Fatalf("REST hangup on a silent switch: %d %s", st, body)
	}
	if got := console.Run(s, "nway_uuid_hold", "chan-1"); !strings.HasPrefix(got, "-ERR ") || !strings.Contains(got, "in time") {
		t.Fatalf("console: %q", got)
	}
}
