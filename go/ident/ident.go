// Package ident is the one definition of what an extension, a group, a
// caller number, a call uuid, a gateway, a job number, a group name, a sound
// file and a dial string may be. The core (acd), the console and the REST API
// all check their input here, so a value one of them accepts the others accept
// too, and nothing accepted is later refused by the store.
//
// Limits are in bytes, as the store counts them, and never exceed the SQL
// column they end up in (sql/*.sql; a test checks it).
package ident

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits, in bytes.
const (
	MaxNumber    = 50   // extensions, groups, caller numbers: varchar(50)
	MaxJob       = 32   // job numbers (column varchar(50))
	MaxUUID      = 64   // call uuids: nwayacd_cdr.uuid varchar(64)
	MaxGateway   = 64   // gateway names (not stored)
	MaxGroupName = 100  // ext_group.group_name varchar(100)
	MaxRing      = 255  // ring columns varchar(255)
	MaxDial      = 1024 // nwayacd_extension.dial_string varchar(1024)
)

// Error says which value was refused and why.
type Error struct {
	What   string // "extension", "group", "dial string", …
	Value  string
	Reason string
}

func (e *Error) Error() string {
	return "bad " + e.What + " " + quote(e.Value) + ": " + e.Reason
}

func bad(what, v, why string) error { return &Error{What: what, Value: v, Reason: why} }

// quote renders a value for an error message: escaped (so invalid UTF-8 and
// control characters stay visible) and cut short.
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

// NumberRule describes Number's syntax for error messages and usage text.
const NumberRule = "1-50 of letters, digits and + * # . _ -, not starting with -"

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isAlnum(c byte) bool { return isDigit(c) || 'a' <= c|0x20 && c|0x20 <= 'z' }

// Number checks an extension, group or caller number (what names it in the
// error): 1–50 bytes of letters, digits and + * # . _ -, not starting with
// '-' (it would read as an option: "uuid_transfer leg -bleg"). '@' is
// refused: a number must never name a host ("1003@evil.example.com").
func Number(what, s string) error {
	switch {
	case s == "":
		return bad(what, s, "empty (want "+NumberRule+")")
	case len(s) > MaxNumber:
		return bad(what, s, fmt.Sprintf("too long (%d bytes, at most %d)", len(s), MaxNumber))
	case s[0] == '-':
		return bad(what, s, "must not start with - (want "+NumberRule+")")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '+' && c != '*' && c != '#' && c != '.' && c != '_' && c != '-' {
			return bad(what, s, fmt.Sprintf("character %s not allowed (want %s)", charName(s, i), NumberRule))
		}
	}
	return nil
}

// MaxPhone is the longest phone number Phone takes (E.164 allows 15 digits;
// room for prefixes).
const MaxPhone = 24

// Phone checks a number the module dials on a caller's behalf (a callback,
// keyed in or taken from the caller ID): 2–24 digits, optionally after one
// leading +. Nothing else: it goes into a dial string.
func Phone(s string) error {
	d := strings.TrimPrefix(s, "+")
	if len(d) < 2 || len(d) > MaxPhone {
		return bad("callback number", s, fmt.Sprintf("want 2-%d digits, optionally after +", MaxPhone))
	}
	for i := 0; i < len(d); i++ {
		if !isDigit(d[i]) {
			return bad("callback number", s, fmt.Sprintf("character %s not allowed (want digits, optionally after +)", charName(d, i)))
		}
	}
	return nil
}

// Extension checks an agent's extension.
func Extension(s string) error { return Number("extension", s) }

// Group checks a group (queue) number.
func Group(s string) error { return Number("group", s) }

// Caller checks a caller or phone number (blacklist, VIP, transfer and
// three-way targets).
func Caller(s string) error { return Number("number", s) }

// token is the syntax of uuids and gateway names: letters, digits and - _ .,
// not starting with '-'.
func token(what, s string, max int) error {
	switch {
	case s == "":
		return bad(what, s, "empty")
	case len(s) > max:
		return bad(what, s, fmt.Sprintf("too long (%d bytes, at most %d)", len(s), max))
	case s[0] == '-':
		return bad(what, s, "must not start with -")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return bad(what, s, fmt.Sprintf("character %s not allowed (want letters, digits and - _ ., at most %d)", charName(s, i), max))
		}
	}
	return nil
}

// UUID checks a call uuid: 1–64 of letters, digits and - _ ., not starting
// with '-'.
func UUID(s string) error { return token("uuid", s, MaxUUID) }

// Gateway checks a gateway name: 1–64 of letters, digits and - _ ., not
// starting with '-'.
func Gateway(s string) error { return token("gateway", s, MaxGateway) }

// JobNumber checks a job number: 1–32 letters and digits.
func JobNumber(s string) error {
	if s == "" || len(s) > MaxJob {
		return bad("job number", s, fmt.Sprintf("want 1-%d letters and digits", MaxJob))
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) {
			return bad("job number", s, fmt.Sprintf("character %s not allowed (want 1-%d letters and digits)", charName(s, i), MaxJob))
		}
	}
	return nil
}

// GroupName checks a group's display name: 1–100 bytes (Chinese takes 3
// bytes a character, so at most 33 of them) of printable text.
func GroupName(s string) error {
	if s == "" {
		return bad("group name", s, "empty")
	}
	if len(s) > MaxGroupName {
		return bad("group name", s, fmt.Sprintf("too long (%d bytes, at most %d; a Chinese character takes 3)", len(s), MaxGroupName))
	}
	return printable("group name", s)
}

// Ring checks a sound file path; "" means none.
func Ring(s string) error {
	if len(s) > MaxRing {
		return bad("sound file", s, fmt.Sprintf("too long (%d bytes, at most %d)", len(s), MaxRing))
	}
	return printable("sound file", s)
}

// printable accepts valid UTF-8 of graphic characters and plain spaces.
// U+FFFD is refused: it means the text was mangled on its way here.
func printable(what, s string) error {
	for i, r := range s {
		if r == ' ' {
			continue
		}
		if r == utf8.RuneError {
			return bad(what, s, fmt.Sprintf("not valid UTF-8 at byte %d", i))
		}
		if !unicode.IsGraphic(r) || unicode.IsSpace(r) {
			return bad(what, s, fmt.Sprintf("character %s not allowed (want printable text)", charName(s, i)))
		}
	}
	return nil
}

// charName names the character at byte i for an error message.
func charName(s string, i int) string {
	r, n := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && n <= 1 {
		return fmt.Sprintf("byte 0x%02x", s[i])
	}
	if r < 0x20 || r == 0x7f || !unicode.IsGraphic(r) || r == ' ' {
		return fmt.Sprintf("%U", r)
	}
	return strconv.QuoteRune(r)
}
