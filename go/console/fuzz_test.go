package console

import (
	"regexp"

	"github.com/nwayacd/mod_nwayacd/go/ident/identtest"
	"strings"
	"testing"
	"unicode/utf8"
)

// An oracle for what may reach the service, written independently of parse.go.
var (
	reExt    = regexp.MustCompile(`^[A-Za-z0-9+*#._][A-Za-z0-9+*#._-]{0,49}$`)
	reGroup  = reExt
	reNumber = reExt
	reJob    = regexp.MustCompile(`^[A-Za-z0-9]{0,32}$`) // "" = none (nway_add_ext without one)
	reUUID   = regexp.MustCompile(`^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,63}$`)
	reGw     = regexp.MustCompile(`^([A-Za-z0-9_.][A-Za-z0-9_.-]{0,63})?$`)
	reBool   = regexp.MustCompile(`^(true|false)$`)
	reSkill  = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,32}$`)
	reMode   = regexp.MustCompile(`^([0-9]|1[01])$`)
	reState  = regexp.MustCompile(`^(ring|talking|ivr|ready|typing|no_answer|no_ready|busy|rest)$`)
	reInt    = regexp.MustCompile(`^[0-9]{1,5}$`)
	reDur    = regexp.MustCompile(`^[0-9hms]+$`)
	reGroups = regexp.MustCompile(`^[A-Za-z0-9+*#._][A-Za-z0-9+*#._-]{0,49}(,[A-Za-z0-9+*#._][A-Za-z0-9+*#._-]{0,49})*$`)
)

// text: free text (names, sound files, dial strings) must still be clean.
type text int

func (t text) MatchString(s string) bool {
	return len(s) <= int(t) && utf8.ValidString(s) && !strings.ContainsAny(s, "\x00\t\r\n\x7f\ufffd")
}

// dialText: a dial string that reached the service is clean text with no
// '&', backslash or "${…(" API call (ident.Dial's promises, checked
// independently).
type dialText struct{}

func (dialText) MatchString(s string) bool {
	if s == "" {
		return true // the template
	}
	if !text(1024).MatchString(s) || strings.ContainsAny(s, "&\\") {
		return false
	}
	for rest := s; ; {
		i := strings.Index(rest, "${")
		if i < 0 {
			return true
		}
		rest = rest[i+2:]
		j := strings.IndexByte(rest, '}')
		if j < 0 || strings.ContainsAny(rest[:j], "( ") {
			return false
		}
	}
}

type matcher interface{ MatchString(string) bool }

var argRules = map[string][]matcher{
	"AddExtension":    {reExt, reJob},
	"SetJobNumber":    {reExt, reJob, reBool},
	"RemoveExtension": {reExt},
	"SetRegistered":   {reExt, reBool},
	"SetDialString":   {reExt, dialText{}},
	"AddGroup":        {reGroup, reMode},
	"SetGroupName":    {reGroup, text(100)},
	"SetGroupTimeout": {reGroup, reDur},
	"SetGroupMode":    {reGroup, reMode},
	"SetGroupGiveUp":  {reGroup, reInt, reDur},
	"RemoveGroup":     {reGroup},
	"SetGroupRings":   {reGroup, text(255), text(255), text(255), text(255)},
	"Group":           {reGroup},
	"AddBlacklist":    {reGroup, reNumber},
	"RemoveBlacklist": {reGroup, reNumber},
	"AddVIP":          {reGroup, reNumber},
	"RemoveVIP":       {reGroup, reNumber},
	"Login":           {reExt, reGroups},
	"Logout":          {reExt},
	"SetReady":        {reExt},
	"SetBusy":         {reExt},
	"SetCallState":    {reExt, reState},
	"TransferUUID":    {reUUID, reNumber},
	"HoldUUID":        {reUUID},
	"UnholdUUID":      {reUUID},
	"ThreeWayUUID":    {reUUID, reNumber, reGw},
	"Extensions":      {},
	"Groups":          {},
	"Waiting":         {},
	"Version":         {},
	"StatusLines":     {},
	"StatusJSON":      {},
	"Reload":          {},
	"SetGroupOptions": {reGroup, text(2000)},
	"SetTier":         {reExt, reGroup, reInt},
	"SetWeight":       {reExt, reGroup, reInt},
	"SetSkill":        {reExt, reSkill, reInt},
	"RemoveSkill":     {reExt, reSkill},
}

var listingHeads = []string{"extension\tjob_number\t", "number\tname\t", "uuid\tnumber\t", "extension\tskills\n", "group\t", "[", "{"}

func FuzzRun(f *testing.F) {
	for i, c := range validCases {
		f.Add(uint8(byName[c.name].index()), c.args)
		f.Add(uint8(i), c.args)
	}
	for i := range table {
		f.Add(uint8(i), "")
		f.Add(uint8(i), "json")
		f.Add(uint8(i), "1000\x00 110")
		f.Add(uint8(i), "status json")
	}
	dial := uint8(byName["nway_set_ext_dialstring"].index())
	for _, d := range append(append([]string{}, identtest.GoodDials...), identtest.BadDials...) {
		f.Add(dial, "1000 "+d)
	}
	f.Fuzz(func(t *testing.T, idx uint8, args string) {
		c := table[int(idx)%len(table)]
		fake := newFake()
		got := Run(fake, c.Name, args)

		isList := false
		for _, h := range listingHeads {
			isList = isList || strings.HasPrefix(got, h)
		}
		switch {
		case strings.HasPrefix(got, "+OK"), isList:
			if !strings.HasSuffix(got, "\n") || len(fake.calls) == 0 {
				t.Fatalf("%s %q: success %q after calls %v", c.Name, args, got, fake.callList())
			}
		case strings.HasPrefix(got, "-ERR "):
			// The fake never fails, so every -ERR is the console's own refusal.
			if len(fake.calls) != 0 {
				t.Fatalf("%s %q: refused (%q) yet called %v", c.Name, args, got, fake.callList())
			}
			if !strings.HasSuffix(got, "\nUsage: "+c.Syntax+"\n") {
				t.Fatalf("%s %q: refusal without usage: %q", c.Name, args, got)
			}
			if len(got) > 300+len(c.Syntax) {
				t.Fatalf("%s: %d-byte refusal", c.Name, len(got))
			}
		default:
			t.Fatalf("%s %q: reply %q", c.Name, args, got)
		}
		for _, call := range fake.calls {
			rules, ok := argRules[call.m]
			if !ok || len(rules) != len(call.args) {
				t.Fatalf("%s %q: unexpected call %v", c.Name, args, call)
			}
			for i, r := range rules {
				if !r.MatchString(call.args[i]) {
					t.Fatalf("%s %q: %v argument %d %q slipped through", c.Name, args, call, i, call.args[i])
				}
			}
		}
	})
}

func (c *cmd) index() int {
	for i, t := range table {
		if t == c {
			return i
		}
	}
	return -1
}
