package hep

import (
	"bytes"
	"net"
	"testing"
	"time"
)

// The same program in the kernel, on a real socket.
func TestAttachFilterOnASocket(t *testing.T) {
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if err := AttachFilter(pc, acted...); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sent := [][]byte{
		Encode(fs, agent, sipMsg("SIP/2.0 100 Trying")),
		Encode(agent, fs, sipMsg("BYE sip:1000@h SIP/2.0")),
		Encode(fs, agent, sipMsg("ACK sip:1001@h SIP/2.0")),
		Encode(fs, agent, sipMsg("INVITE sip:1001@h SIP/2.0")),
		[]byte("not hep"),
	}
	for _, p := range sent {
		if _, err := c.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	var got [][]byte
	buf := make([]byte, 65536)
	for {
		_ = pc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			break
		}
		got = append(got, append([]byte(nil), buf[:n]...))
	}
	want := [][]byte{sent[1], sent[3], sent[4]}
	if len(got) != len(want) {
		t.Fatalf("received %d datagrams, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("datagram %d: %q, want %q", i, got[i], want[i])
		}
	}
}
