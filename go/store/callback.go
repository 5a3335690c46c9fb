package store

import (
	"context"
	"time"
)

// Callback is a caller waiting to be called back without a session
// (acd.CallbackSpec): it keeps its place across a reload. Skills in
// acd.FormatSkills form, "" = the group's default.
type Callback struct {
	UUID       string
	Group      string
	Number     string // the caller's number as presented
	RealNumber string
	Callback   string // the number called back
	Level      string
	CallinTime time.Time
	Tries      int
	Skills     string
	Node       string // the node that owns it ("" = any): nodes sharing a database restore only their own
}

// CallbackWriter keeps the pending callbacks (sql/0012_callbacks.sql, a
// bucket). Both back ends and Overlay implement it; each write is
// idempotent when repeated in order.
type CallbackWriter interface {
	PutCallback(ctx context.Context, c Callback) error
	DeleteCallback(ctx context.Context, uuid string) error
}

// MaxUUIDLen bounds a callback's uuid, as nwayacd_cdr.uuid.
const MaxUUIDLen = 64

// Validate reports why c cannot be stored (wrapping ErrRejected), or nil.
func (c Callback) Validate() error {
	if c.UUID == "" || len(c.UUID) > MaxUUIDLen {
		return rejectf("callback uuid %.70q (want 1..%d bytes)", c.UUID, MaxUUIDLen)
	}
	if err := CheckNumber("group", c.Group); err != nil {
		return err
	}
	if err := CheckNumber("callback number", c.Callback); err != nil {
		return err
	}
	if len(c.Number) > MaxNumber || len(c.RealNumber) > MaxNumber || len(c.Level) > 8 || len(c.Skills) > MaxSkillsText || len(c.Node) > 255 {
		return rejectf("callback %s: a field is too long", c.UUID)
	}
	if c.Tries < 0 || c.CallinTime.IsZero() {
		return rejectf("callback %s: negative attempts or no arrival time", c.UUID)
	}
	return nil
}

// AgentStats are an agent's counters for today (acd.AgentStats: modes 7
// and 8 pick by them), kept across a reload; Day is the local date counted
// ("2006-01-02"), counters of another day are ignored when loaded.
type AgentStats struct {
	Ext         string
	Day         string
	Answered    int
	TalkTime    time.Duration // whole seconds are kept
	LastCallEnd time.Time
}

// StatsWriter keeps the agents' counters (sql/0012_callbacks.sql, a bucket).
type StatsWriter interface {
	PutAgentStats(ctx context.Context, s AgentStats) error
}

// Validate reports why s cannot be stored (wrapping ErrRejected), or nil.
func (s AgentStats) Validate() error {
	if err := CheckNumber("extension", s.Ext); err != nil {
		return err
	}
	if len(s.Day) != len("2006-01-02") || s.Answered < 0 || s.TalkTime < 0 {
		return rejectf("agent stats of %s: day %.20q, negative counters", s.Ext, s.Day)
	}
	return nil
}
