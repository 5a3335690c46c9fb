package writeback

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/store"
)

// sameAsEncodingJSON checks that the hand-written encoding reads back as
// exactly what encoding/json's does.
func sameAsEncodingJSON(t *testing.T, o *op) {
	t.Helper()
	ref, refErr := json.Marshal(o)
	mine, err := o.appendJSON([]byte("keep"))
	if string(mine[:4]) != "keep" {
		t.Fatalf("appendJSON overwrote dst: %q", mine)
	}
	switch {
	case refErr != nil && err == nil:
		t.Fatalf("encoding/json refuses %+v (%v), appendJSON wrote %s", o, refErr, mine[4:])
	case refErr != nil:
		if len(mine) != 4 {
			t.Fatalf("appendJSON failed but left %q", mine)
		}
		return
	case err != nil:
		t.Fatalf("appendJSON(%+v): %v", o, err)
	}
	mine = mine[4:]
	var a, b op
	if err := json.Unmarshal(mine, &a); err != nil {
		t.Fatalf("%s does not decode: %v", mine, err)
	}
	if err := json.Unmarshal(ref, &b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("reads back differently:\n mine %s\n json %s", mine, ref)
	}
}

func TestOpJSONMatchesEncodingJSON(t *testing.T) {
	strs := []string{"", "1001", `quote" back\slash`, "tab\tnl\ncr\r\x00\x1f", "<script>&amp;</script>",
		"单座席无应答", "line\u2028sep\u2029", "bad\xffutf8\xc3", "emoji 📞"}
	zone := time.FixedZone("CST", 8*3600)
	times := []time.Time{{}, time.Date(2026, 12, 1, 6, 0, 0, 123456789, zone), time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC),
		time.Now(), time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)}
	for i, s := range strs {
		tm := times[i%len(times)]
		for _, o := range []*op{
			{Seq: uint64(i) + 1, Kind: opSetCurrentExt, Key: s, Arg: strs[(i+1)%len(strs)]},
			{Seq: 1 << 60, Kind: opAppendAgentLog, Log: &store.AgentLog{ID: s, Ext: "1001", Status: s, At: tm}},
			{Seq: 7, Kind: opPutMemory, Memory: &store.Memory{Caller: s, Group: "9990", Ext: s, LastTime: tm}},
			{Seq: 8, Kind: opDeleteExtension, Key: s}, // encoding/json's path
		} {
			sameAsEncodingJSON(t, o)
		}
	}
	// A year encoding/json refuses is refused the same way, and dst kept.
	o := &op{Seq: 1, Kind: opAppendAgentLog, Log: &store.AgentLog{At: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}
	if out, err := o.appendJSON([]byte("x")); err == nil || string(out) != "x" {
		t.Fatalf("year 10000: %q, %v; want an error and dst unchanged", out, err)
	}
}

func FuzzOpJSON(f *testing.F) {
	f.Add("1001", "9990", "idle", int64(1796104444), int64(5))
	f.Add(`"\`, "\xff\u2028", "<>&", int64(0), int64(-1))
	f.Fuzz(func(t *testing.T, a, b, c string, sec, nsec int64) {
		tm := time.Unix(sec%(1<<35), nsec%1e9).In(time.FixedZone("z", int(nsec%50400)))
		sameAsEncodingJSON(t, &op{Seq: uint64(sec), Kind: opSetCurrentExt, Key: a, Arg: b})
		sameAsEncodingJSON(t, &op{Seq: 2, Kind: opAppendAgentLog, Log: &store.AgentLog{ID: a, Ext: b, Status: c, At: tm}})
		sameAsEncodingJSON(t, &op{Seq: 3, Kind: opPutMemory, Memory: &store.Memory{Caller: a, Group: b, Ext: c, LastTime: tm}})
	})
}
