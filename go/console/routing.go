package console

import (
	"strconv"
	"strings"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/groupopt"
)

// Commands of issue 12's routing settings (go/acd/ROUTING.md): tiers,
// weights, skills, and the group options nway_set_group takes besides its
// seed settings.

func checkSkill(c *cmd, s string) string {
	if err := acd.ValidSkillName(s); err != nil {
		return usage(c, "bad skill: "+oneLine(err.Error()))
	}
	return ""
}

// memberNumCmd is `<name> <ext> <group> <n>` with n in [1,max].
func memberNumCmd(name, what string, max int, desc string, do func(Service, string, string, int) error) *cmd {
	return &cmd{
		Command: Command{Name: name, Syntax: name + " <ext> <group> <" + what + "> (" + what + ": 1-" + strconv.Itoa(max) + ")",
			Description: desc, Completions: []string{name + " " + completeExts + " " + completeGroups}},
		min: 3, max: 3,
		run: func(svc Service, c *cmd, a argv) string {
			ext, g := a.f[0], a.f[1]
			if r := checkExt(c, ext); r != "" {
				return r
			}
			if r := checkGroup(c, g); r != "" {
				return r
			}
			n, good := parseUint(a.f[2], max)
			if !good || n < 1 {
				return usage(c, "bad "+what+" "+quote(a.f[2])+" (1-"+strconv.Itoa(max)+")")
			}
			if err := do(svc, ext, g, n); err != nil {
				return fail(c, err)
			}
			return ok(ext + " " + what + " " + strconv.Itoa(n) + " in group " + g)
		},
	}
}

// checkExtSkill checks an agent and a skill name, in that order.
func checkExtSkill(c *cmd, ext, sk string) string {
	if r := checkExt(c, ext); r != "" {
		return r
	}
	return checkSkill(c, sk)
}

func routingCommands() []*cmd {
	return []*cmd{
		memberNumCmd("nway_set_tier", "tier", acd.MaxTier, "set an agent's tier in a group (1 is offered first; kept across logins)", Service.SetTier),
		memberNumCmd("nway_set_weight", "weight", acd.MaxWeight, "set an agent's weight in a group (mode 10, weighted random)", Service.SetWeight),
		{
			Command: Command{Name: "nway_set_skill", Syntax: "nway_set_skill <ext> <skill> <level> (level: 1-10)",
				Description: "give an agent a skill at a level", Completions: []string{"nway_set_skill " + completeExts}},
			min: 3, max: 3,
			run: func(svc Service, c *cmd, a argv) string {
				ext, sk := a.f[0], a.f[1]
				if r := checkExtSkill(c, ext, sk); r != "" {
					return r
				}
				n, good := parseUint(a.f[2], acd.MaxSkillLevel)
				if !good || n < acd.MinSkillLevel {
					return usage(c, "bad level "+quote(a.f[2])+" (1-"+strconv.Itoa(acd.MaxSkillLevel)+")")
				}
				if err := svc.SetSkill(ext, sk, n); err != nil {
					return fail(c, err)
				}
				return ok(ext + " skill " + sk + " level " + strconv.Itoa(n))
			},
		},
		{
			Command: Command{Name: "nway_rm_skill", Syntax: "nway_rm_skill <ext> <skill>",
				Description: "take a skill from an agent", Completions: []string{"nway_rm_skill " + completeExts}},
			min: 2, max: 2,
			run: func(svc Service, c *cmd, a argv) string {
				ext, sk := a.f[0], a.f[1]
				if r := checkExtSkill(c, ext, sk); r != "" {
					return r
				}
				if err := svc.RemoveSkill(ext, sk); err != nil {
					return fail(c, err)
				}
				return ok(ext + " skill " + sk + " removed")
			},
		},
		listCmd("nway_list_skills", "list the agents' skills", renderSkills),
		listCmd("nway_list_tiers", "list the tiers and weights set for agents in groups", renderTiers),
		listCmd("nway_list_group_options", "list the groups' routing and queue options", renderGroupOptions),
	}
}

// setGroupOption is nway_set_group for an option of package groupopt. The
// value is checked before the service is called; the core checks the whole.
func setGroupOption(svc Service, c *cmd, g, field, val string) string {
	var probe acd.GroupOptions
	if err := groupopt.Set(&probe, field, val); err != nil {
		return usage(c, oneLine(err.Error()))
	}
	var shown string
	err := svc.SetGroupOptions(g, func(o *acd.GroupOptions) {
		_ = groupopt.Set(o, field, val) // cannot fail: checked above
		shown = groupopt.Get(*o, field)
	})
	if err != nil {
		return fail(c, err)
	}
	return ok("group " + g + " " + field + " " + shown)
}

// setGroupSyntax names every setting nway_set_group takes.
func setGroupSyntax() string {
	return "nway_set_group <group> timeout|name|mode|busy_ring_times|max_wait|" + strings.Join(groupopt.Names(), "|") + " <value>"
}

func setGroupCompletions() []string {
	var out []string
	for _, f := range append([]string{"timeout", "name", "mode", "busy_ring_times", "max_wait"}, groupopt.Names()...) {
		out = append(out, "nway_set_group "+completeGroups+" "+f)
	}
	return out
}

type skillJSON struct {
	Name  string `json:"name"`
	Level int    `json:"level"`
}

type extSkillsJSON struct {
	Extension string      `json:"extension"`
	Skills    []skillJSON `json:"skills"`
}

func renderSkills(svc Service, asJSON bool) string {
	exts := svc.Extensions()
	if asJSON {
		out := []extSkillsJSON{}
		for _, e := range exts {
			if len(e.Skills) == 0 {
				continue
			}
			x := extSkillsJSON{Extension: e.Extension, Skills: make([]skillJSON, 0, len(e.Skills))}
			for _, s := range e.Skills {
				x.Skills = append(x.Skills, skillJSON{Name: s.Name, Level: s.Level})
			}
			out = append(out, x)
		}
		return jsonReply(out)
	}
	var t sheet
	t.line("extension", "skills")
	for _, e := range exts {
		if len(e.Skills) > 0 {
			t.row(e.Extension, acd.FormatSkills(e.Skills))
		}
	}
	return t.String()
}

type tierJSON struct {
	Group     string `json:"group"`
	Extension string `json:"extension"`
	Tier      int    `json:"tier"`
	Weight    int    `json:"weight"`
}

func renderTiers(svc Service, asJSON bool) string {
	out := []tierJSON{}
	for _, g := range svc.Groups() {
		for _, m := range g.Memberships {
			out = append(out, tierJSON{Group: g.Number, Extension: m.Extension, Tier: m.Tier, Weight: m.Weight})
		}
	}
	if asJSON {
		return jsonReply(out)
	}
	var t sheet
	t.line("group", "extension", "tier", "weight")
	for _, r := range out {
		t.row(r.Group, r.Extension, strconv.Itoa(r.Tier), strconv.Itoa(r.Weight))
	}
	return t.String()
}

// groupOptionsJSON is one element of `nway_list_group_options json`
// (durations in seconds; "" = none).
type groupOptionsJSON struct {
	Group              string `json:"group"`
	MemoryFirst        bool   `json:"memory_first"`
	TierWait           int    `json:"tier_wait"`
	TierSkip           bool   `json:"tier_skip"`
	Skills             string `json:"skills"`
	RelaxEvery         int    `json:"relax_every"`
	MaxWaiting         int    `json:"max_waiting"`
	Overflow           string `json:"overflow"`
	OverflowAfter      int    `json:"overflow_after"`
	OverflowWaiting    int    `json:"overflow_waiting"`
	ExitKey            string `json:"exit_key"`
	Announce           bool   `json:"announce"`
	CallbackKey        string `json:"callback_key"`
	CallbackAgentFirst bool   `json:"callback_agent_first"`
	CallbackRetries    int    `json:"callback_retries"`
	CallbackRetryDelay int    `json:"callback_retry_delay"`
	CallbackGateway    string `json:"callback_gateway"`
	AnnounceEvery      int    `json:"announce_every"`
	AnnounceSounds     string `json:"announce_sounds"`
	FullOverflow       bool   `json:"full_overflow"`
	ExitTo             string `json:"exit_to"`
	RingWait           int    `json:"ring_wait"`
}

// GroupOptionsJSON renders a group's options for listings (REST uses it too).
func GroupOptionsJSON(group string, o acd.GroupOptions) any {
	return groupOptionsJSON{Group: group, MemoryFirst: o.MemoryFirst, TierWait: secs(o.TierWait), TierSkip: o.TierSkip,
		Skills: acd.FormatSkills(o.Skills), RelaxEvery: secs(o.RelaxEvery), MaxWaiting: o.MaxWaiting,
		Overflow: o.OverflowGroup, OverflowAfter: secs(o.OverflowAfter), OverflowWaiting: o.OverflowWaiting,
		ExitKey: o.ExitKey, Announce: o.Announce, CallbackKey: o.CallbackKey, CallbackAgentFirst: o.CallbackAgentFirst,
		CallbackRetries: o.CallbackRetries, CallbackRetryDelay: secs(o.CallbackRetryDelay), CallbackGateway: o.CallbackGateway,
		AnnounceEvery: secs(o.AnnounceEvery), AnnounceSounds: o.AnnounceSounds, FullOverflow: o.FullOverflow, ExitTo: o.ExitTo,
		RingWait: secs(o.RingWait)}
}

func renderGroupOptions(svc Service, asJSON bool) string {
	groups := svc.Groups()
	if asJSON {
		out := make([]any, 0, len(groups))
		for _, g := range groups {
			out = append(out, GroupOptionsJSON(g.Number, g.Options))
		}
		return jsonReply(out)
	}
	var t sheet
	t.line(append([]string{"group"}, groupopt.Names()...)...)
	for _, g := range groups {
		cells := []string{g.Number}
		for _, n := range groupopt.Names() {
			cells = append(cells, groupopt.Get(g.Options, n))
		}
		t.row(cells...)
	}
	return t.String()
}
