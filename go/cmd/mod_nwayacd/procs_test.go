package main

import (
	"runtime"
	"testing"
)

func TestLimitProcs(t *testing.T) {
	was := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(was)
	t.Setenv("GOMAXPROCS", "")
	runtime.GOMAXPROCS(4)
	limitProcs(1)
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Fatalf("go-max-procs 1: GOMAXPROCS %d", got)
	}
	limitProcs(0) // Go's default: left as it is
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Fatalf("go-max-procs 0 changed GOMAXPROCS to %d", got)
	}
	// The operator's GOMAXPROCS in FreeSWITCH's environment wins.
	t.Setenv("GOMAXPROCS", "3")
	runtime.GOMAXPROCS(3)
	limitProcs(1)
	if got := runtime.GOMAXPROCS(0); got != 3 {
		t.Fatalf("GOMAXPROCS=3 in the environment, go-max-procs 1: %d", got)
	}
}
