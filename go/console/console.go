// Package console is the fs_cli / ESL command layer (SPEC §6): it parses the
// argument string FreeSWITCH hands an API command, validates every word before
// the service sees it, calls the service, and renders the reply text
// ("+OK …", "-ERR …\nUsage: …", or a listing).
//
// Commands() is the one list of API commands: go/bridge/shimgen writes it
// into include/nwayacd_commands.h (go generate ./go/bridge/; a test fails
// when that header is stale), so the C shim registers exactly these names,
// syntaxes, descriptions and completions, and forwards (name, args) to Run.
//
// Argument rules (decided here, the seed leaves them open):
//   - words are separated by blanks and tabs; a trailing CR/LF is ignored; other
//     control characters, or more than 4096 bytes, refuse the whole command;
//   - extensions, groups, phone numbers, job numbers, call UUIDs, gateways,
//     group names, sound files and dial strings are checked by package ident,
//     the one definition the core and the REST API use too;
//   - nway_set_ring_group takes 1–4 files after the group, in the order welcome,
//     blacklist, busy, transfer; "-" means no file (so do an empty pair of single or double quotes),
//     and files not given keep their current value; a job number "-" clears it;
//   - nway_login's groups are comma-separated (blanks after commas are allowed);
//   - nway_set_ext_dialstring and nway_set_group … name take the rest of the line;
//   - replies: "+OK …\n"; every refusal, ours or the service's,
//     "-ERR reason\nUsage: syntax\n";
//     listings are tab-separated with a header and "N total." like `show`, or a
//     JSON array with "json".
package console

import (
	"errors"
	"fmt"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/hostexec"
)

// Service is the part of the core (*service.Service) the console drives.
type Service interface {
	AddExtension(ext, jobNumber string) error
	SetJobNumber(ext, jobNumber string, enabled bool) error
	RemoveExtension(ext string) error
	SetRegistered(ext string, reged bool) error
	SetDialString(ext, dial string) error
	Extensions() []acd.ExtensionInfo

	AddGroup(number string, mode acd.Mode) error
	SetGroupName(number, name string) error
	SetGroupMode(number string, m acd.Mode) error
	SetGroupTimeout(number string, d time.Duration) error
	SetGroupGiveUp(number string, g acd.GiveUp) error
	RemoveGroup(number string) error
	SetGroupRings(number string, r acd.Rings) error
	Groups() []acd.GroupInfo
	Group(number string) (acd.GroupInfo, error)
	AddBlacklist(group, number string) error
	RemoveBlacklist(group, number string) error
	SetGroupOptions(number string, fn func(*acd.GroupOptions)) error
	SetTier(ext, group string, tier int) error
	SetWeight(ext, group string, weight int) error
	SetSkill(ext, skill string, level int) error
	RemoveSkill(ext, skill string) error
	AddVIP(group, number string) error
	RemoveVIP(group, number string) error

	Login(ext string, groups []string) error
	Logout(ext string) error
	SetReady(ext string) error
	SetBusy(ext string) error
	SetCallState(ext string, st acd.CallState) error

	Waiting() []acd.WaitingInfo

	TransferUUID(uuid, to string) error
	HoldUUID(uuid string) error
	UnholdUUID(uuid string) error
	ThreeWayUUID(uuid, number, gateway string) error

	Version() string
	// StatusLines renders service.Status as "key: value" lines for `nwayacd status`.
	StatusLines() []string
	// StatusJSON is service.Status as a JSON object for `nwayacd status json`.
	StatusJSON() []byte
	Reload() error
}

// Command describes one FreeSWITCH API command.
type Command struct {
	Name        string
	Syntax      string // usage, starting with Name; also the API's syntax string
	Description string
	// Completions are console completion lines for switch_console_set_complete,
	// without the leading "add " (e.g. "nwayacd status json").
	Completions []string
}

type cmd struct {
	Command
	min, max int // word count; max < 0: the last value runs to the end of the line
	run      func(svc Service, c *cmd, a argv) string
}

var (
	table  []*cmd
	byName map[string]*cmd
)

// Commands returns the command table in registration order (a copy).
func Commands() []Command {
	out := make([]Command, len(table))
	for i, c := range table {
		out[i] = c.Command
		out[i].Completions = append([]string(nil), c.Completions...)
	}
	return out
}

// Run executes API command name with FreeSWITCH's raw argument string and
// returns the whole reply. It never panics.
func Run(svc Service, name, args string) (reply string) {
	c := byName[name]
	if c == nil {
		return "-ERR unknown command " + quote(name) + "\nTry: nwayacd help\n"
	}
	if svc == nil {
		return usage(c, "mod_nwayacd is not running")
	}
	if len(args) > maxArgsLen {
		return usage(c, fmt.Sprintf("arguments too long (%d bytes, at most %d)", len(args), maxArgsLen))
	}
	if ch, bad := badControl(args); bad {
		return usage(c, fmt.Sprintf("control character 0x%02x in arguments", ch))
	}
	a := split(args)
	switch {
	case a.n < c.min:
		return usage(c, fmt.Sprintf("missing arguments (got %d, need %d)", a.n, c.min))
	case c.max >= 0 && a.n > c.max:
		return usage(c, fmt.Sprintf("too many arguments (got %d, at most %d)", a.n, c.max))
	}
	// A panic here would take every call on the box with it (ARCHITECTURE.md).
	defer func() {
		if p := recover(); p != nil {
			reply = usage(c, "internal error: "+oneLine(fmt.Sprint(p)))
		}
	}()
	return c.run(svc, c, a)
}

func ok(msg string) string { return "+OK " + msg + "\n" }

func usage(c *cmd, reason string) string {
	return "-ERR " + reason + "\nUsage: " + c.Syntax + "\n"
}

// fail maps a service error to a reply; every refusal carries the usage line.
func fail(c *cmd, err error) string {
	msg := oneLine(err.Error())
	var he *hostexec.Error
	// FreeSWITCH's own refusal, silence or a full queue is not ours to call internal.
	if !errors.As(err, &he) && acd.CodeOf(err) == 0 {
		msg = "internal error: " + msg
	}
	return usage(c, msg)
}

func init() {
	table = commandTable()
	byName = make(map[string]*cmd, len(table))
	for _, c := range table {
		byName[c.Name] = c
	}
}
