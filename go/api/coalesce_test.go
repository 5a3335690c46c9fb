package api

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

// Every answer must be a snapshot taken after its request began, however
// many requests share it.
func TestCoalescerSnapshotsAfterArrival(t *testing.T) {
	var c coalescer
	var version, builds atomic.Int64
	build := func(b []byte) []byte {
		builds.Add(1)
		return strconv.AppendInt(b, version.Load(), 10)
	}
	const workers, each = 32, 200
	var wg sync.WaitGroup
	errs := make(chan string, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				v := version.Add(1) // a change, then a read that must see it
				var got int64
				if f := c.do(build, func(b []byte) { got, _ = strconv.ParseInt(string(b), 10, 64) }); f != nil {
					errs <- "unexpected failure"
					return
				}
				if got < v {
					errs <- "answer " + strconv.FormatInt(got, 10) + " predates the request's change " + strconv.FormatInt(v, 10)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	t.Logf("%d requests, %d builds", workers*each, builds.Load())
	if c.running || c.next != nil {
		t.Fatalf("coalescer left running=%v next=%v", c.running, c.next)
	}
}

func TestCoalescerPanic(t *testing.T) {
	var c coalescer
	f := c.do(func([]byte) []byte { panic("boom") }, func([]byte) { t.Fatal("use called after a panic") })
	if f == nil {
		t.Fatal("panic not reported")
	}
	var got string
	if f := c.do(func(b []byte) []byte { return append(b, "ok"...) }, func(b []byte) { got = string(b) }); f != nil || got != "ok" {
		t.Fatalf("after a panic: %v %q", f, got)
	}
}
