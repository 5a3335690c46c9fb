package api

import (
	"strconv"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/event"
)

// Append-style JSON writers for the large list answers: they write straight
// into the response's pooled body buffer, with no reflection and no
// per-element allocation.

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
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendExtensionInfo writes GET /api/extension_info/{ext}.
func appendExtensionInfo(b []byte, e *acd.ExtensionInfo) []byte {
	b = append(b, `{"reg_state":`...)
	b = appendString(b, string(e.RegStatus))
	b = append(b, `,"seat_status":`...)
	b = appendString(b, string(e.Seat))
	b = append(b, `,"call_state":`...)
	b = appendString(b, string(e.CallState))
	return append(b, '}')
}

func appendGroup(b []byte, g *acd.GroupInfo) []byte {
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

func appendGroups(b []byte, gs []acd.GroupInfo) []byte {
	b = append(b, '[')
	for i := range gs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendGroup(b, &gs[i])
	}
	return append(b, ']')
}

func appendError(b []byte, msg string) []byte {
	b = append(b, `{"error":`...)
	b = appendString(b, msg)
	return append(b, '}')
}
