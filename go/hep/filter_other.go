//go:build !linux

package hep

import "syscall"

// AttachFilter does nothing where socket filters are not Linux's: every
// datagram reaches Parse.
func AttachFilter(conn syscall.Conn, methods ...string) error { return nil }
