package acd

import "time"

// DecisionKind says what the driver must do with a Decision.
type DecisionKind uint8

const (
	// DAgent: agent Ext changed to Status (publish an agent event, log it).
	DAgent DecisionKind = iota + 1
	// DQueueAdd / DQueueRemove: Call entered or left its group's queue.
	DQueueAdd
	DQueueRemove
	// DOffer*: desk messages about Call for extension Ext: an offer began
	// (callout), was not answered, was answered, ended (hangup). The party
	// offered is Call.Agent: the agent itself, or for a callout (nwaycallout)
	// the outside number while Ext is the phone dialling out. A hangup
	// with Status StatusRingCancelled is a ring-all loser's: another agent
	// answered, the offer is withdrawn and is no no-answer.
	DOfferCallout
	DOfferNoAnswer
	DOfferAnswered
	DOfferHangup
	// DWake: Call's session must ask for its next step now (the host's wake).
	DWake
	// DKill: take back the offer of Call to Ext: hang up its agent leg
	// AgentUUID ("" when unnamed: the offer's own timeout ends it).
	DKill
	// DEnded: Call is finished with Result; Tried lists the no-answer agents.
	// Exactly once per call; a transferred call ends when its caller's
	// channel does (TransferEnded), not at the transfer.
	DEnded
	// DMemory: remember that caller Call.Number talked with Ext.
	DMemory
	// DCursor: group Call.Group's current_ext_number is now Ext.
	DCursor
	// DOverflow: Call moves from its group Call.Group to group Status,
	// keeping its arrival time and level (a DQueueRemove precedes it when
	// it was queued, a DQueueAdd in the new group follows when it waits).
	DOverflow
	// DExit: the caller pressed the group's exit key; DEnded (exit) follows.
	DExit
	// DFull: Call was refused: its group already has its maximum of
	// waiting calls; DEnded (full) follows.
	DFull
	// DCallbackScheduled: the caller of Call asked to be called back at
	// Status and hung up; the call keeps its place.
	DCallbackScheduled
	// DCallbackPlaced: agent Ext is reserved for callback Call: place the
	// calls in the order Status says, "caller_first" (call Call.Callback,
	// whose session then reports CallbackConnected and is offered Ext) or
	// "agent_first" (ring Ext, then call the caller, bridge, report
	// CallbackConnected); report CallbackFailed when an attempt fails.
	DCallbackPlaced
	// DReserve (pool mode only, see pool.go): Call starts waiting; the
	// driver asks the shared pool to reserve the first still idle of
	// Candidates(Call.UUID) and reports the outcome with Grant.
	DReserve
	// DRequalify (pool mode only): who may take waiting Call changed (its
	// skills relaxed, a tier joined, members or their skills changed); the
	// driver tells the pool Eligible(Call.UUID).
	DRequalify
	// DPoolRelease (pool mode only): the agent Ext the pool reserved for
	// Call is free again without having been offered it (a caller-first
	// callback whose caller did not answer).
	DPoolRelease
)

var decisionNames = [...]string{"", "agent", "queue_add", "queue_remove", "offer_callout",
	"offer_noanswer", "offer_answered", "offer_hangup", "wake", "kill", "ended", "memory", "cursor",
	"queue_overflow", "queue_exit", "queue_full", "queue_callback", "queue_callback_placed", "reserve", "requalify", "pool_release"}

func (k DecisionKind) String() string {
	if int(k) < len(decisionNames) {
		return decisionNames[k]
	}
	return "unknown"
}

// Result is how a call left the core (also the nwayacd_result channel variable).
type Result string

const (
	ResultAnswered    Result = "answered"
	ResultBlacklisted Result = "blacklisted"
	ResultAbandoned   Result = "abandoned" // the caller hung up first
	ResultGaveUp      Result = "gave_up"   // busy ring played N times
	ResultTimeout     Result = "timeout"   // the group's maximum wait passed
	ResultNoGroup     Result = "no_group"  // the group vanished while it waited
	ResultNoAnswer    Result = "no_answer" // a direct call the extension, or a callout the outside number, did not answer
	ResultExit        Result = "exit"      // the caller pressed the group's exit key
	ResultFull        Result = "full"      // refused: the group had its maximum of waiting calls
	ResultCallback    Result = "callback"  // the caller hung up to be called back (the call lives on)
)

// CallView is a value snapshot of a call carried by decisions.
type CallView struct {
	UUID       string
	Number     string
	RealNumber string
	Group      string
	Level      Level
	CallinTime time.Time
	Agent      string        // the party offered or talking: an agent, a callout's outside number
	AgentUUID  string        // that party's leg, when the core named it or the session reported it
	Tried      []string      // no-answer agents, in order (DEnded only; owned by the receiver)
	Result     Result        // DEnded only
	Waited     time.Duration // DEnded only: from entry to the end (0 for a callout)
	Callback   string        // the number called back, when the caller asked for a callback
}

// Decision is one outcome of a fact.
type Decision struct {
	Kind   DecisionKind
	Ext    string
	Status string
	Call   CallView
	At     time.Time
}

// StatusRingCancelled marks a ring-all loser's DOfferHangup.
const StatusRingCancelled = "ring_cancelled"

// StatusExcused marks a DOfferNoAnswer the agent is not held to (the switch
// was Saturated): the agent rests OverloadRest instead of counting it.
const StatusExcused = "excused"
