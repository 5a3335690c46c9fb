package console

import (
	"strconv"
	"unicode/utf8"
)

// Limits on the argument string; what each word may be is package ident's.
const (
	maxArgsLen = 4096 // the whole argument string
	maxFields  = 12   // whitespace-separated words a command looks at
	maxGroups  = 64   // groups in one nway_login

	maxTimeoutSec   = 3600
	maxMaxWaitSec   = 86400
	maxBusyRingTime = 1000
)

// argv holds the words of one argument string. It is passed by value so that
// splitting never allocates (Run is on fs_cli's and ESL's hot path).
type argv struct {
	raw string
	n   int // number of words; may exceed maxFields (the rest are not stored)
	f   [maxFields]string
	off [maxFields]int // byte offset of each word in raw, for rest-of-line values
}

func isSep(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// split breaks raw at ASCII blanks (FreeSWITCH passes the text after the command
// name as typed, so tabs, doubled spaces and a trailing CRLF from ESL are normal).
func split(raw string) argv {
	a := argv{raw: raw}
	i := 0
	for i < len(raw) {
		for i < len(raw) && isSep(raw[i]) {
			i++
		}
		if i == len(raw) {
			break
		}
		start := i
		for i < len(raw) && !isSep(raw[i]) {
			i++
		}
		if a.n < maxFields {
			a.f[a.n] = raw[start:i]
			a.off[a.n] = start
		}
		a.n++
	}
	return a
}

// rest returns word i and everything after it, with trailing blanks removed.
func (a *argv) rest(i int) string {
	s := a.raw[a.off[i]:]
	j := len(s)
	for j > 0 && isSep(s[j-1]) {
		j--
	}
	return s[:j]
}

// badControl reports the first control character other than the blanks split accepts.
func badControl(s string) (byte, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 0x20 && !isSep(c)) || c == 0x7f {
			return c, true
		}
	}
	return 0, false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// noneWord is how a console user writes "no file" for a ring.
func noneWord(s string) bool { return s == "-" || s == "''" || s == `""` }

// parseUint reads a decimal count in [0,max]; no signs, no spaces.
func parseUint(s string, max int) (int, bool) {
	if len(s) == 0 || len(s) > 9 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > max {
		return 0, false
	}
	return n, true
}

func parseBool(s string) (bool, bool) {
	switch s {
	case "true", "TRUE", "True":
		return true, true
	case "false", "FALSE", "False":
		return false, true
	}
	return false, false
}

// quote renders user input for an error reply: escaped and cut short, so that
// garbage or a huge argument never floods the console.
func quote(s string) string {
	const max = 40
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "…"
	}
	return strconv.Quote(s)
}

// oneLine makes text from the service or the store safe for a single reply line
// or table cell: control characters (tabs, newlines) become spaces.
func oneLine(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c == 0x7f {
			b[i] = ' '
		}
	}
	return string(b)
}
