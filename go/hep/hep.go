// Package hep reads what a SIP stack mirrors to a capture server: HEP
// version 3 packets (the Homer encapsulation protocol, which FreeSWITCH's
// sofia-sip sends for every SIP message it receives or sends when a
// profile has sip-capture on), and the head of the SIP message inside.
//
// The module listens for them so that it learns of an agent's BYE the
// moment it reaches the switch, about one media frame (20 ms) before
// FreeSWITCH's own session thread handles it. Every byte here comes from
// the network: parsing never panics, never allocates more than the packet,
// and refuses what it does not understand.
package hep

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
)

// Packet is one captured SIP message.
type Packet struct {
	Src, Dst netip.AddrPort
	Payload  []byte // the SIP message (a slice of the packet)
}

// Chunk types of HEP3 (vendor 0) used here.
const (
	chunkSrcIP4   = 0x0003
	chunkDstIP4   = 0x0004
	chunkSrcIP6   = 0x0005
	chunkDstIP6   = 0x0006
	chunkSrcPort  = 0x0007
	chunkDstPort  = 0x0008
	chunkProto    = 0x000b // 1 = SIP
	chunkPayload  = 0x000f
	chunkHeaderSz = 6
)

var (
	errNotHEP3     = errors.New("hep: not a HEP3 packet")
	errTruncated   = errors.New("hep: truncated")
	errNotSIP      = errors.New("hep: no SIP payload")
	errTwoPayloads = errors.New("hep: two payloads")
)

// Parse reads one HEP3 packet. The payload aliases b.
func Parse(b []byte) (Packet, error) {
	var p Packet
	if len(b) < 6 || string(b[:4]) != "HEP3" {
		return p, errNotHEP3
	}
	total := int(binary.BigEndian.Uint16(b[4:6]))
	if total < 6 || total > len(b) {
		return p, errTruncated
	}
	b = b[6:total]
	var srcIP, dstIP netip.Addr
	var srcPort, dstPort uint16
	sip := true
	for len(b) > 0 {
		if len(b) < chunkHeaderSz {
			return Packet{}, errTruncated
		}
		vendor := binary.BigEndian.Uint16(b[0:2])
		typ := binary.BigEndian.Uint16(b[2:4])
		n := int(binary.BigEndian.Uint16(b[4:6]))
		if n < chunkHeaderSz || n > len(b) {
			return Packet{}, errTruncated
		}
		d := b[chunkHeaderSz:n]
		b = b[n:]
		if vendor != 0 {
			continue
		}
		switch typ {
		case chunkSrcIP4, chunkDstIP4:
			if len(d) != 4 {
				return Packet{}, errTruncated
			}
			a := netip.AddrFrom4([4]byte(d))
			if typ == chunkSrcIP4 {
				srcIP = a
			} else {
				dstIP = a
			}
		case chunkSrcIP6, chunkDstIP6:
			if len(d) != 16 {
				return Packet{}, errTruncated
			}
			a := netip.AddrFrom16([16]byte(d))
			if typ == chunkSrcIP6 {
				srcIP = a
			} else {
				dstIP = a
			}
		case chunkSrcPort, chunkDstPort:
			if len(d) != 2 {
				return Packet{}, errTruncated
			}
			if typ == chunkSrcPort {
				srcPort = binary.BigEndian.Uint16(d)
			} else {
				dstPort = binary.BigEndian.Uint16(d)
			}
		case chunkProto:
			sip = len(d) == 1 && d[0] == 1
		case chunkPayload:
			if p.Payload != nil {
				// Filter reads the first payload: one packet, one message
				return Packet{}, errTwoPayloads
			}
			p.Payload = d
		}
	}
	if !sip || len(p.Payload) == 0 {
		return Packet{}, errNotSIP
	}
	p.Src = netip.AddrPortFrom(srcIP, srcPort)
	p.Dst = netip.AddrPortFrom(dstIP, dstPort)
	return p, nil
}

// Head is what the module needs of a SIP message: the request's method
// ("" for a response) and its Call-ID.
type Head struct {
	Method string
	CallID string
}

// maxCallID bounds the Call-ID kept; the module's own are 36 bytes.
const maxCallID = 128

// SIPHead reads the request line and the Call-ID header (or its compact
// form i:) of msg, stopping at the blank line that ends the headers.
// ok is false when msg is not a SIP message with a Call-ID.
func SIPHead(msg []byte) (h Head, ok bool) {
	line, rest := cut(msg)
	if bytes.HasPrefix(line, []byte("SIP/2.0 ")) {
		// A response: no method.
	} else {
		sp := bytes.IndexByte(line, ' ')
		if sp <= 0 || !bytes.HasSuffix(line, []byte(" SIP/2.0")) || !token(line[:sp]) {
			return Head{}, false
		}
		h.Method = string(line[:sp])
	}
	for len(rest) > 0 {
		line, rest = cut(rest)
		if len(line) == 0 {
			break
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			continue
		}
		name := bytes.TrimRight(line[:colon], " \t")
		if !bytes.EqualFold(name, []byte("Call-ID")) && !bytes.EqualFold(name, []byte("i")) {
			continue
		}
		v := bytes.TrimSpace(line[colon+1:])
		if len(v) == 0 || len(v) > maxCallID {
			return Head{}, false
		}
		h.CallID = string(v)
		return h, true
	}
	return Head{}, false
}

// cut splits at the first line end (CRLF, or a bare LF).
func cut(b []byte) (line, rest []byte) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return b, nil
	}
	line, rest = b[:i], b[i+1:]
	return bytes.TrimSuffix(line, []byte("\r")), rest
}

// token: a SIP method is letters (RFC 3261 allows more of token; every
// method a phone sends is letters).
func token(b []byte) bool {
	for _, c := range b {
		if (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') {
			return false
		}
	}
	return len(b) <= 16
}

// Encode builds the HEP3 packet sofia-sip sends for msg (the chunks it
// writes, in its order, capture id 1). For tests and tools.
func Encode(src, dst netip.AddrPort, msg []byte) []byte {
	var b []byte
	chunk := func(typ uint16, d []byte) {
		b = binary.BigEndian.AppendUint16(b, 0)
		b = binary.BigEndian.AppendUint16(b, typ)
		b = binary.BigEndian.AppendUint16(b, uint16(chunkHeaderSz+len(d)))
		b = append(b, d...)
	}
	b = append(b, "HEP3\x00\x00"...)
	fam, ipS, ipD := byte(2), uint16(chunkSrcIP4), uint16(chunkDstIP4)
	if src.Addr().Is6() && !src.Addr().Is4In6() {
		fam, ipS, ipD = 10, chunkSrcIP6, chunkDstIP6
	}
	chunk(0x0001, []byte{fam})
	chunk(0x0002, []byte{17})
	chunk(ipS, src.Addr().Unmap().AsSlice())
	chunk(ipD, dst.Addr().Unmap().AsSlice())
	chunk(chunkSrcPort, binary.BigEndian.AppendUint16(nil, src.Port()))
	chunk(chunkDstPort, binary.BigEndian.AppendUint16(nil, dst.Port()))
	chunk(0x0009, []byte{0, 0, 0, 0})
	chunk(0x000a, []byte{0, 0, 0, 0})
	chunk(chunkProto, []byte{1})
	chunk(0x000c, []byte{0, 0, 0, 1})
	chunk(chunkPayload, msg)
	binary.BigEndian.PutUint16(b[4:6], uint16(len(b)))
	return b
}
