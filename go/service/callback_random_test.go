package service

import (
	"math/rand/v2"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/session"
	"github.com/nwayacd/mod_nwayacd/go/store"
)

var cbUUIDRE = regexp.MustCompile(`origination_uuid=(r\d+)[,}]`)

// TestCallbacksRandomized drives callers, keys, agents, originate outcomes,
// callback legs and the clock at random through the service, and checks
// that every call gets exactly one CDR, at its end, and that nothing of a
// callback is left behind (journal, book, calls) once all is over.
func TestCallbacksRandomized(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run(strconv.FormatUint(seed, 10), func(t *testing.T) { randomCallbacks(t, seed) })
	}
}

func randomCallbacks(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	h, p, c, j := &cbHost{}, &pub{}, &clock{t: t0}, &cbJournal{cbs: map[string]store.Callback{}}
	var replies []string // in the order of the originates
	h.reply = func() string {
		r := "+OK"
		if rng.IntN(3) == 0 {
			r = "-ERR NO_ANSWER"
		}
		replies = append(replies, r)
		return r
	}
	s := New(Options{Clock: c, Switch: h, Publisher: p, Journal: j, ManualTimers: true, SyncHost: true, Location: time.UTC,
		Core: acd.Config{WrapUp: 5 * time.Second}})
	snap := cbSnap
	snap.Extensions = []store.Extension{{Number: "1011", JobEnabled: true}, {Number: "1012", JobEnabled: true}}
	snap.Memberships = []store.Membership{{Ext: "1011", Group: "120"}, {Ext: "1012", Group: "120"}}
	snap.GroupOptions = []store.GroupOptions{cbSnap.GroupOptions[0]}
	snap.GroupOptions[0].CallbackAgentFirst = seed%2 == 0
	s.Load(snap)
	for _, x := range []string{"1011", "1012"} {
		must(t, s.SetRegistered(x, true))
	}

	type sess struct{ d session.Directive }
	live := map[string]*sess{}  // caller sessions in the application
	placed := map[string]bool{} // callback attempts the switch still has to resolve
	bridgedAF := map[string]bool{}
	entered := map[string]bool{}
	n := 0
	story := map[string][]string{} // what happened to each call, for a failure's message
	note := func(u, what string) { story[u] = append(story[u], c.Now().Format("15:04:05")+" "+what) }
	hangup := func(u string) {
		note(u, "hangup")
		s.Leave(u)
		delete(live, u)
		s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelHangupComplete, UUID: u, EndUsec: c.Now().UnixMicro()})
	}
	pick := func(m map[string]*sess) string {
		if len(m) == 0 {
			return ""
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return keys[rng.IntN(len(keys))]
	}
	collect := func() {
		for i, o := range originates(h.take()) {
			if m := cbUUIDRE.FindAllStringSubmatch(o, -1); len(m) > 0 {
				note(m[len(m)-1][1], "originate "+replies[i])
			}
			if m := cbUUIDRE.FindAllStringSubmatch(o, -1); len(m) > 0 && replies[i] == "+OK" {
				placed[m[len(m)-1][1]] = true // agent first: the caller leg is the inner one
			}
		}
		replies = replies[:0]
	}
	resolve := func(u string) {
		delete(placed, u)
		if live[u] != nil || bridgedAF[u] {
			return
		}
		switch rng.IntN(3) {
		case 0: // the caller leg answers: it enters (caller first) or is bridged (agent first)
			if snap.GroupOptions[0].CallbackAgentFirst {
				s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelAnswer, UUID: u})
				bridgedAF[u] = true
				note(u, "callback leg answered")
			} else if d := s.Enter(session.Call{Kind: session.Queue, UUID: u, Group: "120", CallerNumber: "120"}); vars(d)["nwayacd_result"] == "error" {
				t.Fatalf("callback leg of %s refused: %+v (%q)", u, d, story[u])
			} else {
				live[u] = &sess{d}
				note(u, "callback leg: "+d.Action.String())
			}
		case 1: // it hangs up unanswered
			s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelHangupComplete, UUID: u, EndUsec: c.Now().UnixMicro()})
			note(u, "callback leg unanswered")
		}
	}
	for op := 0; op < 3000; op++ {
		switch r := rng.IntN(100); {
		case r < 10 && len(live) < 8:
			n++
			u := "r" + strconv.Itoa(n)
			entered[u] = true
			d := s.Enter(session.Call{Kind: session.Queue, UUID: u, Group: "120", CallerNumber: "1390000" + strconv.Itoa(1000+n%50)})
			live[u] = &sess{d}
			note(u, "enter: "+d.Action.String())
		case r < 30:
			if u := pick(live); u != "" {
				k := []string{"9", "9", "#", "#", "5", "0", "*"}[rng.IntN(7)]
				s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelDTMF, UUID: u, DTMF: k})
				note(u, "key "+k)
			}
		case r < 50:
			u := pick(live)
			if u == "" {
				break
			}
			st := live[u]
			switch st.d.Action {
			case session.Wait, session.Play:
				st.d = s.Next(u)
			case session.Offer:
				o := session.NoAnswer
				if rng.IntN(2) == 0 {
					o = session.Answered
				}
				s.OfferResult(session.OfferResult{UUID: u, Agent: st.d.Agent, Outcome: o})
				if o == session.Answered {
					st.d = session.Directive{Action: 99} // bridged
				} else {
					st.d = s.Next(u)
				}
			case 99:
				s.BridgeEnded(u)
				st.d = s.Next(u)
			default: // hangup or done
				hangup(u)
			}
			note(u, "-> "+st.d.Action.String()+" "+vars(st.d)["nwayacd_result"])
		case r < 55:
			if u := pick(live); u != "" {
				hangup(u) // the caller hangs up, whatever happens
			}
		case r < 65:
			x := []string{"1011", "1012"}[rng.IntN(2)]
			if rng.IntN(3) == 0 {
				_ = s.SetBusy(x)
			} else {
				_ = s.SetReady(x)
			}
		case r < 80: // the switch resolves a callback attempt it answered +OK
			for u := range placed {
				resolve(u)
				break
			}
		case r < 85:
			for u := range bridgedAF {
				delete(bridgedAF, u)
				s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelHangupComplete, UUID: u, EndUsec: c.Now().UnixMicro()})
				break
			}
		default:
			// Time passes only once the switch has resolved the attempts:
			// a callback leg enters within its ring time, as FreeSWITCH's
			// originate runs the application at the answer.
			for _, u := range sortedKeys(placed) {
				resolve(u)
			}
			c.add(time.Duration(rng.IntN(40)) * time.Second)
			s.Tick()
		}
		collect()
		seen := map[string]int{}
		for _, r := range p.cdrs() {
			if seen[r.UUID]++; seen[r.UUID] > 1 {
				t.Fatalf("op %d: two CDRs for %s", op, r.UUID)
			}
			if live[r.UUID] != nil {
				t.Fatalf("op %d: CDR of %s while its session runs: %q", op, r.UUID, story[r.UUID])
			}
		}
	}
	// Everything ends: the callers hang up, the callback legs too, the group goes.
	for u := range live {
		hangup(u)
	}
	for u := range bridgedAF {
		s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelHangupComplete, UUID: u, EndUsec: c.Now().UnixMicro()})
	}
	must(t, s.RemoveGroup("120"))
	c.add(time.Hour)
	s.Tick()
	got := map[string]int{}
	flags := map[string]int{}
	for _, r := range p.cdrs() {
		got[r.UUID]++
		flags[r.Flag]++
	}
	for u := range entered {
		if got[u] != 1 {
			t.Errorf("%s: %d CDRs", u, got[u])
		}
	}
	if cbs := j.snapshot(); len(cbs) != 0 {
		t.Errorf("callbacks left in the journal: %+v", cbs)
	}
	s.mu.Lock()
	left, open := len(s.calls), s.book.Len()
	s.mu.Unlock()
	if left != 0 || open != 0 || s.agentFirst.Load() != 0 {
		t.Errorf("left behind: %d calls, %d open records, %d agent-first attempts", left, open, s.agentFirst.Load())
	}
	if flags["回拨接听"]+flags["回拨未接通"] == 0 || !strings.Contains(j.String(), "put") {
		t.Errorf("the run never went through a callback: %v", flags)
	}
	t.Logf("%d calls, flags %v", len(entered), flags)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
