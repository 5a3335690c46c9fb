package node

import (
	"errors"
	"fmt"
	"net"

	"github.com/nwayacd/mod_nwayacd/go/hep"
	"github.com/nwayacd/mod_nwayacd/go/service"
)

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
	if uc, ok := pc.(*net.UDPConn); ok {
		if err := hep.AttachFilter(uc, service.CaptureMethods...); err != nil {
			// every message then reaches Capture, which ignores the rest itself
			n.log.Warn("nwayacd: sip capture unfiltered", "err", err)
		}
	}
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
