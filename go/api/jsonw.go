package api

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/nwayacd/mod_nwayacd/go/acd"
)

// Append-style JSON writers for the large list answers: they write straight
// into the response's pooled body buffer, with no reflection and no
// per-element allocation.

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaping like encoding/json
// (without its HTML escaping) and replacing invalid UTF-8 with U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 and U+2029 break JavaScript string literals.
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

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
