// Package loadtest drives sipp callers and agents through a FreeSWITCH on
// loopback and measures, from SIP packets captured with kernel timestamps,
// how fast calls reach agents: the offer, the queued dispatch, reached % and
// FreeSWITCH's CPU per call (issue 11's harness; `make load`).
package loadtest

import (
	"bytes"
	"strconv"
	"strings"
)

// Message is the part of a SIP message the analyzer reads.
type Message struct {
	Method     string // request method; empty for a response
	Status     int    // response status; 0 for a request
	CallID     string
	FromUser   string
	ToUser     string
	CSeqMethod string
}

// ParseSIP reads a SIP message's start line and the headers the analyzer
// needs; ok is false for anything that is not SIP.
func ParseSIP(b []byte) (m Message, ok bool) {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		end = len(b)
	}
	lines := strings.Split(string(b[:end]), "\r\n")
	if len(lines) == 0 {
		return m, false
	}
	start := lines[0]
	switch {
	case strings.HasPrefix(start, "SIP/2.0 "):
		f := strings.Fields(start)
		if len(f) < 2 {
			return m, false
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			return m, false
		}
		m.Status = n
	case strings.HasSuffix(start, " SIP/2.0"):
		i := strings.IndexByte(start, ' ')
		if i <= 0 {
			return m, false
		}
		m.Method = start[:i]
	default:
		return m, false
	}
	for _, l := range lines[1:] {
		name, val, found := strings.Cut(l, ":")
		if !found {
			continue
		}
		val = strings.TrimSpace(val)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "call-id", "i":
			m.CallID = val
		case "from", "f":
			m.FromUser = uriUser(val)
		case "to", "t":
			m.ToUser = uriUser(val)
		case "cseq":
			if f := strings.Fields(val); len(f) == 2 {
				m.CSeqMethod = f[1]
			}
		}
	}
	return m, m.CallID != ""
}

// uriUser returns the user part of a name-addr or addr-spec header value.
func uriUser(v string) string {
	if i := strings.IndexByte(v, '<'); i >= 0 {
		v = v[i+1:]
		if j := strings.IndexByte(v, '>'); j >= 0 {
			v = v[:j]
		}
	}
	if i := strings.Index(v, ":"); i >= 0 && (strings.HasPrefix(v, "sip") || strings.HasPrefix(v, "tel")) {
		v = v[i+1:]
	}
	if i := strings.IndexAny(v, "@;>"); i >= 0 {
		v = v[:i]
	}
	return v
}
