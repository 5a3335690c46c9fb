package metrics

import (
	"bufio"
	"strconv"

	"github.com/nwayacd/mod_nwayacd/go/stats"
)

// Per-group families are written straight from the stats: with 1,000 groups
// they are some 40,000 samples, which client_golang's const metrics gather
// (allocating, hashing and sorting each) in about 200 ms; written here they
// take a few milliseconds. Names, types and help follow the same rules and
// the test lints the whole output with promlint.
type family struct {
	name, typ, help string
}

var groupFamilies = [...]family{
	{"nwayacd_calls_waiting", "gauge", "Calls queued in the group now."},
	{"nwayacd_longest_wait_seconds", "gauge", "How long the oldest queued call of the group has waited."},
	{"nwayacd_agents", "gauge", "Logged-in member agents of the group by call state."},
	{"nwayacd_calls_total", "counter", "Calls that left the group, by result (answered counts at answer)."},
	{"nwayacd_offer_no_answer_total", "counter", "Offers to agents that were not answered."},
	{"nwayacd_wait_seconds", "histogram", "Time callers waited before answer or leaving (blacklisted calls excluded)."},
	{"nwayacd_talk_seconds", "histogram", "Talk time of answered calls, observed when the talk ends."},
}

const (
	fWaiting = iota
	fLongest
	fAgents
	fCalls
	fNoAnswer
	fWait
	fTalk
	nFamilies
)

func writeGroups(w *bufio.Writer, st *stats.Stats) {
	var fam [nFamilies][]byte
	for i := range fam {
		f := &groupFamilies[i]
		fam[i] = append(fam[i], "# HELP "+f.name+" "+f.help+"\n# TYPE "+f.name+" "+f.typ+"\n"...)
	}
	st.Totals(func(g *stats.GroupTotals) {
		lbl := appendLabel(nil, "group", g.Group)
		fam[fWaiting] = sample(fam[fWaiting], "nwayacd_calls_waiting", lbl, float64(g.Waiting))
		fam[fLongest] = sample(fam[fLongest], "nwayacd_longest_wait_seconds", lbl, g.LongestWait)
		for i, n := range g.Agents {
			if stats.States[i] == "logged_out" {
				continue
			}
			fam[fAgents] = sample(fam[fAgents], "nwayacd_agents", appendLabel(append(lbl, ','), "state", stats.States[i]), float64(n))
		}
		for i, n := range g.Results {
			fam[fCalls] = sample(fam[fCalls], "nwayacd_calls_total", appendLabel(append(lbl, ','), "result", stats.Results[i]), float64(n))
		}
		fam[fNoAnswer] = sample(fam[fNoAnswer], "nwayacd_offer_no_answer_total", lbl, float64(g.NoAnswer))
		fam[fWait] = histogram(fam[fWait], "nwayacd_wait_seconds", lbl, &g.Wait)
		fam[fTalk] = histogram(fam[fTalk], "nwayacd_talk_seconds", lbl, &g.Talk)
	})
	for _, b := range fam {
		_, _ = w.Write(b)
	}
}

func histogram(b []byte, name string, lbl []byte, h *stats.Histogram) []byte {
	for i, le := range h.Bounds {
		b = sample(b, name+"_bucket", appendLabel(append(lbl, ','), "le", strconv.FormatFloat(le, 'g', -1, 64)), float64(h.Counts[i]))
	}
	b = sample(b, name+"_bucket", appendLabel(append(lbl, ','), "le", "+Inf"), float64(h.Count))
	b = sample(b, name+"_sum", lbl, h.Sum)
	return sample(b, name+"_count", lbl, float64(h.Count))
}

func sample(b []byte, name string, labels []byte, v float64) []byte {
	b = append(b, name...)
	b = append(b, '{')
	b = append(b, labels...)
	b = append(b, "} "...)
	b = strconv.AppendFloat(b, v, 'g', -1, 64)
	return append(b, '\n')
}

// appendLabel writes name="value" with the exposition format's escapes.
func appendLabel(b []byte, name, v string) []byte {
	b = append(b, name...)
	b = append(b, '=', '"')
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			b = append(b, `\\`...)
		case '"':
			b = append(b, `\"`...)
		case '\n':
			b = append(b, `\n`...)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
