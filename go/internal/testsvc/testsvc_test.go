package testsvc

import (
	"net"
	"testing"
)

func TestNeedSeesAListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	Need(t, "listener", ln.Addr().String()) // returns: the test goes on
}

func TestNeedSkipsAClosedPort(t *testing.T) {
	if Required() {
		t.Skip("with NWAYACD_REQUIRE_SERVICES=1 Need fails instead")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ok := t.Run("inner", func(t *testing.T) {
		Need(t, "closed", addr)
		t.Error("Need returned for a closed port")
	})
	if !ok {
		t.Fatal("inner test failed instead of skipping")
	}
}
