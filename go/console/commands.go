package console

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/groupopt"
	"github.com/nwayacd/mod_nwayacd/go/ident"
)

// Console completion lists the shim fills from the module's own extensions
// and groups (mod/mod_nwayacd.c registers them; shimgen refuses others).
const (
	completeExts   = "::nwayacd::list_exts"
	completeGroups = "::nwayacd::list_groups"
)

const modeHelp = acd.ModeHelp

// The argument checks below return "" when the word is fine, else the reply.
// What a word may be is package ident's, shared with the core and REST.

func checkExt(c *cmd, s string) string    { return checkIdent(c, ident.Extension(s)) }
func checkGroup(c *cmd, s string) string  { return checkIdent(c, ident.Group(s)) }
func checkNumber(c *cmd, s string) string { return checkIdent(c, ident.Caller(s)) }
func checkUUID(c *cmd, s string) string   { return checkIdent(c, ident.UUID(s)) }

// checkIdent turns an ident refusal into the reply, with the usage line.
func checkIdent(c *cmd, err error) string {
	if err == nil {
		return ""
	}
	return usage(c, oneLine(err.Error()))
}

func checkJSONFlag(c *cmd, a argv) (asJSON bool, reply string) {
	if a.n == 0 {
		return false, ""
	}
	if a.f[0] != "json" {
		return false, usage(c, "unknown option "+quote(a.f[0]))
	}
	return true, ""
}

// extCmd is a command taking exactly one extension.
func extCmd(name, desc string, do func(Service, string) error, done string) *cmd {
	return &cmd{
		Command: Command{Name: name, Syntax: name + " <ext>", Description: desc,
			Completions: []string{name + " " + completeExts}},
		min: 1, max: 1,
		run: func(svc Service, c *cmd, a argv) string {
			ext := a.f[0]
			if r := checkExt(c, ext); r != "" {
				return r
			}
			if err := do(svc, ext); err != nil {
				return fail(c, err)
			}
			return "+OK " + ext + " " + done + "\n" // one allocation: the hot path
		},
	}
}

// uuidCmd is a command taking exactly one call UUID.
func uuidCmd(name, desc string, do func(Service, string) error, done string) *cmd {
	return &cmd{
		Command: Command{Name: name, Syntax: name + " <uuid>", Description: desc,
			Completions: []string{name + " ::console::list_uuid"}},
		min: 1, max: 1,
		run: func(svc Service, c *cmd, a argv) string {
			uuid := a.f[0]
			if r := checkUUID(c, uuid); r != "" {
				return r
			}
			if err := do(svc, uuid); err != nil {
				return fail(c, err)
			}
			return "+OK " + uuid + " " + done + "\n"
		},
	}
}

// listCmd is a listing taking an optional "json".
func listCmd(name, desc string, render func(Service, bool) string) *cmd {
	return &cmd{
		Command: Command{Name: name, Syntax: name + " [json]", Description: desc,
			Completions: []string{name + " json"}},
		min: 0, max: 1,
		run: func(svc Service, c *cmd, a argv) string {
			asJSON, r := checkJSONFlag(c, a)
			if r != "" {
				return r
			}
			return render(svc, asJSON)
		},
	}
}

// memberListCmd adds or removes a number on a group's blacklist or VIP list.
func memberListCmd(name, desc string, do func(Service, string, string) error, done string) *cmd {
	return &cmd{
		Command: Command{Name: name, Syntax: name + " <group> <number>", Description: desc,
			Completions: []string{name + " " + completeGroups}},
		min: 2, max: 2,
		run: func(svc Service, c *cmd, a argv) string {
			g, num := a.f[0], a.f[1]
			if r := checkGroup(c, g); r != "" {
				return r
			}
			if r := checkNumber(c, num); r != "" {
				return r
			}
			if err := do(svc, g, num); err != nil {
				return fail(c, err)
			}
			return ok(num + " " + done + " of group " + g)
		},
	}
}

// commandTable is long on purpose: one entry per command, its name, syntax,
// description and argument checks side by side, in registration order.
func seedCommands() []*cmd {
	return []*cmd{
		{
			Command: Command{Name: "nway_add_ext", Syntax: "nway_add_ext <ext> [job_number]",
				Description: "add an extension, optionally with its job number"},
			min: 1, max: 2,
			run: func(svc Service, c *cmd, a argv) string {
				ext, job := a.f[0], ""
				if r := checkExt(c, ext); r != "" {
					return r
				}
				if a.n == 2 {
					job = a.f[1]
					if r := checkIdent(c, ident.JobNumber(job)); r != "" {
						return r
					}
				}
				if err := svc.AddExtension(ext, job); err != nil {
					return fail(c, err)
				}
				if job == "" {
					return ok("extension " + ext + " added")
				}
				return ok("extension " + ext + " added with job number " + job)
			},
		},
		{
			Command: Command{Name: "nway_set_ext_jobnumber", Syntax: "nway_set_ext_jobnumber <ext> <job_number|-> <true|false>",
				Description: "set an extension's job number and whether it is enabled",
				Completions: []string{"nway_set_ext_jobnumber " + completeExts}},
			min: 3, max: 3,
			run: func(svc Service, c *cmd, a argv) string {
				ext, job := a.f[0], a.f[1]
				if r := checkExt(c, ext); r != "" {
					return r
				}
				if noneWord(job) {
					job = ""
				} else if r := checkIdent(c, ident.JobNumber(job)); r != "" {
					return r
				}
				on, good := parseBool(a.f[2])
				if !good {
					return usage(c, "want true or false, got "+quote(a.f[2]))
				}
				if err := svc.SetJobNumber(ext, job, on); err != nil {
					return fail(c, err)
				}
				state := "disabled"
				if on {
					state = "enabled"
				}
				if job == "" {
					return ok("extension " + ext + " job number cleared")
				}
				return ok("extension " + ext + " job number " + job + " " + state)
			},
		},
		extCmd("nway_rm_ext", "remove an extension", Service.RemoveExtension, "removed"),
		extCmd("nway_set_reged_ext", "mark an extension registered",
			func(s Service, ext string) error { return s.SetRegistered(ext, true) }, "reged"),
		extCmd("nway_set_unreg_ext", "mark an extension unregistered",
			func(s Service, ext string) error { return s.SetRegistered(ext, false) }, "unreg"),
		{
			Command: Command{Name: "nway_add_group", Syntax: "nway_add_group <group> <mode> (mode: " + modeHelp + ")",
				Description: "add a group (queue) with a routing mode"},
			min: 2, max: 2,
			run: func(svc Service, c *cmd, a argv) string {
				g := a.f[0]
				if r := checkGroup(c, g); r != "" {
					return r
				}
				m, good := parseUint(a.f[1], int(acd.MaxMode))
				if !good {
					return usage(c, "bad mode "+quote(a.f[1])+" (0-"+strconv.Itoa(int(acd.MaxMode))+")")
				}
				mode := acd.Mode(m)
				if err := svc.AddGroup(g, mode); err != nil {
					return fail(c, err)
				}
				return ok("group " + g + " added, mode " + strconv.Itoa(m) + " (" + mode.String() + ")")
			},
		},
		{
			Command: Command{Name: "nway_rm_group", Syntax: "nway_rm_group <group>", Description: "remove a group",
				Completions: []string{"nway_rm_group " + completeGroups}},
			min: 1, max: 1,
			run: func(svc Service, c *cmd, a argv) string {
				g := a.f[0]
				if r := checkGroup(c, g); r != "" {
					return r
				}
				if err := svc.RemoveGroup(g); err != nil {
					return fail(c, err)
				}
				return ok("group " + g + " removed")
			},
		},
		{
			Command: Command{Name: "nway_set_ring_group",
				Syntax:      "nway_set_ring_group <group> <welcome> [blacklist] [busy] [transfer] (\"-\" = none, omitted = unchanged)",
				Description: "set a group's welcome, blacklist, busy and transfer sound files",
				Completions: []string{"nway_set_ring_group " + completeGroups}},
			min: 2, max: 5,
			run: runSetRings,
		},
		listCmd("nway_list_exts", "list all extensions and their agent state", renderExts),
		listCmd("nway_list_groups", "list all groups", renderGroups),
		{
			Command: Command{Name: "nway_login", Syntax: "nway_login <ext> <group[,group...]>",
				Description: "log an agent in to one or more groups",
				Completions: []string{"nway_login " + completeExts + " " + completeGroups}},
			min: 2, max: -1,
			run: runLogin,
		},
		extCmd("nway_logout", "log an agent out of all its groups", Service.Logout, "logged out"),
		extCmd("nway_busy", "set an agent busy", Service.SetBusy, "busy"),
		extCmd("nway_ready", "set an agent ready (idle)", Service.SetReady, "ready"),
		{
			Command: Command{Name: "nwayacd_transfer", Syntax: "nwayacd_transfer <uuid> <ext>",
				Description: "transfer a call to an extension or number",
				Completions: []string{"nwayacd_transfer ::console::list_uuid"}},
			min: 2, max: 2,
			run: func(svc Service, c *cmd, a argv) string {
				uuid, to := a.f[0], a.f[1]
				if r := checkUUID(c, uuid); r != "" {
					return r
				}
				if r := checkNumber(c, to); r != "" {
					return r
				}
				if err := svc.TransferUUID(uuid, to); err != nil {
					return fail(c, err)
				}
				return ok(uuid + " transferred to " + to)
			},
		},
		{
			Command: Command{Name: "nwayacd_version", Syntax: "nwayacd_version", Description: "print the module version"},
			min:     0, max: 0,
			run: func(svc Service, c *cmd, a argv) string {
				v := oneLine(svc.Version())
				if !strings.HasPrefix(v, "mod_nwayacd") {
					v = "mod_nwayacd " + v
				}
				return ok(v)
			},
		},
		uuidCmd("nway_uuid_hold", "put a call on hold (the other party hears music)", Service.HoldUUID, "on hold"),
		uuidCmd("nway_uuid_unhold", "take a call off hold", Service.UnholdUUID, "off hold"),
		{
			Command: Command{Name: "nway_threeway", Syntax: "nway_threeway <uuid> <number> [gateway]",
				Description: "add a phone (via a gateway when external) to a call",
				Completions: []string{"nway_threeway ::console::list_uuid"}},
			min: 2, max: 3,
			run: func(svc Service, c *cmd, a argv) string {
				uuid, num, gw := a.f[0], a.f[1], ""
				if r := checkUUID(c, uuid); r != "" {
					return r
				}
				if r := checkNumber(c, num); r != "" {
					return r
				}
				if a.n == 3 {
					gw = a.f[2]
					if r := checkIdent(c, ident.Gateway(gw)); r != "" {
						return r
					}
				}
				if err := svc.ThreeWayUUID(uuid, num, gw); err != nil {
					return fail(c, err)
				}
				if gw != "" {
					return ok(num + " via " + gw + " invited to " + uuid)
				}
				return ok(num + " invited to " + uuid)
			},
		},
		{
			Command: Command{Name: "nwayacd", Syntax: "nwayacd help|status [json]|reload",
				Description: "module commands: this help, status, reload the configuration",
				Completions: []string{"nwayacd help", "nwayacd status", "nwayacd status json", "nwayacd reload"}},
			min: 1, max: 2,
			run: runModule,
		},
		{
			Command: Command{Name: "nway_set_ext_dialstring", Syntax: "nway_set_ext_dialstring <ext> <dial-string|default>",
				Description: "set how an extension is dialled (default: the node's template)",
				Completions: []string{"nway_set_ext_dialstring " + completeExts + " default"}},
			min: 2, max: -1,
			run: func(svc Service, c *cmd, a argv) string {
				ext := a.f[0]
				if r := checkExt(c, ext); r != "" {
					return r
				}
				dial := a.rest(1)
				if dial == "default" {
					dial = ""
				} else if r := checkIdent(c, ident.Dial(dial)); r != "" {
					return r
				}
				if err := svc.SetDialString(ext, dial); err != nil {
					return fail(c, err)
				}
				if dial == "" {
					return ok(ext + " dial string reset to the default")
				}
				return ok(ext + " dial string set to " + dial)
			},
		},
		{
			Command: Command{Name: "nway_set_callstate", Syntax: "nway_set_callstate <ext> <ring|talking|ivr|ready|typing|no_answer|no_ready|busy|rest>",
				Description: "set an agent's call state",
				Completions: []string{"nway_set_callstate " + completeExts}},
			min: 2, max: 2,
			run: func(svc Service, c *cmd, a argv) string {
				ext := a.f[0]
				if r := checkExt(c, ext); r != "" {
					return r
				}
				st, err := acd.ParseCallState(a.f[1])
				if err != nil {
					return usage(c, "bad call state "+quote(a.f[1]))
				}
				if err := svc.SetCallState(ext, st); err != nil {
					return fail(c, err)
				}
				return ok(ext + " call state " + string(st))
			},
		},
		{
			Command: Command{Name: "nway_set_group", Syntax: setGroupSyntax(),
				Description: "set a group's ring timeout (s), name, routing mode (0-11), busy rings before hang-up (0: never), max wait (s, 0: none) or a routing option (go/acd/ROUTING.md)",
				Completions: setGroupCompletions()},
			min: 3, max: -1,
			run: runSetGroup,
		},
		memberListCmd("nway_add_blacklist", "add a caller number to a group's blacklist", Service.AddBlacklist, "added to the blacklist"),
		memberListCmd("nway_rm_blacklist", "remove a caller number from a group's blacklist", Service.RemoveBlacklist, "removed from the blacklist"),
		memberListCmd("nway_add_vip", "add a caller number to a group's VIP list", Service.AddVIP, "added to the VIP list"),
		memberListCmd("nway_rm_vip", "remove a caller number from a group's VIP list", Service.RemoveVIP, "removed from the VIP list"),
		listCmd("nway_list_queue", "list the calls waiting in the queues", renderQueue),
	}
}

// commandTable is every command: the seed's, then issue 12's routing ones.
func commandTable() []*cmd { return append(seedCommands(), routingCommands()...) }

func runSetRings(svc Service, c *cmd, a argv) string {
	g := a.f[0]
	if r := checkGroup(c, g); r != "" {
		return r
	}
	var given [4]string
	for i := 1; i < a.n; i++ {
		f := a.f[i]
		if noneWord(f) {
			f = ""
		} else if r := checkIdent(c, ident.Ring(f)); r != "" {
			return r
		}
		given[i-1] = f
	}
	var r acd.Rings
	if a.n < 5 { // keep the rings not given
		cur, err := svc.Group(g)
		if err != nil {
			return fail(c, err)
		}
		r = cur.Rings
	}
	slots := [4]*string{&r.Welcome, &r.Blacklist, &r.Busy, &r.Transfer}
	for i := 0; i < a.n-1; i++ {
		*slots[i] = given[i]
	}
	if err := svc.SetGroupRings(g, r); err != nil {
		return fail(c, err)
	}
	return ok("group " + g + " rings: welcome " + ringText(r.Welcome) + ", blacklist " + ringText(r.Blacklist) +
		", busy " + ringText(r.Busy) + ", transfer " + ringText(r.Transfer))
}

func ringText(s string) string {
	if s == "" {
		return "-"
	}
	return oneLine(s)
}

func runLogin(svc Service, c *cmd, a argv) string {
	ext := a.f[0]
	if r := checkExt(c, ext); r != "" {
		return r
	}
	// Groups are comma-separated; blanks after commas are tolerated.
	var groups []string
	for _, w := range strings.FieldsFunc(a.rest(1), func(r rune) bool { return r == ',' || r < 0x80 && isSep(byte(r)) }) {
		if r := checkGroup(c, w); r != "" {
			return r
		}
		dup := false
		for _, g := range groups {
			dup = dup || g == w
		}
		if !dup {
			groups = append(groups, w)
		}
		if len(groups) > maxGroups {
			return usage(c, "too many groups (at most "+strconv.Itoa(maxGroups)+")")
		}
	}
	if len(groups) == 0 {
		return usage(c, "no group given")
	}
	if err := svc.Login(ext, groups); err != nil {
		return fail(c, err)
	}
	return ok(ext + " logged in to " + strings.Join(groups, ","))
}

func runSetGroup(svc Service, c *cmd, a argv) string {
	g, field := a.f[0], a.f[1]
	if r := checkGroup(c, g); r != "" {
		return r
	}
	if field == "name" {
		name := a.rest(2)
		if r := checkIdent(c, ident.GroupName(name)); r != "" {
			return r
		}
		if err := svc.SetGroupName(g, name); err != nil {
			return fail(c, err)
		}
		return ok("group " + g + " name " + name)
	}
	if a.n > 3 {
		return usage(c, "too many arguments (got "+strconv.Itoa(a.n)+", at most 3)")
	}
	val := a.f[2]
	switch field {
	case "timeout":
		n, good := parseUint(val, maxTimeoutSec)
		if !good || n == 0 {
			return usage(c, "bad timeout "+quote(val)+" (seconds, 1-"+strconv.Itoa(maxTimeoutSec)+")")
		}
		if err := svc.SetGroupTimeout(g, time.Duration(n)*time.Second); err != nil {
			return fail(c, err)
		}
		return ok("group " + g + " timeout " + val + "s")
	case "mode":
		m, good := parseUint(val, int(acd.MaxMode))
		if !good {
			return usage(c, "bad mode "+quote(val)+" (0-"+strconv.Itoa(int(acd.MaxMode))+")")
		}
		if err := svc.SetGroupMode(g, acd.Mode(m)); err != nil {
			return fail(c, err)
		}
		return ok("group " + g + " mode " + strconv.Itoa(m) + " (" + acd.Mode(m).String() + ")")
	case "busy_ring_times", "max_wait":
		max := maxBusyRingTime
		if field == "max_wait" {
			max = maxMaxWaitSec
		}
		n, good := parseUint(val, max)
		if !good {
			return usage(c, "bad "+field+" "+quote(val)+" (0-"+strconv.Itoa(max)+")")
		}
		cur, err := svc.Group(g)
		if err != nil {
			return fail(c, err)
		}
		gu := cur.GiveUp
		if field == "max_wait" {
			gu.MaxWait = time.Duration(n) * time.Second
		} else {
			gu.BusyRingTimes = n
		}
		if err := svc.SetGroupGiveUp(g, gu); err != nil {
			return fail(c, err)
		}
		return ok("group " + g + " " + field + " " + strconv.Itoa(n))
	}
	if groupopt.Known(field) {
		return setGroupOption(svc, c, g, field, val)
	}
	// The usage line under it lists every setting; listing them here too
	// made a refusal over 700 bytes (found by FuzzRun).
	return usage(c, "unknown setting "+quote(field))
}

func runModule(svc Service, c *cmd, a argv) string {
	sub := a.f[0]
	switch {
	case sub == "help" && a.n == 1:
		return helpText()
	case sub == "reload" && a.n == 1:
		if err := svc.Reload(); err != nil {
			return fail(c, err)
		}
		return ok("configuration reloaded")
	case sub == "status" && a.n == 1:
		var b strings.Builder
		b.WriteString("+OK mod_nwayacd status\n")
		for _, l := range svc.StatusLines() {
			b.WriteString(oneLine(l))
			b.WriteByte('\n')
		}
		return b.String()
	case sub == "status" && a.f[1] == "json":
		js := svc.StatusJSON()
		if !json.Valid(js) {
			return usage(c, "status unavailable")
		}
		return string(js) + "\n"
	case sub == "help" || sub == "reload" || sub == "status":
		return usage(c, "unexpected argument "+quote(a.f[1]))
	}
	return usage(c, "unknown subcommand "+quote(sub))
}

func helpText() string {
	var b strings.Builder
	b.WriteString("+OK mod_nwayacd commands:\n")
	for _, c := range table {
		b.WriteString(c.Syntax)
		b.WriteString("\n\t")
		b.WriteString(c.Description)
		b.WriteByte('\n')
	}
	return b.String()
}
