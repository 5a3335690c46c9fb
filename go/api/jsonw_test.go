package api

import (
	"strconv"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
)

// refAppendGroup is the hand-written group writer encoding/json replaced:
// the wire must not change.
func refAppendGroup(b []byte, g *acd.GroupInfo) []byte {
	b = append(b, `{"Number":`...)
	b = appendString(b, g.Number)
	b = append(b, `,"Name":`...)
	b = appendString(b, g.Name)
	b = append(b, `,"Mode":`...)
	b = strconv.AppendInt(b, int64(g.Mode), 10)
	b = append(b, `,"ModeName":`...)
	b = appendString(b, g.Mode.String())
	b = append(b, `,"CalloutTimeout":`...)
	b = strconv.AppendInt(b, int64(g.CalloutTimeout/time.Second), 10)
	b = append(b, `,"CurrentExt":`...)
	b = appendString(b, g.CurrentExt)
	b = append(b, `,"Members":`...)
	b = appendStrings(b, g.Members)
	b = append(b, `,"Waiting":`...)
	b = strconv.AppendInt(b, int64(g.Waiting), 10)
	b = append(b, `,"BusyRingTimes":`...)
	b = strconv.AppendInt(b, int64(g.GiveUp.BusyRingTimes), 10)
	b = append(b, `,"MaxWait":`...)
	b = strconv.AppendInt(b, int64(g.GiveUp.MaxWait/time.Second), 10)
	b = append(b, `,"Rings":{"Welcome":`...)
	b = appendString(b, g.Rings.Welcome)
	b = append(b, `,"Blacklist":`...)
	b = appendString(b, g.Rings.Blacklist)
	b = append(b, `,"Busy":`...)
	b = appendString(b, g.Rings.Busy)
	b = append(b, `,"Transfer":`...)
	b = appendString(b, g.Rings.Transfer)
	return append(b, `}}`...)
}

func TestEncodingJSONKeepsTheWire(t *testing.T) {
	names := []string{"热线 110", `a "quoted" <b> & c\d`, "tab\there\nnl\r\x01", "line\u2028sep\u2029", "bad\xffutf8", ""}
	for _, n := range names {
		g := acd.GroupInfo{Number: "110", Name: n, Mode: acd.ModeMemoryCyclic, CalloutTimeout: 20 * time.Second,
			CurrentExt: "1001", Waiting: 3, GiveUp: acd.GiveUp{BusyRingTimes: 2, MaxWait: time.Minute},
			Rings: acd.Rings{Welcome: n, Blacklist: "b.wav", Busy: "", Transfer: "/x/转接.wav"}}
		for _, members := range [][]string{nil, {"1001", n}} {
			g.Members = members
			if got, want := string(appendGroup(nil, &g)), string(refAppendGroup(nil, &g)); got != want {
				t.Errorf("group %q:\n got %s\nwant %s", n, got, want)
			}
		}
		want := `{"error":` + string(appendString(nil, n)) + `}`
		if got := string(appendError(nil, n)); got != want {
			t.Errorf("error %q:\n got %s\nwant %s", n, got, want)
		}
	}
	if got := string(appendGroups(nil, nil)); got != "[]" {
		t.Errorf("no groups: %s", got)
	}
}
