// Package store holds the records mod_nwayacd persists and the rules both
// back ends (store/pg, store/embedded) share, and Writer, the one list of
// writes a back end takes (store/writeback, store/storetest and the node
// build on it).
package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/event"
)

// Writer is every write a back end takes. Each is idempotent when repeated
// in order (upserts, deletes, CDRs keyed by uuid, agent log rows keyed by
// their ID), which is what lets a journal replay after a crash.
type Writer interface {
	UpsertExtension(ctx context.Context, e Extension) error
	DeleteExtension(ctx context.Context, number string) error
	UpsertGroup(ctx context.Context, g Group) error
	DeleteGroup(ctx context.Context, number string) error
	SetCurrentExt(ctx context.Context, group, ext string) error
	ReplaceMemberships(ctx context.Context, ext string, groups []string) error
	AddListEntry(ctx context.Context, l ListEntry) error
	RemoveListEntry(ctx context.Context, l ListEntry) error
	PutMemory(ctx context.Context, m Memory) error
	InsertCDR(ctx context.Context, c event.CDR) error
	AppendAgentLog(ctx context.Context, a AgentLog) error
	// PutPendingCDR keeps the provisional CDR of a call whose caller left
	// while the final one waits for the caller leg's hangup facts, so that a
	// crash in between cannot lose it (replaces an earlier one of the uuid);
	// DeletePendingCDR forgets it once the final CDR is written. node names
	// the node keeping it: nodes sharing the store emit only their own.
	PutPendingCDR(ctx context.Context, node string, c event.CDR) error
	DeletePendingCDR(ctx context.Context, uuid string) error
}

// PendingReader lists the provisional CDRs a crashed run left (see
// Writer.PutPendingCDR), for the node to emit at start: node's own, and
// those kept without a node (before pending CDRs named theirs).
type PendingReader interface {
	PendingCDRs(ctx context.Context, node string) ([]event.CDR, error)
}

// ErrRejected marks a write the store refuses for good (bad or too long
// values, constraint violations): retrying it cannot succeed. Test with
// errors.Is. Any other error may be transient.
var ErrRejected = errors.New("store: rejected")

// ErrNotFound is returned by single-record reads.
var ErrNotFound = errors.New("store: not found")

// MaxNumber is the longest extension, group or caller number the schema
// holds (varchar(50) in FSGUI's tables).
const MaxNumber = 50

// Extension is one extension (agent phone) and its job number.
type Extension struct {
	Number     string
	JobNumber  string
	JobEnabled bool
	DialString string // empty: the node's default template
	Busy       bool   // the agent set its seat busy; kept across restarts
}

// Group is one ext_group row plus mod_nwayacd's own per-group settings
// (welcome ring, give-up policy). It does not import go/acd on purpose, so
// the store builds whatever state the core is in; the fields map one to one
// onto acd.GroupInfo, acd.Rings and acd.GiveUp. Durations are stored in
// whole seconds.
type Group struct {
	Number         string
	Name           string
	Mode           int // group_call_mode, 0..MaxMode (SPEC §2, go/acd/ROUTING.md)
	CalloutTimeout time.Duration
	CurrentExt     string // written only by SetCurrentExt (and on first insert)
	WelcomeRing    string
	BlacklistRing  string
	BusyRing       string
	TransferRing   string
	BusyRingTimes  int           // > 0: busy ring that many times, then hang up; 0: never
	MaxWait        time.Duration // > 0: also end the wait after this long
}

// MaxMode is the highest routing mode (acd.MaxMode; a test keeps them equal).
const MaxMode = 11

// Membership is one current login of an extension to a group (one
// ext_group_map row). Snapshots list them in login order.
type Membership struct {
	Ext   string
	Group string
}

// ListKind names a per-group caller list.
type ListKind string

const (
	Blacklist ListKind = "blacklist"
	VIP       ListKind = "vip"
)

// ListEntry is one number on a group's blacklist or VIP list.
type ListEntry struct {
	Kind   ListKind
	Group  string
	Number string
}

// Memory remembers the agent a caller last talked to in a group.
type Memory struct {
	Caller   string
	Group    string
	Ext      string
	LastTime time.Time
}

// AgentLog is one agent state change. ID makes a retried append a no-op;
// leave it empty and the store (or writeback) fills it with NewID().
type AgentLog struct {
	ID     string
	Ext    string
	Status string
	At     time.Time
}

// Snapshot is everything the core needs at start.
// Extensions and Groups are sorted by number (byte order); Memberships are in
// login order; Lists and Memory in no promised order.
type Snapshot struct {
	Extensions  []Extension
	Groups      []Group
	Memberships []Membership
	Lists       []ListEntry
	Memory      []Memory
	// Routing records (issue 12), in no promised order.
	MemberConfigs []MemberConfig
	Skills        []Skill
	GroupOptions  []GroupOptions
	Callbacks     []Callback   // pending callbacks (not configuration: Sync ignores them)
	AgentStats    []AgentStats // today's counters as of the last unload
}

// NewID returns a random 128-bit id in hex, for AgentLog.ID.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

func rejectf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRejected, fmt.Sprintf(format, args...))
}

// CheckNumber validates an extension, group or caller number.
func CheckNumber(what, n string) error {
	if n == "" {
		return rejectf("empty %s", what)
	}
	if len(n) > MaxNumber {
		return rejectf("%s %.20q… longer than %d bytes", what, n, MaxNumber)
	}
	return nil
}

// Validate reports why e cannot be stored (wrapping ErrRejected), or nil.
func (e Extension) Validate() error {
	if err := CheckNumber("extension", e.Number); err != nil {
		return err
	}
	if len(e.JobNumber) > MaxNumber {
		return rejectf("job number of %s longer than %d bytes", e.Number, MaxNumber)
	}
	if len(e.DialString) > 1024 {
		return rejectf("dial string of %s longer than 1024 bytes", e.Number)
	}
	return nil
}

// Validate reports why g cannot be stored (wrapping ErrRejected), or nil.
func (g Group) Validate() error {
	if err := CheckNumber("group", g.Number); err != nil {
		return err
	}
	if g.Mode < 0 || g.Mode > MaxMode {
		return rejectf("group %s: mode %d not in 0..%d", g.Number, g.Mode, MaxMode)
	}
	if g.CalloutTimeout < 0 || g.MaxWait < 0 || g.BusyRingTimes < 0 {
		return rejectf("group %s: negative timeout or give-up value", g.Number)
	}
	if len(g.Name) > 100 || len(g.CurrentExt) > MaxNumber {
		return rejectf("group %s: name or current extension too long", g.Number)
	}
	for _, r := range []string{g.WelcomeRing, g.BlacklistRing, g.BusyRing, g.TransferRing} {
		if len(r) > 255 {
			return rejectf("group %s: ring path longer than 255 bytes", g.Number)
		}
	}
	return nil
}

// Validate reports why l cannot be stored (wrapping ErrRejected), or nil.
func (l ListEntry) Validate() error {
	if l.Kind != Blacklist && l.Kind != VIP {
		return rejectf("list kind %q (want blacklist or vip)", l.Kind)
	}
	if err := CheckNumber("group", l.Group); err != nil {
		return err
	}
	return CheckNumber("number", l.Number)
}

// Validate reports why m cannot be stored (wrapping ErrRejected), or nil.
func (m Memory) Validate() error {
	if err := CheckNumber("caller", m.Caller); err != nil {
		return err
	}
	if err := CheckNumber("group", m.Group); err != nil {
		return err
	}
	return CheckNumber("extension", m.Ext)
}

// Validate reports why a cannot be stored (wrapping ErrRejected), or nil.
func (a AgentLog) Validate() error {
	if a.ID == "" || len(a.ID) > 64 {
		return rejectf("agent log id %q (want 1..64 bytes)", a.ID)
	}
	if err := CheckNumber("extension", a.Ext); err != nil {
		return err
	}
	if a.Status == "" || len(a.Status) > 32 {
		return rejectf("agent log status %q (want 1..32 bytes)", a.Status)
	}
	return nil
}

// CheckMemberships validates a login's group list: numbers valid, no repeats.
func CheckMemberships(ext string, groups []string) error {
	if err := CheckNumber("extension", ext); err != nil {
		return err
	}
	seen := make(map[string]bool, len(groups))
	for _, g := range groups {
		if err := CheckNumber("group", g); err != nil {
			return err
		}
		if seen[g] {
			return rejectf("extension %s: group %s listed twice", ext, g)
		}
		seen[g] = true
	}
	return nil
}

// CheckCDRUUID validates a CDR's key.
func CheckCDRUUID(uuid string) error {
	if uuid == "" || len(uuid) > 64 {
		return rejectf("cdr uuid %q (want 1..64 bytes)", uuid)
	}
	return nil
}
