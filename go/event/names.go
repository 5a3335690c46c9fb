package event

// String returns the family's channel prefix without the "_": "event", "cdr",
// "queue" or "agent". The same word is the first segment of the AMQP routing key.
func (f Family) String() string {
	switch f {
	case FamilyEvent:
		return "event"
	case FamilyCDR:
		return "cdr"
	case FamilyQueue:
		return "queue"
	case FamilyAgent:
		return "agent"
	}
	return "unknown"
}

// callEventNames is indexed by CallEventName; the misspellings are wire format.
var callEventNames = [...]string{
	"",
	"EVENT_CALLIN",
	"EVENT_CALLOUT",
	"EVENT_RING",
	"EVNET_ALERT",
	"EVENT_ANSWER",
	"EVENT_HANGUP",
	"EVENT_DTMF",
	"EVENT_PLAYRING",
	"EVENT_PLAYSTOP",
	"EVENT_PARK",
	"EVENT_UNPARK",
	"EVENT_HOLD",
	"EVENT_UNHOLD",
	"EVENT_BRIDGED",
	"EVENT_DESTORY",
	"EVENT_TALKING",
	"EVENT_DA",
}

// String returns the wire name, e.g. "EVENT_CALLIN", "EVNET_ALERT",
// "EVENT_DESTORY"; "EVENT_UNKNOWN" outside 1..17 (a constant, so rendering
// never allocates).
func (n CallEventName) String() string {
	if n == 0 || int(n) >= len(callEventNames) {
		return "EVENT_UNKNOWN"
	}
	return callEventNames[n]
}

// Valid reports whether n is one of the 17 defined events.
func (n CallEventName) Valid() bool { return n >= EventCallin && n <= EventDA }

// String returns "callout", "noanswer", "answered" or "hangup" ("unknown" otherwise).
func (m OfferMethod) String() string {
	switch m {
	case OfferCallout:
		return "callout"
	case OfferNoAnswer:
		return "noanswer"
	case OfferAnswered:
		return "answered"
	case OfferHangup:
		return "hangup"
	}
	return "unknown"
}

// String returns "nway_queue_add", "nway_queue_remove", … ("unknown" otherwise).
func (m QueueMethod) String() string {
	switch m {
	case QueueAdd:
		return "nway_queue_add"
	case QueueRemove:
		return "nway_queue_remove"
	case QueueOverflow:
		return "nway_queue_overflow"
	case QueueExit:
		return "nway_queue_exit"
	case QueueFull:
		return "nway_queue_full"
	case QueueCallback:
		return "nway_queue_callback"
	case QueueCallbackPlaced:
		return "nway_queue_callback_placed"
	}
	return "unknown"
}
