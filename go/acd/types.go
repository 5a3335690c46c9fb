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
	ModeCyclic           Mode = 2 // continue after current_ext_number
	ModeMemorySequential Mode = 3 // memory first, then 0
	ModeMemoryRandom     Mode = 4 // memory first, then 1
	ModeMemoryCyclic     Mode = 5 // memory first, then 2 (the default)
)

// DefaultMode is ext_group.group_call_mode's default.
const DefaultMode = ModeMemoryCyclic

// Valid reports whether m is one of the six modes.
func (m Mode) Valid() bool { return m >= ModeSequential && m <= ModeMemoryCyclic }

// UsesMemory reports whether the remembered agent is tried first.
func (m Mode) UsesMemory() bool { return m >= ModeMemorySequential && m <= ModeMemoryCyclic }

// Fallback is the mode that picks when memory does not (0, 1 or 2).
func (m Mode) Fallback() Mode {
	if m.UsesMemory() {
		return m - 3
	}
	return m
}

var modeNames = [...]string{"sequence", "random", "cycle", "remember+0", "remember+1", "remember+2"}

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
