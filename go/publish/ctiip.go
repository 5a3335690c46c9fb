package publish

import "net"

// DefaultCTIIP is the node's primary IPv4 address: the source address of the
// default route if there is one, else the first non-loopback IPv4 address of
// an up interface, else 127.0.0.1.
func DefaultCTIIP() string {
	// Connecting a UDP socket sends nothing; it only asks the kernel which
	// source address it would route from.
	if c, err := net.Dial("udp4", "192.0.2.1:9"); err == nil {
		a, _ := c.LocalAddr().(*net.UDPAddr)
		c.Close()
		if a != nil && a.IP.To4() != nil && !a.IP.IsLoopback() && !a.IP.IsUnspecified() {
			return a.IP.String()
		}
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return "127.0.0.1"
	}
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			n, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			if ip4 := n.IP.To4(); ip4 != nil && !ip4.IsLoopback() && !ip4.IsLinkLocalUnicast() {
				return ip4.String()
			}
		}
	}
	return "127.0.0.1"
}
