package api

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/groupopt"
	"github.com/nwayacd/mod_nwayacd/go/ident"
	"github.com/valyala/fasthttp"
)

// Issue 12's routing settings over REST (go/acd/ROUTING.md). The checks are
// the console's: the same values are refused, with a message naming the
// field (package groupopt parses group options for both).

// RoutingService is the part of the core the routing endpoints drive.
type RoutingService interface {
	SetGroupMode(number string, m acd.Mode) error
	SetGroupOptions(number string, fn func(*acd.GroupOptions)) error
	SetTier(ext, group string, tier int) error
	SetWeight(ext, group string, weight int) error
	SetSkill(ext, skill string, level int) error
	RemoveSkill(ext, skill string) error
}

type (
	tierReq struct {
		Extension string
		Group     string
		Tier      *int
		Weight    *int
	}
	skillReq struct {
		Extension string
		Skill     string
		Level     int
	}
	groupOptionReq struct {
		Group  string
		Option string
		Value  optionValue
	}
)

// optionValue is a group option's value: a JSON string, number or boolean,
// kept as the text the console would take.
type optionValue struct {
	text string
	set  bool
}

func (v *optionValue) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*v = optionValue{s, true}
		return nil
	}
	var n json.Number
	if json.Unmarshal(b, &n) == nil {
		*v = optionValue{n.String(), true}
		return nil
	}
	var t bool
	if json.Unmarshal(b, &t) == nil {
		*v = optionValue{strconv.FormatBool(t), true}
		return nil
	}
	return fmt.Errorf("field Value must be a string, number or boolean")
}

func (s *Server) routing(ctx *fasthttp.RequestCtx) RoutingService {
	rs, ok := s.svc.(RoutingService)
	if !ok {
		writeError(ctx, fasthttp.StatusNotImplemented, "routing settings are not available on this node")
	}
	return rs
}

// tier: {"Extension":"1000","Group":"110","Tier":2,"Weight":5} (Tier 1-9
// and/or Weight 1-1000).
func (s *Server) tier(ctx *fasthttp.RequestCtx, _ string) {
	var req tierReq
	if !decode(ctx, &req) || !checkExt(ctx, "Extension", req.Extension) ||
		!checkIdent(ctx, "Group", req.Group, ident.Group) {
		return
	}
	switch {
	case req.Tier == nil && req.Weight == nil:
		writeError(ctx, fasthttp.StatusBadRequest, "missing Tier (1-9) or Weight (1-1000)")
		return
	case req.Tier != nil && (*req.Tier < 1 || *req.Tier > acd.MaxTier):
		writeError(ctx, fasthttp.StatusBadRequest, fmt.Sprintf("bad Tier %d (1-%d)", *req.Tier, acd.MaxTier))
		return
	case req.Weight != nil && (*req.Weight < 1 || *req.Weight > acd.MaxWeight):
		writeError(ctx, fasthttp.StatusBadRequest, fmt.Sprintf("bad Weight %d (1-%d)", *req.Weight, acd.MaxWeight))
		return
	}
	rs := s.routing(ctx)
	if rs == nil {
		return
	}
	if req.Tier != nil {
		if err := rs.SetTier(req.Extension, req.Group, *req.Tier); err != nil || req.Weight == nil {
			s.reply(ctx, err)
			return
		}
	}
	s.reply(ctx, rs.SetWeight(req.Extension, req.Group, *req.Weight))
}

func checkSkill(ctx *fasthttp.RequestCtx, name string) bool {
	return checkIdent(ctx, "Skill", name, acd.ValidSkillName)
}

// skill: {"Extension":"1000","Skill":"zh","Level":5} (Level 1-10).
func (s *Server) skill(ctx *fasthttp.RequestCtx, _ string) {
	var req skillReq
	if !decode(ctx, &req) || !checkExt(ctx, "Extension", req.Extension) || !checkSkill(ctx, req.Skill) {
		return
	}
	if req.Level < acd.MinSkillLevel || req.Level > acd.MaxSkillLevel {
		writeError(ctx, fasthttp.StatusBadRequest, fmt.Sprintf("bad Level %d (%d-%d)", req.Level, acd.MinSkillLevel, acd.MaxSkillLevel))
		return
	}
	if rs := s.routing(ctx); rs != nil {
		s.reply(ctx, rs.SetSkill(req.Extension, req.Skill, req.Level))
	}
}

// skillRemove: {"Extension":"1000","Skill":"zh"}.
func (s *Server) skillRemove(ctx *fasthttp.RequestCtx, _ string) {
	var req skillReq
	if !decode(ctx, &req) || !checkExt(ctx, "Extension", req.Extension) || !checkSkill(ctx, req.Skill) {
		return
	}
	if rs := s.routing(ctx); rs != nil {
		s.reply(ctx, rs.RemoveSkill(req.Extension, req.Skill))
	}
}

// groupOption: {"Group":"110","Option":"exit_key","Value":"#"}; Option is
// "mode" (0-11) or one of package groupopt's.
func (s *Server) groupOption(ctx *fasthttp.RequestCtx, _ string) {
	var req groupOptionReq
	if !decode(ctx, &req) || !checkIdent(ctx, "Group", req.Group, ident.Group) {
		return
	}
	if !req.Value.set {
		writeError(ctx, fasthttp.StatusBadRequest, "missing Value")
		return
	}
	val := req.Value.text
	if req.Option == "mode" {
		m, err := strconv.Atoi(val)
		if err != nil || strings.TrimSpace(val) != val || !acd.Mode(m).Valid() {
			writeError(ctx, fasthttp.StatusBadRequest, fmt.Sprintf("bad mode %.40q (0-%d: %s)", val, int(acd.MaxMode), acd.ModeHelp))
			return
		}
		if rs := s.routing(ctx); rs != nil {
			s.reply(ctx, rs.SetGroupMode(req.Group, acd.Mode(m)))
		}
		return
	}
	if req.Option == "" || !groupopt.Known(req.Option) {
		what := "missing Option"
		if req.Option != "" {
			what = fmt.Sprintf("unknown Option %.40q", req.Option)
		}
		writeError(ctx, fasthttp.StatusBadRequest, what+" (mode, "+strings.Join(groupopt.Names(), ", ")+")")
		return
	}
	var probe acd.GroupOptions
	if err := groupopt.Set(&probe, req.Option, val); err != nil {
		writeError(ctx, fasthttp.StatusBadRequest, err.Error())
		return
	}
	if rs := s.routing(ctx); rs != nil {
		s.reply(ctx, rs.SetGroupOptions(req.Group, func(o *acd.GroupOptions) { _ = groupopt.Set(o, req.Option, val) }))
	}
}

// Listings of the routing settings.
type (
	groupOptionsOut struct {
		Group              string
		MemoryFirst        bool
		TierWait           int // seconds
		TierSkip           bool
		Skills             string
		RelaxEvery         int
		MaxWaiting         int
		Overflow           string
		OverflowAfter      int
		OverflowWaiting    int
		ExitKey            string
		Announce           bool
		CallbackKey        string
		CallbackAgentFirst bool
		CallbackRetries    int
		CallbackRetryDelay int
		CallbackGateway    string
		AnnounceEvery      int // seconds
		AnnounceSounds     string
		FullOverflow       bool
		ExitTo             string
		RingWait           int // seconds
	}
	tierOut struct {
		Group     string
		Extension string
		Tier      int
		Weight    int
	}
	skillOut struct {
		Name  string
		Level int
	}
	extSkillsOut struct {
		Extension string
		Skills    []skillOut
	}
)

func secs(d time.Duration) int { return int(d / time.Second) }

func writeAny(ctx *fasthttp.RequestCtx, v any) {
	js, err := json.Marshal(v)
	if err != nil {
		writeError(ctx, fasthttp.StatusInternalServerError, "internal error")
		return
	}
	ctx.SetContentType(contentJSON)
	ctx.SetBody(js)
}

func (s *Server) groupOptions(ctx *fasthttp.RequestCtx, _ string) {
	out := []groupOptionsOut{}
	for _, g := range s.svc.Groups() {
		o := g.Options
		out = append(out, groupOptionsOut{Group: g.Number, MemoryFirst: o.MemoryFirst, TierWait: secs(o.TierWait),
			TierSkip: o.TierSkip, Skills: acd.FormatSkills(o.Skills), RelaxEvery: secs(o.RelaxEvery),
			MaxWaiting: o.MaxWaiting, Overflow: o.OverflowGroup, OverflowAfter: secs(o.OverflowAfter),
			OverflowWaiting: o.OverflowWaiting, ExitKey: o.ExitKey, Announce: o.Announce, CallbackKey: o.CallbackKey,
			CallbackAgentFirst: o.CallbackAgentFirst, CallbackRetries: o.CallbackRetries,
			CallbackRetryDelay: secs(o.CallbackRetryDelay), CallbackGateway: o.CallbackGateway,
			AnnounceEvery: secs(o.AnnounceEvery), AnnounceSounds: o.AnnounceSounds, FullOverflow: o.FullOverflow, ExitTo: o.ExitTo,
			RingWait: secs(o.RingWait)})
	}
	writeAny(ctx, out)
}

func (s *Server) tiers(ctx *fasthttp.RequestCtx, _ string) {
	out := []tierOut{}
	for _, g := range s.svc.Groups() {
		for _, m := range g.Memberships {
			out = append(out, tierOut{Group: g.Number, Extension: m.Extension, Tier: m.Tier, Weight: m.Weight})
		}
	}
	writeAny(ctx, out)
}

func (s *Server) skills(ctx *fasthttp.RequestCtx, _ string) {
	out := []extSkillsOut{}
	for _, e := range s.svc.Extensions() {
		if len(e.Skills) == 0 {
			continue
		}
		x := extSkillsOut{Extension: e.Extension, Skills: make([]skillOut, 0, len(e.Skills))}
		for _, k := range e.Skills {
			x.Skills = append(x.Skills, skillOut{Name: k.Name, Level: k.Level})
		}
		out = append(out, x)
	}
	writeAny(ctx, out)
}
