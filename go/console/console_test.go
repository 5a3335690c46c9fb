package console

import (
	"github.com/nwayacd/mod_nwayacd/go/ident/identtest"

	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
)

// specCommands are the API names of SPEC §6 (and the seed's `show modules`),
// plus the ones this module adds.
var specCommands = []string{
	"nway_add_ext", "nway_set_ext_jobnumber", "nway_rm_ext", "nway_set_reged_ext", "nway_set_unreg_ext",
	"nway_add_group", "nway_rm_group", "nway_set_ring_group", "nway_list_exts", "nway_list_groups",
	"nway_login", "nway_logout", "nway_busy", "nway_ready", "nwayacd_transfer", "nwayacd_version",
	"nway_uuid_hold", "nway_uuid_unhold", "nway_threeway", "nwayacd",
}

var ourCommands = []string{
	"nway_set_ext_dialstring", "nway_set_callstate", "nway_set_group", "nway_add_blacklist",
	"nway_rm_blacklist", "nway_add_vip", "nway_rm_vip", "nway_list_queue",
	// issue 12
	"nway_set_tier", "nway_set_weight", "nway_set_skill", "nway_rm_skill",
	"nway_list_skills", "nway_list_tiers", "nway_list_group_options",
}

func TestCommandsCoverSpec(t *testing.T) {
	seen := map[string]Command{}
	for _, c := range Commands() {
		if _, dup := seen[c.Name]; dup {
			t.Errorf("%s listed twice", c.Name)
		}
		seen[c.Name] = c
		if !strings.HasPrefix(c.Syntax, c.Name) || c.Description == "" {
			t.Errorf("%s: syntax %q / description %q", c.Name, c.Syntax, c.Description)
		}
		for _, l := range c.Completions {
			if !strings.HasPrefix(l, c.Name+" ") {
				t.Errorf("%s: completion %q does not start with the command", c.Name, l)
			}
		}
	}
	for _, n := range append(append([]string{}, specCommands...), ourCommands...) {
		if _, ok := seen[n]; !ok {
			t.Errorf("%s missing from Commands()", n)
		}
	}
	if len(seen) != len(specCommands)+len(ourCommands) {
		t.Errorf("%d commands, want %d", len(seen), len(specCommands)+len(ourCommands))
	}
	// Commands returns a copy: changing it must not change the table.
	cs := Commands()
	cs[0].Completions = append(cs[0].Completions, "x")
	cs[0].Name = "changed"
	if Commands()[0].Name != "nway_add_ext" || len(Commands()[0].Completions) != 0 {
		t.Error("Commands() exposes the internal table")
	}
}

type runCase struct {
	name, args string
	want       string   // exact reply
	calls      []string // exact recorded calls
}

// validCases: every command with good input, its exact reply and service calls.
var validCases = []runCase{
	{"nway_add_ext", "1000", "+OK extension 1000 added\n", []string{"AddExtension(1000|)"}},
	{"nway_add_ext", "1000 1234", "+OK extension 1000 added with job number 1234\n", []string{"AddExtension(1000|1234)"}},
	{"nway_set_ext_jobnumber", "1000 1234 true", "+OK extension 1000 job number 1234 enabled\n", []string{"SetJobNumber(1000|1234|true)"}},
	{"nway_set_ext_jobnumber", "1000 A12 FALSE", "+OK extension 1000 job number A12 disabled\n", []string{"SetJobNumber(1000|A12|false)"}},
	{"nway_set_ext_jobnumber", "1000 - false", "+OK extension 1000 job number cleared\n", []string{"SetJobNumber(1000||false)"}},
	{"nway_rm_ext", "1000", "+OK 1000 removed\n", []string{"RemoveExtension(1000)"}},
	{"nway_rm_ext", "alice.w_2+pbx", "+OK alice.w_2+pbx removed\n", []string{"RemoveExtension(alice.w_2+pbx)"}},
	{"nway_set_reged_ext", "1000", "+OK 1000 reged\n", []string{"SetRegistered(1000|true)"}},
	{"nway_set_unreg_ext", "1000", "+OK 1000 unreg\n", []string{"SetRegistered(1000|false)"}},
	{"nway_add_group", "110 4", "+OK group 110 added, mode 4 (remember+1)\n", []string{"AddGroup(110|4)"}},
	{"nway_add_group", "12345 0", "+OK group 12345 added, mode 0 (sequence)\n", []string{"AddGroup(12345|0)"}},
	{"nway_rm_group", "110", "+OK group 110 removed\n", []string{"RemoveGroup(110)"}},
	{"nway_set_ring_group", "110 /nway/welcome.wav /nway/black.wav /nway/busy.wav /nway/transfer.wav",
		"+OK group 110 rings: welcome /nway/welcome.wav, blacklist /nway/black.wav, busy /nway/busy.wav, transfer /nway/transfer.wav\n",
		[]string{"SetGroupRings(110|/nway/welcome.wav|/nway/black.wav|/nway/busy.wav|/nway/transfer.wav)"}},
	{"nway_set_ring_group", "110 - '' /nway/busy.wav \"\"",
		"+OK group 110 rings: welcome -, blacklist -, busy /nway/busy.wav, transfer -\n",
		[]string{"SetGroupRings(110|||/nway/busy.wav|)"}},
	// fewer than four files: the others keep their current value (group 120 has rings)
	{"nway_set_ring_group", "120 $${sounds_dir}/欢迎.wav",
		"+OK group 120 rings: welcome $${sounds_dir}/欢迎.wav, blacklist b.wav, busy c.wav, transfer d.wav\n",
		[]string{"Group(120)", "SetGroupRings(120|$${sounds_dir}/欢迎.wav|b.wav|c.wav|d.wav)"}},
	{"nway_login", "1000 120,119,110", "+OK 1000 logged in to 120,119,110\n", []string{"Login(1000|120,119,110)"}},
	{"nway_login", "1000 120, 119 ,110,,120", "+OK 1000 logged in to 120,119,110\n", []string{"Login(1000|120,119,110)"}},
	{"nway_login", "1000 12345", "+OK 1000 logged in to 12345\n", []string{"Login(1000|12345)"}},
	{"nway_logout", "1000", "+OK 1000 logged out\n", []string{"Logout(1000)"}},
	{"nway_busy", "1000", "+OK 1000 busy\n", []string{"SetBusy(1000)"}},
	{"nway_ready", "1000", "+OK 1000 ready\n", []string{"SetReady(1000)"}},
	{"nwayacd_transfer", "9a8b-77c6 1002", "+OK 9a8b-77c6 transferred to 1002\n", []string{"TransferUUID(9a8b-77c6|1002)"}},
	{"nwayacd_version", "", "+OK mod_nwayacd 1.2.3\n", []string{"Version()"}},
	{"nway_uuid_hold", "ex009-4333444-988kk", "+OK ex009-4333444-988kk on hold\n", []string{"HoldUUID(ex009-4333444-988kk)"}},
	{"nway_uuid_unhold", "ex009-4333444-988kk", "+OK ex009-4333444-988kk off hold\n", []string{"UnholdUUID(ex009-4333444-988kk)"}},
	{"nway_threeway", "ex009-4333444-988kk 018621575908 gw1", "+OK 018621575908 via gw1 invited to ex009-4333444-988kk\n",
		[]string{"ThreeWayUUID(ex009-4333444-988kk|018621575908|gw1)"}},
	{"nway_threeway", "u1 1003", "+OK 1003 invited to u1\n", []string{"ThreeWayUUID(u1|1003|)"}},
	{"nwayacd", "reload", "+OK configuration reloaded\n", []string{"Reload()"}},
	{"nwayacd", "status", "+OK mod_nwayacd status\nagents: 3\nwaiting: 1 2\n", []string{"StatusLines()"}},
	{"nwayacd", "status json", "{\"agents\":3}\n", []string{"StatusJSON()"}},
	{"nway_set_ext_dialstring", "1000 {ignore_early_media=true}user/1000@${domain}",
		"+OK 1000 dial string set to {ignore_early_media=true}user/1000@${domain}\n",
		[]string{"SetDialString(1000|{ignore_early_media=true}user/1000@${domain})"}},
	{"nway_set_ext_dialstring", "1000 {x='a b'}sofia/gw/x/1000  ", "+OK 1000 dial string set to {x='a b'}sofia/gw/x/1000\n",
		[]string{"SetDialString(1000|{x='a b'}sofia/gw/x/1000)"}},
	{"nway_set_ext_dialstring", "1000 default", "+OK 1000 dial string reset to the default\n", []string{"SetDialString(1000|)"}},
	{"nway_set_callstate", "1000 typing", "+OK 1000 call state typing\n", []string{"SetCallState(1000|typing)"}},
	{"nway_set_callstate", "1000 no_answer", "+OK 1000 call state no_answer\n", []string{"SetCallState(1000|no_answer)"}},
	{"nway_set_group", "110 timeout 20", "+OK group 110 timeout 20s\n", []string{"SetGroupTimeout(110|20s)"}},
	{"nway_set_group", "110 mode 9", "+OK group 110 mode 9 (ring-all)\n", []string{"SetGroupMode(110|9)"}},
	{"nway_add_group", "110 11", "+OK group 110 added, mode 11 (best-skill)\n", []string{"AddGroup(110|11)"}},
	{"nway_set_group", "110 name 市长热线 12345", "+OK group 110 name 市长热线 12345\n", []string{"SetGroupName(110|市长热线 12345)"}},
	// read-modify-write: group 120 has BusyRingTimes 3 and MaxWait 10m
	{"nway_set_group", "120 busy_ring_times 0", "+OK group 120 busy_ring_times 0\n", []string{"Group(120)", "SetGroupGiveUp(120|0|10m0s)"}},
	{"nway_set_group", "120 max_wait 60", "+OK group 120 max_wait 60\n", []string{"Group(120)", "SetGroupGiveUp(120|3|1m0s)"}},
	{"nway_add_blacklist", "110 13800138000", "+OK 13800138000 added to the blacklist of group 110\n", []string{"AddBlacklist(110|13800138000)"}},
	{"nway_rm_blacklist", "110 13800138000", "+OK 13800138000 removed from the blacklist of group 110\n", []string{"RemoveBlacklist(110|13800138000)"}},
	{"nway_add_vip", "110 +8613800138000", "+OK +8613800138000 added to the VIP list of group 110\n", []string{"AddVIP(110|+8613800138000)"}},
	{"nway_rm_vip", "110 *86#", "+OK *86# removed from the VIP list of group 110\n", []string{"RemoveVIP(110|*86#)"}},
	{"nway_set_tier", "1000 110 3", "+OK 1000 tier 3 in group 110\n", []string{"SetTier(1000|110|3)"}},
	{"nway_set_weight", "1000 110 1000", "+OK 1000 weight 1000 in group 110\n", []string{"SetWeight(1000|110|1000)"}},
	{"nway_set_skill", "1000 zh 10", "+OK 1000 skill zh level 10\n", []string{"SetSkill(1000|zh|10)"}},
	{"nway_rm_skill", "1000 billing.v2", "+OK 1000 skill billing.v2 removed\n", []string{"RemoveSkill(1000|billing.v2)"}},
	{"nway_set_group", "110 exit_key #", "+OK group 110 exit_key #\n", []string{"SetGroupOptions(110|memory_first=false tier_wait=0 tier_skip=false skills=- relax_every=0 max_waiting=0 full_overflow=false overflow=- overflow_after=0 overflow_waiting=0 exit_key=# exit_to=- announce=false callback_key=- callback_agent_first=false callback_retries=0 callback_retry_delay=0 announce_every=0 announce_sounds=- callback_gateway=- ring_wait=0)"}},
	{"nway_set_group", "110 skills zh:5,billing:3", "+OK group 110 skills zh:5,billing:3\n", []string{"SetGroupOptions(110|memory_first=false tier_wait=0 tier_skip=false skills=zh:5,billing:3 relax_every=0 max_waiting=0 full_overflow=false overflow=- overflow_after=0 overflow_waiting=0 exit_key=- exit_to=- announce=false callback_key=- callback_agent_first=false callback_retries=0 callback_retry_delay=0 announce_every=0 announce_sounds=- callback_gateway=- ring_wait=0)"}},
	{"nway_set_group", "110 overflow_after 90", "+OK group 110 overflow_after 90\n", []string{"SetGroupOptions(110|memory_first=false tier_wait=0 tier_skip=false skills=- relax_every=0 max_waiting=0 full_overflow=false overflow=- overflow_after=90 overflow_waiting=0 exit_key=- exit_to=- announce=false callback_key=- callback_agent_first=false callback_retries=0 callback_retry_delay=0 announce_every=0 announce_sounds=- callback_gateway=- ring_wait=0)"}},
	{"nway_set_group", "110 memory_first true", "+OK group 110 memory_first true\n", []string{"SetGroupOptions(110|memory_first=true tier_wait=0 tier_skip=false skills=- relax_every=0 max_waiting=0 full_overflow=false overflow=- overflow_after=0 overflow_waiting=0 exit_key=- exit_to=- announce=false callback_key=- callback_agent_first=false callback_retries=0 callback_retry_delay=0 announce_every=0 announce_sounds=- callback_gateway=- ring_wait=0)"}},
	{"nway_set_group", "110 overflow -", "+OK group 110 overflow -\n", []string{"SetGroupOptions(110|memory_first=false tier_wait=0 tier_skip=false skills=- relax_every=0 max_waiting=0 full_overflow=false overflow=- overflow_after=0 overflow_waiting=0 exit_key=- exit_to=- announce=false callback_key=- callback_agent_first=false callback_retries=0 callback_retry_delay=0 announce_every=0 announce_sounds=- callback_gateway=- ring_wait=0)"}},
}

func newFake() *fakeService {
	t0 := time.Date(2021, 5, 30, 17, 0, 2, 0, time.Local)
	return &fakeService{
		version: "1.2.3",
		status:  []string{"agents: 3", "waiting: 1\t2"},
		stJSON:  []byte(`{"agents":3}`),
		exts: []acd.ExtensionInfo{
			{Extension: "1000", JobNumber: "1234", JobEnabled: true, RegStatus: acd.Reged, Seat: acd.SeatIdle,
				CallState: acd.CallReady, LoggedIn: true, Groups: []string{"110", "120"}, LastStatusChange: t0},
			{Extension: "1001", RegStatus: acd.Unreg, Seat: acd.SeatBusy, CallState: acd.CallRest},
		},
		groups: []acd.GroupInfo{
			{Number: "110", Name: "110", Mode: acd.ModeMemoryCyclic, CalloutTimeout: 15 * time.Second,
				CurrentExt: "1000", Members: []string{"1000"}, Waiting: 1, Blacklist: []string{"13800138000"}},
			{Number: "120", Name: "急救\t中心", Mode: acd.ModeRandom, CalloutTimeout: 20 * time.Second,
				Rings:  acd.Rings{Welcome: "a.wav", Blacklist: "b.wav", Busy: "c.wav", Transfer: "d.wav"},
				GiveUp: acd.GiveUp{BusyRingTimes: 3, MaxWait: 10 * time.Minute}},
		},
		waiting: []acd.WaitingInfo{{UUID: "u-1", Number: "13800138000", RealCallinNumber: "013800138000",
			Group: "110", Level: acd.LevelVIP, CallinTime: t0, OfferedTo: "1000"}},
	}
}

func check(t *testing.T, f *fakeService, c runCase) {
	t.Helper()
	f.calls = nil
	got := Run(f, c.name, c.args)
	if got != c.want {
		t.Errorf("Run(%q, %q)\n got %q\nwant %q", c.name, c.args, got, c.want)
	}
	if calls := f.callList(); !reflect.DeepEqual(calls, c.calls) && (len(calls) != 0 || len(c.calls) != 0) {
		t.Errorf("Run(%q, %q) calls %q, want %q", c.name, c.args, calls, c.calls)
	}
}

func TestRunValid(t *testing.T) {
	f := newFake()
	seen := map[string]bool{}
	for _, c := range validCases {
		check(t, f, c)
		seen[c.name] = true
		// The same words with tabs, doubled blanks and ESL's CRLF give the same result.
		c.args = " \t " + strings.ReplaceAll(c.args, " ", " \t  ") + "\r\n"
		if c.name == "nway_set_ext_dialstring" || strings.Contains(c.args, "name") {
			continue // rest-of-line values keep their inner blanks as typed
		}
		check(t, f, c)
	}
	for _, c := range Commands() {
		if !seen[c.Name] && !strings.HasPrefix(c.Name, "nway_list_") && c.Name != "nwayacd" {
			t.Errorf("no valid case for %s", c.Name)
		}
	}
}

func syntaxOf(name string) string { return byName[name].Syntax }

func TestRunNoArgsAndArity(t *testing.T) {
	f := newFake()
	for _, c := range table {
		if c.min > 0 {
			for _, args := range []string{"", "   ", "\t\r\n"} {
				f.calls = nil
				got := Run(f, c.Name, args)
				want := "-ERR missing arguments (got 0, need "
				if !strings.HasPrefix(got, want) || !strings.HasSuffix(got, "\nUsage: "+c.Syntax+"\n") {
					t.Errorf("%s with %q: %q", c.Name, args, got)
				}
				if len(f.calls) != 0 {
					t.Errorf("%s with no args called %v", c.Name, f.callList())
				}
			}
		}
		if c.min > 1 { // one word short
			f.calls = nil
			got := Run(f, c.Name, strings.TrimSpace(strings.Repeat("1000 ", c.min-1)))
			if !strings.HasPrefix(got, "-ERR missing arguments") || len(f.calls) != 0 {
				t.Errorf("%s one short: %q, calls %v", c.Name, got, f.callList())
			}
		}
		if c.max >= 0 { // one word too many (otherwise valid-looking)
			f.calls = nil
			got := Run(f, c.Name, strings.TrimSpace(strings.Repeat("110 ", c.max+1)))
			if !strings.HasPrefix(got, "-ERR too many arguments") || !strings.HasSuffix(got, "Usage: "+c.Syntax+"\n") || len(f.calls) != 0 {
				t.Errorf("%s one too many: %q, calls %v", c.Name, got, f.callList())
			}
		}
	}
}

func TestRunGarbage(t *testing.T) {
	huge := strings.Repeat("1", 5000)
	garbage := []string{
		"a%c", "1000;rm", "'1000'", "10; 00", "\x00", "1000\x00", "\xff\xfe", "-1", "1/2", "１０００", // fullwidth digits
		"1000\x1b[2J", "a,b", "$(reboot)", "1000\v", strings.Repeat("9", 65), huge, huge + " x",
	}
	f := newFake()
	for _, c := range table {
		for _, g := range garbage {
			f.calls = nil
			got := Run(f, c.Name, g)
			if !strings.HasPrefix(got, "-ERR ") || !strings.Contains(got, "\nUsage: "+c.Syntax+"\n") {
				t.Errorf("%s %q: %q", c.Name, g, got)
			}
			if len(f.calls) != 0 {
				t.Errorf("%s %q reached the service: %v", c.Name, g, f.callList())
			}
			if len(got) > 600 {
				t.Errorf("%s: reply of %d bytes echoes the garbage", c.Name, len(got))
			}
		}
	}
}

// Bad values in later positions, one per rule, each must fail before any call.
func TestRunBadValues(t *testing.T) {
	cases := []struct{ name, args, reason string }{
		{"nway_add_ext", "1000 12-34", "bad job number"},
		{"nway_add_ext", "1000 " + strings.Repeat("a", 33), "bad job number"},
		{"nway_add_ext", strings.Repeat("1", 51), "bad extension"},
		{"nway_add_ext", "-1000", "bad extension"},
		{"nway_add_ext", "user/1000", "bad extension"},
		{"nway_set_ext_jobnumber", "1000 1234 yes", "want true or false"},
		{"nway_set_ext_jobnumber", "1000 1234 1", "want true or false"},
		{"nway_add_group", "110 12", "bad mode"},
		{"nway_add_group", "110 -1", "bad mode"},
		{"nway_set_group", "110 mode 12", "bad mode"},
		{"nway_set_group", "110 mode x", "bad mode"},
		{"nway_set_group", "110 exit_key ##", "bad exit_key"},
		{"nway_set_group", "110 callback_gateway bad/gw", "bad callback_gateway"},
		{"nway_set_group", "110 tier_wait 1h", "bad tier_wait"},
		{"nway_set_group", "110 skills zh:0", "bad skills"},
		{"nway_set_group", "110 overflow a/b", "bad overflow"},
		{"nway_set_group", "110 announce yes", "bad announce"},
		{"nway_set_group", "110 colour red", "unknown setting"},
		{"nway_set_tier", "1000 110 0", "bad tier"},
		{"nway_set_tier", "1000 110 10", "bad tier"},
		{"nway_set_tier", "1000 a/b 1", "bad group"},
		{"nway_set_weight", "1000 110 1001", "bad weight"},
		{"nway_set_skill", "1000 zh 11", "bad level"},
		{"nway_set_skill", "1000 z/h 1", "bad skill"},
		{"nway_set_skill", "10@00 zh 1", "bad extension"},
		{"nway_rm_skill", "1000 " + strings.Repeat("s", 33), "bad skill"},
		{"nway_add_group", "110 04x", "bad mode"},
		{"nway_add_group", "110 99999999999999999999", "bad mode"},
		{"nway_add_group", strings.Repeat("1", 51) + " 1", "bad group"},
		{"nway_set_ring_group", "110 a.wav " + strings.Repeat("x", 256), "bad sound file"},
		{"nway_set_ring_group", "110 a.wav\u00a0b.wav", "bad sound file"},
		{"nway_login", "1000 120,a/b", "bad group"},
		{"nway_login", "1000 ,,,", "no group given"},
		{"nway_login", "1000 " + strings.Repeat("1,", 65) + "99", ""}, // duplicates collapse: fine
		{"nway_login", "1000 " + manyGroups(65), "too many groups"},
		{"nwayacd_transfer", "u1 10:2", "bad number"},
		{"nwayacd_transfer", "-u1 1002", "bad uuid"},
		{"nwayacd_transfer", "u/1 1002", "bad uuid"},
		{"nway_threeway", "u1 1003 gw/1", "bad gateway"},
		{"nwayacd", "restart", "unknown subcommand"},
		{"nwayacd", "status xml", "unexpected argument"},
		{"nwayacd", "help me", "unexpected argument"},
		{"nwayacd", "reload now", "unexpected argument"},
		{"nway_list_exts", "xml", "unknown option"},
		{"nway_set_ext_dialstring", "1000 " + strings.Repeat("x", 1025), "bad dial string"},
		{"nway_set_ext_dialstring", "1000 user/\u200b1000", "bad dial string"},
		{"nway_set_callstate", "1000 READY", "bad call state"},
		{"nway_set_callstate", "1000 idle", "bad call state"},
		{"nway_set_group", "110 timeout 0", "bad timeout"},
		{"nway_set_group", "110 timeout 3601", "bad timeout"},
		{"nway_set_group", "110 timeout 20 30", "too many arguments"},
		{"nway_set_group", "110 max_wait 86401", "bad max_wait"},
		{"nway_set_group", "110 busy_ring_times x", "bad busy_ring_times"},
		{"nway_set_group", "110 name " + strings.Repeat("名", 101), "bad group name"},
		// 40 Chinese characters are 120 bytes: the store's varchar(100) refuses them
		{"nway_set_group", "110 name " + strings.Repeat("热", 40), "bad group name"},
		{"nway_set_group", "110 colour red", "unknown setting"},
		{"nway_set_group", "110 name 热线\ufffd", "bad group name"},
		{"nway_set_group", "110 name \u3000", "bad group name"},
		{"nway_add_vip", "110 1380013800!", "bad number"},
		{"nway_rm_blacklist", "11~0 1380", "bad group"},
	}
	f := newFake()
	for _, c := range cases {
		f.calls = nil
		got := Run(f, c.name, c.args)
		if c.reason == "" {
			if !strings.HasPrefix(got, "+OK") {
				t.Errorf("%s %q: %q", c.name, c.args, got)
			}
			continue
		}
		if !strings.HasPrefix(got, "-ERR "+c.reason) || !strings.HasSuffix(got, "\nUsage: "+syntaxOf(c.name)+"\n") {
			t.Errorf("%s %q:\n got %q\nwant -ERR %s…", c.name, c.args, got, c.reason)
		}
		if len(f.calls) != 0 {
			t.Errorf("%s %q reached the service: %v", c.name, c.args, f.callList())
		}
	}
}

func manyGroups(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "%d,", 100+i)
	}
	return b.String()
}

func TestRunServiceErrors(t *testing.T) {
	f := newFake()
	f.errs = map[string]error{
		"SetReady":     acd.Errorf(acd.ErrUnknownExtension, "unknown extension %s", "1000"),
		"AddGroup":     acd.Errorf(acd.ErrExists, "group 110 exists"),
		"AddExtension": acd.Errorf(acd.ErrBadArgument, "extension reserved"),
		"Reload":       errors.New("open nwayacd.conf.xml: no such file"),
		"HoldUUID":     acd.Errorf(acd.ErrNoCall, "no call\nsecond line"),
		"Group":        acd.Errorf(acd.ErrUnknownGroup, "unknown group 999"),
	}
	for _, c := range []runCase{
		{"nway_ready", "1000", "-ERR unknown extension 1000\nUsage: nway_ready <ext>\n", []string{"SetReady(1000)"}},
		{"nway_add_group", "110 1", "-ERR group 110 exists\nUsage: " + syntaxOf("nway_add_group") + "\n", []string{"AddGroup(110|1)"}},
		{"nway_add_ext", "1000", "-ERR extension reserved\nUsage: nway_add_ext <ext> [job_number]\n", []string{"AddExtension(1000|)"}},
		{"nwayacd", "reload", "-ERR internal error: open nwayacd.conf.xml: no such file\nUsage: nwayacd help|status [json]|reload\n", []string{"Reload()"}},
		{"nway_uuid_hold", "u1", "-ERR no call second line\nUsage: nway_uuid_hold <uuid>\n", []string{"HoldUUID(u1)"}},
		// a read that fails stops the write
		{"nway_set_group", "999 max_wait 5", "-ERR unknown group 999\nUsage: " + syntaxOf("nway_set_group") + "\n", []string{"Group(999)"}},
		{"nway_set_ring_group", "999 a.wav", "-ERR unknown group 999\nUsage: " + syntaxOf("nway_set_ring_group") + "\n", []string{"Group(999)"}},
	} {
		check(t, f, c)
	}
}

func TestRunEdges(t *testing.T) {
	f := newFake()
	if got := Run(f, "nway_nope", "1000"); got != "-ERR unknown command \"nway_nope\"\nTry: nwayacd help\n" {
		t.Errorf("unknown command: %q", got)
	}
	if got := Run(nil, "nway_ready", "1000"); got != "-ERR mod_nwayacd is not running\nUsage: nway_ready <ext>\n" {
		t.Errorf("nil service: %q", got)
	}
	f.panicOn = "SetBusy"
	if got := Run(f, "nway_busy", "1000"); got != "-ERR internal error: boom in SetBusy\nUsage: nway_busy <ext>\n" {
		t.Errorf("panic: %q", got)
	}
	f.panicOn = ""
	help := Run(f, "nwayacd", "help")
	if !strings.HasPrefix(help, "+OK mod_nwayacd commands:\n") {
		t.Errorf("help: %q", help)
	}
	for _, c := range Commands() {
		if !strings.Contains(help, "\n"+c.Syntax+"\n\t"+c.Description+"\n") {
			t.Errorf("help lacks %s", c.Name)
		}
	}
	f.stJSON = []byte("{broken")
	if got := Run(f, "nwayacd", "status json"); got != "-ERR status unavailable\nUsage: nwayacd help|status [json]|reload\n" {
		t.Errorf("bad status json: %q", got)
	}
	f.version = "mod_nwayacd 2.0\n(dev)"
	if got := Run(f, "nwayacd_version", ""); got != "+OK mod_nwayacd 2.0 (dev)\n" {
		t.Errorf("version: %q", got)
	}
}

func TestListings(t *testing.T) {
	f := newFake()
	check(t, f, runCase{"nway_list_exts", "",
		"extension\tjob_number\tjob_enabled\treg_state\tseat_status\tcall_state\tlogged_in\tgroups\tlast_change\n" +
			"1000\t1234\ttrue\treged\tidle\tready\ttrue\t110,120\t2021-05-30 17:00:02\n" +
			"1001\t\tfalse\tunreg\tbusy\trest\tfalse\t\t\n" +
			"\n2 total.\n", []string{"Extensions()"}})
	check(t, f, runCase{"nway_list_groups", " ",
		"number\tname\tmode\ttimeout\tcurrent_ext\tmembers\twaiting\twelcome_ring\tblacklist_ring\tbusy_ring\ttransfer_ring\tbusy_ring_times\tmax_wait\n" +
			"110\t110\t5\t15\t1000\t1000\t1\t\t\t\t\t0\t0\n" +
			"120\t急救 中心\t1\t20\t\t\t0\ta.wav\tb.wav\tc.wav\td.wav\t3\t600\n" +
			"\n2 total.\n", []string{"Groups()"}})
	check(t, f, runCase{"nway_list_queue", "",
		"uuid\tnumber\treal_callin_number\tgroup\tlevel\tcallin_time\toffered_to\n" +
			"u-1\t13800138000\t013800138000\t110\tvip\t2021-05-30 17:00:02\t1000\n" +
			"\n1 total.\n", []string{"Waiting()"}})

	empty := &fakeService{}
	if got := Run(empty, "nway_list_queue", ""); got != "uuid\tnumber\treal_callin_number\tgroup\tlevel\tcallin_time\toffered_to\n\n0 total.\n" {
		t.Errorf("empty queue: %q", got)
	}
	for _, n := range []string{"nway_list_exts", "nway_list_groups", "nway_list_queue"} {
		if got := Run(empty, n, "json"); got != "[]\n" {
			t.Errorf("%s json on nothing: %q", n, got)
		}
	}

	var exts []map[string]any
	if err := json.Unmarshal([]byte(Run(f, "nway_list_exts", "json")), &exts); err != nil {
		t.Fatal(err)
	}
	want0 := map[string]any{"extension": "1000", "job_number": "1234", "job_enabled": true, "dial_string": "",
		"reg_state": "reged", "seat_status": "idle", "call_state": "ready", "logged_in": true,
		"groups": []any{"110", "120"}, "call_uuid": "", "agent_uuid": "", "last_change": "2021-05-30 17:00:02"}
	if len(exts) != 2 || !reflect.DeepEqual(exts[0], want0) || !reflect.DeepEqual(exts[1]["groups"], []any{}) {
		t.Errorf("exts json: %v", exts)
	}
	var groups []map[string]any
	if err := json.Unmarshal([]byte(Run(f, "nway_list_groups", "json")), &groups); err != nil {
		t.Fatal(err)
	}
	if len(groups) != 2 || groups[1]["name"] != "急救\t中心" || groups[1]["mode"] != 1.0 || groups[1]["mode_name"] != "random" ||
		groups[1]["max_wait"] != 600.0 || groups[1]["busy_ring"] != "c.wav" ||
		!reflect.DeepEqual(groups[0]["blacklist"], []any{"13800138000"}) || !reflect.DeepEqual(groups[0]["vip"], []any{}) {
		t.Errorf("groups json: %v", groups)
	}
	var q []map[string]any
	if err := json.Unmarshal([]byte(Run(f, "nway_list_queue", "json")), &q); err != nil {
		t.Fatal(err)
	}
	if len(q) != 1 || q[0]["uuid"] != "u-1" || q[0]["level"] != "vip" || q[0]["callin_time"] != "2021-05-30 17:00:02" {
		t.Errorf("queue json: %v", q)
	}
}

// readyOnly measures the console, not the fake's recording.
type readyOnly struct{ *fakeService }

func (readyOnly) SetReady(string) error { return nil }

func BenchmarkRunReady(b *testing.B) {
	f := readyOnly{&fakeService{}}
	b.ReportAllocs()
	for b.Loop() {
		if r := Run(f, "nway_ready", "1000"); len(r) != len("+OK 1000 ready\n") {
			b.Fatal(r)
		}
	}
}

func BenchmarkListExts(b *testing.B) {
	f := &fakeService{}
	for i := range 500 {
		f.exts = append(f.exts, acd.ExtensionInfo{Extension: fmt.Sprintf("1%03d", i),
			RegStatus: acd.Reged, Seat: acd.SeatIdle, CallState: acd.CallReady, LoggedIn: true,
			Groups: []string{"110"}, LastStatusChange: time.Now()})
	}
	b.ReportAllocs()
	for b.Loop() {
		f.calls = f.calls[:0]
		_ = Run(f, "nway_list_exts", "")
	}
	b.ReportMetric(500, "rows/op")
}

// Every -ERR carries the usage line, also when the service refuses.
func TestLoginRefusalCarriesUsage(t *testing.T) {
	f := newFake()
	f.errs = map[string]error{"Login": acd.Errorf(acd.ErrUnknownGroup, "unknown group a")}
	got := Run(f, "nway_login", "1000 120,119,110 a b c")
	want := "-ERR unknown group a\nUsage: " + syntaxOf("nway_login") + "\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// The injection corpus never reaches the service; every legitimate dial
// string does, unchanged.
func TestDialStringCorpus(t *testing.T) {
	f := newFake()
	for _, d := range identtest.GoodDials {
		f.calls = nil
		if got := Run(f, "nway_set_ext_dialstring", "1000 "+d); !strings.HasPrefix(got, "+OK") {
			t.Errorf("good dial %q: %q", d, got)
		}
		if calls := f.callList(); len(calls) != 1 || !strings.Contains(calls[0], d) {
			t.Errorf("good dial %q: service calls %q", d, calls)
		}
	}
	for _, d := range identtest.BadDials {
		if d == "" {
			continue
		}
		f.calls = nil
		got := Run(f, "nway_set_ext_dialstring", "1000 "+d)
		if !strings.HasPrefix(got, "-ERR ") || !strings.Contains(got, "\nUsage: ") {
			t.Errorf("bad dial %q: %q", d, got)
		}
		if len(f.calls) != 0 {
			t.Errorf("bad dial %q reached the service: %q", d, f.callList())
		}
	}
}
