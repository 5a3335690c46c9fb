package store

import (
	"context"
	"time"
)

// Routing records beyond the seed (issue 12, go/acd/ROUTING.md): a
// membership's tier and weight, an extension's skills, a group's options.
// They live in their own nwayacd_* tables (sql/0007_routing.sql) and
// buckets, written through RoutingWriter, which both back ends implement.

// Routing limits, as go/acd checks them (a store test keeps them equal).
const (
	MaxTier        = 9
	MaxWeight      = 1000
	MaxSkillLevel  = 10
	MaxSkillName   = 32
	MaxSkillsText  = 600 // a group's default skills as "name:level,…"
	maxOptDuration = 24 * time.Hour
)

// MemberConfig is an extension's tier (1–9) and weight (1–1000) in a group,
// kept across logins.
type MemberConfig struct {
	Ext    string
	Group  string
	Tier   int
	Weight int
}

// Skill is one skill of an extension at a level (1–10).
type Skill struct {
	Ext   string
	Name  string
	Level int
}

// GroupOptions are a group's routing and queue options (acd.GroupOptions;
// Skills in acd.FormatSkills form). Durations are stored in whole seconds.
type GroupOptions struct {
	Group              string
	MemoryFirst        bool
	TierWait           time.Duration
	TierSkip           bool
	Skills             string
	RelaxEvery         time.Duration
	MaxWaiting         int
	OverflowGroup      string
	OverflowAfter      time.Duration
	OverflowWaiting    int
	ExitKey            string
	Announce           bool
	CallbackKey        string
	CallbackAgentFirst bool
	CallbackRetries    int
	CallbackRetryDelay time.Duration
	CallbackGateway    string
	AnnounceEvery      time.Duration
	AnnounceSounds     string
	FullOverflow       bool
	ExitTo             string
	RingWait           time.Duration
}

// RoutingWriter is every write of the routing records. Each is idempotent
// when repeated in order, like Writer's.
type RoutingWriter interface {
	PutMemberConfig(ctx context.Context, m MemberConfig) error
	PutSkill(ctx context.Context, s Skill) error
	DeleteSkill(ctx context.Context, ext, name string) error
	PutGroupOptions(ctx context.Context, o GroupOptions) error
	// ClearExtensionRouting forgets an extension's skills and member
	// configs (the extension was removed); ClearGroupRouting a group's
	// options and member configs (the group was removed).
	ClearExtensionRouting(ctx context.Context, ext string) error
	ClearGroupRouting(ctx context.Context, group string) error
}

// Validate reports why m cannot be stored (wrapping ErrRejected), or nil.
func (m MemberConfig) Validate() error {
	if err := CheckNumber("extension", m.Ext); err != nil {
		return err
	}
	if err := CheckNumber("group", m.Group); err != nil {
		return err
	}
	if m.Tier < 1 || m.Tier > MaxTier || m.Weight < 1 || m.Weight > MaxWeight {
		return rejectf("member %s in %s: tier %d (1..%d) or weight %d (1..%d) out of range",
			m.Ext, m.Group, m.Tier, MaxTier, m.Weight, MaxWeight)
	}
	return nil
}

// Validate reports why s cannot be stored (wrapping ErrRejected), or nil.
func (s Skill) Validate() error {
	if err := CheckNumber("extension", s.Ext); err != nil {
		return err
	}
	if s.Name == "" || len(s.Name) > MaxSkillName {
		return rejectf("skill name %.40q (want 1..%d bytes)", s.Name, MaxSkillName)
	}
	if s.Level < 1 || s.Level > MaxSkillLevel {
		return rejectf("skill %s of %s: level %d not in 1..%d", s.Name, s.Ext, s.Level, MaxSkillLevel)
	}
	return nil
}

// Validate reports why o cannot be stored (wrapping ErrRejected), or nil.
func (o GroupOptions) Validate() error {
	if err := CheckNumber("group", o.Group); err != nil {
		return err
	}
	for _, d := range []time.Duration{o.TierWait, o.RelaxEvery, o.OverflowAfter, o.CallbackRetryDelay, o.AnnounceEvery, o.RingWait} {
		if d < 0 || d > maxOptDuration {
			return rejectf("group %s: option duration %s not in 0..%s", o.Group, d, maxOptDuration)
		}
	}
	for _, n := range []int{o.MaxWaiting, o.OverflowWaiting, o.CallbackRetries} {
		if n < 0 || n > 1<<20 {
			return rejectf("group %s: option count %d out of range", o.Group, n)
		}
	}
	if len(o.Skills) > MaxSkillsText {
		return rejectf("group %s: skills longer than %d bytes", o.Group, MaxSkillsText)
	}
	if len(o.OverflowGroup) > MaxNumber || len(o.ExitKey) > 1 || len(o.CallbackKey) > 1 || len(o.CallbackGateway) > 64 || len(o.AnnounceSounds) > 255 || len(o.ExitTo) > MaxNumber {
		return rejectf("group %s: overflow group or key too long", o.Group)
	}
	return nil
}
