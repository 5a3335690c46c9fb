package tick

import (
	"time"

	"golang.org/x/sys/unix"
)

// timerSlack is this thread's timer slack, which every Go thread inherited
// from the thread that started the runtime.
func timerSlack() time.Duration {
	ns, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil || ns < 0 {
		return 0
	}
	return time.Duration(ns)
}
