package metrics

import (
	"strconv"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/service"
)

// bigService: 1,000 groups with 10 logged-in agents each (10,000 agents).
func bigService(b *testing.B) *service.Service {
	svc := service.New(service.Options{ManualTimers: true})
	for g := 0; g < 1000; g++ {
		num := strconv.Itoa(100 + g)
		if err := svc.AddGroup(num, acd.ModeSequential); err != nil {
			b.Fatal(err)
		}
		for k := 0; k < 10; k++ {
			ext := strconv.Itoa(10000 + g*10 + k)
			if err := svc.AddExtension(ext, "J"+ext); err != nil {
				b.Fatal(err)
			}
			if err := svc.Login(ext, []string{num}); err != nil {
				b.Fatal(err)
			}
		}
	}
	return svc
}

// A scrape takes the core's lock only to re-read the memberships of agents
// that logged in or out (Service.Extension, then Service.Group for each of
// their groups) and, every 30 s, Service.Group for each group in turn. Each
// call's time bounds one hold of the lock from above (issue 14: ≤ 1 ms).
func BenchmarkCoreLockGroup(b *testing.B) {
	svc := bigService(b)
	b.ResetTimer()
	var worst time.Duration
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		_, _ = svc.Group(strconv.Itoa(100 + i%1000))
		worst = max(worst, time.Since(t0))
	}
	b.ReportMetric(float64(worst.Microseconds()), "worst-µs")
}

func BenchmarkCoreLockExtension(b *testing.B) {
	svc := bigService(b)
	b.ResetTimer()
	var worst time.Duration
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		_, _ = svc.Extension(strconv.Itoa(10000 + i%10000))
		worst = max(worst, time.Since(t0))
	}
	b.ReportMetric(float64(worst.Microseconds()), "worst-µs")
}
