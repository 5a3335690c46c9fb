package main

import (
	"strings"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/bridge"
	"github.com/nwayacd/mod_nwayacd/go/cmd/mod_nwayacd/internal/cbench"
)

// Run: go test -run '^$' -bench . ./go/cmd/mod_nwayacd/ (the C side is in
// internal/cbench; the nwayacd_bench tag the Makefile passes is no longer needed).

// BenchmarkAPIRoundTrip: C calls nwayacd_api, Go answers, C frees the reply
// (target ≤2 µs). cpu-ns/op is the calling thread's CPU time.
func BenchmarkAPIRoundTrip(b *testing.B) {
	if !cbench.Start(b.TempDir()) {
		b.Fatal("start failed")
	}
	defer cbench.Stop()
	b.ResetTimer()
	cpu := cbench.API(b.N)
	b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
}

// BenchmarkChannelEvent: what an event costs the thread that delivers it:
// building the block and nwayacd_channel_event (target ≤1 µs; cpu-ns/event is
// the calling thread's CPU time). Sent in bursts
// of 100 with pauses, as on a switch, so the queue never fills (a full queue
// only frees, which would flatter the figure).
func BenchmarkChannelEvent(b *testing.B) {
	if !cbench.Start(b.TempDir()) {
		b.Fatal("start failed")
	}
	defer cbench.Stop()
	_, dropped0 := bridge.EventStats()
	b.ResetTimer()
	var cpu int64
	for left := b.N; left > 0; left -= 100 {
		cpu += cbench.Event(min(left, 100))
		b.StopTimer()
		time.Sleep(500 * time.Microsecond)
		b.StartTimer()
	}
	b.StopTimer()
	_, dropped := bridge.EventStats()
	b.ReportMetric(float64(dropped-dropped0), "dropped")
	b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/event")
}

// BenchmarkQueuedWake: an agent frees up while a caller waits: from the
// agent's hang-up reaching Go (the caller's bridge ends, nwayacd_bridge_ended)
// to the waiting caller's session thread holding its offer (nwayacd_next
// returned OFFER), through the real service and the host's wake callback.
// The session thread sleeps on a condition the wake signals, as a FreeSWITCH
// session sleeps in its frame read until SWITCH_SIG_BREAK. wake-ns is per
// wake; go-ns is its part from the bridge's end to the host's wake callback
// (the rest is the OS waking the session thread and its nwayacd_next), and
// go-cpu-ns that part's CPU time on the thread (wall times on a shared
// machine mostly measure the neighbours).
// The uuid_break case is how the module woke callers before (an executor
// goroutine and the API layer); it needs a Switch without Wake in the service.
func BenchmarkQueuedWake(b *testing.B) {
	b.Run("direct", func(b *testing.B) { benchQueuedWake(b, true) })
	b.Run("uuid_break", func(b *testing.B) { benchQueuedWake(b, false) })
}

func benchQueuedWake(b *testing.B, direct bool) {
	if !cbench.StartWake(b.TempDir(), direct) {
		b.Fatal("start failed")
	}
	defer cbench.Stop()
	for _, c := range [][2]string{{"nway_add_ext", "1000"}, {"nway_add_group", "100 0"},
		{"nway_set_reged_ext", "1000"}, {"nway_login", "1000 100"}, {"nway_ready", "1000"}} {
		if r := cbench.APIArgs(c[0], c[1]); !strings.HasPrefix(r, "+OK") {
			b.Fatalf("%s %s: %s", c[0], c[1], r)
		}
	}
	b.ResetTimer()
	var total int64
	called0, cpu0 := cbench.WakeCalled(), cbench.WakeCPU()
	for done, round := 0, 0; done < b.N; round++ {
		n := min(b.N-done, 100)
		ns := cbench.WakeRounds(n, round)
		if ns < 0 {
			b.Fatalf("round %d: step %d went otherwise", round, -ns)
		}
		total += ns
		done += n
	}
	b.ReportMetric(float64(total)/float64(b.N), "wake-ns")
	b.ReportMetric(float64(cbench.WakeCalled()-called0)/float64(b.N), "go-ns")
	if direct {
		b.ReportMetric(float64(cbench.WakeCPU()-cpu0)/float64(b.N), "go-cpu-ns")
	}
}

// The whole wake path works, whether the host wakes sessions itself or only
// has uuid_break: each waiting caller is woken and offered the freed agent.
func TestQueuedWake(t *testing.T) {
	for _, direct := range []bool{true, false} {
		if !cbench.StartWake(t.TempDir(), direct) {
			t.Fatal("start failed")
		}
		for _, c := range [][2]string{{"nway_add_ext", "1000"}, {"nway_add_group", "100 0"},
			{"nway_set_reged_ext", "1000"}, {"nway_login", "1000 100"}, {"nway_ready", "1000"}} {
			if r := cbench.APIArgs(c[0], c[1]); !strings.HasPrefix(r, "+OK") {
				t.Fatalf("%s %s: %s", c[0], c[1], r)
			}
		}
		if ns := cbench.WakeRounds(5, 1000); ns < 0 {
			t.Errorf("direct=%v: step %d went otherwise", direct, -ns)
		}
		cbench.Stop()
	}
}
