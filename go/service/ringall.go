package service

import (
	"strings"

	"github.com/nwayacd/mod_nwayacd/go/acd"
)

// Ring-all (mode 9): one originate rings every leg of the step at once, with
// FreeSWITCH's ',' separator. Variables common to the call go in the {}
// block; each leg's own uuid and agent go in its [] block, and
// local_var_clobber=true lets them win over the {} block and the shim's
// originate variables (which name the primary) on each leg's channel
// (switch_ivr_originate installs {} after [] otherwise). The first leg to
// answer is bridged; FreeSWITCH cancels the others (ORIGINATOR_CANCEL, 487).
// The session reports the answering leg's uuid, which ringLegs maps back to
// its agent.

// ringAllDial builds the dial string of a ring-all step; legs maps each
// named leg's uuid to its agent.
func (s *Service) ringAllDial(callUUID, group, caller string, timeoutSecs int, ring []acd.RingLeg) (dial string, legs map[string]string) {
	var b strings.Builder
	common := s.dialVars(callUUID, "", group, "", caller, timeoutSecs)
	// dialVars names no agent here: drop its empty nwayacd_agent.
	common = strings.Replace(common, ",nwayacd_agent=,", ",", 1)
	b.WriteString(common[:len(common)-1])
	b.WriteString(",local_var_clobber=true}")
	legs = make(map[string]string, len(ring))
	for i, r := range ring {
		if i > 0 {
			b.WriteByte(',')
		}
		d := r.Dial
		if d == "" {
			d = s.opt.DialTemplate
		}
		d = strings.ReplaceAll(d, "%s", r.Agent)
		// An agent's own {vars} become its leg's: only the first block of a
		// dial string may be {}.
		own := ""
		if strings.HasPrefix(d, "{") {
			if end := strings.IndexByte(d, '}'); end > 0 {
				own, d = d[1:end], d[end+1:]
			}
		}
		b.WriteByte('[')
		if r.Leg != "" {
			b.WriteString("origination_uuid=")
			b.WriteString(r.Leg)
			b.WriteByte(',')
			legs[r.Leg] = r.Agent
		}
		b.WriteString("nwayacd_agent=")
		b.WriteString(varSafe(r.Agent))
		if own != "" {
			b.WriteByte(',')
			b.WriteString(own)
		}
		b.WriteByte(']')
		b.WriteString(d)
	}
	return b.String(), legs
}
