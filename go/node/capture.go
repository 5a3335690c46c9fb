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
	addr, err := net.ResolveUDPAddr("udp", n.cfg.SIPCapture)
	if err != nil {
		return fmt.Errorf("sip-capture-listen: %w", err)
	}
	uc, err := net.ListenUDP("udp", addr)
	if err != nil {
		return fmt.Errorf("sip-capture-listen: %w", err)
	}
	if err := hep.AttachFilter(uc, service.CaptureMethods...); err != nil {
		// every message then reaches Capture, which ignores the rest itself
		n.log.Warn("nwayacd: sip capture unfiltered", "err", err)
	}
	take := func(pkt []byte, from netip.AddrPort) {
		if from.Addr().Unmap().IsLoopback() {
			n.Service.Capture(pkt)
		}
	}
	if f, ok := n.opt.Switch.(packetFeeder); ok {
		stop, err := f.FeedPackets(uc, take)
		if err == nil {
			n.Service.SetCaptureReader("event reader")
			n.stopFeed = stop
			_ = uc.Close() // the reader holds a duplicate of the socket
			n.log.Info("nwayacd: taking the switch's SIP capture on the event reader", "listen", uc.LocalAddr().String())
			return nil
		}
		n.log.Info("nwayacd: the event reader cannot take the SIP capture; a goroutine does", "err", err)
	}
	n.capture = uc
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
			k, from, err := uc.ReadFromUDPAddrPort(buf)
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err == nil {
				take(buf[:k], from)
			}
		}
	}()
	n.log.Info("nwayacd: taking the switch's SIP capture", "listen", uc.LocalAddr().String())
	return nil
}
