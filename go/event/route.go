package event

import (
	"unicode"
	"unicode/utf8"
)

// maxEntity caps the entity part of a channel or routing key, so that a
// hostile caller number cannot exceed AMQP's 255-byte short string.
const maxEntity = 128

// entity returns the raw entity each message is addressed by.
func (c *Call) entity() string {
	switch {
	case c.DestNumber != "":
		return c.DestNumber
	case c.CallinNumber != "":
		return c.CallinNumber
	}
	return c.AUUID
}

func (o *Offer) entity() string { return o.Extension }

func (c *CDR) entity() string {
	if c.Group != "" {
		return c.Group
	}
	return c.ADestinationNumber
}

func (q *Queue) entity() string { return q.Group }
func (a *Agent) entity() string { return a.Number }

// Family reports FamilyEvent: call events and offers share the event_ family.
func (c *Call) Family() Family { return FamilyEvent }

// Family reports FamilyEvent: offers are the agent-facing event_ messages.
func (o *Offer) Family() Family { return FamilyEvent }

// Family reports FamilyCDR.
func (c *CDR) Family() Family { return FamilyCDR }

// Family reports FamilyQueue.
func (q *Queue) Family() Family { return FamilyQueue }

// Family reports FamilyAgent.
func (a *Agent) Family() Family { return FamilyAgent }

// Channel is the Redis channel "event_<dest|callin|auuid>".
func (c *Call) Channel() string { return channel(FamilyEvent, c.entity(), '_') }

// Channel is the Redis channel "event_<extension>".
func (o *Offer) Channel() string { return channel(FamilyEvent, o.entity(), '_') }

// Channel is the Redis channel "cdr_<group|a_destination_number>".
func (c *CDR) Channel() string { return channel(FamilyCDR, c.entity(), '_') }

// Channel is the Redis channel "queue_<group>".
func (q *Queue) Channel() string { return channel(FamilyQueue, q.entity(), '_') }

// Channel is the Redis channel "agent_<number>".
func (a *Agent) Channel() string { return channel(FamilyAgent, a.entity(), '_') }

// RoutingKey is the AMQP topic key "event.<dest|callin|auuid>".
func (c *Call) RoutingKey() string { return channel(FamilyEvent, c.entity(), '.') }

// RoutingKey is the AMQP topic key "event.<extension>".
func (o *Offer) RoutingKey() string { return channel(FamilyEvent, o.entity(), '.') }

// RoutingKey is the AMQP topic key "cdr.<group|a_destination_number>".
func (c *CDR) RoutingKey() string { return channel(FamilyCDR, c.entity(), '.') }

// RoutingKey is the AMQP topic key "queue.<group>".
func (q *Queue) RoutingKey() string { return channel(FamilyQueue, q.entity(), '.') }

// RoutingKey is the AMQP topic key "agent.<number>".
func (a *Agent) RoutingKey() string { return channel(FamilyAgent, a.entity(), '.') }

func channel(f Family, entity string, sep byte) string {
	var buf [16 + maxEntity]byte
	b := append(buf[:0], f.String()...)
	b = append(b, sep)
	b = appendEntity(b, entity, sep == '.')
	return string(b)
}

// appendEntity copies s, replacing with '_' every byte that would act as a
// pattern character for PSUBSCRIBE (* ? [ ] \), for AMQP topic bindings
// when amqp (. and #; * is already replaced), whitespace, control characters
// and invalid UTF-8.
// It stops before maxEntity bytes, on a rune boundary.
func appendEntity(dst []byte, s string, amqp bool) []byte {
	n := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if n+size > maxEntity {
			break
		}
		n += size
		switch {
		case r == utf8.RuneError && size == 1,
			r == '*', r == '?', r == '[', r == ']', r == '\\',
			amqp && (r == '.' || r == '#'),
			r < 0x20, r == 0x7f, unicode.IsSpace(r), unicode.IsControl(r):
			dst = append(dst, '_')
		default:
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return dst
}
