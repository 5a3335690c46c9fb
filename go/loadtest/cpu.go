package loadtest

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is USER_HZ, 100 on every Linux this runs on.
const clockTick = 100

// ProcessCPU returns the CPU time (user + system) a process has used, from
// /proc/<pid>/stat.
func ProcessCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("cpu: %w", err)
	}
	return parseStatCPU(string(b))
}

func parseStatCPU(s string) (time.Duration, error) {
	// The command name (field 2) may hold spaces; fields count from after it.
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("cpu: malformed stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("cpu: short stat")
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64) // utime is field 14
	st, err2 := strconv.ParseUint(f[12], 10, 64) // stime is field 15
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("cpu: malformed times")
	}
	return time.Duration(ut+st) * time.Second / clockTick, nil
}
