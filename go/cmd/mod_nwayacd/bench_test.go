//go:build nwayacd_bench

package main

import (
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/bridge"
)

// Run: go test -tags nwayacd_bench -run '^$' -bench . ./go/cmd/mod_nwayacd/

// BenchmarkAPIRoundTrip: C calls nwayacd_api, Go answers, C frees the reply
// (target ≤2 µs). cpu-ns/op is the calling thread's CPU time.
func BenchmarkAPIRoundTrip(b *testing.B) {
	if !benchStart(b.TempDir()) {
		b.Fatal("start failed")
	}
	defer benchStop()
	b.ResetTimer()
	cpu := benchAPI(b.N)
	b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
}

// BenchmarkChannelEvent: what an event costs the thread that delivers it:
// building the block and nwayacd_channel_event (target ≤1 µs; cpu-ns/event is
// the calling thread's CPU time). Sent in bursts
// of 100 with pauses, as on a switch, so the queue never fills (a full queue
// only frees, which would flatter the figure).
func BenchmarkChannelEvent(b *testing.B) {
	if !benchStart(b.TempDir()) {
		b.Fatal("start failed")
	}
	defer benchStop()
	_, dropped0 := bridge.EventStats()
	b.ResetTimer()
	var cpu int64
	for left := b.N; left > 0; left -= 100 {
		cpu += benchEvent(min(left, 100))
		b.StopTimer()
		time.Sleep(500 * time.Microsecond)
		b.StartTimer()
	}
	b.StopTimer()
	_, dropped := bridge.EventStats()
	b.ReportMetric(float64(dropped-dropped0), "dropped")
	b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/event")
}
