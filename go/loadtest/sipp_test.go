package loadtest

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
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
	agents, err := Agents(actx, agentsXML, aport, dir)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // let the UAS bind
	if err := Callers(ctx, callerXML, "127.0.0.1:"+strconv.Itoa(aport), "7001", cport, calls, 20, dir); err != nil {
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
