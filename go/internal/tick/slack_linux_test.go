package tick

import (
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Inside FreeSWITCH the shim gives Go's threads a 4 ms slack; a grid
// instant's wake can then come 4 ms late and must still count as on time.
func TestGraceFollowsTheTimerSlack(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	old, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Prctl(unix.PR_SET_TIMERSLACK, 4_000_000, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	defer unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(old), 0, 0, 0)
	if got := timerSlack(); got != 4*time.Millisecond {
		t.Fatalf("timerSlack %v, want 4ms", got)
	}
	for _, c := range []struct{ slack, want time.Duration }{
		{0, 2 * time.Millisecond},
		{50 * time.Microsecond, 2 * time.Millisecond},
		{time.Millisecond, 2 * time.Millisecond},
		{4 * time.Millisecond, 5 * time.Millisecond},
	} {
		if got := graceFor(c.slack); got != c.want {
			t.Errorf("graceFor(%v) = %v, want %v", c.slack, got, c.want)
		}
	}
}
