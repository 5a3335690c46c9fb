// Package cdr assembles exactly one CDR per call (SPEC §7b): a Record merges
// the facts reported about the caller leg and the agent legs, and a Book keeps
// each call's Record until its caller leg has really ended, then hands the CDR
// on once. A Record keeps no clock: every time is passed in, so it is
// deterministic and testable. Neither is locked: they belong to the owner of
// the calls (the service, under its lock).
package cdr

import (
	"strconv"
	"strings"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/event"
)

// Flags: the human summary in the CDR's "flag" field. Exactly one applies,
// chosen in this order:
//
//	黑名单       the caller was blacklisted (Blacklisted)
//	外呼         a callout that was answered
//	外呼未接通   a callout that was never answered
//	转接         the call was transferred (Transferred), answered or not
//	回拨接听     a callback (Callback) that connected caller and agent
//	回拨未接通   a callback that never connected
//	正常接听     the first agent offered answered
//	无应答后接听 an agent answered after one or more agents did not
//	排队超时     the system gave up by policy (GaveUp with no reason; a non-empty
//	             reason is used verbatim instead)
//	单座席无应答 agents were offered, none answered, and all were the same agent
//	多座席无应答 as above, with two or more distinct agents
//	排队放弃     the caller hung up without any agent being offered
//
// The caller hanging up while an agent rings counts as that agent's no-answer
// (the seed's example: recv_bye, 单座席无应答), so Abandoned only names calls
// that reached no agent; GaveUp is the system's own decision and wins over the
// agents' no-answers.
const (
	FlagBlacklisted           = "黑名单"
	FlagCallout               = "外呼"
	FlagCalloutFailed         = "外呼未接通"
	FlagTransferred           = "转接"
	FlagCallback              = "回拨接听"
	FlagCallbackFailed        = "回拨未接通"
	FlagAnswered              = "正常接听"
	FlagAnsweredAfterNoAnswer = "无应答后接听"
	FlagTimeout               = "排队超时"
	FlagNoAnswerOne           = "单座席无应答"
	FlagNoAnswerMany          = "多座席无应答"
	FlagAbandoned             = "排队放弃"
)

// Leg is what FreeSWITCH knows about one channel. Zero fields mean unknown;
// reporting a leg again merges the known fields over the old ones.
type Leg struct {
	UUID, CallerIDNumber, DestinationNumber string
	Start, Answer, End                      time.Time
	HangupDisposition, RecordFile           string
}

func (l *Leg) merge(n Leg) {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	setT := func(dst *time.Time, v time.Time) {
		if !v.IsZero() {
			*dst = v
		}
	}
	set(&l.UUID, n.UUID)
	set(&l.CallerIDNumber, n.CallerIDNumber)
	set(&l.DestinationNumber, n.DestinationNumber)
	setT(&l.Start, n.Start)
	setT(&l.Answer, n.Answer)
	setT(&l.End, n.End)
	set(&l.HangupDisposition, n.HangupDisposition)
	set(&l.RecordFile, n.RecordFile)
}

// outcome of one offer of the call to one agent.
type outcome uint8

const (
	ringing outcome = iota // no answer reported yet; a no-answer once the call is over
	noAnswer
	answered
)

// attempt is one offer of the call to an agent.
type attempt struct {
	ext       string
	offeredAt time.Time
	endedAt   time.Time // when the no-answer was reported
	outcome   outcome
	leg       Leg
}

// Record collects one call's facts until Build.
type Record struct {
	uuid, group string
	callout     bool
	caller      Leg
	attempts    []attempt
	transferTo  string
	abandoned   bool
	blacklisted bool
	gaveUp      bool
	gaveUpWhy   string
	callback    bool
}

// New starts the record of the call whose caller channel is uuid, accounted to
// group ("" when none, e.g. a callout).
func New(uuid, group string, callout bool) *Record {
	return &Record{uuid: uuid, group: group, callout: callout}
}

// Caller reports the caller (a) leg; call it again to add later stamps.
func (r *Record) Caller(l Leg) {
	if r.transferTo != "" && r.caller.DestinationNumber != "" {
		// A transfer rewrites the channel's destination to its target; the
		// record keeps what the caller dialled (the target is in the flag).
		l.DestinationNumber = ""
	}
	r.caller.merge(l)
}

// Offered reports that the call started ringing ext at at. Empty ext is ignored.
func (r *Record) Offered(ext string, at time.Time) {
	if ext == "" {
		return
	}
	r.attempts = append(r.attempts, attempt{ext: ext, offeredAt: at})
}

// NoAnswer reports that ext stopped ringing unanswered at at. Without an
// open offer to ext it records one that began at at.
func (r *Record) NoAnswer(ext string, at time.Time) {
	a := r.open(ext, at)
	if a == nil {
		return
	}
	a.outcome = noAnswer
	a.endedAt = at
}

// Answered reports that ext took the call; leg is its channel as known so far
// (AgentLeg adds later stamps). Without an open offer to ext it records one
// that began at leg.Start.
func (r *Record) Answered(ext string, leg Leg) {
	a := r.open(ext, leg.Start)
	if a == nil {
		return
	}
	a.outcome = answered
	a.leg.merge(leg)
}

// AgentLeg merges l into the latest offer to ext (no-op when ext was never offered).
func (r *Record) AgentLeg(ext string, l Leg) {
	for i := len(r.attempts) - 1; i >= 0; i-- {
		if r.attempts[i].ext == ext {
			r.attempts[i].leg.merge(l)
			return
		}
	}
}

// Transferred reports that the call was transferred to to.
func (r *Record) Transferred(to string) { r.transferTo = to }

// Callback records that the caller asked to be called back (issue 12).
func (r *Record) Callback() { r.callback = true }

// Abandoned reports that the caller hung up while waiting. It names the
// call only when no agent was offered (see the flag order); a call that
// reached no agent and has no other outcome is 排队放弃 anyway, so this call
// states the fact rather than changing the default.
func (r *Record) Abandoned() { r.abandoned = true }

// Blacklisted reports that the caller was rejected by the group's blacklist.
func (r *Record) Blacklisted() { r.blacklisted = true }

// GaveUp reports that the system ended the wait by policy (busy ring played N
// times). reason, when not empty, becomes the flag verbatim.
func (r *Record) GaveUp(reason string) { r.gaveUp, r.gaveUpWhy = true, reason }

// open returns the latest still-ringing offer to ext, or appends one.
func (r *Record) open(ext string, at time.Time) *attempt {
	if ext == "" {
		return nil
	}
	for i := len(r.attempts) - 1; i >= 0; i-- {
		if r.attempts[i].ext == ext && r.attempts[i].outcome == ringing {
			return &r.attempts[i]
		}
	}
	r.attempts = append(r.attempts, attempt{ext: ext, offeredAt: at})
	return &r.attempts[len(r.attempts)-1]
}

// Build renders the CDR; times in loc (nil: UTC) as event.TimeLayout, empty
// when unknown. Durations are whole seconds between the displayed stamps (as
// FreeSWITCH's epoch differences), never negative. Build does not change r.
func (r *Record) Build(loc *time.Location) event.CDR {
	if loc == nil {
		loc = time.UTC
	}
	c := event.CDR{
		UUID:                  r.uuid,
		IsCallout:             r.callout,
		ACallerIDNumber:       r.caller.CallerIDNumber,
		ADestinationNumber:    r.caller.DestinationNumber,
		AStartStamp:           stamp(r.caller.Start, loc),
		AAnswerStamp:          stamp(r.caller.Answer, loc),
		AEndStamp:             stamp(r.caller.End, loc),
		ADuration:             seconds(r.caller.Start, r.caller.End),
		ABillsec:              seconds(r.caller.Answer, r.caller.End),
		ASIPHangupDisposition: r.caller.HangupDisposition,
		ARecordFile:           r.caller.RecordFile,
		Group:                 r.group,
	}
	dest, distinct := r.accounted(&c)
	c.StrNoAnswerAgents = strings.Join(c.NoAnswerAgents, ",")
	r.destination(&c, dest, loc)
	c.Flag = r.flag(dest != nil && dest.outcome == answered, len(c.NoAnswerAgents), distinct)
	return c
}

// buildEnding is Build for a call whose caller leg is taken to end at end
// when its own end is unknown; r does not change.
func (r *Record) buildEnding(loc *time.Location, end time.Time) event.CDR {
	if !r.caller.End.IsZero() || end.IsZero() {
		return r.Build(loc)
	}
	cp := *r // Build reads attempts only: sharing them is fine
	cp.caller.End = end
	return cp.Build(loc)
}

// accounted returns the offer the CDR is accounted to (the first agent to
// answer, else the last one offered) and how many distinct agents did not
// answer; it fills c's no-answer list.
func (r *Record) accounted(c *event.CDR) (dest *attempt, distinct int) {
	seen := map[string]bool{}
	for i := range r.attempts {
		a := &r.attempts[i]
		if a.outcome == answered {
			if dest == nil || dest.outcome != answered {
				dest = a
			}
			continue
		}
		c.NoAnswerAgents = append(c.NoAnswerAgents, a.ext)
		seen[a.ext] = true
		if dest == nil || dest.outcome != answered {
			dest = a
		}
	}
	return dest, len(seen)
}

// destination fills the agent side of c from dest (nil: no agent offered).
func (r *Record) destination(c *event.CDR, dest *attempt, loc *time.Location) {
	if dest == nil {
		c.Duration, c.Billsec = "0", "0"
		return
	}
	start := first(dest.leg.Start, dest.offeredAt)
	end := first(dest.leg.End, dest.endedAt, r.caller.End)
	var ans time.Time
	if dest.outcome == answered {
		ans = dest.leg.Answer
	}
	c.DestinationNumber = dest.ext
	c.StartStamp = stamp(start, loc)
	c.AnswerStamp = stamp(ans, loc)
	c.EndStamp = stamp(end, loc)
	c.Duration = seconds(start, end)
	c.Billsec = seconds(ans, end)
}

// flag picks the one flag that applies, in the order the Flag constants list.
func (r *Record) flag(isAnswered bool, noAnswers, distinct int) string {
	switch {
	case r.blacklisted:
		return FlagBlacklisted
	case r.callout && isAnswered:
		return FlagCallout
	case r.callout:
		return FlagCalloutFailed
	case r.transferTo != "":
		return FlagTransferred
	case r.callback && isAnswered:
		return FlagCallback
	case r.callback:
		return FlagCallbackFailed
	case isAnswered && noAnswers == 0:
		return FlagAnswered
	case isAnswered:
		return FlagAnsweredAfterNoAnswer
	case r.gaveUp && r.gaveUpWhy != "":
		return r.gaveUpWhy
	case r.gaveUp:
		return FlagTimeout
	case distinct == 1:
		return FlagNoAnswerOne
	case distinct > 1:
		return FlagNoAnswerMany
	}
	return FlagAbandoned
}

func first(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

func stamp(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format(event.TimeLayout)
}

// seconds is end-start in whole seconds of the displayed stamps; "0" when
// either is unknown or end precedes start.
func seconds(start, end time.Time) string {
	if start.IsZero() || end.IsZero() {
		return "0"
	}
	d := end.Unix() - start.Unix()
	if d < 0 {
		d = 0
	}
	return strconv.FormatInt(d, 10)
}
