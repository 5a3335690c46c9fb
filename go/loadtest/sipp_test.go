package loadtest

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// need skips without sipp, or fails when CI requires every tool.
func need(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("sipp"); err != nil {
		if os.Getenv("NWAYACD_REQUIRE_SERVICES") == "1" {
			t.Fatal("sipp is missing (Debian: sip-tester)")
		}
		t.Skip("sipp is missing (Debian: sip-tester)")
	}
}

func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// runDirect has the callers call the agents' UAS straight, with no switch
// between, and captures the SIP on loopback: it proves the scenarios and the
// capture, which every switch run relies on.
func runDirect(t *testing.T, p Params, calls int) []Packet {
	need(t)
	dir := t.TempDir()
	callerXML, agentsXML, err := p.WriteScenarios(dir)
	if err != nil {
		t.Fatal(err)
	}
	cport, aport := freeUDPPort(t), freeUDPPort(t)
	capt, err := OpenCapture(uint16(cport), uint16(aport))
	if err != nil {
		t.Fatal(err)
	}
	cctx, stopCapture := context.WithCancel(context.Background())
	got := make(chan []Packet, 1)
	go func() { ps, _ := capt.Run(cctx); got <- ps }()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	actx, stopAgents := context.WithCancel(ctx)
	agents, err := Agents(actx, nil, agentsXML, aport, dir)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // let the UAS bind
	if err := Callers(ctx, nil, callerXML, "127.0.0.1:"+strconv.Itoa(aport), "7001", cport, calls, 20, time.Minute, dir); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	stopAgents()
	_ = agents.Wait()
	stopCapture()
	return <-got
}

func count(ps []Packet, f func(Message) bool) int {
	n := 0
	for _, p := range ps {
		if f(p.Msg) {
			n++
		}
	}
	return n
}

func TestScenariosAnswerAndHangUp(t *testing.T) {
	const calls = 10
	ps := runDirect(t, Params{CallerPrefix: "139", Patience: 5 * time.Second, Ring: 50 * time.Millisecond, Talk: 200 * time.Millisecond}, calls)
	if n := count(ps, func(m Message) bool { return m.Method == "INVITE" }); n != calls {
		t.Fatalf("%d INVITEs captured, want %d", n, calls)
	}
	if n := count(ps, func(m Message) bool { return m.Status == 200 && m.CSeqMethod == "INVITE" }); n != calls {
		t.Fatalf("%d answers, want %d", n, calls)
	}
	if n := count(ps, func(m Message) bool { return m.Method == "BYE" }); n != calls {
		t.Fatalf("%d BYEs (from the agents), want %d", n, calls)
	}
	// The agent's BYE swaps the dialog's From and To: FreeSWITCH refuses one
	// without them (400 Bad From Header), and the analyzer knows the agent
	// that freed up by the BYE's From.
	for _, p := range ps {
		if m := p.Msg; m.Method == "BYE" && (m.FromUser != "7001" || len(m.ToUser) < 4 || m.ToUser[:3] != "139") {
			t.Fatalf("agent BYE From %q To %q, want From 7001 and To the caller", m.FromUser, m.ToUser)
		}
	}
	callers := map[string]bool{}
	for _, p := range ps {
		if p.Msg.Method == "INVITE" {
			callers[p.Msg.FromUser] = true
			if p.At.IsZero() || time.Since(p.At) > time.Minute {
				t.Fatalf("no kernel timestamp: %v", p.At)
			}
		}
	}
	if len(callers) != calls {
		t.Fatalf("%d distinct caller numbers, want %d", len(callers), calls)
	}
}

func TestScenariosNoAnswerIsCancelled(t *testing.T) {
	const calls = 3
	ps := runDirect(t, Params{CallerPrefix: "138", Patience: 300 * time.Millisecond, Ring: 50 * time.Millisecond, Talk: 100 * time.Millisecond, NoAnswerChance: 1}, calls)
	if n := count(ps, func(m Message) bool { return m.Method == "CANCEL" }); n != calls {
		t.Fatalf("%d CANCELs, want %d", n, calls)
	}
	if n := count(ps, func(m Message) bool { return m.Status == 487 }); n != calls {
		t.Fatalf("%d 487s, want %d", n, calls)
	}
	if n := count(ps, func(m Message) bool { return m.Status == 200 && m.CSeqMethod == "INVITE" }); n != 0 {
		t.Fatalf("%d answers, want none", n)
	}
}

// A realtime switch's scheduling is read off its process and given to sipp:
// the agents' UAS runs SCHED_FIFO at the switch's priority. A normal process
// gives none.
func TestSippTakesTheSwitchScheduling(t *testing.T) {
	need(t)
	if sc, err := SwitchSched(os.Getpid()); err != nil || sc != nil {
		t.Fatalf("a SCHED_OTHER process: %v, %v; want nil, nil", sc, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fake := exec.CommandContext(ctx, "chrt", "-f", "3", "sleep", "30") // stands in for FreeSWITCH
	if err := fake.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = fake.Wait() }()
	var sc *Sched
	for i := 0; i < 100 && sc == nil; i++ {
		time.Sleep(10 * time.Millisecond) // chrt execs sleep once the policy is set
		var err error
		if sc, err = SwitchSched(fake.Process.Pid); err != nil {
			t.Fatal(err)
		}
	}
	if sc == nil {
		if os.Getenv("NWAYACD_REQUIRE_SERVICES") == "1" && os.Geteuid() == 0 {
			t.Fatal("chrt -f 3 did not make a realtime process")
		}
		t.Skip("this host may not run SCHED_FIFO")
	}
	if sc.Policy != unix.SCHED_FIFO || sc.Priority != 3 || sc.String() != "SCHED_FIFO 3" {
		t.Fatalf("switch scheduling %+v (%s), want SCHED_FIFO 3", *sc, sc)
	}
	dir := t.TempDir()
	_, agentsXML, err := Params{CallerPrefix: "139", Ring: 100 * time.Millisecond, Talk: time.Second}.WriteScenarios(dir)
	if err != nil {
		t.Fatal(err)
	}
	agents, err := Agents(ctx, sc, agentsXML, freeUDPPort(t), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = agents.Wait() }()
	var got *Sched
	for i := 0; i < 100; i++ {
		time.Sleep(10 * time.Millisecond)
		if b, _ := os.ReadFile("/proc/" + strconv.Itoa(agents.Process.Pid) + "/comm"); string(b) == "sipp\n" {
			if got, err = SwitchSched(agents.Process.Pid); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if got == nil || *got != *sc {
		t.Fatalf("sipp runs at %v, want the switch's %v", got, sc)
	}
}

// A run whose calls never end is cut at its deadline: sipp is stopped, the
// caller's port is free again, and Callers says so (ErrCut), well before
// sipp would have given up by itself (here after 11 minutes).
func TestCallersAreCutAtTheDeadline(t *testing.T) {
	need(t)
	dir := t.TempDir()
	p := Params{CallerPrefix: "137", Patience: time.Minute, Ring: 50 * time.Millisecond, Talk: 10 * time.Minute}
	callerXML, agentsXML, err := p.WriteScenarios(dir)
	if err != nil {
		t.Fatal(err)
	}
	cport, aport := freeUDPPort(t), freeUDPPort(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	actx, stopAgents := context.WithCancel(ctx)
	agents, err := Agents(actx, nil, agentsXML, aport, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { stopAgents(); _ = agents.Wait() }()
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	err = Callers(ctx, nil, callerXML, "127.0.0.1:"+strconv.Itoa(aport), "7001", cport, 3, 20, 2*time.Second, dir)
	took := time.Since(start)
	if !errors.Is(err, ErrCut) {
		t.Fatalf("Callers = %v, want ErrCut", err)
	}
	if took < 2*time.Second || took > 10*time.Second {
		t.Errorf("Callers returned after %v, want the 2 s deadline (plus at most the 5 s kill delay)", took)
	}
	c, err := net.ListenPacket("udp4", "127.0.0.1:"+strconv.Itoa(cport))
	if err != nil {
		t.Fatalf("the callers' port is still held: %v", err)
	}
	c.Close()
}

func TestWhyNamesTheErrorNotTheCounters(t *testing.T) {
	dir := t.TempDir()
	screen := "  Successful call        |        0 |     1166\n  Failed call            |       62 |     1166\n------ Test Terminated ------\n"
	if err := os.WriteFile(filepath.Join(dir, "callers-errors.log"), []byte("2026-12-02 sipp: Unable to send UDP message: Resource temporarily unavailable\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if w := why([]byte(screen), dir); !strings.Contains(w, "Unable to send UDP message") || strings.Contains(w, "Successful") {
		t.Fatalf("why %q", w)
	}
	if w := why([]byte(screen), t.TempDir()); !strings.Contains(w, "Test Terminated") {
		t.Fatalf("without an error line: %q, want the tail", w)
	}
}
