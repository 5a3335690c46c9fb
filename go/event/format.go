package event

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Wire formats, byte for byte as the existing subscribers parse them.
//
// Redis payloads:
//   - Call: the comma-separated line of §7a. evt_name is the event's NUMBER
//     (1..17), because the seed lists the values as the Go enum
//     "EVENT_CALLIN EVENT_NAME = 1 + iota" and pushes that value.
//   - CDR: the 17 fields of §7b, each trimmed of spaces as the original does,
//     then the no-answer agents as "{1011,1012}" or "" (18 fields, 17 commas).
//   - In both CSV lines a comma inside a field would shift every later field,
//     so it is written as ';'. That includes str_no_answer_agents, which
//     becomes "1011;1012"; the braced list is last and keeps its commas.
//   - Queue, Agent: their JSON without cti_ip, as the seed's own RedisString
//     code builds them (the examples with cti_ip are the MQ form).
//   - Offer: its JSON with cti_ip (the node's, Offer.CTIIP): the seed's
//     agent-facing examples carry it on Redis too, and desks of several
//     nodes tell them apart by it.
//
// MQ JSON: the seed's key order with cti_ip after type (after method for
// offers and queue changes, as in its examples); every value is a string.
// Call's event_name is the NAME ("EVENT_CALLIN"): the seed concatenates a
// string variable (strStatus) there, and JSON readers key on names.
// CDR follows the seed example's order, which puts flag before billsec.
//
// The writers are hand-written because they are the publish hot path:
// BenchmarkAppend (0 allocs, ~0.2–0.4 µs) against BenchmarkOfferEncodingJSON
// (encoding/json: ~5× slower, 2 allocs), go test -bench . -cpu 1 ./go/event/.

// AppendRedis appends the §7a comma-separated line.
func (c *Call) AppendRedis(dst []byte) []byte {
	dst = strconv.AppendUint(dst, uint64(c.Name), 10)
	for _, f := range [...]string{c.CallinNumber, c.DestNumber, c.Domain, c.DTMF,
		c.Gateway, c.OriginateNumber, c.Direction, c.AUUID, c.BUUID, c.OriginationDestNumber} {
		dst = append(dst, ',')
		dst = appendCSV(dst, f)
	}
	return dst
}

// AppendJSON appends the MQ form of a call event.
func (c *Call) AppendJSON(dst []byte, ctiIP string) []byte {
	dst = append(dst, `{"type":"event","cti_ip":`...)
	dst = appendString(dst, ctiIP)
	dst = field(dst, `,"event_name":`, c.Name.String())
	dst = field(dst, `,"aleg_uuid":`, c.AUUID)
	dst = field(dst, `,"bleg_uuid":`, c.BUUID)
	dst = field(dst, `,"callin_number":`, c.CallinNumber)
	dst = field(dst, `,"dest_number":`, c.DestNumber)
	dst = field(dst, `,"domain":`, c.Domain)
	dst = field(dst, `,"dtmf":`, c.DTMF)
	dst = field(dst, `,"gateway":`, c.Gateway)
	dst = field(dst, `,"originate_number":`, c.OriginateNumber)
	dst = field(dst, `,"direction":`, c.Direction)
	dst = field(dst, `,"origination_dest_number":`, c.OriginationDestNumber)
	return append(dst, '}')
}

// AppendRedis appends the offer's JSON with the node's cti_ip (o.CTIIP):
// unlike queue and agent messages, the seed's agent-facing examples carry
// cti_ip on Redis too, so desks of several nodes can tell them apart.
func (o *Offer) AppendRedis(dst []byte) []byte { return o.appendJSON(dst, o.CTIIP, true) }

// AppendJSON appends the MQ form of an agent-facing message.
func (o *Offer) AppendJSON(dst []byte, ctiIP string) []byte { return o.appendJSON(dst, ctiIP, true) }

func (o *Offer) appendJSON(dst []byte, ctiIP string, withIP bool) []byte {
	dst = append(dst, `{"type":"event","method":`...)
	dst = appendString(dst, o.Method.String())
	if withIP {
		dst = field(dst, `,"cti_ip":`, ctiIP)
	}
	dst = field(dst, `,"uuid":`, o.UUID)
	dst = field(dst, `,"number":`, o.Number)
	dst = field(dst, `,"group":`, o.Group)
	dst = field(dst, `,"extension":`, o.Extension)
	dst = field(dst, `,"level":`, o.Level)
	dst = field(dst, `,"callin_time":`, o.CallinTime)
	if o.Callback != "" { // a callback's offers say so; others are the seed's bytes
		dst = field(dst, `,"callback":`, o.Callback)
	}
	return append(dst, '}')
}

// AppendRedis appends the queue change's JSON without cti_ip.
func (q *Queue) AppendRedis(dst []byte) []byte { return q.appendJSON(dst, "", false) }

// AppendJSON appends the MQ form of a queue change.
func (q *Queue) AppendJSON(dst []byte, ctiIP string) []byte { return q.appendJSON(dst, ctiIP, true) }

func (q *Queue) appendJSON(dst []byte, ctiIP string, withIP bool) []byte {
	dst = append(dst, `{"type":"queue","method":`...)
	dst = appendString(dst, q.Method.String())
	if withIP {
		dst = field(dst, `,"cti_ip":`, ctiIP)
	}
	dst = field(dst, `,"uuid":`, q.UUID)
	dst = field(dst, `,"number":`, q.Number)
	dst = field(dst, `,"group":`, q.Group)
	dst = field(dst, `,"level":`, q.Level)
	dst = field(dst, `,"callin_time":`, q.CallinTime)
	for _, f := range [...]struct{ name, v string }{{`,"to_group":`, q.ToGroup}, {`,"callback":`, q.Callback},
		{`,"extension":`, q.Extension}, {`,"order":`, q.Order}} {
		if f.v != "" {
			dst = field(dst, f.name, f.v)
		}
	}
	return append(dst, '}')
}

// AppendRedis appends the agent change's JSON without cti_ip.
func (a *Agent) AppendRedis(dst []byte) []byte { return a.appendJSON(dst, "", false) }

// AppendJSON appends the MQ form of an agent state change.
func (a *Agent) AppendJSON(dst []byte, ctiIP string) []byte { return a.appendJSON(dst, ctiIP, true) }

func (a *Agent) appendJSON(dst []byte, ctiIP string, withIP bool) []byte {
	dst = append(dst, `{"type":"agent"`...)
	if withIP {
		dst = field(dst, `,"cti_ip":`, ctiIP)
	}
	dst = field(dst, `,"number":`, a.Number)
	dst = field(dst, `,"status":`, a.Status)
	dst = field(dst, `,"time":`, a.Time)
	return append(dst, '}')
}

// AppendRedis appends the §7b comma-separated line.
func (c *CDR) AppendRedis(dst []byte) []byte {
	for i, f := range c.fields() {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendCSV(dst, trim(f))
	}
	dst = append(dst, ',')
	if len(c.NoAnswerAgents) > 0 {
		dst = append(dst, '{')
		for i, a := range c.NoAnswerAgents {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendCSV(dst, a)
		}
		dst = append(dst, '}')
	}
	return dst
}

func (c *CDR) fields() [17]string {
	return [...]string{c.UUID, c.ACallerIDNumber, c.ADestinationNumber, c.AStartStamp,
		c.AAnswerStamp, c.AEndStamp, c.ADuration, c.ABillsec, c.ASIPHangupDisposition,
		c.ARecordFile, c.StrNoAnswerAgents, c.DestinationNumber, c.StartStamp,
		c.AnswerStamp, c.EndStamp, c.Duration, c.Billsec}
}

// AppendJSON appends the MQ form of a CDR, in the seed example's key order.
func (c *CDR) AppendJSON(dst []byte, ctiIP string) []byte {
	dst = append(dst, `{"type":"cdr","cti_ip":`...)
	dst = appendString(dst, ctiIP)
	dst = field(dst, `,"uuid":`, trim(c.UUID))
	if c.IsCallout {
		dst = append(dst, `,"is_callout":"true"`...)
	} else {
		dst = append(dst, `,"is_callout":"false"`...)
	}
	dst = field(dst, `,"a_caller_id_number":`, trim(c.ACallerIDNumber))
	dst = field(dst, `,"a_destination_number":`, trim(c.ADestinationNumber))
	dst = field(dst, `,"a_start_stamp":`, trim(c.AStartStamp))
	dst = field(dst, `,"a_answer_stamp":`, trim(c.AAnswerStamp))
	dst = field(dst, `,"a_end_stamp":`, trim(c.AEndStamp))
	dst = field(dst, `,"a_duration":`, trim(c.ADuration))
	dst = field(dst, `,"a_billsec":`, trim(c.ABillsec))
	dst = field(dst, `,"a_sip_hangup_disposition":`, trim(c.ASIPHangupDisposition))
	dst = field(dst, `,"a_record_file":`, trim(c.ARecordFile))
	dst = field(dst, `,"str_no_answer_agents":`, trim(c.StrNoAnswerAgents))
	dst = field(dst, `,"destination_number":`, trim(c.DestinationNumber))
	dst = field(dst, `,"start_stamp":`, trim(c.StartStamp))
	dst = field(dst, `,"answer_stamp":`, trim(c.AnswerStamp))
	dst = field(dst, `,"end_stamp":`, trim(c.EndStamp))
	dst = field(dst, `,"duration":`, trim(c.Duration))
	dst = field(dst, `,"flag":`, c.Flag)
	dst = field(dst, `,"billsec":`, trim(c.Billsec))
	return append(dst, '}')
}

// trim is the original's strings.Trim(x, " "): spaces only, both ends.
func trim(s string) string { return strings.Trim(s, " ") }

func field(dst []byte, key, v string) []byte {
	dst = append(dst, key...)
	return appendString(dst, v)
}

// appendCSV copies s with each ',' written as ';'.
func appendCSV(dst []byte, s string) []byte {
	for {
		i := strings.IndexByte(s, ',')
		if i < 0 {
			return append(dst, s...)
		}
		dst = append(dst, s[:i]...)
		dst = append(dst, ';')
		s = s[i+1:]
	}
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a quoted JSON string (see appendString); the
// REST API's list writers use it so that both speak the same escaping.
func AppendJSONString(dst []byte, s string) []byte { return appendString(dst, s) }

// appendString appends s as a quoted JSON string: quotes, backslashes and
// control characters escaped, U+2028/U+2029 escaped (they end lines in
// JavaScript), each invalid UTF-8 byte as \ufffd, like encoding/json.
// Non-ASCII text (e.g. the flag 单座席无应答) stays raw UTF-8 as in the seed.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
