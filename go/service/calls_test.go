package service

import (
	"github.com/nwayacd/mod_nwayacd/go/store"
	"strings"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/event"
	"github.com/nwayacd/mod_nwayacd/go/session"
)

func legOf(t *testing.T, d session.Directive) string {
	t.Helper()
	first := strings.SplitN(d.Dial, ",", 2)[0]
	if !strings.HasPrefix(first, "{origination_uuid=") {
		t.Fatalf("the offer names no leg: %s", d.Dial)
	}
	return strings.TrimPrefix(first, "{origination_uuid=")
}

// A callout's desk events, agent events and CDR, as the service published
// them when it handled callouts itself.
func TestCalloutEventsAndRecord(t *testing.T) {
	s, h, p, c := newTest(t)
	p.msgs = nil
	d := s.Enter(session.Call{Kind: session.Callout, UUID: "o1", Group: "120", Target: "18621575908", Gateway: "gw1", CallerNumber: "1011"})
	leg := legOf(t, d)
	wantDial := "{origination_uuid=" + leg + ",nwayacd_call=o1,nwayacd_group=120,nwayacd_agent=18621575908," +
		"origination_caller_id_number=1011,origination_caller_id_name=1011,originate_timeout=60}sofia/gateway/gw1/18621575908"
	if d.Action != session.Offer || d.Dial != wantDial || d.File != "" || d.TimeoutMS != 60000 || d.Agent != "18621575908" || d.CallerNumber != "1011" {
		t.Fatalf("callout directive %+v", d)
	}
	if x, _ := s.Extension("1011"); x.CallUUID != "o1" || x.CallLeg != leg {
		t.Fatalf("1011 dialling out: %+v", x)
	}
	c.add(3 * time.Second)
	s.OfferResult(session.OfferResult{UUID: "o1", Agent: "18621575908", Outcome: session.Answered})
	c.add(10 * time.Second)
	s.BridgeEnded("o1")
	d = s.Next("o1")
	if v := vars(d); d.Action != session.Done || v["nwayacd_result"] != "answered" || v["nwayacd_agent"] != "18621575908" ||
		v["nwayacd_group"] != "120" || v["nwayacd_level"] != "normal" || v["nwayacd_wait_seconds"] != "0" {
		t.Fatalf("done %+v", d)
	}
	s.Leave("o1")
	if cmds := h.take(); len(cmds) != 0 {
		t.Fatalf("host commands %q", cmds)
	}
	const ev = `{"type":"event","method":"%s","cti_ip":"","uuid":"o1","number":"18621575908","group":"120","extension":"1011","level":"normal","callin_time":"2021-05-30 16:57:10"}`
	got := p.redis(event.FamilyEvent)
	for i, m := range []string{"callout", "answered", "hangup"} {
		if i >= len(got) || got[i] != "event_1011 "+strings.Replace(ev, "%s", m, 1) {
			t.Fatalf("desk events %q", got)
		}
	}
	if len(got) != 3 {
		t.Fatalf("desk events %q", got)
	}
	agents := p.redis(event.FamilyAgent)
	if len(agents) != 2 || !strings.Contains(agents[0], `"status":"talking","time":"2021-05-30 16:57:10"`) ||
		!strings.Contains(agents[1], `"status":"typing","time":"2021-05-30 16:57:23"`) {
		t.Fatalf("agent events %q", agents)
	}
	cd := p.cdrs()
	if len(cd) != 1 {
		t.Fatalf("%d CDRs", len(cd))
	}
	want := "o1,1011,18621575908,2021-05-30 16:57:10,,2021-05-30 16:57:23,13,0,,,,18621575908,2021-05-30 16:57:10,2021-05-30 16:57:13,2021-05-30 16:57:23,13,10,"
	if r := string(cd[0].AppendRedis(nil)); r != want || cd[0].Flag != "外呼" || !cd[0].IsCallout {
		t.Fatalf("cdr %s flag %s\nwant %s", r, cd[0].Flag, want)
	}
}

func TestCalloutNotAnswered(t *testing.T) {
	for _, o := range []session.Outcome{session.NoAnswer, session.Canceled} {
		s, _, p, c := newTest(t)
		p.msgs = nil
		s.Enter(session.Call{Kind: session.Callout, UUID: "o2", Group: "120", Target: "555", Gateway: "gw1", CallerNumber: "1011"})
		c.add(5 * time.Second)
		s.OfferResult(session.OfferResult{UUID: "o2", Agent: "555", Outcome: o})
		want := map[session.Outcome]string{session.NoAnswer: "no_answer", session.Canceled: "abandoned"}[o]
		if d := s.Next("o2"); vars(d)["nwayacd_result"] != want {
			t.Fatalf("%d: done %+v", o, d)
		}
		c.add(time.Second)
		s.Leave("o2")
		got := p.redis(event.FamilyEvent)
		if len(got) != 2 || !strings.Contains(got[1], `"method":"noanswer"`) {
			t.Fatalf("%d: desk events %q", o, got)
		}
		cd := p.cdrs()
		if len(cd) != 1 || cd[0].Flag != "外呼未接通" || cd[0].StrNoAnswerAgents != "555" {
			t.Fatalf("%d: cdr %+v", o, cd)
		}
		// The party's end is its no-answer; a cancel leaves it to the caller's end.
		wantEnd := map[session.Outcome]string{session.NoAnswer: "2021-05-30 16:57:15", session.Canceled: "2021-05-30 16:57:16"}[o]
		if cd[0].EndStamp != wantEnd {
			t.Fatalf("%d: end %s, want %s", o, cd[0].EndStamp, wantEnd)
		}
		if x, _ := s.Extension("1011"); x.CallState != acd.CallTyping {
			t.Fatalf("%d: 1011 is %s", o, x.CallState)
		}
	}
}

// Issue 10: agent 1011 answers, the call is transferred to 1018. 1018 is
// talking while on it and is offered nothing; the CDR waits for the caller's
// channel and carries its true stamps and 转接.
func TestTransferKeepsTheBooks(t *testing.T) {
	s, h, p, c := newTest(t)
	s.Start()
	defer s.Stop()
	d := s.Enter(session.Call{Kind: session.Queue, UUID: "c1", Group: "120", CallerNumber: "138", DestNumber: "120"})
	leg := legOf(t, d)
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelCreate, UUID: leg, Direction: "outbound", CallerNumber: "138", DestNumber: "1011"})
	c.add(2 * time.Second)
	s.OfferResult(session.OfferResult{UUID: "c1", Agent: "1011", AgentUUID: leg, Outcome: session.Answered})
	c.add(5 * time.Second)
	must(t, s.Transfer("1011", "1018", ""))
	if got := h.take(); len(got) != 1 || got[0] != "uuid_transfer "+leg+" -bleg 1018 XML default" {
		t.Fatalf("commands %q", got)
	}
	if x, _ := s.Extension("1018"); x.CallState != acd.CallTalking || x.CallUUID != "c1" {
		t.Fatalf("1018 after the transfer: %+v", x)
	}
	if x, _ := s.Extension("1011"); x.CallState != acd.CallTyping {
		t.Fatalf("1011 after the transfer: %s", x.CallState)
	}
	s.BridgeEnded("c1")
	if d := s.Next("c1"); vars(d)["nwayacd_result"] != "answered" {
		t.Fatalf("done %+v", d)
	}
	s.Leave("c1")
	if d := s.Enter(session.Call{Kind: session.Queue, UUID: "c2", Group: "120", CallerNumber: "139"}); d.Action != session.Wait {
		t.Fatalf("a second caller while 1018 is on the transferred call: %+v", d)
	}
	s.Leave("c2")
	if cd := p.cdrs(); len(cd) != 1 || cd[0].UUID != "c2" {
		t.Fatalf("the transferred call's CDR was written before its caller hung up: %+v", cd)
	}
	c.add(10 * time.Second)
	start, answer, end := t0.UnixMicro(), t0.Add(time.Second).UnixMicro(), c.Now().UnixMicro()
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelHangupComplete, UUID: leg, NwayCall: "c1",
		StartUsec: t0.UnixMicro(), AnswerUsec: t0.Add(2 * time.Second).UnixMicro(), EndUsec: t0.Add(7 * time.Second).UnixMicro()})
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelHangupComplete, UUID: "c1", CallerNumber: "138", DestNumber: "120",
		StartUsec: start, AnswerUsec: answer, EndUsec: end, SIPHangupDisposition: "recv_bye"})
	var rec *event.CDR
	for _, r := range p.cdrs() {
		if r.UUID == "c1" {
			if rec != nil {
				t.Fatal("two CDRs for c1")
			}
			rec = r
		}
	}
	if rec == nil || rec.Flag != "转接" || rec.AAnswerStamp != "2021-05-30 16:57:11" || rec.AEndStamp != "2021-05-30 16:57:27" ||
		rec.ABillsec != "16" || rec.ASIPHangupDisposition != "recv_bye" || rec.DestinationNumber != "1011" {
		t.Fatalf("cdr %+v", rec)
	}
	if x, _ := s.Extension("1018"); x.CallState != acd.CallTyping {
		t.Fatalf("1018 after the caller hung up: %s", x.CallState)
	}
}

// The transfer's route runs nway_bridge 1018: the same call continues, 1018
// wraps up and gets ready afterwards, and the call has one CDR.
func TestTransferThenBridgeToTarget(t *testing.T) {
	s, _, p, c := newTest(t)
	d := s.Enter(session.Call{Kind: session.Queue, UUID: "c1", Group: "120", CallerNumber: "138"})
	s.OfferResult(session.OfferResult{UUID: "c1", Agent: d.Agent, Outcome: session.Answered})
	must(t, s.TransferUUID("c1", "1018"))
	s.BridgeEnded("c1")
	s.Next("c1")
	s.Leave("c1")
	d = s.Enter(session.Call{Kind: session.Direct, UUID: "c1", Target: "1018", CallerNumber: "138"})
	if d.Action != session.Offer || d.Agent != "1018" {
		t.Fatalf("nway_bridge after the transfer: %+v", d)
	}
	s.OfferResult(session.OfferResult{UUID: "c1", Agent: "1018", Outcome: session.Answered})
	c.add(20 * time.Second)
	s.BridgeEnded("c1")
	s.Next("c1")
	s.Leave("c1")
	if x, _ := s.Extension("1018"); x.CallState != acd.CallTyping {
		t.Fatalf("1018 after the call: %s", x.CallState)
	}
	c.add(30 * time.Second)
	s.Tick()
	if x, _ := s.Extension("1018"); x.CallState != acd.CallReady {
		t.Fatalf("1018 after wrap-up: %s", x.CallState)
	}
	must(t, s.SetReady("1018"))
	if d := s.Enter(session.Call{Kind: session.Direct, UUID: "c3", Target: "1018"}); d.Action != session.Offer {
		t.Fatalf("the next nway_bridge 1018: %+v", d)
	}
	cd := p.cdrs()
	if len(cd) != 1 || cd[0].UUID != "c1" || cd[0].Flag != "转接" || cd[0].Channel() != "cdr_120" {
		t.Fatalf("cdrs %+v", cd)
	}
}

// SPEC §4: every state is settable without a module call; it is published
// and shown, and only ready takes a queued call.
func TestSetCallStateWithoutCall(t *testing.T) {
	s, _, p, _ := newTest(t)
	for _, st := range []acd.CallState{acd.CallRing, acd.CallTalking, acd.CallIVR, acd.CallTyping, acd.CallNoAnswer,
		acd.CallNoReady, acd.CallBusy, acd.CallRest} {
		must(t, s.SetCallState("1011", st))
		must(t, s.SetCallState("1018", st))
		if x, _ := s.Extension("1011"); x.CallState != st {
			t.Fatalf("1011 is %s after setting %s", x.CallState, st)
		}
		agents := p.redis(event.FamilyAgent)
		if last := agents[len(agents)-1]; !strings.Contains(last, `"number":"1018","status":"`+string(st)+`"`) {
			t.Fatalf("last agent event %q after %s", last, st)
		}
		u := "q-" + string(st)
		if d := s.Enter(session.Call{Kind: session.Queue, UUID: u, Group: "120", CallerNumber: "5"}); d.Action != session.Wait {
			t.Fatalf("a queued call offered to agents in %s: %+v", st, d)
		}
		s.Leave(u)
	}
	must(t, s.SetCallState("1011", acd.CallReady))
	if d := s.Enter(session.Call{Kind: session.Queue, UUID: "q-ready", Group: "120", CallerNumber: "5"}); d.Agent != "1011" {
		t.Fatalf("ready 1011 not offered: %+v", d)
	}
}

// A caller ID is set by whoever calls: nothing in it may reach FreeSWITCH as
// syntax inside the agent leg's variables.
func TestVarSafeKeepsOnlyANumbersAlphabet(t *testing.T) {
	for in, want := range map[string]string{
		"13800138000":                   "13800138000",
		"+86-10*99#":                    "+86-10*99#",
		"1,execute_on_answer=system rm": "1execute_on_answersystemrm",
		"${system(touch /tmp/pwned)}":   "systemtouchtmppwned",
		"^^:a=b:c":                      "abc",
		"1}bridge:user/1000{":           "1bridgeuser1000",
		"a\\'b\"c\n\r\x00d":             "abcd",
		strings.Repeat("9", 80):         strings.Repeat("9", 50),
		"张三":                            "",
	} {
		if got := varSafe(in); got != want {
			t.Errorf("varSafe(%q) = %q, want %q", in, got, want)
		}
	}
}

// A dial string written into the database directly never passed the checks
// REST and the console apply: on load it is refused, the extension stays.
func TestLoadRefusesAStoredInjectedDialString(t *testing.T) {
	s := New(Options{})
	s.Load(store.Snapshot{Extensions: []store.Extension{
		{Number: "1018", JobEnabled: true, DialString: "user/1018 &system(touch /tmp/pwned)"},
		{Number: "1019", JobEnabled: true, DialString: "{ignore_early_media=true}sofia/gateway/gw1/1019"},
	}})
	x, err := s.Extension("1018")
	if err != nil || x.DialString != "" {
		t.Fatalf("1018: %+v %v, want the extension with no dial string", x, err)
	}
	if y, err := s.Extension("1019"); err != nil || y.DialString != "{ignore_early_media=true}sofia/gateway/gw1/1019" {
		t.Fatalf("1019: %+v %v, want its dial string kept", y, err)
	}
}

// answeredBy enters caller uuid into 120 and has agent ext answer it; it
// returns the agent leg's uuid.
func answeredBy(t *testing.T, s *Service, uuid, ext string) string {
	t.Helper()
	d := s.Enter(session.Call{Kind: session.Queue, UUID: uuid, Group: "120", CallerNumber: "138", DestNumber: "120"})
	if d.Action != session.Offer || d.Agent != ext {
		t.Fatalf("offer %+v, want one to %s", d, ext)
	}
	leg := legOf(t, d)
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelCreate, UUID: leg, Direction: "outbound", User: ext})
	s.OfferResult(session.OfferResult{UUID: uuid, Agent: ext, AgentUUID: leg, Outcome: session.Answered})
	return leg
}

func wantStates(t *testing.T, s *Service, want map[string]acd.CallState) {
	t.Helper()
	for ext, st := range want {
		if x, _ := s.Extension(ext); x.CallState != st {
			t.Errorf("%s is %s, want %s", ext, x.CallState, st)
		}
	}
}

// A phone's blind transfer (REFER): FreeSWITCH moves the caller's channel,
// the application sees it transferred and says so before the bridge ends.
func TestPhoneBlindTransferKeepsTheCall(t *testing.T) {
	s, _, p, c := newTest(t)
	answeredBy(t, s, "c1", "1011")
	c.add(5 * time.Second)
	s.Transferring("c1", "1018")
	s.BridgeEnded("c1")
	s.Next("c1")
	s.Leave("c1")
	wantStates(t, s, map[string]acd.CallState{"1011": acd.CallTyping, "1018": acd.CallTalking})
	if d := s.Enter(session.Call{Kind: session.Queue, UUID: "c2", Group: "120", CallerNumber: "139"}); d.Action != session.Wait {
		t.Fatalf("a second caller while 1018 has the transferred call: %+v", d)
	}
	s.Leave("c2")
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelHangupComplete, UUID: "c1", CallerNumber: "138", DestNumber: "120",
		StartUsec: t0.UnixMicro(), AnswerUsec: t0.Add(time.Second).UnixMicro(), EndUsec: c.Now().UnixMicro()})
	n := 0
	for _, r := range p.cdrs() {
		if r.UUID == "c1" {
			n++
			if r.Flag != "转接" {
				t.Errorf("flag %s, want 转接", r.Flag)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d CDRs for c1, want 1", n)
	}
	wantStates(t, s, map[string]acd.CallState{"1018": acd.CallTyping})
}

// A phone's attended transfer shows as the caller bridged to the far end of
// the consultation call, a channel from 1018's own phone.
func TestPhoneAttendedTransferSeenOnTheBridge(t *testing.T) {
	s, _, _, _ := newTest(t)
	answeredBy(t, s, "c1", "1011")
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelCreate, UUID: "consult", Direction: "inbound", User: "1018"})
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelBridge, UUID: "consult", OtherUUID: "c1"})
	wantStates(t, s, map[string]acd.CallState{"1011": acd.CallTyping, "1018": acd.CallTalking})
	s.Transferring("c1", "") // the application notices the move afterwards: already known
	s.BridgeEnded("c1")
	s.Next("c1")
	s.Leave("c1")
	if x, _ := s.Extension("1018"); x.CallState != acd.CallTalking || x.CallUUID != "c1" {
		t.Fatalf("1018: %+v", x)
	}
}

// Only FreeSWITCH's word says whose phone a channel is: a caller who sets
// caller ID 1018 and gets bridged to the call moves nobody.
func TestBridgeToASpoofedCallerIDMovesNobody(t *testing.T) {
	s, _, _, _ := newTest(t)
	answeredBy(t, s, "c1", "1011")
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelCreate, UUID: "evil", Direction: "inbound", CallerNumber: "1018"})
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelBridge, UUID: "c1", OtherUUID: "evil", CallerNumber: "1018"})
	wantStates(t, s, map[string]acd.CallState{"1011": acd.CallTalking, "1018": acd.CallReady})
}

// The switch's idle CPU read as an offer ends (OfferResult.CPUBusy) decides
// whether its failure counts: the call entered an idle switch, the offer
// failed on a saturated one, so 1011 rests instead of being offered the
// call again at once; a failure reported with the switch idle counts.
func TestOfferEndsOnASaturatedSwitch(t *testing.T) {
	s, _, _, c := newTest(t)
	d := s.Enter(session.Call{Kind: session.Queue, UUID: "c1", Group: "120", CallerNumber: "138", CPUBusy: 20})
	if d.Action != session.Offer || d.Agent != "1011" {
		t.Fatalf("first %+v", d)
	}
	s.OfferResult(session.OfferResult{UUID: "c1", Agent: "1011", Outcome: session.NoAnswer, Cause: "NO_ANSWER", CPUBusy: 97})
	if x, _ := s.Extension("1011"); x.CallState != acd.CallNoAnswer {
		t.Fatalf("after a failure on a saturated switch 1011 is %s, want no_answer (resting)", x.CallState)
	}
	if d = s.Next("c1"); d.Action != session.Offer || d.Agent != "1018" {
		t.Fatalf("the call goes on to 1018: %+v", d)
	}
	s.OfferResult(session.OfferResult{UUID: "c1", Agent: "1018", Outcome: session.NoAnswer, Cause: "NO_ANSWER", CPUBusy: 30})
	// 1018's failure counted (the switch idle again): it is ready at once
	// and, 1011 resting, offered the call again.
	if d = s.Next("c1"); d.Action != session.Offer || d.Agent != "1018" {
		t.Fatalf("after a counted failure 1018 is offered again at once: %+v", d)
	}
	c.add(acd.OverloadRest)
	s.Tick()
	if x, _ := s.Extension("1011"); x.CallState != acd.CallReady {
		t.Fatalf("after its rest 1011 is %s, want ready", x.CallState)
	}
	s.Leave("c1")
}
