package acd

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time { return c.t }

var epoch = time.Date(2021, 5, 30, 17, 0, 0, 0, time.UTC)

// TestScenarios replays testdata/*.txt with datadriven: each block is one or
// more commands (the directive line and its input lines), "----", then the
// output: the step or error of each command, then every decision in order.
// go test ./go/acd -run TestScenarios -rewrite regenerates the outputs.
func TestScenarios(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		clock := &fakeClock{t: epoch}
		legs := 0
		newLeg := func() string { legs++; return "leg-" + strconv.Itoa(legs) }
		e := New(Config{Seed: 1, NewUUID: newLeg, Location: time.UTC}, clock)
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			var got []string
			for _, line := range append([]string{d.FullCmd()}, strings.Split(d.Input, "\n")...) {
				if line == "" || strings.HasPrefix(line, "#") {
					continue
				}
				got = append(got, runCommand(t, e, clock, line)...)
			}
			if len(got) == 0 {
				return ""
			}
			return strings.Join(got, "\n") + "\n"
		})
	})
}

func kv(args []string) map[string]string {
	m := map[string]string{}
	for _, a := range args {
		if k, v, ok := strings.Cut(a, "="); ok {
			m[k] = v
		}
	}
	return m
}

func dur(t *testing.T, s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("bad duration %q", s)
	}
	return d
}

// runCommand is the scripts' command table: one switch reads best.
func runCommand(t *testing.T, e *Engine, clock *fakeClock, line string) []string {
	f := strings.Fields(line)
	if len(f) == 0 {
		return nil
	}
	for len(f) < 2 {
		f = append(f, "")
	}
	arg := func(i int) string {
		if i < len(f) {
			return f[i]
		}
		return ""
	}
	var res []string
	errOut := func(err error) {
		if err != nil {
			res = append(res, "error: "+err.Error())
		}
	}
	stepOut := func(s Step, err error) {
		if err != nil {
			errOut(err)
			return
		}
		res = append(res, "step "+formatStep(s))
	}
	switch f[0] {
	case "config":
		m := kv(f[1:])
		c := e.Config()
		if v, ok := m["wrapup"]; ok {
			if c.WrapUp = dur(t, v); c.WrapUp == 0 {
				c.WrapUp = -1 // none
			}
		}
		if v, ok := m["noanswer"]; ok {
			c.NoAnswerLimit, _ = strconv.Atoi(v)
		}
		if v, ok := m["memory"]; ok {
			c.MemoryExpiry = dur(t, v)
		}
		e.SetPolicies(c)
	case "ext":
		m := kv(f[2:])
		errOut(e.AddExtension(ExtensionSpec{Extension: f[1], JobNumber: m["job"], JobEnabled: m["enabled"] != "false", DialString: m["dial"]}))
	case "group":
		m := kv(f[2:])
		mode, _ := strconv.Atoi(m["mode"])
		s := GroupSpec{Number: f[1], Mode: Mode(mode), Rings: Rings{Welcome: m["welcome"], Blacklist: m["black"], Busy: m["busy"]}}
		if v, ok := m["timeout"]; ok {
			s.CalloutTimeout = dur(t, v)
		}
		s.Options = groupOptions(t, m)
		if _, ok := m["busytimes"]; ok || m["maxwait"] != "" {
			g := GiveUp{}
			g.BusyRingTimes, _ = strconv.Atoi(m["busytimes"])
			if v := m["maxwait"]; v != "" {
				g.MaxWait = dur(t, v)
			}
			s.GiveUp = &g
		}
		errOut(e.AddGroup(s))
	case "rmgroup":
		errOut(e.RemoveGroup(arg(1)))
	case "rmext":
		errOut(e.RemoveExtension(arg(1)))
	case "reged":
		errOut(e.SetRegistered(arg(1), true))
	case "unreg":
		errOut(e.SetRegistered(arg(1), false))
	case "login":
		var gs []string
		if arg(2) != "" {
			gs = strings.Split(arg(2), ",")
		}
		errOut(e.Login(arg(1), gs))
	case "logout":
		errOut(e.Logout(arg(1)))
	case "ready":
		errOut(e.SetReady(arg(1)))
	case "busy":
		errOut(e.SetBusy(arg(1)))
	case "state":
		st, err := ParseCallState(arg(2))
		if err != nil {
			errOut(err)
			break
		}
		errOut(e.SetCallState(arg(1), st))
	case "job":
		errOut(e.SetJobNumber(arg(1), arg(2), arg(3) == "true"))
	case "black", "vip":
		k := Blacklist
		if f[0] == "vip" {
			k = VIPList
		}
		errOut(e.SetListed(k, arg(1), arg(2), true))
	case "enter":
		stepOut(e.Enter(CallIn{UUID: arg(1), Group: arg(2), Number: arg(3), Level: Level(arg(4))}))
	case "enter-skills": // enter-skills <uuid> <group> <number> <nwayacd_skills>
		sk, err := ParseSkills(arg(4))
		if err != nil {
			errOut(err)
			break
		}
		stepOut(e.Enter(CallIn{UUID: arg(1), Group: arg(2), Number: arg(3), Skills: sk}))
	case "tier":
		n, _ := strconv.Atoi(arg(3))
		errOut(e.SetTier(arg(1), arg(2), n))
	case "weight":
		n, _ := strconv.Atoi(arg(3))
		errOut(e.SetWeight(arg(1), arg(2), n))
	case "skill":
		n, _ := strconv.Atoi(arg(3))
		errOut(e.SetSkill(arg(1), arg(2), n))
	case "rmskill":
		errOut(e.RemoveSkill(arg(1), arg(2)))
	case "key":
		st, err := e.Key(arg(1), arg(2))
		if err == nil && st.Kind == 0 {
			res = append(res, "key ignored")
			break
		}
		stepOut(st, err)
	case "callback": // callback <uuid> [number]
		stepOut(e.RequestCallback(arg(1), arg(2)))
	case "cbok": // cbok <uuid> [agent leg]
		stepOut(e.CallbackConnected(arg(1), arg(2)))
	case "restorecb": // restorecb <uuid> <group> <callback number> <arrived this long ago> [level]
		errOut(e.RestoreCallback(CallbackSpec{UUID: arg(1), Group: arg(2), Number: arg(3), Callback: arg(3),
			CallinTime: clock.t.Add(-dur(t, arg(4))), Level: Level(arg(5))}))
	case "cbfail": // cbfail <uuid> agent|caller
		errOut(e.CallbackFailed(arg(1), arg(2) == "agent"))
	case "options": // options <group> k=v…: replaces the group's options
		m := kv(f[2:])
		errOut(e.UpdateGroup(arg(1), func(s *GroupSpec) { s.Options = groupOptions(t, m) }))
	case "enter-direct":
		stepOut(e.EnterDirect(CallIn{UUID: arg(1), Number: arg(3)}, arg(2)))
	case "callout":
		stepOut(e.EnterCallout(CalloutIn{UUID: arg(1), Ext: arg(2), Group: arg(3), Target: arg(4), Gateway: arg(5)}))
	case "next":
		stepOut(e.Next(arg(1)))
	case "answer", "noanswer", "fail", "cancel":
		o := map[string]Outcome{"answer": Answered, "noanswer": NoAnswer, "fail": Failed, "cancel": Canceled}[f[0]]
		ext := arg(2)
		if ext == "-" { // a ring-all offer failing as a whole
			ext = ""
		}
		errOut(e.OfferResult(arg(1), ext, o, "")) // the session confirms the leg the core named
	case "bridgeend":
		errOut(e.BridgeEnded(arg(1)))
	case "leghangup": // leghangup <call uuid> <agent leg> [transfer]
		res = append(res, fmt.Sprintf("leg ended bridge=%v", e.AgentLegEnded(arg(1), arg(2), arg(3) == "transfer")))
	case "leave":
		if e.Leave(arg(1)) {
			res = append(res, "held "+arg(1))
		}
	case "transfer": // transfer <call uuid or leg> <extension, or - for a non-agent>
		to := arg(2)
		if to == "-" {
			to = ""
		}
		errOut(e.Transferred(arg(1), to))
	case "transferended":
		e.TransferEnded(arg(1))
	case "advance":
		clock.t = clock.t.Add(dur(t, arg(1)))
		e.Tick()
	case "show":
		switch arg(1) {
		case "ext":
			x, err := e.Extension(arg(2))
			if err != nil {
				errOut(err)
				break
			}
			line := fmt.Sprintf("ext %s reg=%s seat=%s state=%s login=%v groups=%v", x.Extension, x.RegStatus, x.Seat, x.CallState, x.LoggedIn, x.Groups)
			if x.CallUUID != "" {
				line += fmt.Sprintf(" call=%s leg=%s", x.CallUUID, x.CallLeg)
			}
			res = append(res, line)
		case "group":
			g, err := e.Group(arg(2))
			if err != nil {
				errOut(err)
				break
			}
			res = append(res, fmt.Sprintf("group %s mode=%d cursor=%s members=%v waiting=%d", g.Number, g.Mode, g.CurrentExt, g.Members, g.Waiting))
		case "queue":
			for _, w := range e.Waiting() {
				res = append(res, fmt.Sprintf("waiting %s group=%s level=%s offered=%s", w.UUID, w.Group, w.Level, w.OfferedTo))
			}
		case "lines": // the queue with positions, estimates and relaxed skills
			for _, w := range e.Waiting() {
				ewt := "unknown"
				if w.EWTKnown {
					ewt = w.EWT.String()
				}
				res = append(res, fmt.Sprintf("waiting %s group=%s level=%s pos=%d ewt=%s skills=%s", w.UUID, w.Group, w.Level, w.Position, ewt, FormatSkills(w.Skills)))
			}
		case "callbacks":
			for _, c := range e.Callbacks() {
				res = append(res, fmt.Sprintf("callback %s group=%s number=%s tries=%d since=%s", c.UUID, c.Group, c.Callback, c.Tries, c.CallinTime.Format("15:04:05")))
			}
		case "stats":
			x, err := e.Extension(arg(2))
			if err != nil {
				errOut(err)
				break
			}
			res = append(res, fmt.Sprintf("stats %s day=%s answered=%d talk=%s last=%s skills=%s", x.Extension, x.Stats.Day, x.Stats.Answered, x.Stats.TalkTime,
				x.Stats.LastCallEnd.Format("15:04:05"), FormatSkills(x.Skills)))
		}
	default:
		t.Fatalf("unknown command %q", line)
	}
	for _, d := range e.Decisions() {
		res = append(res, formatDecision(d))
	}
	return res
}

func formatStep(s Step) string {
	var b strings.Builder
	b.WriteString(s.Kind.String())
	if s.Agent != "" {
		b.WriteString(" agent=" + s.Agent)
	}
	if s.Leg != "" {
		b.WriteString(" leg=" + s.Leg)
	}
	if s.Dial != "" {
		b.WriteString(" dial=" + s.Dial)
	}
	if s.File != "" {
		b.WriteString(" file=" + s.File)
	}
	if s.Kind == StepPlay || s.Kind == StepWait {
		fmt.Fprintf(&b, " loops=%d", s.Loops)
	}
	if s.Timeout != 0 {
		b.WriteString(" timeout=" + s.Timeout.String())
	}
	if s.Cause != "" {
		b.WriteString(" cause=" + s.Cause)
	}
	if s.Result != "" {
		b.WriteString(" result=" + string(s.Result))
	}
	if s.Announce {
		b.WriteString(" announce")
	}
	if s.Position > 0 {
		fmt.Fprintf(&b, " position=%d", s.Position)
		if s.EWTKnown {
			b.WriteString(" ewt=" + s.EWT.String())
		}
	}
	if len(s.Ring) > 0 {
		b.WriteString(" ring=[")
		for i, r := range s.Ring {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(r.Agent + ":" + r.Leg)
		}
		b.WriteString("]")
	}
	return b.String()
}

func formatDecision(d Decision) string {
	c := d.Call
	switch d.Kind {
	case DAgent:
		return fmt.Sprintf("agent %s %s", d.Ext, d.Status)
	case DQueueAdd:
		return fmt.Sprintf("queue_add %s group=%s level=%s", c.UUID, c.Group, c.Level)
	case DQueueRemove:
		return fmt.Sprintf("queue_remove %s", c.UUID)
	case DKill:
		return fmt.Sprintf("kill %s %s leg=%s", c.UUID, d.Ext, c.AgentUUID)
	case DOfferCallout, DOfferNoAnswer, DOfferAnswered, DOfferHangup:
		return fmt.Sprintf("%s %s %s", d.Kind, c.UUID, d.Ext)
	case DWake:
		return "wake " + c.UUID
	case DEnded:
		return fmt.Sprintf("ended %s result=%s agent=%s tried=%v waited=%s", c.UUID, c.Result, c.Agent, c.Tried, c.Waited)
	case DMemory:
		return fmt.Sprintf("memory %s -> %s", c.Number, d.Ext)
	case DCursor:
		return fmt.Sprintf("cursor %s = %s", c.Group, d.Ext)
	case DOverflow:
		return fmt.Sprintf("overflow %s %s -> %s", c.UUID, c.Group, d.Status)
	case DExit, DFull:
		return fmt.Sprintf("%s %s group=%s", d.Kind, c.UUID, c.Group)
	case DCallbackScheduled:
		return fmt.Sprintf("queue_callback %s group=%s number=%s", c.UUID, c.Group, d.Status)
	case DCallbackPlaced:
		return fmt.Sprintf("queue_callback_placed %s %s %s number=%s", c.UUID, d.Ext, d.Status, c.Callback)
	}
	return "?"
}

// groupOptions reads a group's options from a script's k=v words.
func groupOptions(t *testing.T, m map[string]string) GroupOptions {
	var o GroupOptions
	o.MemoryFirst = m["memfirst"] == "true"
	o.TierSkip = m["tierskip"] == "true"
	if v := m["tierwait"]; v != "" {
		o.TierWait = dur(t, v)
	}
	if v := m["relax"]; v != "" {
		o.RelaxEvery = dur(t, v)
	}
	if v := m["skills"]; v != "" {
		sk, err := ParseSkills(v)
		if err != nil {
			t.Fatal(err)
		}
		o.Skills = sk
	}
	o.MaxWaiting, _ = strconv.Atoi(m["maxwaiting"])
	o.FullOverflow = m["fulloverflow"] == "true"
	o.OverflowGroup = m["overflow"]
	if v := m["overflowafter"]; v != "" {
		o.OverflowAfter = dur(t, v)
	}
	o.OverflowWaiting, _ = strconv.Atoi(m["overflowwaiting"])
	o.ExitKey = m["exitkey"]
	o.Announce = m["announce"] == "true"
	if v := m["announceevery"]; v != "" {
		o.AnnounceEvery = dur(t, v)
	}
	o.AnnounceSounds = m["announcesounds"]
	o.CallbackKey = m["cbkey"]
	o.CallbackAgentFirst = m["cbagentfirst"] == "true"
	o.CallbackRetries, _ = strconv.Atoi(m["cbretries"])
	if v := m["cbdelay"]; v != "" {
		o.CallbackRetryDelay = dur(t, v)
	}
	return o
}
