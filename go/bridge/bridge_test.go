package bridge

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/nwayacd/mod_nwayacd/go/session"
)

// fakeHandler records calls; fields set behaviour.
type fakeHandler struct {
	mu        sync.Mutex
	startErr  error
	panicOn   string
	next      []session.Directive
	offers    []session.OfferResult
	events    []*session.ChannelEvent
	stopped   int
	commandOK string
}

func (f *fakeHandler) setPanic(m string) {
	f.mu.Lock()
	f.panicOn = m
	f.mu.Unlock()
}

func (f *fakeHandler) maybePanic(m string) {
	f.mu.Lock()
	p := f.panicOn
	f.mu.Unlock()
	if p == m {
		panic("boom in " + m)
	}
}

func (f *fakeHandler) Start(map[string]string, *Host) error { f.maybePanic("Start"); return f.startErr }
func (f *fakeHandler) Stop()                                { f.stopped++ }
func (f *fakeHandler) Reload(map[string]string) ([]string, error) {
	f.maybePanic("Reload")
	return nil, nil
}
func (f *fakeHandler) Command(name, args string) string { f.maybePanic("Command"); return f.commandOK }
func (f *fakeHandler) Enter(c session.Call) session.Directive {
	f.maybePanic("Enter")
	return f.Next(c.UUID)
}
func (f *fakeHandler) Next(string) session.Directive {
	f.maybePanic("Next")
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.next) == 0 {
		return session.Directive{Action: session.Done}
	}
	d := f.next[0]
	f.next = f.next[1:]
	return d
}
func (f *fakeHandler) OfferResult(r session.OfferResult) {
	f.mu.Lock()
	f.offers = append(f.offers, r)
	f.mu.Unlock()
}
func (f *fakeHandler) BridgeEnded(string)          { f.maybePanic("BridgeEnded") }
func (f *fakeHandler) Transferring(string, string) { f.maybePanic("Transferring") }
func (f *fakeHandler) Leave(string)                { f.maybePanic("Leave") }
func (f *fakeHandler) ChannelEvent(ev *session.ChannelEvent) {
	f.maybePanic("ChannelEvent")
	f.mu.Lock()
	f.events = append(f.events, ev)
	f.mu.Unlock()
}

type logLine struct {
	level int
	file  string
	msg   string
}

// startFake starts the bridge with f and a Host recording log lines.
func startFake(t *testing.T, f Handler) *[]logLine {
	t.Helper()
	var (
		mu    sync.Mutex
		lines []logLine
	)
	SetFactory(func() Handler { return f })
	hst := NewFuncHost(HostFuncs{
		API: func(cmd, args string) (string, bool) { return "+OK", true },
		Log: func(level int, file string, line int, msg string) {
			mu.Lock()
			lines = append(lines, logLine{level, file, msg})
			mu.Unlock()
		},
		FireEvent: func(string, [][2]string, string) bool { return true },
	})
	if err := start(map[string]string{}, hst); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(stop)
	return &lines
}

func TestNotStarted(t *testing.T) {
	stop()
	if got := command("nway_list_exts", ""); !strings.HasPrefix(got, "-ERR") {
		t.Errorf("command before start = %q, want -ERR", got)
	}
	if d := enter(session.Call{UUID: "u"}); d.Action != session.Done {
		t.Errorf("enter before start = %v, want done", d.Action)
	}
	if got := reload(nil); !strings.HasPrefix(got, "-ERR") {
		t.Errorf("reload before start = %q", got)
	}
	leave("u") // must not panic
}

func TestStartErrorAndRestart(t *testing.T) {
	f := &fakeHandler{startErr: errors.New("no database")}
	SetFactory(func() Handler { return f })
	err := start(nil, NewFuncHost(HostFuncs{}))
	if err == nil || !strings.Contains(err.Error(), "no database") {
		t.Fatalf("start error = %v", err)
	}
	if got := command("x", ""); !strings.Contains(got, "not running") {
		t.Fatalf("after failed start, command = %q", got)
	}
	f.startErr = nil
	f.commandOK = "+OK first"
	startFake(t, f)
	if err := start(nil, NewFuncHost(HostFuncs{})); err == nil {
		t.Error("second start while running succeeded")
	}
	stop()
	if f.stopped != 1 {
		t.Errorf("Stop called %d times", f.stopped)
	}
	f2 := &fakeHandler{commandOK: "+OK second"}
	startFake(t, f2)
	if got := command("x", ""); got != "+OK second" {
		t.Errorf("after restart command = %q, want the new handler's reply", got)
	}
}

func TestPanicsAreRecovered(t *testing.T) {
	f := &fakeHandler{}
	lines := startFake(t, f)
	for _, m := range []string{"Command", "Enter", "Next", "Reload", "Transferring", "BridgeEnded", "Leave"} {
		f.setPanic(m)
		switch m {
		case "Command":
			if got := command("nway_add_ext", "1000"); got != "-ERR internal error" {
				t.Errorf("panicking command = %q", got)
			}
		case "Enter":
			if d := enter(session.Call{UUID: "u1"}); d.Action != session.Hangup || d.Cause != failCause {
				t.Errorf("panicking enter = %+v", d)
			}
		case "Next":
			if d := next("u1"); d.Action != session.Hangup || d.Cause != failCause {
				t.Errorf("panicking next = %+v", d)
			}
		case "Reload":
			if got := reload(nil); got != "-ERR internal error" {
				t.Errorf("panicking reload = %q", got)
			}
		case "Transferring":
			transferring("u1", "1002")
		case "BridgeEnded":
			bridgeEnded("u1")
		case "Leave":
			leave("u1")
		}
	}
	f.setPanic("")
	n := 0
	for _, l := range *lines {
		if l.level == LogCrit && strings.Contains(l.msg, "panic in") && strings.Contains(l.msg, "goroutine") {
			n++
		}
	}
	if n != 7 {
		t.Errorf("%d panic log lines with a stack, want 7", n)
	}
}

func TestEmptyReplyBecomesError(t *testing.T) {
	startFake(t, &fakeHandler{})
	if got := command("nway_rm_ext", "1"); got != "-ERR no reply" {
		t.Errorf("empty reply = %q", got)
	}
}

func TestOversizeOfferIsReportedFailedAndNextAsked(t *testing.T) {
	f := &fakeHandler{next: []session.Directive{
		{Action: session.Offer, Dial: strings.Repeat("x", dialLen), Agent: "1000"},
		{Action: session.Offer, Dial: "user/1001", Agent: "1001"},
	}}
	startFake(t, f)
	d := enter(session.Call{UUID: "u2"})
	if d.Action != session.Offer || d.Agent != "1001" {
		t.Fatalf("got %+v, want the offer to 1001", d)
	}
	if len(f.offers) != 1 || f.offers[0].Outcome != session.Failed || f.offers[0].Agent != "1000" {
		t.Errorf("offers reported = %+v", f.offers)
	}
}

func TestEndlessBadOffersHangUp(t *testing.T) {
	bad := session.Directive{Action: session.Offer, Dial: ""}
	f := &fakeHandler{next: []session.Directive{bad, bad, bad, bad, bad, bad}}
	startFake(t, f)
	d := next("u3")
	if d.Action != session.Hangup || d.Cause != failCause {
		t.Fatalf("got %+v, want hangup", d)
	}
	if len(f.offers) != maxRetries {
		t.Errorf("%d failed offers reported, want %d", len(f.offers), maxRetries)
	}
}

func TestCheckDirective(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    session.Directive
		ok   bool
	}{
		{"wait", session.Directive{Action: session.Wait, File: "local_stream://moh"}, true},
		{"unknown action", session.Directive{Action: 0}, false},
		{"action past done", session.Directive{Action: session.Done + 1}, false},
		{"long file", session.Directive{Action: session.Play, File: strings.Repeat("f", fileLen)}, false},
		{"file at limit", session.Directive{Action: session.Play, File: strings.Repeat("f", fileLen-1)}, true},
		{"nul in cause", session.Directive{Action: session.Hangup, Cause: "A\x00B"}, false},
		{"long cause", session.Directive{Action: session.Hangup, Cause: strings.Repeat("C", causeLen)}, false},
		{"offer without dial", session.Directive{Action: session.Offer}, false},
		{"long caller number", session.Directive{Action: session.Offer, Dial: "user/1", CallerNumber: strings.Repeat("1", nameLen)}, false},
	} {
		_, err := checkDirective(tc.d)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrDirective) {
			t.Errorf("%s: error %v is not ErrDirective", tc.name, err)
		}
	}
}

func TestCheckDirectiveDropsBadVars(t *testing.T) {
	var vars [][2]string
	vars = append(vars, [2]string{"", "no name"}, [2]string{"long", strings.Repeat("v", varValueLen)})
	for i := 0; i < maxVars+3; i++ {
		vars = append(vars, [2]string{"v" + string(rune('a'+i)), "1"})
	}
	d, err := checkDirective(session.Directive{Action: session.Done, Vars: vars})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Vars) != maxVars || d.Vars[0][0] != "va" {
		t.Errorf("kept %d vars starting %q, want %d starting va", len(d.Vars), d.Vars[0][0], maxVars)
	}
}

func TestOutcome(t *testing.T) {
	for _, tc := range []struct {
		answered, gone bool
		cause          string
		want           session.Outcome
	}{
		{true, false, "SUCCESS", session.Answered},
		{false, true, "NO_ANSWER", session.Canceled},
		{false, false, "ORIGINATOR_CANCEL", session.NoAnswer}, // a 487 from a proxy: the caller is still there
		{false, false, "NO_ANSWER", session.NoAnswer},
		{false, false, "USER_BUSY", session.NoAnswer},
		{false, false, "CALL_REJECTED", session.NoAnswer},
		{false, false, "ALLOTTED_TIMEOUT", session.NoAnswer},
		{false, false, "USER_NOT_REGISTERED", session.Failed},
		{false, false, "INVALID_NUMBER_FORMAT", session.Failed},
		{false, false, "", session.Failed},
	} {
		if got := outcome(tc.answered, tc.gone, tc.cause); got != tc.want {
			t.Errorf("outcome(%v, %v, %q) = %d, want %d", tc.answered, tc.gone, tc.cause, got, tc.want)
		}
	}
}

// namingHandler fills fs_cli completions, as the module's handler does.
type namingHandler struct {
	fakeHandler
	list []string
}

func (n *namingHandler) Names(list string) []string {
	if list == "extensions" {
		return n.list
	}
	return nil
}

func TestNames(t *testing.T) {
	if got := names("extensions"); got != "" {
		t.Errorf("not started: %q", got)
	}
	startFake(t, &namingHandler{list: []string{"1000", "", "bad\nname", "1001"}})
	if got := names("extensions"); got != "1000\n1001\n" {
		t.Errorf("names(extensions) = %q", got)
	}
	if got := names("groups"); got != "" {
		t.Errorf("names(groups) = %q", got)
	}
	big := make([]string, maxNames+5)
	for i := range big {
		big[i] = "x"
	}
	stop()
	startFake(t, &namingHandler{list: big})
	if got := strings.Count(names("extensions"), "\n"); got != maxNames {
		t.Errorf("%d names, want at most %d", got, maxNames)
	}
}
