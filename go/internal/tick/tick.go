// Package tick aligns the module's batching deadlines to one grid.
//
// Inside FreeSWITCH every time the Go runtime goes from idle to busy costs
// the switch more than the work itself: a thread is woken, and the
// runtime's monitor naps in 20 µs steps until all is idle again. Goroutines
// that each wait "up to d" from their own first message wake at scattered
// instants; waiting until the same grid instant instead lets one wake-up
// serve them all, for the same worst-case delay.
package tick

import "time"

// Next is the first instant after t on the grid of period (multiples of
// period since the zero time); t itself when period is not positive.
func Next(t time.Time, period time.Duration) time.Time {
	if period <= 0 {
		return t
	}
	return t.Truncate(period).Add(period)
}

// Grace is how late after a grid instant a deadline still counts as that
// instant: Go's timers fire up to the threads' timer slack late (the shim
// sets 4 ms inside FreeSWITCH), so it is that slack plus a millisecond, and
// never under 2 ms.
var Grace = graceFor(timerSlack())

func graceFor(slack time.Duration) time.Duration {
	return max(2*time.Millisecond, slack+time.Millisecond)
}

// Deadline is when a batch started at t should go: t itself when t is
// within Grace after a grid instant (it was started by that instant's wake,
// and waiting for the next would double the delay), else Next.
func Deadline(t time.Time, period time.Duration) time.Time {
	if period <= 0 || t.Sub(t.Truncate(period)) < Grace {
		return t
	}
	return Next(t, period)
}
