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
	// 0 after 1 (a reload across unload/load, the runtime staying): Go's
	// own choice again.
	runtime.SetDefaultGOMAXPROCS()
	def := runtime.GOMAXPROCS(0)
	runtime.GOMAXPROCS(1)
	limitProcs(0)
	if got := runtime.GOMAXPROCS(0); got != def {
		t.Fatalf("go-max-procs 0 after 1: GOMAXPROCS %d, want Go's default %d", got, def)
	}
	// The operator's GOMAXPROCS in FreeSWITCH's environment wins.
	t.Setenv("GOMAXPROCS", "3")
	runtime.GOMAXPROCS(3)
	limitProcs(1)
	if got := runtime.GOMAXPROCS(0); got != 3 {
		t.Fatalf("GOMAXPROCS=3 in the environment, go-max-procs 1: %d", got)
	}
}
