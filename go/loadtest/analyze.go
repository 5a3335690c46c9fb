package loadtest

import (
	"math"
	"slices"
	"sort"
	"time"
)

// Roles says which UDP ports are whose: the switch's SIP port the callers
// call, and the port of the sipp UAS that plays the agents.
type Roles struct {
	SwitchPort uint16 // the profile callers send INVITEs to (FreeSWITCH)
	AgentPort  uint16 // the agents' sipp UAS
}

// Report is what one run measured.
type Report struct {
	Calls          int             // caller INVITEs seen (by Call-ID)
	Reached        int             // callers whose call an agent answered
	Offer          []time.Duration // caller INVITE in → first INVITE out to an agent
	QueuedDispatch []time.Duration // agent BYE while callers wait → next INVITE to that agent, for one of them
	// The part of each QueuedDispatch after the switch answered the BYE
	// (its 200 OK): what is left once FreeSWITCH has processed the hang-up,
	// which it does on the agent leg's own thread at that leg's next media
	// frame (up to 20 ms) before any module hears of it.
	DispatchAfterOK []time.Duration
	// DispatchBeforeOK counts the queued dispatches whose INVITE left
	// before the switch's 200 OK to the BYE.
	DispatchBeforeOK int
}

// ReachedPct is Reached as a percentage of Calls.
func (r Report) ReachedPct() float64 {
	if r.Calls == 0 {
		return 0
	}
	return 100 * float64(r.Reached) / float64(r.Calls)
}

type callerDialog struct {
	invite, firstOffer, end time.Time
	reached                 bool
}

// Analyze pairs caller and agent dialogs. Callers have unique numbers and the
// switch presents the caller's number to the agent (From), so an agent INVITE
// belongs to the caller whose number it carries. Retransmissions are ignored:
// only the first sighting of each dialog's INVITE counts.
func Analyze(ps []Packet, r Roles) Report {
	ps = slices.Clone(ps)
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].At.Before(ps[j].At) })

	callers := map[string]*callerDialog{} // by caller number
	byCallID := map[string]string{}       // caller Call-ID → caller number
	agentInvite := map[string]string{}    // agent-leg Call-ID → caller number
	seenAgentCallID := map[string]bool{}
	type sent struct {
		at     time.Time
		caller string
	}
	invitesTo := map[string][]sent{} // agent → INVITEs sent to it, in time order
	type bye struct {
		at     time.Time
		agent  string
		callID string
	}
	var byes []bye
	byeOK := map[string]time.Time{} // agent-leg Call-ID → the switch's 200 OK to the agent's BYE

	for _, p := range ps {
		m := p.Msg
		switch {
		case m.Method == "INVITE" && p.Dst.Port() == r.SwitchPort && p.Src.Port() != r.AgentPort:
			if _, dup := byCallID[m.CallID]; dup {
				continue
			}
			byCallID[m.CallID] = m.FromUser
			if callers[m.FromUser] == nil {
				callers[m.FromUser] = &callerDialog{invite: p.At}
			}
		case m.Method == "INVITE" && p.Dst.Port() == r.AgentPort:
			if seenAgentCallID[m.CallID] {
				continue
			}
			seenAgentCallID[m.CallID] = true
			agentInvite[m.CallID] = m.FromUser
			invitesTo[m.ToUser] = append(invitesTo[m.ToUser], sent{p.At, m.FromUser})
			if c := callers[m.FromUser]; c != nil && c.firstOffer.IsZero() {
				c.firstOffer = p.At
			}
		case m.Status == 200 && m.CSeqMethod == "INVITE" && p.Src.Port() == r.AgentPort:
			if c := callers[agentInvite[m.CallID]]; c != nil {
				c.reached = true
			}
		case m.Method == "BYE" && p.Src.Port() == r.AgentPort:
			byes = append(byes, bye{p.At, m.FromUser, m.CallID})
		case m.Status == 200 && m.CSeqMethod == "BYE" && p.Dst.Port() == r.AgentPort:
			if _, dup := byeOK[m.CallID]; !dup {
				byeOK[m.CallID] = p.At
			}
		case (m.Method == "BYE" || m.Method == "CANCEL") && byCallID[m.CallID] != "":
			if c := callers[byCallID[m.CallID]]; c != nil && c.end.IsZero() {
				c.end = p.At
			}
		}
	}

	var rep Report
	for _, c := range callers {
		rep.Calls++
		if c.reached {
			rep.Reached++
		}
		if !c.firstOffer.IsZero() {
			rep.Offer = append(rep.Offer, c.firstOffer.Sub(c.invite))
		}
	}
	waiting := func(t time.Time) bool {
		for _, c := range callers {
			if c.invite.Before(t) && (c.firstOffer.IsZero() || c.firstOffer.After(t)) && (c.end.IsZero() || c.end.After(t)) {
				return true
			}
		}
		return false
	}
	for _, b := range byes {
		if !waiting(b.at) {
			continue
		}
		for _, s := range invitesTo[b.agent] {
			if s.at.After(b.at) {
				// Only a caller that was there when the agent freed up: with
				// idle agents, someone is nearly always mid-offer at a BYE,
				// and the agent's next call, seconds later, is no dispatch.
				if c := callers[s.caller]; c == nil || !c.invite.Before(b.at) {
					break
				}
				rep.QueuedDispatch = append(rep.QueuedDispatch, s.at.Sub(b.at))
				if ok, seen := byeOK[b.callID]; seen && !ok.After(s.at) {
					rep.DispatchAfterOK = append(rep.DispatchAfterOK, s.at.Sub(ok))
				} else if seen {
					// The next INVITE left before the switch had handled the
					// BYE at all (the module saw the BYE in the SIP capture).
					rep.DispatchBeforeOK++
				}
				break
			}
		}
	}
	slices.Sort(rep.Offer)
	slices.Sort(rep.QueuedDispatch)
	slices.Sort(rep.DispatchAfterOK)
	return rep
}

// Quantile returns the nearest-rank q-quantile (0..1) of sorted durations,
// 0 when empty.
func Quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}
