package api

import (
	"testing"
	"time"
)

// BenchmarkTimeFormat compares the hand-rolled time writers with
// time.AppendFormat, which they replace on the list answers' hot path.
func BenchmarkTimeFormat(b *testing.B) {
	t := time.Date(2026, 11, 30, 9, 41, 7, 123456789, time.FixedZone("CST", 8*3600))
	buf := make([]byte, 0, 64)
	b.Run("local/hand", func(b *testing.B) {
		for b.Loop() {
			buf = appendLocalTime(buf[:0], t)
		}
	})
	b.Run("local/AppendFormat", func(b *testing.B) {
		for b.Loop() {
			buf = t.Local().AppendFormat(buf[:0], localTimeLayout)
		}
	})
	b.Run("rfc3339nano/hand", func(b *testing.B) {
		for b.Loop() {
			buf = appendRFC3339Nano(buf[:0], t)
		}
	})
	b.Run("rfc3339nano/AppendFormat", func(b *testing.B) {
		for b.Loop() {
			buf = t.AppendFormat(buf[:0], time.RFC3339Nano)
		}
	})
}
