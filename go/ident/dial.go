package ident

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Dial checks a dial string (what an agent's phone is reached by). It must
// reach FreeSWITCH as exactly one dial string: it may never add an
// application, a second argument or an API call to the command it is put in
// ("bgapi originate {…}<dial> &eavesdrop(…)", or the session's own bridge).
//
// FreeSWITCH's originate splits its arguments at blanks outside single
// quotes, with backslash as escape (switch_separate_string), and expands
// ${name(args)} as an API call. So:
//   - outside {…}, […] and <…> variable blocks: no blanks, quotes, backslash
//     or '&'; every other printable character is allowed (sofia/gateway/gw/num,
//     user/1001@domain, loopback/…, "," and "|" lists, ":_:");
//   - a block holds name=value pairs separated by ','; names are letters,
//     digits and _ . -, and never one that runs something (execute_on_*,
//     api_*, *_hook, exec_after_bridge_app, transfer_after_bridge, …);
//     values may contain blanks only inside balanced single quotes; blocks
//     do not nest and "^^" delimiter changes are refused;
//   - "$" only as ${name} or $${name}: a variable, never ${api(args)};
//   - valid UTF-8, no control characters, at most 1024 bytes.
//
// The empty string (the node's template) is the caller's business: Dial
// refuses it.
func Dial(s string) error {
	if s == "" {
		return bad("dial string", s, "empty")
	}
	if len(s) > MaxDial {
		return bad("dial string", s, fmt.Sprintf("too long (%d bytes, at most %d)", len(s), MaxDial))
	}
	if !utf8.ValidString(s) {
		return bad("dial string", s, "not valid UTF-8")
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch c {
		case '{', '[', '<':
			n, why := varBlock(s, i)
			if why != "" {
				return bad("dial string", s, why)
			}
			i = n
			continue
		case '}', ']', '>':
			return bad("dial string", s, fmt.Sprintf("%q at byte %d closes no variable block", c, i))
		case '$':
			n, why := expansion(s, i)
			if why != "" {
				return bad("dial string", s, why)
			}
			i = n
			continue
		case ' ':
			return bad("dial string", s, fmt.Sprintf("blank at byte %d outside a quoted variable value (it would start a second argument)", i))
		case '\'', '\\', '&':
			return bad("dial string", s, fmt.Sprintf("%q at byte %d not allowed outside a variable block", c, i))
		}
		n, why := plainRune(s, i)
		if why != "" {
			return bad("dial string", s, why)
		}
		i += n
	}
	return nil
}

// plainRune checks the character at i and returns its length.
func plainRune(s string, i int) (int, string) {
	if c := s[i]; c < utf8.RuneSelf && c > 0x20 && c != 0x7f && c != '&' && c != '\\' {
		return 1, "" // printable ASCII: the common case
	}
	r, n := utf8.DecodeRuneInString(s[i:])
	switch {
	case r == utf8.RuneError:
		return n, fmt.Sprintf("not valid UTF-8 at byte %d", i)
	case r < 0x20 || r == 0x7f:
		return n, fmt.Sprintf("control character %U at byte %d", r, i)
	case !unicode.IsGraphic(r) || unicode.IsSpace(r):
		return n, fmt.Sprintf("character %U at byte %d not allowed", r, i)
	case r == '&' || r == '\\':
		return n, fmt.Sprintf("%q at byte %d not allowed", r, i)
	}
	return n, ""
}

// expansion checks "${name}" or "$${name}" at i and returns the index after it.
func expansion(s string, i int) (int, string) {
	j := i + 1
	if j < len(s) && s[j] == '$' {
		j++
	}
	if j >= len(s) || s[j] != '{' {
		return 0, fmt.Sprintf("'$' at byte %d: only ${name} variable references are allowed", i)
	}
	end := strings.IndexByte(s[j:], '}')
	if end < 0 {
		return 0, fmt.Sprintf("unterminated ${ at byte %d", i)
	}
	name := s[j+1 : j+end]
	if !validVarName(name) {
		return 0, fmt.Sprintf("${%s} at byte %d: only ${name} variable references are allowed (no API calls, spaces or nesting)", name, i)
	}
	return j + end + 1, ""
}

func closer(open byte) byte {
	switch open {
	case '{':
		return '}'
	case '[':
		return ']'
	}
	return '>'
}

// varBlock checks the variable block opening at i and returns the index
// after its closer.
func varBlock(s string, i int) (int, string) {
	open, close := s[i], closer(s[i])
	j := i + 1
	for {
		// one name=value item
		k := j
		for k < len(s) && s[k] != '=' && s[k] != ',' && s[k] != close {
			k++
		}
		if k >= len(s) {
			return 0, fmt.Sprintf("%q at byte %d is never closed", open, i)
		}
		name := s[j:k]
		if s[k] != '=' {
			if name == "" && s[k] == close && k == i+1 {
				return k + 1, "" // {} is empty, harmless
			}
			return 0, fmt.Sprintf("variable block at byte %d: want name=value, got %q", i, name)
		}
		if !validVarName(name) {
			return 0, fmt.Sprintf("variable name %q at byte %d: want letters, digits and _ . -", name, j)
		}
		if runsSomething(name) {
			return 0, fmt.Sprintf("variable %s at byte %d is not allowed: it makes FreeSWITCH run an application or API", name, j)
		}
		// the value, up to ',' or the closer outside quotes
		k++
		quoted := false
		for ; ; k++ {
			if k >= len(s) {
				if quoted {
					return 0, fmt.Sprintf("unbalanced ' in variable %s", name)
				}
				return 0, fmt.Sprintf("%q at byte %d is never closed", open, i)
			}
			c := s[k]
			if c == '\'' {
				quoted = !quoted
				continue
			}
			if !quoted && (c == ',' || c == close) {
				break
			}
			switch c {
			case ' ':
				if !quoted {
					return 0, fmt.Sprintf("blank in the value of %s at byte %d: quote the value ('a b')", name, k)
				}
				continue
			case '{', '[', '<', '}', ']', '>':
				return 0, fmt.Sprintf("%q at byte %d in the value of %s: variable blocks do not nest", c, k, name)
			case '^':
				return 0, fmt.Sprintf("'^' at byte %d in the value of %s: delimiter changes are not allowed", k, name)
			case '$':
				n, why := expansion(s, k)
				if why != "" {
					return 0, why
				}
				k = n - 1
				continue
			}
			n, why := plainRune(s, k)
			if why != "" {
				return 0, why
			}
			k += n - 1
		}
		if s[k] == close {
			return k + 1, ""
		}
		j = k + 1
	}
}

func validVarName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '_' && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

// runWords are parts of the channel variables that make FreeSWITCH run an
// application or API or send the call elsewhere: execute_on_answer,
// api_on_answer, api_hangup_hook, session_in_hangup_hook,
// exec_after_bridge_app, bridge_pre_execute_bleg_app, transfer_after_bridge,
// park_after_bridge, transfer_on_fail, …
var runWords = []string{"exec", "api", "hook", "app", "after_bridge", "transfer", "park", "script"}

func runsSomething(name string) bool {
	n := strings.ToLower(name)
	for _, w := range runWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}
