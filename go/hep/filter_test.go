package hep

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"golang.org/x/net/bpf"
)

var acted = []string{"INVITE", "BYE", "REFER"}

// vmFor loads the filter for methods into x/net/bpf's interpreter.
func vmFor(t testing.TB, methods []string) *bpf.VM {
	t.Helper()
	ins, ok := bpf.Disassemble(Filter(methods...))
	if !ok {
		t.Fatal("filter does not disassemble")
	}
	vm, err := bpf.NewVM(ins)
	if err != nil {
		t.Fatal(err)
	}
	return vm
}

// passes runs the filter on pkt as the kernel does: from the UDP header.
func passes(t testing.TB, methods []string, pkt []byte) bool {
	t.Helper()
	n, err := vmFor(t, methods).Run(append(make([]byte, udpHeader), pkt...))
	if err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// actedOn is what the service reads of pkt: would it look at it at all.
func actedOn(methods []string, pkt []byte) bool {
	p, err := Parse(pkt)
	if err != nil {
		return false
	}
	h, ok := SIPHead(p.Payload)
	return ok && slices.Contains(methods, h.Method)
}

func sipMsg(first string) []byte {
	return []byte(first + "\r\nCall-ID: 7d3e0a4c\r\nCSeq: 1 X\r\n\r\n")
}

func TestFilterDropsWhatIsNotActedOn(t *testing.T) {
	short := Encode(agent, fs, sipMsg("SIP/2.0 200 OK"))
	binary.BigEndian.PutUint16(short[6+4:], 3) // the first chunk's length
	for _, c := range []struct {
		name string
		pkt  []byte
		pass bool
	}{
		{"BYE", Encode(agent, fs, sipMsg("BYE sip:1000@h SIP/2.0")), true},
		{"INVITE", Encode(fs, agent, sipMsg("INVITE sip:1001@h SIP/2.0")), true},
		{"REFER", Encode(agent, fs, sipMsg("REFER sip:1000@h SIP/2.0")), true},
		{"200", Encode(agent, fs, sipMsg("SIP/2.0 200 OK")), false},
		{"180", Encode(agent, fs, sipMsg("SIP/2.0 180 Ringing")), false},
		{"ACK", Encode(fs, agent, sipMsg("ACK sip:1001@h SIP/2.0")), false},
		{"CANCEL", Encode(fs, agent, sipMsg("CANCEL sip:1001@h SIP/2.0")), false},
		{"OPTIONS", Encode(fs, agent, sipMsg("OPTIONS sip:1001@h SIP/2.0")), false},
		{"BYEX", Encode(agent, fs, sipMsg("BYEX sip:1000@h SIP/2.0")), false},
		{"v6 BYE", Encode(netip.MustParseAddrPort("[2001:db8::1]:5062"), fs, sipMsg("BYE sip:1000@h SIP/2.0")), true},
		{"v6 200", Encode(netip.MustParseAddrPort("[2001:db8::1]:5062"), fs, sipMsg("SIP/2.0 200 OK")), false},
		// Not HEP3: passes, so the service counts it as bad.
		{"HEP2", append([]byte("HEP2"), Encode(agent, fs, sipMsg("SIP/2.0 200 OK"))[4:]...), true},
		{"auth key", withChunk(Encode(agent, fs, sipMsg("SIP/2.0 200 OK")), 0, 0x000e, []byte("secret")), false},
		{"vendor payload", withChunk(Encode(agent, fs, sipMsg("SIP/2.0 200 OK")), 7, chunkPayload, []byte("BYE x")), false},
		// Unreadable to the filter: passes, and Parse refuses it.
		{"chunk shorter than its header", short, true},
		// Cut inside its chunks: dropped, as Parse refuses it.
		{"truncated BYE", Encode(agent, fs, sipMsg("BYE sip:1000@h SIP/2.0"))[:40], false},
	} {
		if got := passes(t, acted, c.pkt); got != c.pass {
			t.Errorf("%s: passes %v, want %v", c.name, got, c.pass)
		}
		if !passes(t, acted, c.pkt) && actedOn(acted, c.pkt) {
			t.Errorf("%s: dropped, yet the service acts on it", c.name)
		}
	}
	// Past the chunks the program walks, everything passes.
	far := Encode(agent, fs, sipMsg("SIP/2.0 200 OK"))
	for range filterChunks {
		far = withChunk(far, 0, 0x0021, []byte{1})
	}
	if !passes(t, acted, far) {
		t.Error("a payload past the walked chunks was dropped")
	}
	// No filter rather than a wrong one: no methods, a method of under
	// three letters, more methods than the jumps reach.
	if Filter() != nil || Filter("BYE", "AB") != nil || Filter(make([]string, maxFilterMethods+1)...) != nil {
		t.Error("a filter where none can be right")
	}
	many := make([]string, maxFilterMethods)
	for i := range many {
		many[i] = fmt.Sprintf("M%02d", i)
	}
	many[maxFilterMethods-1] = "BYE"
	if !passes(t, many, Encode(agent, fs, sipMsg("BYE sip:1000@h SIP/2.0"))) || !passes(t, many, []byte("not hep")) ||
		passes(t, many, Encode(agent, fs, sipMsg("SIP/2.0 200 OK"))) {
		t.Error("the filter with the most methods misreads")
	}
}

// withChunk puts a chunk of vendor and typ before the first chunk of pkt.
func withChunk(pkt []byte, vendor, typ uint16, d []byte) []byte {
	var c []byte
	c = binary.BigEndian.AppendUint16(c, vendor)
	c = binary.BigEndian.AppendUint16(c, typ)
	c = binary.BigEndian.AppendUint16(c, uint16(chunkHeaderSz+len(d)))
	c = append(c, d...)
	out := append(append(append([]byte(nil), pkt[:6]...), c...), pkt[6:]...)
	binary.BigEndian.PutUint16(out[4:6], uint16(len(out)))
	return out
}

func TestParseRefusesTwoPayloads(t *testing.T) {
	two := withChunk(Encode(agent, fs, sipMsg("SIP/2.0 200 OK")), 0, chunkPayload, sipMsg("BYE sip:x SIP/2.0"))
	if _, err := Parse(two); err == nil {
		t.Fatal("a packet with two payloads was accepted")
	}
}

// The filter may pass what the service ignores, never drop what it reads.
func FuzzFilter(f *testing.F) {
	f.Add(Encode(agent, fs, []byte(bye)))
	f.Add(Encode(fs, agent, sipMsg("SIP/2.0 200 OK")))
	f.Add(withChunk(Encode(agent, fs, []byte(bye)), 0, 0x000e, []byte("k")))
	f.Add([]byte("HEP3\x00\x06"))
	vm := vmFor(f, acted)
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := vm.Run(append(make([]byte, udpHeader), b...))
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 && actedOn(acted, b) {
			t.Fatalf("dropped a packet the service acts on: %q", b)
		}
	})
}
