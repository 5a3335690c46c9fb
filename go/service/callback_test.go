package service

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/event"
	"github.com/nwayacd/mod_nwayacd/go/session"
	"github.com/nwayacd/mod_nwayacd/go/store"
)

// cbHost answers originate as told (reply, in order; "+OK" when none is
// left) and records every command.
type cbHost struct {
	host
	mu      sync.Mutex
	replies []string
	reply   func() string // when replies are used up; nil: "+OK"
}

func (h *cbHost) API(cmd, args string) (string, error) {
	_, _ = h.host.API(cmd, args)
	if cmd != "originate" {
		return "+OK", nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.replies) == 0 {
		if h.reply != nil {
			return h.reply(), nil
		}
		return "+OK", nil
	}
	r := h.replies[0]
	h.replies = h.replies[1:]
	return r, nil
}

func originates(cmds []string) []string {
	var out []string
	for _, c := range cmds {
		if strings.HasPrefix(c, "originate ") {
			out = append(out, strings.TrimPrefix(c, "originate "))
		}
	}
	return out
}

// cbJournal keeps the pending callbacks as a store would.
type cbJournal struct {
	mu  sync.Mutex
	cbs map[string]store.Callback
	ops []string
}

func (j *cbJournal) PutCallback(c store.Callback) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.cbs[c.UUID] = c
	j.ops = append(j.ops, fmt.Sprintf("put %s tries=%d", c.UUID, c.Tries))
}

func (j *cbJournal) DeleteCallback(uuid string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	delete(j.cbs, uuid)
	j.ops = append(j.ops, "delete "+uuid)
}

func (j *cbJournal) String() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return strings.Join(j.ops, "; ")
}

func (j *cbJournal) snapshot() []store.Callback {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []store.Callback
	for _, c := range j.cbs {
		out = append(out, c)
	}
	return out
}

func (j *cbJournal) UpsertExtension(store.Extension)     {}
func (j *cbJournal) DeleteExtension(string)              {}
func (j *cbJournal) UpsertGroup(store.Group)             {}
func (j *cbJournal) DeleteGroup(string)                  {}
func (j *cbJournal) SetCurrentExt(string, string)        {}
func (j *cbJournal) ReplaceMemberships(string, []string) {}
func (j *cbJournal) AddListEntry(store.ListEntry)        {}
func (j *cbJournal) RemoveListEntry(store.ListEntry)     {}
func (j *cbJournal) PutMemory(store.Memory)              {}
func (j *cbJournal) InsertCDR(event.CDR)                 {}
func (j *cbJournal) AppendAgentLog(store.AgentLog)       {}
func (j *cbJournal) PutPendingCDR(event.CDR)             {}
func (j *cbJournal) DeletePendingCDR(string)             {}
func (j *cbJournal) PutGroupOptions(store.GroupOptions)  {}
func (j *cbJournal) PutMemberConfig(store.MemberConfig)  {}
func (j *cbJournal) PutSkill(store.Skill)                {}
func (j *cbJournal) DeleteSkill(string, string)          {}
func (j *cbJournal) ClearExtensionRouting(string)        {}
func (j *cbJournal) ClearGroupRouting(string)            {}
func (j *cbJournal) has(uuid string) (store.Callback, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	c, ok := j.cbs[uuid]
	return c, ok
}

var cbSnap = store.Snapshot{
	Extensions:  []store.Extension{{Number: "1011", JobNumber: "J1011", JobEnabled: true}},
	Groups:      []store.Group{{Number: "120", Name: "120", Mode: int(acd.ModeSequential)}},
	Memberships: []store.Membership{{Ext: "1011", Group: "120"}},
	GroupOptions: []store.GroupOptions{{Group: "120", CallbackKey: "9", CallbackRetries: 1,
		CallbackRetryDelay: 30 * time.Second, CallbackGateway: "gw1"}},
}

func callbackTest(t *testing.T, agentFirst bool) (*Service, *cbHost, *pub, *clock, *cbJournal) {
	t.Helper()
	h, p, c, j := &cbHost{}, &pub{}, &clock{t: t0}, &cbJournal{cbs: map[string]store.Callback{}}
	s := New(Options{Clock: c, Switch: h, Publisher: p, Journal: j, ManualTimers: true, SyncHost: true, Location: time.UTC,
		Core: acd.Config{WrapUp: time.Second}})
	snap := cbSnap
	snap.GroupOptions = []store.GroupOptions{cbSnap.GroupOptions[0]}
	snap.GroupOptions[0].CallbackAgentFirst = agentFirst
	s.Load(snap)
	must(t, s.SetRegistered("1011", true))
	must(t, s.SetBusy("1011"))
	return s, h, p, c, j
}

// askCallback: caller uuid waits, presses 9 and the keys given, and hangs
// up when told to.
func askCallback(t *testing.T, s *Service, uuid, caller string, keys ...string) {
	t.Helper()
	d := s.Enter(session.Call{Kind: session.Queue, UUID: uuid, Group: "120", CallerNumber: caller})
	for d.Action == session.Play {
		d = s.Next(uuid)
	}
	if d.Action != session.Wait {
		t.Fatalf("%s: %+v, want a wait", uuid, d)
	}
	for _, k := range append([]string{"9"}, keys...) {
		s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelDTMF, UUID: uuid, DTMF: k})
	}
	d = s.Next(uuid)
	if d.Action != session.Hangup || vars(d)["nwayacd_result"] != "callback" {
		t.Fatalf("%s after the callback key: %+v", uuid, d)
	}
	s.Leave(uuid)
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelHangupComplete, UUID: uuid, CallerNumber: caller,
		DestNumber: "120", StartUsec: t0.UnixMicro(), AnswerUsec: t0.UnixMicro(), EndUsec: t0.Add(5 * time.Second).UnixMicro()})
}

// Caller first: the caller keys in a number; it is called back through the
// group's gateway under the call's own uuid; the first attempt is not
// answered, the retry is; the callback leg's session is offered the agent;
// one CDR, flagged as a callback, from the first leg's start.
func TestCallbackCallerFirst(t *testing.T) {
	s, h, p, c, j := callbackTest(t, false)
	askCallback(t, s, "cb1", "13900000001", "0", "2", "1", "5", "5", "5", "#")
	if n := len(p.cdrs()); n != 0 {
		t.Fatalf("%d CDRs while the callback waits", n)
	}
	if cb, ok := j.has("cb1"); !ok || cb.Callback != "021555" || cb.Group != "120" || cb.Number != "13900000001" {
		t.Fatalf("journaled callback %+v %v", cb, ok)
	}
	h.take()
	h.replies = []string{"-ERR NO_ANSWER"}
	must(t, s.SetReady("1011"))
	o := originates(h.take())
	want := "{origination_uuid=cb1,nwayacd_callback=true,nwayacd_group=120,origination_caller_id_number=120,origination_caller_id_name=120,originate_timeout=30}sofia/gateway/gw1/021555 &nwayacd(120)"
	if len(o) != 1 || o[0] != want {
		t.Fatalf("originate %q\nwant %q", o, want)
	}
	if x, _ := s.Extension("1011"); x.CallState != acd.CallReady {
		t.Fatalf("after a failed attempt 1011 is %s", x.CallState)
	}
	// The unanswered leg's end is merged, the record stays open.
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelHangupComplete, UUID: "cb1", EndUsec: t0.Add(40 * time.Second).UnixMicro()})
	if n := len(p.cdrs()); n != 0 {
		t.Fatalf("%d CDRs after a failed attempt", n)
	}
	if cb, _ := j.has("cb1"); cb.Tries != 1 {
		t.Fatalf("journaled tries %d, want 1", cb.Tries)
	}
	c.add(29 * time.Second)
	s.Tick()
	if o := originates(h.take()); len(o) != 0 {
		t.Fatalf("retried before its delay: %q", o)
	}
	c.add(time.Second)
	s.Tick()
	if o := originates(h.take()); len(o) != 1 || o[0] != want {
		t.Fatalf("retry %q", o)
	}
	// The callback leg enters nwayacd as the call itself.
	d := s.Enter(session.Call{Kind: session.Queue, UUID: "cb1", Group: "120", CallerNumber: "120"})
	if d.Action != session.Offer || d.Agent != "1011" || d.CallerNumber != "13900000001" {
		t.Fatalf("callback leg: %+v", d)
	}
	if _, ok := j.has("cb1"); ok {
		t.Fatal("callback still journaled once connected")
	}
	s.OfferResult(session.OfferResult{UUID: "cb1", Agent: "1011", Outcome: session.Answered})
	c.add(time.Minute)
	s.BridgeEnded("cb1")
	if d := s.Next("cb1"); d.Action != session.Done || vars(d)["nwayacd_result"] != "answered" {
		t.Fatalf("after the bridge: %+v", d)
	}
	s.Leave("cb1")
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelHangupComplete, UUID: "cb1", CallerNumber: "120", DestNumber: "021555",
		StartUsec: t0.Add(70 * time.Second).UnixMicro(), AnswerUsec: t0.Add(72 * time.Second).UnixMicro(), EndUsec: c.Now().UnixMicro()})
	cdrs := p.cdrs()
	if len(cdrs) != 1 {
		t.Fatalf("%d CDRs, want 1", len(cdrs))
	}
	r := cdrs[0]
	if r.Flag != "回拨接听" || r.ACallerIDNumber != "13900000001" || r.AStartStamp != "2021-05-30 16:57:10" || r.DestinationNumber != "1011" {
		t.Fatalf("CDR %+v", r)
	}
	if m := queueMsgs(p, "nway_queue_callback"); len(m) != 1 || !strings.Contains(m[0], `"callback":"021555"`) {
		t.Fatalf("queue_callback %q", m)
	}
	if m := queueMsgs(p, "nway_queue_callback_placed"); len(m) != 2 || !strings.Contains(m[1], `"order":"caller_first"`) {
		t.Fatalf("queue_callback_placed %q", m)
	}
	var offers []string
	for _, m := range p.redis(event.FamilyEvent) {
		if strings.Contains(m, `"uuid":"cb1"`) {
			offers = append(offers, m)
			if !strings.Contains(m, `"callback":"021555"`) {
				t.Errorf("offer event without the callback: %s", m)
			}
		}
	}
	if len(offers) == 0 {
		t.Fatal("no offer events")
	}
}

// Agent first: the agent's leg bridges to the caller's number; the
// caller's answer connects the call, its hang-up ends it.
func TestCallbackAgentFirst(t *testing.T) {
	s, h, p, c, j := callbackTest(t, true)
	askCallback(t, s, "cb2", "13900000002", "#")
	h.take()
	must(t, s.SetReady("1011"))
	o := originates(h.take())
	if len(o) != 1 || !strings.HasPrefix(o[0], "{origination_uuid=") || !strings.Contains(o[0], ",nwayacd_call=cb2,nwayacd_group=120,nwayacd_agent=1011,") ||
		!strings.HasSuffix(o[0], "}user/1011 &bridge({origination_uuid=cb2,nwayacd_callback=true,nwayacd_group=120,origination_caller_id_number=120,origination_caller_id_name=120,originate_timeout=30}sofia/gateway/gw1/13900000002)") {
		t.Fatalf("originate %q", o)
	}
	c.add(5 * time.Second)
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelAnswer, UUID: "cb2"})
	if x, _ := s.Extension("1011"); x.CallState != acd.CallTalking {
		t.Fatalf("1011 is %s once the caller answered", x.CallState)
	}
	if _, ok := j.has("cb2"); ok {
		t.Fatal("callback still journaled once connected")
	}
	c.add(time.Minute)
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelHangupComplete, UUID: "cb2", EndUsec: c.Now().UnixMicro()})
	if x, _ := s.Extension("1011"); x.CallState != acd.CallTyping {
		t.Fatalf("1011 is %s after the call", x.CallState)
	}
	cdrs := p.cdrs()
	if len(cdrs) != 1 || cdrs[0].Flag != "回拨接听" || cdrs[0].DestinationNumber != "1011" || cdrs[0].AStartStamp != "2021-05-30 16:57:10" {
		t.Fatalf("CDRs %+v", cdrs)
	}
	if m := queueMsgs(p, "nway_queue_callback_placed"); len(m) != 1 || !strings.Contains(m[0], `"order":"agent_first"`) {
		t.Fatalf("queue_callback_placed %q", m)
	}
}

// Agent first, the agent does not answer: its no-answer, no attempt spent,
// and the callback is placed again at once (1011 is ready again); then the
// caller does not answer twice: the callback is given up, with one CDR, and
// forgotten by the journal.
func TestCallbackGivenUp(t *testing.T) {
	s, h, p, c, j := callbackTest(t, true)
	askCallback(t, s, "cb3", "13900000003", "#")
	h.take()
	h.replies = []string{"-ERR NO_ANSWER"}
	must(t, s.SetReady("1011"))
	if n := len(originates(h.take())); n != 2 {
		t.Fatalf("%d originates, want the failed one and the next", n)
	}
	if cb, _ := j.has("cb3"); cb.Tries != 1 {
		t.Fatalf("the agent's failure spent an attempt: %+v", cb)
	}
	for i := 0; i < 2; i++ {
		// The agent answered, the caller's leg did not.
		s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelHangupComplete, UUID: "cb3", EndUsec: c.Now().UnixMicro()})
		c.add(31 * time.Second)
		s.Tick()
	}
	if n := len(originates(h.take())); n != 1 {
		t.Fatalf("%d retries, want 1", n)
	}
	cdrs := p.cdrs()
	if len(cdrs) != 1 || cdrs[0].Flag != "回拨未接通" || cdrs[0].StrNoAnswerAgents != "1011" {
		t.Fatalf("CDRs %d %+v", len(cdrs), *cdrs[0])
	}
	if _, ok := j.has("cb3"); ok {
		t.Fatal("a callback given up is still journaled")
	}
	if w := s.Waiting(); len(w) != 0 {
		t.Fatalf("still waiting: %+v", w)
	}
	if x, _ := s.Extension("1011"); x.CallState != acd.CallReady {
		t.Fatalf("1011 is %s", x.CallState)
	}
}

// A pending callback survives a reload: the journal's record is restored
// in its place and placed when an agent is free; an unload writes no CDR
// for it.
func TestCallbackSurvivesReload(t *testing.T) {
	s, _, p, _, j := callbackTest(t, false)
	s.Start()
	askCallback(t, s, "cb4", "13900000004", "#")
	s.Stop()
	if n := len(p.cdrs()); n != 0 {
		t.Fatalf("the unload wrote %d CDRs for a pending callback", n)
	}
	saved := j.snapshot()
	if len(saved) != 1 || saved[0].UUID != "cb4" || saved[0].Callback != "13900000004" || !saved[0].CallinTime.Equal(t0) {
		t.Fatalf("journal %+v", saved)
	}
	h2, p2 := &cbHost{}, &pub{}
	s2 := New(Options{Clock: &clock{t: t0.Add(time.Hour)}, Switch: h2, Publisher: p2, Journal: j, ManualTimers: true, SyncHost: true, Location: time.UTC})
	snap := cbSnap
	other := saved[0]
	other.UUID, other.Node = "cb-other", "another-node" // sharing the database: not ours to restore
	snap.Callbacks = append(saved, other)
	snap.Extensions = []store.Extension{{Number: "1011", JobEnabled: true, Busy: true}}
	s2.Load(snap)
	w := s2.Waiting()
	if len(w) != 1 || w[0].UUID != "cb4" || !w[0].CallinTime.Equal(t0) {
		t.Fatalf("waiting after the reload %+v", w)
	}
	must(t, s2.SetRegistered("1011", true))
	must(t, s2.SetReady("1011"))
	if o := originates(h2.take()); len(o) != 1 || !strings.HasSuffix(o[0], "sofia/gateway/gw1/13900000004 &nwayacd(120)") {
		t.Fatalf("originate after the reload %q", o)
	}
	d := s2.Enter(session.Call{Kind: session.Queue, UUID: "cb4", Group: "120", CallerNumber: "120"})
	if d.Action != session.Offer || d.Agent != "1011" || d.CallerNumber != "13900000004" {
		t.Fatalf("callback leg after the reload: %+v", d)
	}
}

// Hostile input: a caller ID that is no phone number cannot ask for a
// callback; keys beyond a phone number's length are dropped; a stray leg
// under a waiting callback's uuid is refused and does not end it.
func TestCallbackHostileInput(t *testing.T) {
	s, h, _, _, j := callbackTest(t, false)
	d := s.Enter(session.Call{Kind: session.Queue, UUID: "bad1", Group: "120", CallerNumber: "1003@evil.example.com"})
	for d.Action == session.Play {
		d = s.Next("bad1")
	}
	for _, k := range []string{"9", "#"} {
		s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelDTMF, UUID: "bad1", DTMF: k})
	}
	if d := s.Next("bad1"); d.Action != session.Wait {
		t.Fatalf("a caller without a phone number got %+v", d)
	}
	s.Leave("bad1")
	keys := []string{}
	for i := 0; i < 40; i++ {
		keys = append(keys, "7")
	}
	askCallback(t, s, "cb5", "13900000005", append(keys, "#")...)
	if cb, _ := j.has("cb5"); cb.Callback != strings.Repeat("7", 24) {
		t.Fatalf("callback number %q", cb.Callback)
	}
	if d := s.Enter(session.Call{Kind: session.Queue, UUID: "cb5", Group: "120", CallerNumber: "666"}); d.Action != session.Done {
		t.Fatalf("stray leg: %+v", d)
	}
	s.Leave("cb5")
	if w := s.Waiting(); len(w) != 1 || w[0].UUID != "cb5" {
		t.Fatalf("waiting %+v", w)
	}
	h.take()
	must(t, s.SetReady("1011"))
	if o := originates(h.take()); len(o) != 1 || strings.Count(o[0], " ") != 1 {
		t.Fatalf("originate %q", o)
	}
}

// A callback leg that answers after its callback was given up is refused:
// the ended call keeps its one CDR.
func TestLateCallbackLegRefused(t *testing.T) {
	s, h, p, c, _ := callbackTest(t, false)
	askCallback(t, s, "cb6", "13900000006", "#")
	h.replies = []string{"-ERR NO_ANSWER", "-ERR NO_ANSWER"}
	must(t, s.SetReady("1011"))
	c.add(31 * time.Second)
	s.Tick()
	if n := len(p.cdrs()); n != 1 {
		t.Fatalf("%d CDRs after the last attempt", n)
	}
	d := s.Enter(session.Call{Kind: session.Queue, UUID: "cb6", Group: "120", CallerNumber: "120"})
	if d.Action != session.Done || vars(d)["nwayacd_result"] != "error" {
		t.Fatalf("late leg: %+v", d)
	}
	s.Leave("cb6")
	if n := len(p.cdrs()); n != 1 {
		t.Fatalf("%d CDRs after the late leg", n)
	}
}

// The caller's own channel is still being torn down when an agent is
// free: the callback's originate (under the same uuid, which the switch
// would refuse) waits for that channel's destruction.
func TestCallbackWaitsForTheCallersChannel(t *testing.T) {
	s, h, _, _, _ := callbackTest(t, false)
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelCreate, UUID: "cb7", Direction: "inbound", CallerNumber: "13900000007"})
	must(t, s.SetReady("1011"))
	must(t, s.SetBusy("1011"))
	askCallback(t, s, "cb7", "13900000007", "#")
	h.take()
	must(t, s.SetReady("1011"))
	if o := originates(h.take()); len(o) != 0 {
		t.Fatalf("originated while the caller's channel exists: %q", o)
	}
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelDestroy, UUID: "cb7"})
	if o := originates(h.take()); len(o) != 1 || !strings.Contains(o[0], "origination_uuid=cb7,") {
		t.Fatalf("after the destroy: %q", o)
	}
	if s.cbDeferred.Load() != 0 {
		t.Fatalf("deferred count %d", s.cbDeferred.Load())
	}
}
