package node

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"github.com/nwayacd/mod_nwayacd/go/hep"
	"github.com/nwayacd/mod_nwayacd/go/service"
)

// packetFeeder is a switch whose own event reader drains a socket
// (bridge.Host): the capture's BYE then frees an agent at the switch's
// priority, not when one of Go's normal threads gets a turn.
type packetFeeder interface {
	FeedPackets(conn syscall.Conn, take func(pkt []byte, from netip.AddrPort)) (stop func(), err error)
}

// startCapture listens for the switch's SIP capture (sip-capture-listen):
// sofia-sip sends every SIP message it receives or sends there as one HEP3
// datagram, and the service ends a bridge on the agent's BYE as it arrives
// (service/earlybye.go). A datagram from anywhere but loopback is dropped,
// and the kernel drops the messages Capture would ignore.
func (n *Node) startCapture() error {
	if n.cfg.SIPCapture == "" {
		return nil
	}
	pc, err := net.ListenPacket("udp", n.cfg.SIPCapture)
	if err != nil {
		return fmt.Errorf("sip-capture-listen: %w", err)
	}
	n.capture = pc
	uc, _ := pc.(*net.UDPConn)
	if uc != nil {
		if err := hep.AttachFilter(uc, service.CaptureMethods...); err != nil {
			// every message then reaches Capture, which ignores the rest itself
			n.log.Warn("nwayacd: sip capture unfiltered", "err", err)
		}
	}
	if f, ok := n.opt.Switch.(packetFeeder); ok && uc != nil {
		stop, err := f.FeedPackets(uc, func(pkt []byte, from netip.AddrPort) {
			if from.Addr().Unmap().IsLoopback() {
				n.Service.Capture(pkt)
			}
		})
		if err == nil {
			n.Service.SetCaptureReader("event reader")
			n.stopFeed, n.capture = stop, nil
			_ = pc.Close() // the reader holds a duplicate of the socket
			n.log.Info("nwayacd: taking the switch's SIP capture on the event reader", "listen", uc.LocalAddr().String())
			return nil
		}
		n.log.Info("nwayacd: the event reader cannot take the SIP capture; a goroutine does", "err", err)
	}
	n.Service.SetCaptureReader("goroutine")
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		defer func() {
			if r := recover(); r != nil {
				n.log.Error("nwayacd: sip capture stopped", "panic", r)
			}
		}()
		buf := make([]byte, 65536)
		for {
			k, from, err := pc.ReadFrom(buf)
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err != nil {
				continue
			}
			if a, ok := from.(*net.UDPAddr); !ok || !a.IP.IsLoopback() {
				continue
			}
			n.Service.Capture(buf[:k])
		}
	}()
	n.log.Info("nwayacd: taking the switch's SIP capture", "listen", pc.LocalAddr().String())
	return nil
}
