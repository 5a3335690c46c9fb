package fanout

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/event"
	"github.com/nwayacd/mod_nwayacd/go/publish"
)

func render(m publish.Message) []byte { return m.AppendJSON(nil, "10.0.0.1") }

func agent(n int) publish.Message { return &event.Agent{Number: fmt.Sprint(n), Status: "ready"} }

func recv(t *testing.T, ch <-chan []byte) string {
	t.Helper()
	select {
	case b := <-ch:
		return string(b)
	case <-time.After(5 * time.Second):
		t.Fatal("no message")
	}
	return ""
}

func TestDeliversInOrderToEverySubscriber(t *testing.T) {
	h := New(0, render)
	a, cancelA := h.Subscribe(8)
	b, cancelB := h.Subscribe(8)
	defer cancelB()
	h.Send(agent(1)) // not started: rendered on the caller's goroutine
	h.Start()
	h.Send(agent(2))
	h.Send(agent(3))
	for _, ch := range []<-chan []byte{a, b} {
		for _, want := range []string{`"1"`, `"2"`, `"3"`} {
			if got := recv(t, ch); !contains(got, want) || !contains(got, "10.0.0.1") {
				t.Fatalf("got %s, want %s with the cti ip", got, want)
			}
		}
	}
	if h.Subscribers() != 2 {
		t.Fatalf("subscribers %d", h.Subscribers())
	}
	cancelA()
	if _, ok := <-a; ok {
		t.Fatal("cancelled stream still open")
	}
	h.Stop()
	h.CloseAll()
	if _, ok := <-b; ok {
		t.Fatal("CloseAll left a stream open")
	}
	if h.Subscribers() != 0 {
		t.Fatalf("subscribers %d after CloseAll", h.Subscribers())
	}
	cancelB() // cancelling a closed stream is harmless
}

// A slow reader loses messages; the sender never waits.
func TestSlowReaderLosesMessagesSenderNeverWaits(t *testing.T) {
	h := New(2, render)
	ch, cancel := h.Subscribe(1)
	defer cancel()
	h.Start()
	done := make(chan struct{})
	go func() {
		for i := 0; i < 10000; i++ {
			h.Send(agent(i))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Send blocked on a reader that never reads")
	}
	h.Stop()
	if len(ch) != 1 {
		t.Fatalf("reader holds %d messages, want its buffer's 1", len(ch))
	}
}

func TestNoSubscribersNothingRendered(t *testing.T) {
	rendered := 0
	h := New(0, func(m publish.Message) []byte { rendered++; return nil })
	h.Send(agent(1))
	if rendered != 0 {
		t.Fatal("rendered for nobody")
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
