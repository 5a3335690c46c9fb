package tick

import (
	"testing"
	"time"
)

func TestNext(t *testing.T) {
	const p = 40 * time.Millisecond
	base := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		off, want time.Duration
	}{
		{0, p},                           // on the grid: the next instant, never now
		{time.Millisecond, p},            // inside a period
		{p - time.Nanosecond, p},         // just before
		{p, 2 * p},                       // on the next
		{p + 13*time.Millisecond, 2 * p}, // inside the next
	} {
		if got := Next(base.Add(c.off), p); !got.Equal(base.Add(c.want)) {
			t.Errorf("Next(+%v) = +%v, want +%v", c.off, got.Sub(base), c.want)
		}
	}
	// Two goroutines' deadlines taken at different moments of one period meet.
	a, b := Next(base.Add(3*time.Millisecond), p), Next(base.Add(31*time.Millisecond), p)
	if !a.Equal(b) {
		t.Errorf("deadlines from one period differ: %v and %v", a, b)
	}
	now := base.Add(7 * time.Millisecond)
	if got := Next(now, 0); !got.Equal(now) {
		t.Errorf("Next with no period = %v, want the time itself", got)
	}
}

func TestDeadline(t *testing.T) {
	const p = 40 * time.Millisecond
	base := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		off, want time.Duration
	}{
		{0, 0}, // on the grid: now
		{Grace - time.Nanosecond, Grace - time.Nanosecond}, // the grid instant's wake, a little late: now
		{Grace, p}, // later: the next instant
		{p - time.Millisecond, p},
	} {
		if got := Deadline(base.Add(c.off), p); !got.Equal(base.Add(c.want)) {
			t.Errorf("Deadline(+%v) = +%v, want +%v", c.off, got.Sub(base), c.want)
		}
	}
	if now := base.Add(7 * time.Millisecond); !Deadline(now, 0).Equal(now) {
		t.Error("Deadline with no period is not the time itself")
	}
}
