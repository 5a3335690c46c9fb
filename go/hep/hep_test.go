package hep

import (
	"bytes"
	"net/netip"
	"testing"
)

var (
	agent = netip.MustParseAddrPort("127.0.0.1:5090")
	fs    = netip.MustParseAddrPort("127.0.0.1:5060")
)

const bye = "BYE sip:1000@127.0.0.1:5060 SIP/2.0\r\n" +
	"Via: SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bK-1\r\n" +
	"From: <sip:1001@127.0.0.1>;tag=a1\r\n" +
	"To: <sip:1000@127.0.0.1>;tag=f1\r\n" +
	"call-id:  7d3e0a4c-0000-4000-8000-000000000001 \r\n" +
	"CSeq: 2 BYE\r\n" +
	"Content-Length: 0\r\n\r\n"

func TestParseWhatSofiaSends(t *testing.T) {
	p, err := Parse(Encode(agent, fs, []byte(bye)))
	if err != nil {
		t.Fatal(err)
	}
	if p.Src != agent || p.Dst != fs || string(p.Payload) != bye {
		t.Fatalf("got %v → %v, %q", p.Src, p.Dst, p.Payload)
	}
	h, ok := SIPHead(p.Payload)
	if !ok || h.Method != "BYE" || h.CallID != "7d3e0a4c-0000-4000-8000-000000000001" {
		t.Fatalf("head %+v %v", h, ok)
	}
	v6 := netip.MustParseAddrPort("[2001:db8::1]:5062")
	if p, err := Parse(Encode(v6, v6, []byte(bye))); err != nil || p.Src != v6 {
		t.Fatalf("v6: %v %v", p.Src, err)
	}
}

func TestSIPHead(t *testing.T) {
	for _, c := range []struct {
		msg            string
		method, callID string
		ok             bool
	}{
		{"SIP/2.0 200 OK\r\ni: abc\r\n\r\n", "", "abc", true},
		{"INVITE sip:x SIP/2.0\nCall-ID:x@y\n\n", "INVITE", "x@y", true},
		{"REFER sip:x SIP/2.0\r\nFrom: <sip:a>\r\nCALL-ID : q\r\n\r\n", "REFER", "q", true},
		// The Call-ID must come before the body.
		{"BYE sip:x SIP/2.0\r\nCSeq: 1 BYE\r\n\r\nCall-ID: body\r\n", "", "", false},
		{"BYE sip:x SIP/2.0\r\nCall-ID: \r\n\r\n", "", "", false},
		{"BYE sip:x SIP/2.0\r\nCall-ID: " + string(bytes.Repeat([]byte("x"), 129)) + "\r\n\r\n", "", "", false},
		{"B;YE sip:x SIP/2.0\r\nCall-ID: a\r\n\r\n", "", "", false},
		{"BYE sip:x HTTP/1.1\r\nCall-ID: a\r\n\r\n", "", "", false},
		{"", "", "", false},
	} {
		h, ok := SIPHead([]byte(c.msg))
		if ok != c.ok || h.Method != c.method || h.CallID != c.callID {
			t.Errorf("%q: got %+v %v", c.msg, h, ok)
		}
	}
}

func TestParseRefusesBrokenPackets(t *testing.T) {
	good := Encode(agent, fs, []byte(bye))
	for i := 0; i < len(good); i++ {
		if _, err := Parse(good[:i]); err == nil {
			t.Fatalf("a packet cut to %d bytes was accepted", i)
		}
	}
	bad := append([]byte(nil), good...)
	copy(bad, "HEP2")
	if _, err := Parse(bad); err == nil {
		t.Fatal("HEP2 accepted")
	}
	// A chunk claiming more than the packet holds.
	bad = append([]byte(nil), good...)
	bad[6+4], bad[6+5] = 0xff, 0xff
	if _, err := Parse(bad); err == nil {
		t.Fatal("oversized chunk accepted")
	}
	// Not SIP (protocol type 5).
	noSIP := bytes.Replace(good, []byte{0, 0, 0, 0x0b, 0, 7, 1}, []byte{0, 0, 0, 0x0b, 0, 7, 5}, 1)
	if _, err := Parse(noSIP); err == nil {
		t.Fatal("a non-SIP capture accepted")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(Encode(agent, fs, []byte(bye)))
	f.Add(Encode(fs, agent, []byte("SIP/2.0 200 OK\r\ni: abc\r\n\r\n")))
	f.Add([]byte("HEP3\x00\x06"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			return
		}
		if len(p.Payload) > len(b) {
			t.Fatal("payload larger than the packet")
		}
		if h, ok := SIPHead(p.Payload); ok && (h.CallID == "" || len(h.CallID) > maxCallID) {
			t.Fatalf("bad call id %q", h.CallID)
		}
	})
}
