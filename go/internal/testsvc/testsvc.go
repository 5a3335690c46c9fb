// Package testsvc answers one question for tests that talk to real
// services (PostgreSQL, Redis, RabbitMQ, redis-server binaries): is it
// there? A missing service skips the test, or fails it when
// NWAYACD_REQUIRE_SERVICES=1 (CI), so a green run never hides a skipped suite.
package testsvc

import (
	"fmt"
	"net"
	"os"
	"testing"
	"time"
)

// Required reports whether missing services fail tests instead of skipping them.
func Required() bool { return os.Getenv("NWAYACD_REQUIRE_SERVICES") == "1" }

// Unavailable ends the test for a missing service: a skip, or a failure
// when services are required.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if Required() {
		t.Fatal(msg + " (NWAYACD_REQUIRE_SERVICES=1)")
	}
	t.Skip(msg)
}

// Need ends the test (see Unavailable) unless addr accepts TCP connections.
func Need(t testing.TB, name, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		Unavailable(t, "%s at %s unreachable: %v", name, addr, err)
		return
	}
	c.Close()
}
