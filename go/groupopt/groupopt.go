// Package groupopt parses the routing and queue options of a group (issue
// 12, go/acd/ROUTING.md) as the console (`nway_set_group <group> <option>
// <value>`) and REST (POST /api/group_option) take them, so both transports
// give the same verdicts. Values are text; durations are whole seconds.
package groupopt

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/ident"
)

// Limits of the numeric values.
const (
	MaxSeconds = 86400
	MaxCount   = 100000
)

type kind uint8

const (
	kBool kind = iota
	kSeconds
	kCount
	kKey
	kGroup
	kSkills
	kGateway
	kSound
	kExten
)

type option struct {
	name string
	kind kind
	help string
	get  func(o *acd.GroupOptions) any // pointer to the field
}

var options = []option{
	{"memory_first", kBool, "try the caller's remembered agent first in any mode", func(o *acd.GroupOptions) any { return &o.MemoryFirst }},
	{"tier_wait", kSeconds, "tier n+1 joins after n times this wait (0: all tiers at once)", func(o *acd.GroupOptions) any { return &o.TierWait }},
	{"tier_skip", kBool, "a higher tier joins at once when no lower tier has a qualified idle member", func(o *acd.GroupOptions) any { return &o.TierSkip }},
	{"skills", kSkills, "skills a call asks for when it brings none (name:level,…)", func(o *acd.GroupOptions) any { return &o.Skills }},
	{"relax_every", kSeconds, "each skill requirement drops one level per this wait (0: never)", func(o *acd.GroupOptions) any { return &o.RelaxEvery }},
	{"max_waiting", kCount, "with this many calls waiting a new call is refused (busy ring, hang-up; 0: no limit)", func(o *acd.GroupOptions) any { return &o.MaxWaiting }},
	{"full_overflow", kBool, "a full group (max_waiting) sends a new call to its overflow group instead of refusing it", func(o *acd.GroupOptions) any { return &o.FullOverflow }},
	{"overflow", kGroup, "group that takes calls overflowing this one", func(o *acd.GroupOptions) any { return &o.OverflowGroup }},
	{"overflow_after", kSeconds, "overflow a call after this wait (0: never)", func(o *acd.GroupOptions) any { return &o.OverflowAfter }},
	{"overflow_waiting", kCount, "overflow a new call when this many already wait (0: never)", func(o *acd.GroupOptions) any { return &o.OverflowWaiting }},
	{"exit_key", kKey, "DTMF digit that takes a waiting caller out (result exit)", func(o *acd.GroupOptions) any { return &o.ExitKey }},
	{"exit_to", kExten, "dialplan extension the exit key sends the caller to (nwayacd_exit_to)", func(o *acd.GroupOptions) any { return &o.ExitTo }},
	{"announce", kBool, "wait steps carry the caller's position and estimated wait", func(o *acd.GroupOptions) any { return &o.Announce }},
	{"callback_key", kKey, "DTMF digit with which a waiting caller asks to be called back", func(o *acd.GroupOptions) any { return &o.CallbackKey }},
	{"callback_agent_first", kBool, "ring the reserved agent before calling the caller back", func(o *acd.GroupOptions) any { return &o.CallbackAgentFirst }},
	{"callback_retries", kCount, "attempts after a callback the caller does not answer", func(o *acd.GroupOptions) any { return &o.CallbackRetries }},
	{"callback_retry_delay", kSeconds, "wait between callback attempts (0: the default)", func(o *acd.GroupOptions) any { return &o.CallbackRetryDelay }},
	{"announce_every", kSeconds, "say the position and estimated wait on entry and every this many seconds (0: never)", func(o *acd.GroupOptions) any { return &o.AnnounceEvery }},
	{"announce_sounds", kSound, "folder of the group's announcement files (-: FreeSWITCH's say in the channel's language)", func(o *acd.GroupOptions) any { return &o.AnnounceSounds }},
	{"callback_gateway", kGateway, "gateway callbacks are dialled through (-: as an extension is reached)", func(o *acd.GroupOptions) any { return &o.CallbackGateway }},
	{"ring_wait", kSeconds, "a waiting caller is left ringing, unanswered and without media, up to this long after it came in, then answered (0: answered at once)", func(o *acd.GroupOptions) any { return &o.RingWait }},
}

// Names lists the options, in a stable order.
func Names() []string {
	out := make([]string, len(options))
	for i, o := range options {
		out[i] = o.name
	}
	return out
}

// Known reports whether name is an option.
func Known(name string) bool { return find(name) != nil }

func find(name string) *option {
	for i := range options {
		if options[i].name == name {
			return &options[i]
		}
	}
	return nil
}

// ValueHelp describes the values an option takes.
func ValueHelp(name string) string {
	o := find(name)
	if o == nil {
		return ""
	}
	switch o.kind {
	case kBool:
		return "true or false"
	case kSeconds:
		return "seconds, 0-" + strconv.Itoa(MaxSeconds)
	case kCount:
		return "0-" + strconv.Itoa(MaxCount)
	case kKey:
		return "one DTMF digit 0-9 * # A-D, or - for none"
	case kGroup:
		return "a group number, or - for none"
	case kGateway:
		return "a gateway name, or - for none"
	case kSound:
		return "a folder of sound files, or - for none"
	case kExten:
		return "a dialplan extension, or - for none"
	}
	return "name:level,… (levels 1-10), or - for none"
}

// Error is a refused option or value; its text names the problem.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

func refuse(format string, args ...any) error { return &Error{Msg: fmt.Sprintf(format, args...)} }

func none(v string) bool { return v == "-" || v == "" || v == "''" || v == `""` }

// Set parses value for option name into o. The core checks the result as a
// whole (an overflow to the group itself, equal exit and callback keys).
func Set(o *acd.GroupOptions, name, value string) error {
	op := find(name)
	if op == nil {
		return refuse("unknown option %q (%s)", clip(name), strings.Join(Names(), ", "))
	}
	bad := func() error {
		return refuse("bad %s %q (%s)", name, clip(value), ValueHelp(name))
	}
	switch p := op.get(o).(type) {
	case *bool:
		switch value {
		case "true", "TRUE", "True":
			*p = true
		case "false", "FALSE", "False":
			*p = false
		default:
			return bad()
		}
	case *time.Duration:
		n, ok := uintIn(value, MaxSeconds)
		if !ok {
			return bad()
		}
		*p = time.Duration(n) * time.Second
	case *int:
		n, ok := uintIn(value, MaxCount)
		if !ok {
			return bad()
		}
		*p = n
	case *string:
		switch {
		case none(value):
			*p = ""
		case op.kind == kExten:
			if err := ident.Number("extension", value); err != nil {
				return refuse("bad %s: %s", name, err.Error())
			}
			*p = value
		case op.kind == kGroup:
			if err := ident.Group(value); err != nil {
				return refuse("bad %s: %s", name, err.Error())
			}
			*p = value
		case op.kind == kSound:
			if err := ident.Ring(value); err != nil {
				return refuse("bad %s: %s", name, err.Error())
			}
			*p = value
		case op.kind == kGateway:
			if err := ident.Gateway(value); err != nil {
				return refuse("bad %s: %s", name, err.Error())
			}
			*p = value
		default: // a key
			if len(value) != 1 || !strings.Contains("0123456789*#ABCD", value) {
				return bad()
			}
			*p = value
		}
	case *[]acd.SkillReq:
		if none(value) {
			*p = nil
			return nil
		}
		sk, err := acd.ParseSkills(value)
		if err != nil {
			return refuse("bad skills: %s", err.Error())
		}
		*p = sk
	}
	return nil
}

// Get renders option name of o as Set takes it ("-" for none).
func Get(o acd.GroupOptions, name string) string {
	op := find(name)
	if op == nil {
		return ""
	}
	switch p := op.get(&o).(type) {
	case *bool:
		return strconv.FormatBool(*p)
	case *time.Duration:
		return strconv.Itoa(int(*p / time.Second))
	case *int:
		return strconv.Itoa(*p)
	case *string:
		if *p == "" {
			return "-"
		}
		return *p
	case *[]acd.SkillReq:
		if len(*p) == 0 {
			return "-"
		}
		return acd.FormatSkills(*p)
	}
	return ""
}

func uintIn(s string, max int) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n <= max
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
