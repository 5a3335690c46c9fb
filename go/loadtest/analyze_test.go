package loadtest

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

var (
	t0     = time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	caller = netip.MustParseAddrPort("127.0.0.1:5070")
	fs     = netip.MustParseAddrPort("127.0.0.1:5080")
	agents = netip.MustParseAddrPort("127.0.0.1:5090")
	roles  = Roles{SwitchPort: 5080, AgentPort: 5090}
)

func pkt(ms int, src, dst netip.AddrPort, m Message) Packet {
	return Packet{At: t0.Add(time.Duration(ms) * time.Millisecond), Src: src, Dst: dst, Msg: m}
}

func TestAnalyzePairsCallersWithAgentsAndMeasuresDispatch(t *testing.T) {
	ps := []Packet{
		// Caller 1391 reaches agent 7001 at once: offer 12 ms.
		pkt(0, caller, fs, Message{Method: "INVITE", CallID: "c1", FromUser: "1391", ToUser: "9990", CSeqMethod: "INVITE"}),
		pkt(3, caller, fs, Message{Method: "INVITE", CallID: "c1", FromUser: "1391", ToUser: "9990", CSeqMethod: "INVITE"}), // retransmission
		pkt(12, fs, agents, Message{Method: "INVITE", CallID: "a1", FromUser: "1391", ToUser: "7001", CSeqMethod: "INVITE"}),
		pkt(112, agents, fs, Message{Status: 200, CallID: "a1", FromUser: "1391", ToUser: "7001", CSeqMethod: "INVITE"}),
		// Caller 1392 arrives while 7001 talks: it waits.
		pkt(500, caller, fs, Message{Method: "INVITE", CallID: "c2", FromUser: "1392", ToUser: "9990", CSeqMethod: "INVITE"}),
		// 7001 hangs up at 2112; 1392 is offered to 7001 7 ms later.
		pkt(2112, agents, fs, Message{Method: "BYE", CallID: "a1", FromUser: "7001", ToUser: "1391", CSeqMethod: "BYE"}),
		pkt(2113, fs, caller, Message{Method: "BYE", CallID: "c1", FromUser: "9990", ToUser: "1391", CSeqMethod: "BYE"}),
		pkt(2115, fs, agents, Message{Status: 200, CallID: "a1", FromUser: "7001", ToUser: "1391", CSeqMethod: "BYE"}),
		pkt(2116, fs, agents, Message{Status: 200, CallID: "a1", FromUser: "7001", ToUser: "1391", CSeqMethod: "BYE"}), // retransmission
		pkt(2119, fs, agents, Message{Method: "INVITE", CallID: "a2", FromUser: "1392", ToUser: "7001", CSeqMethod: "INVITE"}),
		pkt(2219, agents, fs, Message{Status: 200, CallID: "a2", FromUser: "1392", ToUser: "7001", CSeqMethod: "INVITE"}),
		// Caller 1393 gives up without an offer; 7001's second BYE finds nobody waiting.
		pkt(3000, caller, fs, Message{Method: "INVITE", CallID: "c3", FromUser: "1393", ToUser: "9990", CSeqMethod: "INVITE"}),
		pkt(3500, caller, fs, Message{Method: "CANCEL", CallID: "c3", FromUser: "1393", ToUser: "9990", CSeqMethod: "CANCEL"}),
		pkt(4219, agents, fs, Message{Method: "BYE", CallID: "a2", FromUser: "7001", ToUser: "1392", CSeqMethod: "BYE"}),
	}
	r := Analyze(ps, roles)
	if r.Calls != 3 || r.Reached != 2 {
		t.Fatalf("calls %d reached %d, want 3 and 2", r.Calls, r.Reached)
	}
	if len(r.Offer) != 2 || r.Offer[0] != 12*time.Millisecond || r.Offer[1] != 1619*time.Millisecond {
		t.Fatalf("offers %v, want [12ms 1.619s]", r.Offer)
	}
	if len(r.QueuedDispatch) != 1 || r.QueuedDispatch[0] != 7*time.Millisecond {
		t.Fatalf("queued dispatch %v, want [7ms]", r.QueuedDispatch)
	}
	if len(r.DispatchAfterOK) != 1 || r.DispatchAfterOK[0] != 4*time.Millisecond {
		t.Fatalf("dispatch after the switch's 200 OK to the BYE %v, want [4ms]", r.DispatchAfterOK)
	}
	if got := r.ReachedPct(); got < 66.6 || got > 66.7 {
		t.Fatalf("reached %.2f%%", got)
	}
}

func TestQuantileNearestRank(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}, {0, time.Millisecond}} {
		if got := Quantile(d, c.q); got != c.want {
			t.Errorf("q%.2f = %v, want %v", c.q, got, c.want)
		}
	}
	if Quantile(nil, 0.5) != 0 {
		t.Error("empty quantile not 0")
	}
}

func TestParseSIP(t *testing.T) {
	m, ok := ParseSIP([]byte("INVITE sip:9990@127.0.0.1:5080 SIP/2.0\r\nFrom: \"x\" <sip:13900001@127.0.0.1:5070>;tag=1\r\nt: <sip:9990@127.0.0.1>\r\ni: abc@h\r\nCSeq: 1 INVITE\r\n\r\nv=0\r\n"))
	if !ok || m.Method != "INVITE" || m.FromUser != "13900001" || m.ToUser != "9990" || m.CallID != "abc@h" || m.CSeqMethod != "INVITE" {
		t.Fatalf("%+v %v", m, ok)
	}
	m, ok = ParseSIP([]byte("SIP/2.0 487 Request Terminated\r\nCall-ID: z\r\nCSeq: 7 INVITE\r\nTo: sip:7001@h;tag=q\r\n\r\n"))
	if !ok || m.Status != 487 || m.ToUser != "7001" || m.CSeqMethod != "INVITE" {
		t.Fatalf("%+v %v", m, ok)
	}
	for _, bad := range []string{"", "GET / HTTP/1.1\r\n\r\n", "SIP/2.0 abc\r\nCall-ID: x\r\n\r\n", "INVITE sip:x SIP/2.0\r\n\r\n"} {
		if _, ok := ParseSIP([]byte(bad)); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

func FuzzParseSIP(f *testing.F) {
	f.Add([]byte("INVITE sip:9990@127.0.0.1 SIP/2.0\r\nCall-ID: a\r\nFrom: <sip:1@h>\r\n\r\n"))
	f.Add([]byte("SIP/2.0 200 OK\r\nCall-ID: a\r\nCSeq: 1 INVITE\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, ok := ParseSIP(b)
		if ok && m.CallID == "" {
			t.Fatal("ok without a Call-ID")
		}
	})
}

func TestParseStatCPU(t *testing.T) {
	s := "1234 (free switch) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 -2 0 40 0 123 0 0"
	d, err := parseStatCPU(s)
	if err != nil || d != 3*time.Second {
		t.Fatalf("%v %v, want 3s", d, err)
	}
	if _, err := parseStatCPU("garbage"); err == nil {
		t.Fatal("garbage parsed")
	}
}

// An INVITE that leaves before the switch's 200 OK to the BYE (the module
// took the BYE from the SIP capture) is counted as such, not as "after".
// With idle agents a caller is often mid-offer when an agent hangs up: that
// agent's next call, for a caller who came later, is not a queued dispatch.
func TestAnalyzeIgnoresTheNextCallOfAnAgentFreedMidOffer(t *testing.T) {
	ps := []Packet{
		pkt(0, caller, fs, Message{Method: "INVITE", CallID: "c1", FromUser: "1391", ToUser: "9990", CSeqMethod: "INVITE"}),
		pkt(8, fs, agents, Message{Method: "INVITE", CallID: "a1", FromUser: "1391", ToUser: "7001", CSeqMethod: "INVITE"}),
		// 1392 arrives; 7001 hangs up before 1392's offer (to 7002) leaves.
		pkt(2000, caller, fs, Message{Method: "INVITE", CallID: "c2", FromUser: "1392", ToUser: "9990", CSeqMethod: "INVITE"}),
		pkt(2003, agents, fs, Message{Method: "BYE", CallID: "a1", FromUser: "7001", ToUser: "1391", CSeqMethod: "BYE"}),
		pkt(2008, fs, agents, Message{Method: "INVITE", CallID: "a2", FromUser: "1392", ToUser: "7002", CSeqMethod: "INVITE"}),
		// 7001's next call is 1393, who came 1.5 s later.
		pkt(3500, caller, fs, Message{Method: "INVITE", CallID: "c3", FromUser: "1393", ToUser: "9990", CSeqMethod: "INVITE"}),
		pkt(3508, fs, agents, Message{Method: "INVITE", CallID: "a3", FromUser: "1393", ToUser: "7001", CSeqMethod: "INVITE"}),
	}
	if r := Analyze(ps, roles); len(r.QueuedDispatch) != 0 {
		t.Fatalf("queued dispatch %v, want none", r.QueuedDispatch)
	}
}

func TestAnalyzeDispatchBeforeTheSwitchsOK(t *testing.T) {
	ps := []Packet{
		pkt(0, caller, fs, Message{Method: "INVITE", CallID: "c1", FromUser: "1391", ToUser: "9990", CSeqMethod: "INVITE"}),
		pkt(12, fs, agents, Message{Method: "INVITE", CallID: "a1", FromUser: "1391", ToUser: "7001", CSeqMethod: "INVITE"}),
		pkt(112, agents, fs, Message{Status: 200, CallID: "a1", FromUser: "1391", ToUser: "7001", CSeqMethod: "INVITE"}),
		pkt(500, caller, fs, Message{Method: "INVITE", CallID: "c2", FromUser: "1392", ToUser: "9990", CSeqMethod: "INVITE"}),
		pkt(2112, agents, fs, Message{Method: "BYE", CallID: "a1", FromUser: "7001", ToUser: "1391", CSeqMethod: "BYE"}),
		pkt(2114, fs, agents, Message{Method: "INVITE", CallID: "a2", FromUser: "1392", ToUser: "7001", CSeqMethod: "INVITE"}),
		pkt(2131, fs, agents, Message{Status: 200, CallID: "a1", FromUser: "7001", ToUser: "1391", CSeqMethod: "BYE"}),
		pkt(2214, agents, fs, Message{Status: 200, CallID: "a2", FromUser: "1392", ToUser: "7001", CSeqMethod: "INVITE"}),
	}
	r := Analyze(ps, roles)
	if len(r.QueuedDispatch) != 1 || r.QueuedDispatch[0] != 2*time.Millisecond || len(r.DispatchAfterOK) != 0 || r.DispatchBeforeOK != 1 {
		t.Fatalf("queued %v, after the 200 OK %v, before it %d", r.QueuedDispatch, r.DispatchAfterOK, r.DispatchBeforeOK)
	}
	row := Result{Run: Run{Profile: "nwayacd", Dest: DestACD}, Report: r}.Row()
	if !strings.Contains(row, "none: all 1 left before it") {
		t.Fatalf("row %s", row)
	}
}
