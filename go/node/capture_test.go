package node

import (
	"errors"
	"net"
	"net/netip"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/hep"
	"github.com/nwayacd/mod_nwayacd/go/session"
)

// With sip-capture-listen, an agent's BYE mirrored by the switch over UDP
// (HEP3) ends its bridge: the freed agent is offered the waiting caller.
// Datagrams that are not HEP are counted and change nothing; the messages
// the service ignores (responses, ACK) never reach the process.
func TestSIPCaptureEndsBridgeOnBye(t *testing.T) {
	addr := freeUDPAddr(t)
	n := start(t, params(t, map[string]string{"sip-capture-listen": addr, "wrapup-seconds": "0"}))
	defer n.Stop()
	cmd(t, n, "nway_add_group", "110 0")
	cmd(t, n, "nway_add_ext", "1000")
	cmd(t, n, "nway_login", "1000 110")
	_ = n.Service.SetRegistered("1000", true)
	s := n.Service
	d := s.Enter(session.Call{Kind: session.Queue, UUID: "cap1", Group: "110", CallerNumber: "13800000001"})
	m := regexp.MustCompile(`sip_invite_call_id=([^,}]+)`).FindStringSubmatch(d.Dial)
	if d.Action != session.Offer || m == nil {
		t.Fatalf("offer %+v", d)
	}
	leg := m[1]
	s.OfferResult(session.OfferResult{UUID: "cap1", Agent: "1000", AgentUUID: leg, Outcome: session.Answered})
	if d := s.Enter(session.Call{Kind: session.Queue, UUID: "cap2", Group: "110", CallerNumber: "13800000002"}); d.Action != session.Wait {
		t.Fatalf("second caller %+v", d)
	}
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fs, agent := netip.MustParseAddrPort("127.0.0.1:5060"), netip.MustParseAddrPort("127.0.0.1:5090")
	msg := func(first string) []byte {
		return []byte(first + "\r\nCall-ID: " + leg + "\r\nCSeq: 1 X\r\n\r\n")
	}
	for _, p := range [][]byte{[]byte("junk"), hep.Encode(fs, agent, msg("INVITE sip:1000@x SIP/2.0")),
		hep.Encode(agent, fs, msg("SIP/2.0 180 Ringing")), hep.Encode(agent, fs, msg("SIP/2.0 200 OK")),
		hep.Encode(fs, agent, msg("ACK sip:1000@x SIP/2.0")), hep.Encode(agent, fs, msg("BYE sip:x SIP/2.0"))} {
		if _, err := c.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "1000 offered the waiting caller", func() bool {
		x, _ := s.Extension("1000")
		return x.CallState == "ring" && x.CallUUID == "cap2"
	})
	if ended, packets, bad := s.EarlyByes(); ended != 1 || packets != 3 || bad != 1 {
		t.Fatalf("early byes %d, packets taken %d (want junk, INVITE, BYE), bad packets %d", ended, packets, bad)
	}
	sc, _ := s.Status().Extra["sip_capture"].(map[string]any)
	if sc == nil || sc["read_by"] != "goroutine" {
		t.Fatalf("status sip_capture section %+v, want read_by goroutine (a switch with no event reader)", sc)
	}
}

// freeUDPAddr is a loopback UDP address nothing listens on now.
func freeUDPAddr(t *testing.T) string {
	t.Helper()
	l, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.LocalAddr().String()
}

// The capture listener takes loopback only.
func TestSIPCaptureListenLoopbackOnly(t *testing.T) {
	if _, err := Start(params(t, map[string]string{"sip-capture-listen": "0.0.0.0:9060"}), Options{}); err == nil {
		t.Fatal("a capture listener on every address was accepted")
	}
}

// feedSwitch is a switch whose event reader would drain the capture
// (bridge.Host): it keeps what the node hands over.
type feedSwitch struct {
	mu      sync.Mutex
	local   string
	take    func([]byte, netip.AddrPort)
	stopped bool
}

func (f *feedSwitch) API(string, string) (string, error) { return "", errors.New("no switch") }

func (f *feedSwitch) FeedPackets(conn syscall.Conn, take func([]byte, netip.AddrPort)) (func(), error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.local = conn.(net.PacketConn).LocalAddr().String()
	f.take = take
	return func() { f.mu.Lock(); f.stopped = true; f.mu.Unlock() }, nil
}

// A switch that can drain the capture on its event reader gets the socket;
// the node then reads nothing itself, takes only loopback senders, and
// detaches the feed when it stops.
func TestSIPCaptureHandedToTheEventReader(t *testing.T) {
	addr := freeUDPAddr(t)
	sw := &feedSwitch{}
	n, err := Start(params(t, map[string]string{"sip-capture-listen": addr}), Options{Switch: sw})
	if err != nil {
		t.Fatal(err)
	}
	sw.mu.Lock()
	take, local := sw.take, sw.local
	sw.mu.Unlock()
	if take == nil || local != addr {
		n.Stop()
		t.Fatalf("the node handed over %q, want its capture socket %s", local, addr)
	}
	// The node let go of its own descriptor: a datagram sent now is read
	// by nobody (the switch's reader, here, does not read).
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = c.Write([]byte("junk"))
	c.Close()
	time.Sleep(100 * time.Millisecond)
	if _, packets, _ := n.Service.EarlyByes(); packets != 0 {
		t.Errorf("the node read %d capture packets itself", packets)
	}
	take([]byte("junk"), netip.MustParseAddrPort("10.0.0.1:9060"))
	take([]byte("junk"), netip.MustParseAddrPort("[::ffff:192.168.1.2]:9060"))
	if _, packets, _ := n.Service.EarlyByes(); packets != 0 {
		t.Errorf("%d packets from off the machine were taken", packets)
	}
	take([]byte("junk"), netip.MustParseAddrPort("127.0.0.1:5060"))
	take([]byte("junk"), netip.MustParseAddrPort("[::ffff:127.0.0.1]:5060"))
	if _, packets, bad := n.Service.EarlyByes(); packets != 2 || bad != 2 {
		t.Errorf("loopback packets taken %d (bad %d), want 2 (2)", packets, bad)
	}
	if sc, _ := n.Service.Status().Extra["sip_capture"].(map[string]any); sc == nil || sc["read_by"] != "event reader" {
		t.Errorf("status sip_capture section %+v, want read_by event reader", sc)
	}
	n.Stop()
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if !sw.stopped {
		t.Error("the node stopped with the feed still attached")
	}
}
