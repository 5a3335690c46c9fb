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
	if len(c.Number) > MaxNumber || len(c.RealNumber) > MaxNumber || len(c.Level) > 8 || len(c.Skills) > MaxSkillsText {
		return rejectf("callback %s: a field is too long", c.UUID)
	}
	if c.Tries < 0 || c.CallinTime.IsZero() {
		return rejectf("callback %s: negative attempts or no arrival time", c.UUID)
	}
	return nil
}
