// Package session is the protocol between a caller's FreeSWITCH session thread
// (running the nwayacd, nwaycallout or nway_bridge application) and the Go side.
//
// The session thread owns all media: it asks Go what to do next, does it (play,
// wait with music, originate an agent, bridge, hang up), and reports the outcome.
// Go never touches a session; it wakes a waiting one through the shim's wake
// (the session's break flag and signal; `uuid_break` only as a fallback).
package session

// Action tells the session thread what to do next.
type Action uint8

const (
	// Wait: play File in a loop (music while queued) until woken (the host's wake)
	// or TimeoutMS passes (0: no limit), then ask Next again.
	Wait Action = iota + 1
	// Play: play File Loops times (answering first if needed), then ask Next.
	Play
	// Offer: originate Dial (already carrying its {vars}, among them the
	// origination_uuid the core chose for a one-leg dial string) for at most
	// TimeoutMS, presenting CallerNumber, the caller hearing File meanwhile
	// (none for a callout: the far end's ringback); on answer bridge the
	// caller to it.
	// Report with OfferResult, then (after answer) BridgeEnded when the bridge ends.
	Offer
	// Hangup: play File (if set) then hang up with Cause.
	Hangup
	// Done: set Vars and return to the dialplan.
	Done
)

func (a Action) String() string {
	switch a {
	case Wait:
		return "wait"
	case Play:
		return "play"
	case Offer:
		return "offer"
	case Hangup:
		return "hangup"
	case Done:
		return "done"
	}
	return "unknown"
}

// Directive is one step for the session thread.
type Directive struct {
	Action       Action
	File         string
	Loops        int
	TimeoutMS    int
	Dial         string
	Agent        string // the extension offered, or a callout's outside number (Offer)
	CallerNumber string // caller id presented to the agent (Offer)
	Cause        string // FreeSWITCH hangup cause name (Hangup), e.g. NORMAL_CLEARING
	// RingMS (Wait, Offer): a caller not yet answered stays ringing, with
	// no media, until this long after its channel came up; 0: answered.
	RingMS int
	Vars   [][2]string
}

// Kind is what a session enters with.
type Kind uint8

const (
	Queue   Kind = iota + 1 // nwayacd <group>
	Callout                 // nwaycallout <number> <gateway> <group>
	Direct                  // nway_bridge <extension>
)

// Call describes the channel entering an application.
type Call struct {
	Kind         Kind
	UUID         string
	Group        string // Queue, Callout
	Target       string // Callout: the outside number; Direct: the extension
	Gateway      string // Callout
	CallerNumber string
	CallerName   string
	DestNumber   string
	Level        string  // from the nwayacd_level channel variable; "" = decide by VIP list
	Skills       string  // from the nwayacd_skills channel variable ("zh:5,billing:3"); "" = the group's default
	CPUBusy      float64 // how busy the switch's CPU was as the call entered, in percent; 0 = not known
}

// Outcome is how an offer ended.
type Outcome uint8

const (
	Answered Outcome = iota + 1
	NoAnswer         // rang out, or the agent rejected/was busy
	Failed           // could not be reached (unregistered, bad dial string)
	Canceled         // the caller hung up while it rang
)

// OfferResult reports one offer.
type OfferResult struct {
	UUID      string // the caller's channel
	Agent     string
	AgentUUID string // the leg created, when the session knows it (it overrides the core's name)
	Outcome   Outcome
	Cause     string  // FreeSWITCH cause name
	CPUBusy   float64 // how busy the switch's CPU was as the offer ended, in percent; 0 = not known (as CallIn.CPUBusy)
}

// EventKind names the FreeSWITCH facts the module consumes.
type EventKind uint8

const (
	ChannelCreate EventKind = iota + 1
	ChannelProgress
	ChannelProgressMedia
	ChannelAnswer
	ChannelBridge
	ChannelUnbridge
	ChannelHold
	ChannelUnhold
	ChannelDTMF
	ChannelPark
	ChannelUnpark
	PlaybackStart
	PlaybackStop
	ChannelHangup
	ChannelHangupComplete
	ChannelDestroy
	SIPRegister   // sofia::register
	SIPUnregister // sofia::unregister
	SIPExpire     // sofia::expire
)

// ChannelEvent is a FreeSWITCH event reduced to what the module uses.
// Epoch values are microseconds since 1970 (FreeSWITCH's *_epoch/*_uepoch), 0 when unset.
type ChannelEvent struct {
	Kind                 EventKind
	UUID                 string
	OtherUUID            string
	Direction            string // inbound / outbound
	CallerNumber         string
	DestNumber           string
	Domain               string
	DTMF                 string
	Gateway              string
	OrigCallerNumber     string
	OrigDestNumber       string
	HangupCause          string
	SIPHangupDisposition string
	RecordFile           string
	StartUsec            int64
	AnswerUsec           int64
	EndUsec              int64
	User                 string // registrations: the extension; channels: the SIP user it authenticated as, or was dialled as (user/…), never the caller ID
	NwayCall             string // variable nwayacd_call: the caller uuid an agent leg belongs to
}
