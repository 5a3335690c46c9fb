package event

import (
	"encoding/json"
	"testing"
)

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

// BenchmarkOfferEncodingJSON is the offer's MQ form through encoding/json,
// for comparison with BenchmarkAppend/offer_answered/json: the hand-written
// writers stay because they are several times faster and allocate nothing
// (and encoding/json would escape <, > and & differently from the seed).
func BenchmarkOfferEncodingJSON(b *testing.B) {
	o := seedOffer(OfferAnswered)
	type wire struct {
		Type       string `json:"type"`
		Method     string `json:"method"`
		CTIIP      string `json:"cti_ip"`
		UUID       string `json:"uuid"`
		Number     string `json:"number"`
		Group      string `json:"group"`
		Extension  string `json:"extension"`
		Level      string `json:"level"`
		CallinTime string `json:"callin_time"`
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(wire{"event", o.Method.String(), ctiIP, o.UUID, o.Number, o.Group,
			o.Extension, o.Level, o.CallinTime}); err != nil {
			b.Fatal(err)
		}
	}
}
