package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/event"
)

// Append-style JSON writers for the large list answers (get_extensions,
// queues): they write straight into the response's pooled body buffer, with
// no reflection and no per-element allocation. Kept hand-written for
// BenchmarkAppendExtensions/BenchmarkAppendWaiting (0 allocs, ~310 ns per
// extension); the small answers at the end use encoding/json.

// appendString appends s as a JSON string, escaped exactly as the event
// push escapes it.
func appendString(b []byte, s string) []byte { return event.AppendJSONString(b, s) }

func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, "true"...)
	}
	return append(b, "false"...)
}

// localTimeLayout is get_extensions' LastStatusChangeTime format.
const localTimeLayout = "2006-01-02 15:04:05"

// appendWaiting writes GET /api/queues: CallinTime as Go's time.Time JSON
// (RFC 3339 with nanoseconds), as the original's struct had it.
func appendWaiting(b []byte, ws []acd.WaitingInfo) []byte {
	b = append(b, '[')
	for i := range ws {
		w := &ws[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"Uuid":`...)
		b = appendString(b, w.UUID)
		b = append(b, `,"Number":`...)
		b = appendString(b, w.Number)
		b = append(b, `,"RealCallinNumber":`...)
		b = appendString(b, w.RealCallinNumber)
		b = append(b, `,"Group":`...)
		b = appendString(b, w.Group)
		b = append(b, `,"Level":`...)
		b = appendString(b, string(w.Level))
		b = append(b, `,"CallinTime":"`...)
		b = appendRFC3339Nano(b, w.CallinTime)
		b = append(b, `","OfferedTo":`...)
		b = appendString(b, w.OfferedTo)
		if w.Node != "" { // cluster mode: the node holding the caller
			b = append(b, `,"Node":`...)
			b = appendString(b, w.Node)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendExtensions writes GET /api/get_extensions. AgentState is the seat
// (idle/busy); LastStatusChangeTime is local time, "" when never changed.
func appendExtensions(b []byte, es []acd.ExtensionInfo) []byte {
	b = append(b, '[')
	for i := range es {
		e := &es[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"Extension":`...)
		b = appendString(b, e.Extension)
		b = append(b, `,"RegStatus":`...)
		b = appendString(b, string(e.RegStatus))
		b = append(b, `,"AgentState":`...)
		b = appendString(b, string(e.Seat))
		b = append(b, `,"CallState":`...)
		b = appendString(b, string(e.CallState))
		b = append(b, `,"LastStatusChangeTime":"`...)
		if !e.LastStatusChange.IsZero() {
			b = appendLocalTime(b, e.LastStatusChange)
		}
		b = append(b, `","JobNumber":`...)
		b = appendString(b, e.JobNumber)
		b = append(b, `,"LoggedIn":`...)
		b = appendBool(b, e.LoggedIn)
		b = append(b, `,"Groups":`...)
		b = appendStrings(b, e.Groups)
		if e.Node != "" { // cluster mode: where its phone is registered
			b = append(b, `,"Node":`...)
			b = appendString(b, e.Node)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// The answers below are small or rarely asked for: encoding/json writes them.

// appendJSON appends v as encoding/json writes it, without HTML escaping
// (so "<" and "&" stay as they are, like the hand-written lists).
func appendJSON(b []byte, v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("api: encoding %T: %v", v, err)) // only plain structs of strings and numbers come here
	}
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}

// appendExtensionInfo writes GET /api/extension_info/{ext}.
func appendExtensionInfo(b []byte, e *acd.ExtensionInfo) []byte {
	return appendJSON(b, struct {
		RegState   string `json:"reg_state"`
		SeatStatus string `json:"seat_status"`
		CallState  string `json:"call_state"`
	}{string(e.RegStatus), string(e.Seat), string(e.CallState)})
}

type ringsJSON struct {
	Welcome, Blacklist, Busy, Transfer string
}

type groupJSON struct {
	Number         string
	Name           string
	Mode           int
	ModeName       string
	CalloutTimeout int64
	CurrentExt     string
	Members        []string
	Waiting        int
	BusyRingTimes  int
	MaxWait        int64
	Rings          ringsJSON
}

func toGroupJSON(g *acd.GroupInfo) groupJSON {
	members := g.Members
	if members == nil {
		members = []string{}
	}
	return groupJSON{
		Number: g.Number, Name: g.Name, Mode: int(g.Mode), ModeName: g.Mode.String(),
		CalloutTimeout: int64(g.CalloutTimeout / time.Second), CurrentExt: g.CurrentExt, Members: members,
		Waiting: g.Waiting, BusyRingTimes: g.GiveUp.BusyRingTimes, MaxWait: int64(g.GiveUp.MaxWait / time.Second),
		Rings: ringsJSON{g.Rings.Welcome, g.Rings.Blacklist, g.Rings.Busy, g.Rings.Transfer},
	}
}

func appendGroup(b []byte, g *acd.GroupInfo) []byte { return appendJSON(b, toGroupJSON(g)) }

func appendGroups(b []byte, gs []acd.GroupInfo) []byte {
	out := make([]groupJSON, len(gs))
	for i := range gs {
		out[i] = toGroupJSON(&gs[i])
	}
	return appendJSON(b, out)
}

func appendError(b []byte, msg string) []byte {
	return appendJSON(b, struct {
		Error string `json:"error"`
	}{msg})
}
