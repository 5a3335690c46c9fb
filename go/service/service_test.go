package service

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/api"
	"github.com/nwayacd/mod_nwayacd/go/console"
	"github.com/nwayacd/mod_nwayacd/go/event"
	"github.com/nwayacd/mod_nwayacd/go/publish"
	"github.com/nwayacd/mod_nwayacd/go/session"
	"github.com/nwayacd/mod_nwayacd/go/store"
)

// The transports are written against interfaces they declare; the service
// must satisfy each of them.
var (
	_ console.Service = (*Service)(nil)
	_ api.Service     = (*Service)(nil)
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// host records every FreeSWITCH command, as the real switch would receive it.
type host struct {
	mu   sync.Mutex
	cmds []string
}

func (h *host) API(cmd, args string) (string, error) {
	h.mu.Lock()
	h.cmds = append(h.cmds, cmd+" "+args)
	h.mu.Unlock()
	return "+OK", nil
}

func (h *host) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.cmds
	h.cmds = nil
	return c
}

type pub struct {
	mu   sync.Mutex
	msgs []publish.Message
}

func (p *pub) Publish(m publish.Message) bool {
	p.mu.Lock()
	p.msgs = append(p.msgs, m)
	p.mu.Unlock()
	return true
}

func (p *pub) cdrs() []*event.CDR {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*event.CDR
	for _, m := range p.msgs {
		if c, ok := m.(*event.CDR); ok {
			out = append(out, c)
		}
	}
	return out
}

func (p *pub) redis(family event.Family) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, m := range p.msgs {
		if m.Family() == family {
			out = append(out, m.Channel()+" "+string(m.AppendRedis(nil)))
		}
	}
	return out
}

var t0 = time.Date(2021, 5, 30, 16, 57, 10, 0, time.UTC)

func newTest(t *testing.T) (*Service, *host, *pub, *clock) {
	t.Helper()
	h, p, c := &host{}, &pub{}, &clock{t: t0}
	s := New(Options{Clock: c, Switch: h, Publisher: p, ManualTimers: true, SyncHost: true, Location: time.UTC,
		Core: acd.Config{WrapUp: 30 * time.Second}})
	must(t, s.AddGroup("120", acd.ModeSequential))
	for _, ext := range []string{"1011", "1018"} {
		must(t, s.AddExtension(ext, "J"+ext))
		must(t, s.SetRegistered(ext, true))
		must(t, s.Login(ext, []string{"120"}))
	}
	return s, h, p, c
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func vars(d session.Directive) map[string]string {
	m := map[string]string{}
	for _, kv := range d.Vars {
		m[kv[0]] = kv[1]
	}
	return m
}

// The seed's example: 1011 does not answer, the caller hangs up while 1018 rings.
func TestQueuedCallNoAnswerThenHangup(t *testing.T) {
	s, h, p, c := newTest(t)
	d := s.Enter(session.Call{Kind: session.Queue, UUID: "7ba750aa", Group: "120", CallerNumber: "13000008217", DestNumber: "120"})
	if d.Action != session.Offer || d.Agent != "1011" || d.TimeoutMS != 15000 || d.CallerNumber != "13000008217" {
		t.Fatalf("first directive %+v", d)
	}
	leg := strings.TrimPrefix(strings.SplitN(d.Dial, ",", 2)[0], "{origination_uuid=")
	want := "{origination_uuid=" + leg + ",nwayacd_call=7ba750aa,nwayacd_group=120,nwayacd_agent=1011," +
		"origination_caller_id_number=13000008217,origination_caller_id_name=13000008217,originate_timeout=15}user/1011"
	if d.Dial != want {
		t.Fatalf("dial\n got %s\nwant %s", d.Dial, want)
	}
	c.add(15 * time.Second)
	s.OfferResult(session.OfferResult{UUID: "7ba750aa", Agent: "1011", AgentUUID: leg, Outcome: session.NoAnswer, Cause: "NO_ANSWER"})
	d = s.Next("7ba750aa")
	if d.Action != session.Offer || d.Agent != "1018" {
		t.Fatalf("second directive %+v", d)
	}
	c.add(4 * time.Second)
	s.OfferResult(session.OfferResult{UUID: "7ba750aa", Agent: "1018", Outcome: session.Canceled})
	s.Leave("7ba750aa")
	if cmds := h.take(); len(cmds) != 0 {
		t.Fatalf("no command is needed when the session cancels its own originate, got %q", cmds)
	}
	cdrs := p.cdrs()
	if len(cdrs) != 1 {
		t.Fatalf("%d CDRs", len(cdrs))
	}
	got := string(cdrs[0].AppendRedis(nil))
	wantCDR := "7ba750aa,13000008217,120,2021-05-30 16:57:10,,2021-05-30 16:57:29,19,0,,,1011;1018,1018,2021-05-30 16:57:25,,2021-05-30 16:57:29,4,0,{1011,1018}"
	if got != wantCDR {
		t.Fatalf("cdr\n got %s\nwant %s", got, wantCDR)
	}
	if cdrs[0].Flag != "多座席无应答" || cdrs[0].Channel() != "cdr_120" {
		t.Fatalf("flag %q channel %q", cdrs[0].Flag, cdrs[0].Channel())
	}
	offers := p.redis(event.FamilyEvent)
	if len(offers) != 4 || !strings.HasPrefix(offers[0], `event_1011 {"type":"event","method":"callout"`) ||
		!strings.HasPrefix(offers[1], `event_1011 {"type":"event","method":"noanswer"`) ||
		!strings.HasPrefix(offers[3], `event_1018 {"type":"event","method":"hangup"`) {
		t.Fatalf("offer events %q", offers)
	}
}

func TestAnsweredCallDirectivesAndVariables(t *testing.T) {
	s, h, p, c := newTest(t)
	d := s.Enter(session.Call{Kind: session.Queue, UUID: "u1", Group: "120", CallerNumber: "138", Level: "VIP"})
	s.OfferResult(session.OfferResult{UUID: "u1", Agent: d.Agent, AgentUUID: "leg1", Outcome: session.Answered})
	c.add(40 * time.Second)
	s.BridgeEnded("u1")
	d = s.Next("u1")
	v := vars(d)
	if d.Action != session.Done || v["nwayacd_result"] != "answered" || v["nwayacd_agent"] != "1011" || v["nwayacd_level"] != "vip" || v["nwayacd_group"] != "120" {
		t.Fatalf("done directive %+v", d)
	}
	s.Leave("u1")
	if len(h.take()) != 0 {
		t.Fatal("unexpected host commands")
	}
	cd := p.cdrs()
	if len(cd) != 1 || cd[0].Flag != "正常接听" || cd[0].Billsec != "40" || cd[0].DestinationNumber != "1011" {
		t.Fatalf("cdr %+v", cd)
	}
	x, _ := s.Extension("1011")
	if x.CallState != acd.CallTyping {
		t.Fatalf("after the call 1011 is %s, want typing", x.CallState)
	}
	c.add(30 * time.Second)
	s.Tick()
	if x, _ := s.Extension("1011"); x.CallState != acd.CallReady {
		t.Fatalf("after wrap-up 1011 is %s", x.CallState)
	}
	agents := p.redis(event.FamilyAgent)
	if agents[len(agents)-1] != `agent_1011 {"type":"agent","number":"1011","status":"ready","time":"2021-05-30 16:58:20"}` {
		t.Fatalf("last agent event %q", agents[len(agents)-1])
	}
}

// A waiting caller is woken with uuid_break when an agent frees up; an offer
// the session never reports is taken back by killing its agent leg, no wake.
func TestWakeAndTakeBackCommands(t *testing.T) {
	s, h, _, c := newTest(t)
	must(t, s.SetBusy("1011"))
	must(t, s.SetBusy("1018"))
	d := s.Enter(session.Call{Kind: session.Queue, UUID: "w1", Group: "120", CallerNumber: "139"})
	if d.Action != session.Wait || d.File != "local_stream://moh" || d.Loops != 0 {
		t.Fatalf("wait directive %+v", d)
	}
	must(t, s.SetReady("1018"))
	if got := h.take(); len(got) != 1 || got[0] != "uuid_break w1 all" {
		t.Fatalf("commands %q", got)
	}
	d = s.Next("w1")
	if d.Action != session.Offer || d.Agent != "1018" {
		t.Fatalf("offer %+v", d)
	}
	leg := strings.TrimPrefix(strings.SplitN(d.Dial, ",", 2)[0], "{origination_uuid=")
	c.add(26 * time.Second)
	s.Tick()
	got := h.take()
	// The session sits in originate: killing the leg brings it back; a wake
	// would only linger and cut its next prompt.
	if len(got) != 1 || got[0] != "uuid_kill "+leg+" ORIGINATOR_CANCEL" {
		t.Fatalf("commands %q", got)
	}
}

func TestBlacklistedCaller(t *testing.T) {
	s, _, p, _ := newTest(t)
	must(t, s.SetGroupRings("120", acd.Rings{Blacklist: "/nway/black.wav"}))
	must(t, s.AddBlacklist("120", "13300000000"))
	d := s.Enter(session.Call{Kind: session.Queue, UUID: "b1", Group: "120", CallerNumber: "13300000000"})
	if d.Action != session.Hangup || d.File != "/nway/black.wav" || d.Cause != "CALL_REJECTED" || vars(d)["nwayacd_result"] != "blacklisted" {
		t.Fatalf("directive %+v", d)
	}
	s.Leave("b1")
	if cd := p.cdrs(); len(cd) != 1 || cd[0].Flag != "黑名单" {
		t.Fatalf("cdr %+v", cd)
	}
}

func TestBadApplicationInput(t *testing.T) {
	s, _, _, _ := newTest(t)
	for _, c := range []session.Call{
		{Kind: session.Queue, UUID: "x", Group: "999"},
		{Kind: session.Queue, UUID: "", Group: "120"},
		{Kind: session.Callout, UUID: "y", Group: "120", Target: "1;2", Gateway: "gw1"},
		{Kind: session.Direct, UUID: "z", Target: "4040"},
		{Kind: 99, UUID: "q"},
	} {
		d := s.Enter(c)
		if d.Action != session.Done || vars(d)["nwayacd_error"] == "" {
			t.Errorf("%+v: directive %+v", c, d)
		}
	}
	if d := s.Next("nope"); d.Action != session.Done {
		t.Fatalf("next of unknown call %+v", d)
	}
	s.OfferResult(session.OfferResult{UUID: "nope", Outcome: 77})
	s.BridgeEnded("nope")
	s.Leave("nope")
}

func TestCalloutAndDirect(t *testing.T) {
	s, _, p, c := newTest(t)
	d := s.Enter(session.Call{Kind: session.Callout, UUID: "o1", Group: "120", Target: "18621575908", Gateway: "gw1", CallerNumber: "1011"})
	if d.Action != session.Offer || !strings.HasSuffix(d.Dial, "}sofia/gateway/gw1/18621575908") {
		t.Fatalf("callout %+v", d)
	}
	if x, _ := s.Extension("1011"); x.CallState != acd.CallTalking {
		t.Fatalf("1011 dialling out is %s, want talking", x.CallState)
	}
	if d := s.Enter(session.Call{Kind: session.Queue, UUID: "q-during-callout", Group: "120", CallerNumber: "5"}); d.Agent == "1011" {
		t.Fatal("a queued call was offered to the agent that is dialling out")
	}
	s.Leave("q-during-callout")
	s.OfferResult(session.OfferResult{UUID: "o1", Agent: "18621575908", Outcome: session.Answered})
	c.add(10 * time.Second)
	s.BridgeEnded("o1")
	if d := s.Next("o1"); d.Action != session.Done || vars(d)["nwayacd_result"] != "answered" {
		t.Fatalf("after callout %+v", d)
	}
	s.Leave("o1")
	if x, _ := s.Extension("1011"); x.CallState != acd.CallTyping {
		t.Fatalf("1011 after its callout is %s, want typing", x.CallState)
	}
	var cd []*event.CDR
	for _, c := range p.cdrs() {
		if c.UUID == "o1" {
			cd = append(cd, c)
		}
	}
	if len(cd) != 1 || !cd[0].IsCallout || cd[0].Billsec != "10" || !strings.Contains(string(cd[0].AppendJSON(nil, "10.0.0.1")), `"is_callout":"true"`) {
		t.Fatalf("callout cdr %+v", cd)
	}

	must(t, s.SetDialString("1018", "sofia/internal/1018@127.0.0.1:5070"))
	d = s.Enter(session.Call{Kind: session.Direct, UUID: "d1", Target: "1018", CallerNumber: "1011"})
	if d.Action != session.Offer || !strings.HasSuffix(d.Dial, "}sofia/internal/1018@127.0.0.1:5070") {
		t.Fatalf("direct %+v", d)
	}
	if x, _ := s.Extension("1018"); x.CallState != acd.CallRing {
		t.Fatalf("1018 is %s during a direct offer", x.CallState)
	}
	if d2 := s.Enter(session.Call{Kind: session.Direct, UUID: "d2", Target: "1018"}); d2.Action != session.Hangup || d2.Cause != "USER_BUSY" {
		t.Fatalf("second direct call to a ringing extension %+v", d2)
	}
}

func TestCallControlCommands(t *testing.T) {
	s, h, _, _ := newTest(t)
	d := s.Enter(session.Call{Kind: session.Queue, UUID: "call1", Group: "120", CallerNumber: "138"})
	// The agent leg, dialled as user/1011: FreeSWITCH names its user.
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelCreate, UUID: "leg-1011", Direction: "outbound", CallerNumber: "138", DestNumber: "1011", User: "1011"})
	s.OfferResult(session.OfferResult{UUID: "call1", Agent: d.Agent, AgentUUID: "leg-1011", Outcome: session.Answered})
	h.take()
	must(t, s.Hold("1011"))
	must(t, s.Unhold("1011"))
	must(t, s.PhoneHold("1011"))
	must(t, s.PhoneUnhold("1011"))
	must(t, s.Answer("1011"))
	must(t, s.Transfer("1011", "1003", ""))
	must(t, s.Transfer("1011", "18621575908", "gw1"))
	must(t, s.Eavesdrop("1011", "1018", ""))
	must(t, s.ThreeWay("018621575908", "1011", "gw1"))
	must(t, s.TransferUUID("call1", "1002"))
	must(t, s.HoldUUID("call1"))
	must(t, s.UnholdUUID("call1"))
	must(t, s.ThreeWayUUID("call1", "018621575908", "gw1"))
	must(t, s.Hangup("1011"))
	want := []string{
		"uuid_hold leg-1011",
		"uuid_hold off leg-1011",
		"uuid_phone_event leg-1011 hold",
		"uuid_phone_event leg-1011 talk",
		"uuid_phone_event leg-1011 talk",
		"uuid_transfer leg-1011 -bleg 1003 XML default",
		"uuid_transfer leg-1011 -bleg 'bridge:sofia/gateway/gw1/18621575908' inline",
		"bgapi originate {origination_caller_id_number=1011}user/1018 &eavesdrop(leg-1011)",
		"bgapi originate {origination_caller_id_number=1011}sofia/gateway/gw1/018621575908 &three_way(leg-1011)",
		"uuid_transfer call1 1002 XML default",
		"uuid_hold call1",
		"uuid_hold off call1",
		"bgapi originate sofia/gateway/gw1/018621575908 &three_way(call1)",
		"uuid_kill leg-1011 NORMAL_CLEARING",
	}
	got := h.take()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("commands\n got %q\nwant %q", got, want)
	}
	// No call: a clear error, no command.
	for _, err := range []error{s.Hangup("1018"), s.Hold("1018"), s.Answer("7777"), s.Transfer("1018", "1003", "")} {
		if acd.CodeOf(err) != acd.ErrNoCall {
			t.Errorf("got %v, want ErrNoCall", err)
		}
	}
	for _, err := range []error{s.HoldUUID("nope"), s.UnholdUUID("gone-1"), s.TransferUUID("nope", "1002"), s.ThreeWayUUID("nope", "1", "")} {
		if acd.CodeOf(err) != acd.ErrUnknownCall {
			t.Errorf("unknown channel: got %v, want ErrUnknownCall", err)
		}
	}
	for _, err := range []error{s.HoldUUID("bad uuid"), s.TransferUUID("call1", "10;03"), s.Hangup(""), s.ThreeWay("1;", "1011", "")} {
		if acd.CodeOf(err) != acd.ErrBadArgument {
			t.Errorf("got %v, want ErrBadArgument", err)
		}
	}
	if got := h.take(); len(got) != 0 {
		t.Fatalf("bad input issued %q", got)
	}
}

func TestRegistrationsAndCallEvents(t *testing.T) {
	s, _, p, _ := newTest(t)
	s.ChannelEvent(&session.ChannelEvent{Kind: session.SIPUnregister, User: "1011"})
	if x, _ := s.Extension("1011"); x.RegStatus != acd.Unreg {
		t.Fatalf("1011 %s after unregister", x.RegStatus)
	}
	s.ChannelEvent(&session.ChannelEvent{Kind: session.SIPRegister, User: "1011"})
	s.ChannelEvent(&session.ChannelEvent{Kind: session.SIPRegister, User: "not-an-agent"})
	if x, _ := s.Extension("1011"); x.RegStatus != acd.Reged {
		t.Fatalf("1011 %s after register", x.RegStatus)
	}
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelCreate, UUID: "a1", Direction: "inbound", CallerNumber: "138", DestNumber: "120", Domain: "d", User: "1011"})
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelDTMF, UUID: "a1", DTMF: "5", Direction: "inbound", CallerNumber: "138", DestNumber: "120"})
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelDestroy, UUID: "a1", Direction: "inbound", CallerNumber: "138", DestNumber: "120"})
	got := p.redis(event.FamilyEvent)
	want := []string{"event_120 1,138,120,d,,,,inbound,a1,,", "event_120 7,138,120,,5,,,inbound,a1,,", "event_120 15,138,120,,,,,inbound,a1,,"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("call events\n got %q\nwant %q", got, want)
	}
	if s.latestOwned("1011") != "" || s.channelKnown("a1") {
		t.Fatal("destroyed channel still tracked")
	}
}

func TestStatusAndSubscribe(t *testing.T) {
	s, _, _, _ := newTest(t)
	ch, cancel := s.Subscribe(8)
	must(t, s.SetBusy("1011"))
	select {
	case b := <-ch:
		if !strings.Contains(string(b), `"status":"busy"`) {
			t.Fatalf("live message %s", b)
		}
	default:
		t.Fatal("no live message")
	}
	cancel()
	if _, ok := <-ch; ok {
		t.Fatal("stream not closed after cancel")
	}
	st := s.Status()
	if st.Extensions != 2 || st.Groups != 1 || st.AgentsByState["busy"] != 1 {
		t.Fatalf("status %+v", st)
	}
	if !strings.Contains(string(s.StatusJSON()), `"extensions":2`) || len(s.StatusLines()) < 6 {
		t.Fatal("status renderings")
	}
}

func TestStartStopStart(t *testing.T) {
	h := &host{}
	s := New(Options{Switch: h})
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelCreate, UUID: "abc"})
	for i := 0; i < 2; i++ {
		s.Start()
		must(t, s.AddGroup("1"+string(rune('0'+i)), acd.ModeRandom))
		must(t, s.HoldUUID("abc"))
		s.Stop()
	}
	if got := h.take(); len(got) != 2 {
		t.Fatalf("commands across restarts %q", got)
	}
	if err := s.HoldUUID("abc"); acd.CodeOf(err) != acd.ErrUnavailable {
		t.Fatalf("after stop: %v", err)
	}
}

// An unload writes the CDRs of calls that are finished or still up.
func TestStopFlushesCDRs(t *testing.T) {
	h, p := &host{}, &pub{}
	s := New(Options{Switch: h, Publisher: p, CDRGrace: time.Hour})
	s.Start()
	must(t, s.AddGroup("120", acd.ModeSequential))
	s.Enter(session.Call{Kind: session.Queue, UUID: "left", Group: "120", CallerNumber: "1"})
	s.Leave("left") // waits for its hangup event (an hour)
	s.Enter(session.Call{Kind: session.Queue, UUID: "up", Group: "120", CallerNumber: "2"})
	if n := len(p.cdrs()); n != 0 {
		t.Fatalf("%d CDRs before stop", n)
	}
	s.Stop()
	got := map[string]bool{}
	for _, c := range p.cdrs() {
		got[c.UUID] = true
	}
	if !got["left"] || !got["up"] || len(got) != 2 {
		t.Fatalf("CDRs after stop: %v", got)
	}
}

func TestLoadRestoresQuietly(t *testing.T) {
	p := &pub{}
	s := New(Options{Publisher: p, ManualTimers: true, SyncHost: true})
	s.Load(store.Snapshot{
		Extensions:  []store.Extension{{Number: "1001", JobEnabled: true}},
		Groups:      []store.Group{{Number: "110", Mode: 99}},
		Memberships: []store.Membership{{Ext: "1001", Group: "110"}, {Ext: "2002", Group: "110"}},
		Lists:       []store.ListEntry{{Kind: store.VIP, Group: "110", Number: "186"}},
	})
	g, err := s.Group("110")
	if err != nil || g.Mode != acd.DefaultMode || len(g.Members) != 2 || len(g.VIP) != 1 {
		t.Fatalf("loaded %+v %v", g, err)
	}
	if len(p.msgs) != 0 {
		t.Fatalf("load published %d messages", len(p.msgs))
	}
}

// Taking an offer back kills the leg that rings (found in review: the leg's
// uuid was forgotten in the very section that named it).
func TestTakeBackKillsTheRingingLeg(t *testing.T) {
	s, h, _, _ := newTest(t)
	d := s.Enter(session.Call{Kind: session.Queue, UUID: "tb", Group: "120", CallerNumber: "139"})
	leg := strings.TrimPrefix(strings.SplitN(d.Dial, ",", 2)[0], "{origination_uuid=")
	h.take()
	must(t, s.RemoveExtension(d.Agent))
	got := h.take()
	if len(got) == 0 || got[0] != "uuid_kill "+leg+" ORIGINATOR_CANCEL" {
		t.Fatalf("commands %q, want the ringing leg %s killed first", got, leg)
	}
}

// The dialplan may send a channel to a second group after the first gave up.
func TestOverflowToSecondGroup(t *testing.T) {
	p := &pub{}
	// Not ManualTimers: Leave waits (an hour here) for the caller leg's hangup
	// event before writing the CDR, as in FreeSWITCH.
	s := New(Options{Clock: &clock{t: t0}, Switch: &host{}, Publisher: p, SyncHost: true, CDRGrace: time.Hour})
	must(t, s.AddGroup("120", acd.ModeSequential))
	must(t, s.AddGroup("119", acd.ModeSequential))
	d := s.Enter(session.Call{Kind: session.Queue, UUID: "ov", Group: "120", CallerNumber: "139"})
	if d.Action != session.Wait {
		t.Fatalf("first group %+v", d)
	}
	s.Leave("ov") // the dialplan moves on
	d = s.Enter(session.Call{Kind: session.Queue, UUID: "ov", Group: "119", CallerNumber: "139"})
	if d.Action != session.Wait || vars(d)["nwayacd_error"] != "" {
		t.Fatalf("second group %+v", d)
	}
	if n := len(p.cdrs()); n != 1 {
		t.Fatalf("%d CDRs after the first visit", n)
	}
}

// A multi-leg dial string gets no origination_uuid (it would name one leg only).
func TestMultiLegDialString(t *testing.T) {
	s, _, _, _ := newTest(t)
	must(t, s.SetDialString("1011", "user/1011,sofia/gateway/gw1/13800000000"))
	d := s.Enter(session.Call{Kind: session.Queue, UUID: "ml", Group: "120", CallerNumber: "1"})
	if d.Action != session.Offer || strings.Contains(d.Dial, "origination_uuid") || !strings.HasPrefix(d.Dial, "{nwayacd_call=ml,") {
		t.Fatalf("offer %+v", d)
	}
}

// A running service renders live messages off the call path, on its own
// goroutine; they still arrive, in order.
func TestSubscribeWhileRunning(t *testing.T) {
	s := New(Options{})
	s.Start()
	defer s.Stop()
	must(t, s.AddGroup("1", acd.ModeSequential))
	must(t, s.AddExtension("1001", ""))
	ch, cancel := s.Subscribe(8)
	defer cancel()
	must(t, s.SetBusy("1001"))
	must(t, s.SetReady("1001"))
	for _, want := range []string{`"status":"busy"`, `"status":"ready"`} {
		select {
		case b := <-ch:
			if !strings.Contains(string(b), want) {
				t.Fatalf("got %s, want %s", b, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no live message with %s", want)
		}
	}
}
