// Package event holds the wire messages of SPEC.md §7: call events, agent-facing
// offer events, CDRs, queue changes and agent changes. Values only; formatting
// lives beside them so that every transport renders the same bytes.
package event

// Family is the message family; it prefixes every Redis channel name.
type Family uint8

const (
	FamilyEvent Family = iota + 1 // event_*
	FamilyCDR                     // cdr_*
	FamilyQueue                   // queue_*
	FamilyAgent                   // agent_*
)

// CallEventName numbers the call events from 1, as existing clients expect.
// The misspellings EVNET_ALERT and EVENT_DESTORY are part of the wire format.
type CallEventName uint8

const (
	EventCallin CallEventName = iota + 1
	EventCallout
	EventRing
	EventAlert // EVNET_ALERT
	EventAnswer
	EventHangup
	EventDTMF
	EventPlayRing
	EventPlayStop
	EventPark
	EventUnpark
	EventHold
	EventUnhold
	EventBridged
	EventDestroy // EVENT_DESTORY
	EventTalking
	EventDA
)

// Call is a call event (§7a), one channel's fact.
type Call struct {
	Name                  CallEventName
	CallinNumber          string
	DestNumber            string
	Domain                string
	DTMF                  string
	Gateway               string
	OriginateNumber       string
	Direction             string // "inbound" / "outbound"
	AUUID                 string
	BUUID                 string
	OriginationDestNumber string
}

// OfferMethod is the method of an agent-facing message (§7a).
type OfferMethod uint8

const (
	OfferCallout  OfferMethod = iota + 1 // "callout": offered to the agent
	OfferNoAnswer                        // "noanswer"
	OfferAnswered                        // "answered"
	OfferHangup                          // "hangup"
)

// Offer is an agent-facing message about one queued call and one agent.
type Offer struct {
	Method     OfferMethod
	UUID       string // the caller's channel
	Number     string // the caller's number
	Group      string
	Extension  string
	Level      string // "vip" / "normal"
	CallinTime string // YYYY-MM-DD HH:MM:SS
	CTIIP      string // the node; the seed's agent-facing Redis messages carry it
	Callback   string // the number called back, for a callback's offers (issue 12); "" = omitted
}

// QueueMethod is nway_queue_add or nway_queue_remove.
type QueueMethod uint8

const (
	QueueAdd    QueueMethod = iota + 1 // "nway_queue_add"
	QueueRemove                        // "nway_queue_remove"
	// Issue 12's queue decisions (go/acd/ROUTING.md).
	QueueOverflow       // "nway_queue_overflow": the call moved from Group to ToGroup
	QueueExit           // "nway_queue_exit": the caller pressed the exit key
	QueueFull           // "nway_queue_full": refused, Group had its maximum waiting
	QueueCallback       // "nway_queue_callback": the caller asked to be called back at Callback
	QueueCallbackPlaced // "nway_queue_callback_placed": Extension reserved; Order caller_first/agent_first
)

// Queue is a queue change (§7c).
type Queue struct {
	Method     QueueMethod
	UUID       string
	Number     string
	Group      string
	Level      string
	CallinTime string // YYYY-MM-DD HH:MM:SS
	// Issue 12's methods only; each is left out of the JSON when empty, so
	// nway_queue_add / nway_queue_remove are unchanged.
	ToGroup   string // overflow: the group the call moved to
	Callback  string // callback, callback_placed: the number called back
	Extension string // callback_placed: the agent reserved
	Order     string // callback_placed: caller_first or agent_first
}

// Agent is an agent state change (§7d).
type Agent struct {
	Number string // the extension
	Status string // the new state, e.g. "ready", "talking", "busy", "login", "reged"
	Time   string // YYYY-MM-DD HH:MM:SS
}

// CDR is one record per call (§7b), assembled across the caller leg and the
// agent legs. Times are YYYY-MM-DD HH:MM:SS or empty; durations are seconds
// rendered as decimal strings.
type CDR struct {
	UUID                  string
	IsCallout             bool
	ACallerIDNumber       string
	ADestinationNumber    string
	AStartStamp           string
	AAnswerStamp          string
	AEndStamp             string
	ADuration             string
	ABillsec              string
	ASIPHangupDisposition string
	ARecordFile           string
	StrNoAnswerAgents     string // e.g. "1011,1012"
	DestinationNumber     string // the answering (or last offered) agent
	StartStamp            string
	AnswerStamp           string
	EndStamp              string
	Duration              string
	Billsec               string
	NoAnswerAgents        []string // rendered as {1011,1012} in the Redis payload
	Flag                  string   // human summary, e.g. 单座席无应答
	Group                 string   // the group the call was accounted to (channel naming)
}

// TimeLayout is the wire format of every time stamp.
const TimeLayout = "2006-01-02 15:04:05"
