package acd

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SkillReq is a skill at a level: what an extension has, or what a call
// asks for (the agent needs at least that level).
type SkillReq struct {
	Name  string
	Level int
}

// Skill limits.
const (
	MinSkillLevel = 1
	MaxSkillLevel = 10
	maxSkillName  = 32
	maxCallSkills = 16   // requirements per call or group
	maxSkillNames = 4096 // distinct skill names the engine interns
	MaxTier       = 9    // tiers are 1..MaxTier
	MaxWeight     = 1000 // weights are 1..MaxWeight
)

// skillLevel is an interned skill and a level.
type skillLevel struct {
	id    uint16
	level uint8
}

// ValidSkillName checks a skill name: 1–32 letters, digits, '_', '-' or '.'.
func ValidSkillName(s string) error {
	if s == "" {
		return Errorf(ErrBadArgument, "empty skill name")
	}
	if len(s) > maxSkillName {
		return Errorf(ErrBadArgument, "skill name too long (%d characters, at most %d)", len(s), maxSkillName)
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case b >= '0' && b <= '9', b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b == '_', b == '-', b == '.':
		default:
			return Errorf(ErrBadArgument, "malformed skill name %q", s)
		}
	}
	return nil
}

func validSkillLevel(l int) error {
	if l < MinSkillLevel || l > MaxSkillLevel {
		return Errorf(ErrBadArgument, "skill level %d out of range (%d–%d)", l, MinSkillLevel, MaxSkillLevel)
	}
	return nil
}

// ParseSkills parses a call's requirement as the channel variable
// nwayacd_skills carries it: "zh:5,billing:3". Spaces around items are
// ignored; a skill without ":level" asks for level 1; "" is no requirement.
// A name twice, a bad name or a level outside 1–10 is an error.
func ParseSkills(s string) ([]SkillReq, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	if len(s) > maxCallSkills*(maxSkillName+4) {
		return nil, Errorf(ErrBadArgument, "skill list too long")
	}
	var out []SkillReq
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		name, lv, hasLevel := strings.Cut(item, ":")
		name = strings.TrimSpace(name)
		if err := ValidSkillName(name); err != nil {
			return nil, err
		}
		level := 1
		if hasLevel {
			lv = strings.TrimSpace(lv)
			n, err := strconv.Atoi(lv)
			if err != nil || len(lv) > 2 || lv[0] < '0' || lv[0] > '9' {
				return nil, Errorf(ErrBadArgument, "malformed level %q for skill %s (want %d–%d)", lv, name, MinSkillLevel, MaxSkillLevel)
			}
			level = n
		}
		if err := validSkillLevel(level); err != nil {
			return nil, Errorf(ErrBadArgument, "skill %s: %v", name, err)
		}
		for _, r := range out {
			if r.Name == name {
				return nil, Errorf(ErrBadArgument, "skill %s given twice", name)
			}
		}
		if len(out) == maxCallSkills {
			return nil, Errorf(ErrBadArgument, "more than %d skills", maxCallSkills)
		}
		out = append(out, SkillReq{Name: name, Level: level})
	}
	return out, nil
}

// FormatSkills is ParseSkills' inverse: "zh:5,billing:3".
func FormatSkills(rs []SkillReq) string {
	var b strings.Builder
	for i, r := range rs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(r.Name)
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(r.Level))
	}
	return b.String()
}

// intern returns a skill name's id, creating it.
func (e *Engine) intern(name string) (uint16, error) {
	if id, ok := e.skillIDs[name]; ok {
		return id, nil
	}
	if len(e.skillNames) >= maxSkillNames {
		return 0, Errorf(ErrBadArgument, "too many distinct skill names (at most %d)", maxSkillNames)
	}
	if e.skillIDs == nil {
		e.skillIDs = map[string]uint16{}
	}
	id := uint16(len(e.skillNames))
	e.skillIDs[name] = id
	e.skillNames = append(e.skillNames, name)
	return id, nil
}

// resolve checks and interns a requirement list into dst (reused).
func (e *Engine) resolve(dst []skillLevel, rs []SkillReq) ([]skillLevel, error) {
	dst = dst[:0]
	if len(rs) > maxCallSkills {
		return dst, Errorf(ErrBadArgument, "more than %d skills", maxCallSkills)
	}
	for _, r := range rs {
		if err := ValidSkillName(r.Name); err != nil {
			return dst, err
		}
		if err := validSkillLevel(r.Level); err != nil {
			return dst, Errorf(ErrBadArgument, "skill %s: %v", r.Name, err)
		}
		id, err := e.intern(r.Name)
		if err != nil {
			return dst, err
		}
		for _, d := range dst {
			if d.id == id {
				return dst, Errorf(ErrBadArgument, "skill %s given twice", r.Name)
			}
		}
		dst = append(dst, skillLevel{id: id, level: uint8(r.Level)})
	}
	return dst, nil
}

func (e *Engine) skillReqs(ls []skillLevel) []SkillReq {
	if len(ls) == 0 {
		return nil
	}
	out := make([]SkillReq, len(ls))
	for i, l := range ls {
		out[i] = SkillReq{Name: e.skillNames[l.id], Level: int(l.level)}
	}
	return out
}

// level is the agent's level in skill id, 0 when it has none.
func (a *agent) level(id uint16) int {
	for _, s := range a.skills {
		if s.id == id {
			return int(s.level)
		}
	}
	return 0
}

// SetSkill gives an extension a skill at a level (1–10), replacing the
// level it had. Waiting calls it now qualifies for may be offered to it.
func (e *Engine) SetSkill(ext, skill string, level int) error {
	a, err := e.agent(ext)
	if err != nil {
		return err
	}
	if err := ValidSkillName(skill); err != nil {
		return err
	}
	if err := validSkillLevel(level); err != nil {
		return err
	}
	id, err := e.intern(skill)
	if err != nil {
		return err
	}
	i, found := slices.BinarySearchFunc(a.skills, id, func(s skillLevel, id uint16) int { return int(s.id) - int(id) })
	if found {
		a.skills[i].level = uint8(level)
	} else {
		a.skills = slices.Insert(a.skills, i, skillLevel{id: id, level: uint8(level)})
	}
	e.requalifyGroups(a.groups...)
	e.dispatchAgent(a)
	return nil
}

// RemoveSkill takes a skill from an extension; removing one it does not
// have is not an error. A call already offered to it stays offered.
func (e *Engine) RemoveSkill(ext, skill string) error {
	a, err := e.agent(ext)
	if err != nil {
		return err
	}
	if err := ValidSkillName(skill); err != nil {
		return err
	}
	id, ok := e.skillIDs[skill]
	if !ok {
		return nil
	}
	a.skills = slices.DeleteFunc(a.skills, func(s skillLevel) bool { return s.id == id })
	e.requalifyGroups(a.groups...)
	return nil
}

// memberCfg is a membership's settings.
type memberCfg struct{ tier, weight int32 }

// Membership is an extension's tier and weight in a group.
type Membership struct {
	Extension string
	Tier      int // 1 = offered first
	Weight    int // mode 10's weight
}

func (g *group) cfgOf(ext string) memberCfg {
	if m, ok := g.mcfg[ext]; ok {
		return m
	}
	return memberCfg{tier: 1, weight: 1}
}

// SetTier sets an extension's tier (1–9) in a group, kept across logins.
// Tier 1 is offered a call first; see GroupOptions.TierWait.
func (e *Engine) SetTier(ext, groupNum string, tier int) error {
	if tier < 1 || tier > MaxTier {
		return Errorf(ErrBadArgument, "tier %d out of range (1–%d)", tier, MaxTier)
	}
	return e.setMember(ext, groupNum, func(m *memberCfg) { m.tier = int32(tier) })
}

// SetWeight sets an extension's weight (1–1000) in a group for mode 10,
// kept across logins.
func (e *Engine) SetWeight(ext, groupNum string, weight int) error {
	if weight < 1 || weight > MaxWeight {
		return Errorf(ErrBadArgument, "weight %d out of range (1–%d)", weight, MaxWeight)
	}
	return e.setMember(ext, groupNum, func(m *memberCfg) { m.weight = int32(weight) })
}

func (e *Engine) setMember(ext, groupNum string, fn func(*memberCfg)) error {
	a, err := e.agent(ext)
	if err != nil {
		return err
	}
	g, err := e.group(groupNum)
	if err != nil {
		return err
	}
	m := g.cfgOf(ext)
	fn(&m)
	if g.mcfg == nil {
		g.mcfg = map[string]memberCfg{}
	}
	g.mcfg[ext] = m
	if i, ok := g.pos[ext]; ok {
		g.mtier[i], g.mweight[i] = m.tier, m.weight
	}
	e.membersChanged(g)
	e.dispatchAgent(a)
	return nil
}

// tierOf is a's tier in g (a is a member).
func (g *group) tierOf(a *agent) int32 {
	if g.maxTier <= 1 {
		return 1
	}
	return g.mtier[g.pos[a.ext]]
}

// AgentStats are an agent's counters for today (they reset at local
// midnight in Config.Location) and the end of its last call. The service
// persists them so that they survive a reload (RestoreStats).
type AgentStats struct {
	Day         string // the local date counted, "2006-01-02"
	Answered    int
	TalkTime    time.Duration
	LastCallEnd time.Time
}

func (e *Engine) dayOf(t time.Time) int32 {
	y, m, d := t.In(e.cfg.Location).Date()
	return int32(y*10000 + int(m)*100 + d)
}

func (e *Engine) stats(a *agent) AgentStats {
	today := e.dayOf(e.now())
	s := AgentStats{Day: e.now().In(e.cfg.Location).Format(time.DateOnly), LastCallEnd: a.lastEnd}
	if a.day == today {
		s.Answered, s.TalkTime = int(a.answered), a.talk
	}
	return s
}

// RestoreStats loads an agent's counters (at start, from the store);
// counters of another day than today are dropped.
func (e *Engine) RestoreStats(ext string, s AgentStats) error {
	a, err := e.agent(ext)
	if err != nil {
		return err
	}
	if s.Answered < 0 || s.TalkTime < 0 {
		return Errorf(ErrBadArgument, "negative counters")
	}
	a.lastEnd = s.LastCallEnd
	if d, err := time.ParseInLocation(time.DateOnly, s.Day, e.cfg.Location); err == nil && e.dayOf(d) == e.dayOf(e.now()) {
		a.day, a.answered, a.talk = e.dayOf(d), int32(min(s.Answered, math.MaxInt32)), s.TalkTime
	}
	return nil
}

// roll starts a new day's counters when the day changed.
func (e *Engine) roll(a *agent, now time.Time) {
	if d := e.dayOf(now); a.day != d {
		a.day, a.answered, a.talk = d, 0, 0
	}
}

// callEnded records the end of a's call c for the strategies.
func (e *Engine) callEnded(a *agent, c *call) {
	now := e.now()
	a.lastEnd = now
	if !c.answerAt.IsZero() {
		e.roll(a, now)
		if c.answerAt.After(now) {
			return
		}
		if e.dayOf(c.answerAt) == a.day {
			a.talk += now.Sub(c.answerAt)
		} else { // the call crossed midnight: today's share only
			y, m, d := now.In(e.cfg.Location).Date()
			a.talk += now.Sub(time.Date(y, m, d, 0, 0, 0, 0, e.cfg.Location))
		}
	}
}
