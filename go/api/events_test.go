package api

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// sseClient opens GET /api/events and returns a line reader over the raw
// (chunked) stream.
type sseClient struct {
	c net.Conn
	r *bufio.Reader
}

func openEvents(t *testing.T, ts *testServer, path, auth string) (*sseClient, string) {
	t.Helper()
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	req := "GET " + path + " HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n"
	if auth != "" {
		req += "Authorization:" + auth + "\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	status, err := r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	var head strings.Builder
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if l == "\r\n" {
			break
		}
		head.WriteString(l)
	}
	return &sseClient{c, r}, status + head.String()
}

// until reads the stream until it has seen want, returning what it read.
func (s *sseClient) until(t *testing.T, want string) string {
	t.Helper()
	var got strings.Builder
	for !strings.Contains(got.String(), want) {
		l, err := s.r.ReadString('\n')
		got.WriteString(l)
		if err != nil {
			tail := got.String()
			if len(tail) > 300 {
				tail = tail[len(tail)-300:]
			}
			t.Fatalf("stream ended (%v) before %q; read …%q", err, want, tail)
		}
	}
	return got.String()
}

// waitFor polls cond for up to 10 s: generous, so slow machines pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 1000; i++ {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestEvents(t *testing.T) {
	ts := startServer(t, Config{Heartbeat: 20 * time.Millisecond, MaxEventStreams: 2}, nil)
	tok := ts.login(t)

	_, head := openEvents(t, ts, "/api/events", "")
	if !strings.HasPrefix(head, "HTTP/1.1 401") {
		t.Fatalf("no token: %s", head)
	}
	_, head = openEvents(t, ts, "/api/events?token=nope", "")
	if !strings.HasPrefix(head, "HTTP/1.1 401") {
		t.Fatalf("bad token: %s", head)
	}

	a, head := openEvents(t, ts, "/api/events?token="+tok, "")
	if !strings.HasPrefix(head, "HTTP/1.1 200") || !strings.Contains(head, "text/event-stream") {
		t.Fatalf("query token: %s", head)
	}
	a.until(t, ": connected")
	b, head := openEvents(t, ts, "/api/events", "Nway "+tok+" ")
	if !strings.HasPrefix(head, "HTTP/1.1 200") {
		t.Fatalf("header token: %s", head)
	}
	b.until(t, ": connected")
	waitFor(t, "two subscribers", func() bool { return ts.fake.subscribers() == 2 })

	_, head = openEvents(t, ts, "/api/events?token="+tok, "")
	if !strings.HasPrefix(head, "HTTP/1.1 503") {
		t.Fatalf("third stream over the limit of 2: %s", head)
	}

	ts.fake.publish(`{"event_type":"agent","ext":"1002"}`)
	a.until(t, `data: {"event_type":"agent","ext":"1002"}`)
	b.until(t, `data: {"event_type":"agent","ext":"1002"}`)
	ts.fake.publish("line1\nline2")
	a.until(t, "data: line1\ndata: line2\n\n")
	a.until(t, ": ping")

	// The client going away ends its stream and its subscription.
	a.c.Close()
	waitFor(t, "the closed client's subscription to end", func() bool { return ts.fake.subscribers() == 1 })

	// Shutdown ends the remaining stream.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ts.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := b.r.ReadString('\n'); err != nil {
			break
		}
	}
	waitFor(t, "no subscribers after shutdown", func() bool { return ts.fake.subscribers() == 0 })
	if n := ts.streams.Load(); n != 0 {
		t.Fatalf("%d streams counted after shutdown", n)
	}
}

func TestWriteEvent(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"a":1}`, "data: {\"a\":1}\n\n"},
		{"x\ny", "data: x\ndata: y\n\n"},
		{"x\r\ny\n", "data: x\ndata: y\ndata: \n\n"},
		{"", "data: \n\n"},
	} {
		var sb strings.Builder
		w := bufio.NewWriter(&sb)
		writeEvent(w, []byte(c.in))
		_ = w.Flush()
		if sb.String() != c.want {
			t.Errorf("writeEvent(%q) = %q, want %q", c.in, sb.String(), c.want)
		}
	}
}
