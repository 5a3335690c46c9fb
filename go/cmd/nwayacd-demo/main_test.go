package main

import (
	"testing"
	"time"
)

// The demo starts on the folder of an earlier run, every time (it used to
// stop with "sim: add extension 10000: extension 10000 exists").
func TestStartsAgainOnTheSameFolder(t *testing.T) {
	o := options{listen: "127.0.0.1:0", dir: t.TempDir(), rate: 5, speed: 10, dur: 700 * time.Millisecond}
	for i := range 3 {
		if err := run(o); err != nil {
			t.Fatalf("run %d on the same folder: %v", i+1, err)
		}
	}
}
