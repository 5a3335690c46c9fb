//go:build !linux

package tick

import "time"

func timerSlack() time.Duration { return 0 }
