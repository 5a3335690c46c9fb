package hep

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// AttachFilter makes the kernel drop, on conn, the capture datagrams whose
// SIP method is none of methods (Filter).
func AttachFilter(conn syscall.Conn, methods ...string) error {
	raw := Filter(methods...)
	if raw == nil {
		return nil
	}
	f := make([]unix.SockFilter, len(raw))
	for i, r := range raw {
		f[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	rc, err := conn.SyscallConn()
	if err != nil {
		return fmt.Errorf("hep filter: %w", err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptSockFprog(int(fd), unix.SOL_SOCKET, unix.SO_ATTACH_FILTER,
			&unix.SockFprog{Len: uint16(len(f)), Filter: &f[0]})
	}); err != nil {
		return fmt.Errorf("hep filter: %w", err)
	}
	if serr != nil {
		return fmt.Errorf("hep filter: %w", serr)
	}
	return nil
}
