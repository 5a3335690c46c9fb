package event

import "testing"

func BenchmarkAppend(b *testing.B) {
	for _, c := range cases() {
		if c.name == "call_da_hostile" || c.name == "cdr_hostile" {
			continue
		}
		buf := make([]byte, 0, 4096)
		b.Run(c.name+"/redis", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				buf = c.m.AppendRedis(buf[:0])
			}
			b.SetBytes(int64(len(buf)))
		})
		b.Run(c.name+"/json", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				buf = c.m.AppendJSON(buf[:0], ctiIP)
			}
			b.SetBytes(int64(len(buf)))
		})
	}
}
