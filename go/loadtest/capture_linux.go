package loadtest

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Packet is one captured SIP message over UDP.
type Packet struct {
	At       time.Time // kernel receive timestamp on loopback
	Src, Dst netip.AddrPort
	Msg      Message
}

// Capture reads UDP/IPv4 SIP packets on the loopback interface through an
// AF_PACKET socket with kernel timestamps (SO_TIMESTAMPNS), as tcpdump does,
// until ctx ends. ports limits it to packets from or to those UDP ports.
// It needs CAP_NET_RAW (root).
type Capture struct {
	fd    int
	ports map[uint16]bool
	lo    int
}

// OpenCapture opens the socket; call Run to read.
func OpenCapture(ports ...uint16) (*Capture, error) {
	ifi, err := net.InterfaceByName("lo")
	if err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, int(htons(unix.ETH_P_IP)))
	if err != nil {
		return nil, fmt.Errorf("capture: AF_PACKET socket (needs root): %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_IP), Ifindex: ifi.Index}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("capture: bind lo: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("capture: SO_TIMESTAMPNS: %w", err)
	}
	// Wake the reader every 100 ms so that it notices ctx ending.
	tv := unix.NsecToTimeval(int64(100 * time.Millisecond))
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 8<<20)
	c := &Capture{fd: fd, ports: map[uint16]bool{}, lo: ifi.Index}
	for _, p := range ports {
		c.ports[p] = true
	}
	return c, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// Run reads packets until ctx ends, then closes the socket.
func (c *Capture) Run(ctx context.Context) ([]Packet, error) {
	defer unix.Close(c.fd)
	buf := make([]byte, 65536)
	oob := make([]byte, 128)
	var out []Packet
	for ctx.Err() == nil {
		n, oobn, _, from, err := unix.Recvmsg(c.fd, buf, oob, 0)
		if err == unix.EAGAIN || err == unix.EINTR {
			continue
		}
		if err != nil {
			return out, fmt.Errorf("capture: %w", err)
		}
		// On loopback each packet passes twice (out and in); keep the
		// incoming copy only, as libpcap does.
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		at, ok := timestamp(oob[:oobn])
		if !ok {
			at = time.Now()
		}
		if p, ok := c.decode(buf[:n]); ok {
			p.At = at
			out = append(out, p)
		}
	}
	return out, nil
}

func timestamp(oob []byte) (time.Time, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return time.Time{}, false
	}
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SO_TIMESTAMPNS && len(m.Data) >= int(unsafe.Sizeof(unix.Timespec{})) {
			ts := (*unix.Timespec)(unsafe.Pointer(&m.Data[0]))
			return time.Unix(ts.Unix()), true
		}
	}
	return time.Time{}, false
}

// decode takes an IPv4 packet (SOCK_RAW on lo starts at the Ethernet header).
func (c *Capture) decode(b []byte) (Packet, bool) {
	if len(b) < 14 {
		return Packet{}, false
	}
	b = b[14:]
	if len(b) < 20 || b[0]>>4 != 4 || b[9] != unix.IPPROTO_UDP {
		return Packet{}, false
	}
	ihl := int(b[0]&0x0f) * 4
	if len(b) < ihl+8 {
		return Packet{}, false
	}
	src, _ := netip.AddrFromSlice(b[12:16])
	dst, _ := netip.AddrFromSlice(b[16:20])
	u := b[ihl:]
	sp, dp := binary.BigEndian.Uint16(u[0:2]), binary.BigEndian.Uint16(u[2:4])
	if len(c.ports) > 0 && !c.ports[sp] && !c.ports[dp] {
		return Packet{}, false
	}
	m, ok := ParseSIP(u[8:])
	if !ok {
		return Packet{}, false
	}
	return Packet{Src: netip.AddrPortFrom(src, sp), Dst: netip.AddrPortFrom(dst, dp), Msg: m}, true
}
