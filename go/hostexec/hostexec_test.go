package hostexec

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeSwitch answers each command with its scripted reply; a command named
// "block" waits until release is closed.
type fakeSwitch struct {
	mu      sync.Mutex
	ran     []string
	reply   map[string]string
	release chan struct{}
	entered chan struct{}
}

func newFake() *fakeSwitch {
	return &fakeSwitch{reply: map[string]string{}, release: make(chan struct{}), entered: make(chan struct{}, 64)}
}

func (f *fakeSwitch) API(cmd, args string) (string, error) {
	f.mu.Lock()
	f.ran = append(f.ran, cmd+" "+args)
	r, ok := f.reply[cmd]
	f.mu.Unlock()
	switch cmd {
	case "block":
		f.entered <- struct{}{}
		<-f.release
	case "panic":
		panic("boom")
	case "fail":
		return "", errors.New("socket closed")
	case "host-err": // the bridge's Host: an error that repeats the -ERR output
		return "-ERR no such channel\n", errors.New("host: api command failed: host-err: -ERR no such channel")
	}
	if !ok {
		r = "+OK\n"
	}
	return r, nil
}

func (f *fakeSwitch) commands() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.ran...)
}

func TestDoReturnsTheSwitchsAnswer(t *testing.T) {
	f := newFake()
	f.reply["uuid_hold"] = "-ERR No such channel!\n"
	x := New(Options{Switch: f})
	x.Start()
	defer x.Stop()

	out, err := x.DoWithin(time.Second, "uuid_break", "u1 all")
	if err != nil || out != "+OK\n" {
		t.Fatalf("ok command: %q %v", out, err)
	}
	_, err = x.DoWithin(time.Second, "uuid_hold", "chan-1")
	var he *Error
	if !errors.Is(err, ErrRefused) || !errors.As(err, &he) || he.Reply != "-ERR No such channel!" || he.Cmd != "uuid_hold" {
		t.Fatalf("-ERR answer: %v", err)
	}
	if !strings.Contains(err.Error(), "No such channel") {
		t.Fatalf("message %q does not carry the switch's words", err)
	}
	if _, err := x.DoWithin(time.Second, "host-err", ""); !errors.As(err, &he) || he.Reply != "-ERR no such channel" {
		t.Fatalf("the host's error: %v", err)
	}
	if _, err := x.DoWithin(time.Second, "fail", ""); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "socket closed") {
		t.Fatalf("a failing call into the switch: %v", err)
	}
	if _, err := x.DoWithin(time.Second, "panic", ""); !errors.Is(err, ErrRefused) {
		t.Fatalf("a panicking switch: %v", err)
	}
	if x.Failed() != 4 {
		t.Fatalf("failed = %d, want 4", x.Failed())
	}
}

func TestDoTimesOutOnASilentSwitch(t *testing.T) {
	f := newFake()
	x := New(Options{Switch: f, Workers: 1})
	x.Start()
	start := time.Now()
	_, err := x.DoWithin(50*time.Millisecond, "block", "")
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("blocked switch: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("waited %v", d)
	}
	close(f.release)
	x.Stop()
}

func TestFullQueueDropsAndSaysSo(t *testing.T) {
	f := newFake()
	x := New(Options{Switch: f, Workers: 1, Queue: 1})
	x.Start()
	if err := x.Post("block", "1"); err != nil {
		t.Fatal(err)
	}
	<-f.entered // the only worker is busy
	if err := x.Post("uuid_hold", "queued"); err != nil {
		t.Fatalf("the queue has room for one: %v", err)
	}
	if err := x.Post("uuid_hold", "dropped"); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("post to a full queue: %v", err)
	}
	if _, err := x.DoWithin(time.Second, "uuid_kill", "dropped"); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("do on a full queue: %v", err)
	}
	if x.Dropped() != 2 {
		t.Fatalf("dropped = %d", x.Dropped())
	}
	close(f.release)
	x.Stop() // runs what was queued
	got := strings.Join(f.commands(), ",")
	if got != "block 1,uuid_hold queued" {
		t.Fatalf("ran %s", got)
	}
}

func TestStoppedExecutorRunsNothing(t *testing.T) {
	f := newFake()
	x := New(Options{Switch: f})
	if _, err := x.DoWithin(time.Second, "uuid_hold", "a"); !errors.Is(err, ErrStopped) {
		t.Fatalf("before start: %v", err)
	}
	x.Start()
	x.Stop()
	x.Start() // a module reload starts it again
	if _, err := x.DoWithin(time.Second, "uuid_hold", "b"); err != nil {
		t.Fatal(err)
	}
	x.Stop()
	if err := x.Post("uuid_hold", "c"); !errors.Is(err, ErrStopped) {
		t.Fatalf("after stop: %v", err)
	}
	if got := strings.Join(f.commands(), ","); got != "uuid_hold b" {
		t.Fatalf("ran %s", got)
	}
}

func TestNoSwitchDropsQuietly(t *testing.T) {
	x := New(Options{})
	if out, err := x.Run("uuid_hold", "a"); out != "" || err != nil {
		t.Fatalf("%q %v", out, err)
	}
}

// BenchmarkDo: one call-control round trip (queue, worker, switch, answer).
func BenchmarkDo(b *testing.B) {
	x := New(Options{Switch: newFake()})
	x.Start()
	defer x.Stop()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := x.DoWithin(time.Second, "uuid_hold", "u"); err != nil {
			b.Fatal(err)
		}
	}
}
