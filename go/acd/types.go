package acd

import (
	"errors"
	"fmt"
	"time"
)

// Mode is a group's routing mode (group_call_mode, SPEC §2).
type Mode int

const (
	ModeSequential       Mode = 0 // always from the first member
	ModeRandom           Mode = 1
	ModeCyclic           Mode = 2  // continue after current_ext_number
	ModeMemorySequential Mode = 3  // memory first, then 0
	ModeMemoryRandom     Mode = 4  // memory first, then 1
	ModeMemoryCyclic     Mode = 5  // memory first, then 2 (the default)
	ModeLongestIdle      Mode = 6  // longest idle since its last call ended
	ModeFewestCalls      Mode = 7  // fewest calls answered today
	ModeLeastTalk        Mode = 8  // least talk time today
	ModeRingAll          Mode = 9  // every idle member at once; the first to answer wins
	ModeWeightedRandom   Mode = 10 // random, weighted by each membership's weight
	ModeBestSkill        Mode = 11 // best skill match for the call, then longest idle
)

// MaxMode is the highest valid mode.
const MaxMode = ModeBestSkill

// ModeHelp lists the modes for usage lines and error messages.
const ModeHelp = "0 sequence, 1 random, 2 cycle, 3 remember+0, 4 remember+1, 5 remember+2, 6 longest-idle, 7 fewest-calls, 8 least-talk, 9 ring-all, 10 weighted-random, 11 best-skill"

// DefaultMode is ext_group.group_call_mode's default.
const DefaultMode = ModeMemoryCyclic

// Valid reports whether m is one of the modes 0–11.
func (m Mode) Valid() bool { return m >= ModeSequential && m <= MaxMode }

// UsesMemory reports whether the remembered agent is tried first.
func (m Mode) UsesMemory() bool { return m >= ModeMemorySequential && m <= ModeMemoryCyclic }

// Fallback is the mode that picks when memory does not: 0, 1 or 2 for
// modes 3–5, the mode itself otherwise.
func (m Mode) Fallback() Mode {
	if m.UsesMemory() {
		return m - 3
	}
	return m
}

var modeNames = [...]string{"sequence", "random", "cycle", "remember+0", "remember+1", "remember+2",
	"longest-idle", "fewest-calls", "least-talk", "ring-all", "weighted-random", "best-skill"}

func (m Mode) String() string {
	if m.Valid() {
		return modeNames[m]
	}
	return fmt.Sprintf("mode(%d)", int(m))
}

// Seat is the agent's own ready/busy choice (seat_status).
type Seat string

const (
	SeatIdle Seat = "idle"
	SeatBusy Seat = "busy"
)

// CallState is the agent's call state (call_state, SPEC §4).
type CallState string

const (
	CallRing     CallState = "ring"
	CallTalking  CallState = "talking"
	CallIVR      CallState = "ivr"
	CallReady    CallState = "ready"
	CallTyping   CallState = "typing" // wrap-up after a call
	CallNoAnswer CallState = "no_answer"
	CallNoReady  CallState = "no_ready"
	CallBusy     CallState = "busy"
	CallRest     CallState = "rest"
)

// ParseCallState accepts exactly the values of SPEC §4.
func ParseCallState(s string) (CallState, error) {
	switch cs := CallState(s); cs {
	case CallRing, CallTalking, CallIVR, CallReady, CallTyping, CallNoAnswer, CallNoReady, CallBusy, CallRest:
		return cs, nil
	}
	return "", Errorf(ErrBadArgument, "unknown call state %q (want ring, talking, ivr, ready, typing, no_answer, no_ready, busy or rest)", s)
}

// RegState is the extension's registration (reg_state).
type RegState string

const (
	Reged RegState = "reged"
	Unreg RegState = "unreg"
)

// Level is a waiting call's priority.
type Level string

const (
	LevelVIP    Level = "vip"
	LevelNormal Level = "normal"
)

// Rings are a group's sound files; empty means none.
type Rings struct {
	Welcome   string
	Blacklist string
	Busy      string
	Transfer  string
}

// GiveUp is a group's policy for a caller nobody answers (SPEC §3 step 7).
// BusyRingTimes > 0: play the busy ring that many times, then hang up.
// BusyRingTimes == 0: never hang up while the caller waits.
// MaxWait > 0 additionally ends the wait after that long.
type GiveUp struct {
	BusyRingTimes int
	MaxWait       time.Duration
}

// ExtensionInfo is a snapshot of one extension and its agent state.
type ExtensionInfo struct {
	Extension  string
	JobNumber  string
	JobEnabled bool
	DialString string // empty: the node's default template
	RegStatus  RegState
	Seat       Seat
	CallState  CallState
	LoggedIn   bool
	Groups     []string // groups logged in to
	CallUUID   string   // the caller channel of the call it holds, if any
	AgentUUID  string   // its own leg on an answered call, if known
	CallLeg    string   // the leg the core named for that call: the ringing or answered agent leg, a callout's outside leg

	LastStatusChange time.Time
	Skills           []SkillReq // its skills and levels, by name
	// Node is the cluster node its phone is registered on (cluster mode;
	// "" on a single node or when the pool has not seen it).
	Node  string
	Stats AgentStats // today's counters and the end of its last call
}

// GroupInfo is a snapshot of one group.
type GroupInfo struct {
	Number         string
	Name           string
	Mode           Mode
	CalloutTimeout time.Duration
	CurrentExt     string
	Rings          Rings
	GiveUp         GiveUp
	Members        []string // logged-in extensions, in login order
	Waiting        int
	Blacklist      []string
	VIP            []string
	Options        GroupOptions
	Memberships    []Membership // tiers and weights set for extensions, by extension
}

// WaitingInfo is one queued call (GET /api/queues).
type WaitingInfo struct {
	UUID             string
	Number           string // caller number as presented
	RealCallinNumber string // the original caller number
	Group            string
	Level            Level
	CallinTime       time.Time
	OfferedTo        string // extension currently ringing for it, if any
	// Node is the cluster node holding the caller (cluster mode; "" on a
	// single node).
	Node string
	// Position is the call's place in its group's line (1 = next), counting
	// the unoffered calls served before it; 0 while an agent rings for it.
	Position int
	// EWT is the estimated wait from now until an agent answers the call,
	// from the group's measured interval between answers while calls wait,
	// counting the VIP callers expected to arrive meanwhile (served first);
	// EWTKnown is false until the group has measured that interval.
	EWT      time.Duration
	EWTKnown bool
	Skills   []SkillReq // what it asks for, at the levels it asks now (after relaxing)
	Callback string     // the number to call back: the caller hung up and keeps its place
}

// ErrCode classifies errors so transports can map them (console -ERR, HTTP status).
type ErrCode int

const (
	ErrBadArgument      ErrCode = iota + 1 // malformed input → 400
	ErrUnknownGroup                        // → 404
	ErrUnknownExtension                    // → 404
	ErrUnknownCall                         // → 404
	ErrExists                              // → 409
	ErrNoCall                              // the extension has no call → 409
	ErrState                               // not allowed in the current state → 409
	ErrUnavailable                         // the switch or a dependency is unavailable → 503
)

// Error is the core's typed error.
type Error struct {
	Code ErrCode
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Is makes errors.Is(err, &Error{Code: c}) match by code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && (t.Msg == "" || t.Msg == e.Msg)
}

// Errorf builds a typed error.
func Errorf(code ErrCode, format string, args ...any) error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// CodeOf returns err's code, or 0 when it is not a core error.
func CodeOf(err error) ErrCode {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}
