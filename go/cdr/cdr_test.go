package cdr

import (
	"reflect"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/event"
)

var cst = time.FixedZone("CST", 8*3600)

// at returns 2021-05-30 hh:mm:ss in CST.
func at(hh, mm, ss int) time.Time { return time.Date(2021, 5, 30, hh, mm, ss, 0, cst) }

const uuid = "7ba750aa-c138-11eb-8bdf-fd851cbd5dad"

func seedCaller() Leg {
	return Leg{UUID: uuid, CallerIDNumber: "130****8217", DestinationNumber: "120",
		Start: at(16, 57, 10), Answer: at(16, 57, 10)}
}

func seedHangup() Leg {
	return Leg{End: at(16, 57, 29), HangupDisposition: "recv_bye",
		RecordFile: "2021/May/30/18939657757_04ee30b8-c125-11eb-bb04-9180ac6fa0de.wav"}
}

// seedWant is the seed's example CDR.
func seedWant() event.CDR {
	return event.CDR{
		UUID: uuid, ACallerIDNumber: "130****8217", ADestinationNumber: "120",
		AStartStamp: "2021-05-30 16:57:10", AAnswerStamp: "2021-05-30 16:57:10", AEndStamp: "2021-05-30 16:57:29",
		ADuration: "19", ABillsec: "19", ASIPHangupDisposition: "recv_bye",
		ARecordFile:       "2021/May/30/18939657757_04ee30b8-c125-11eb-bb04-9180ac6fa0de.wav",
		StrNoAnswerAgents: "1011", DestinationNumber: "1011", StartStamp: "2021-05-30 16:57:11",
		AnswerStamp: "", EndStamp: "2021-05-30 16:57:29", Duration: "18", Billsec: "0",
		NoAnswerAgents: []string{"1011"}, Flag: "单座席无应答", Group: "120",
	}
}

func TestSeedExample(t *testing.T) {
	for name, steps := range map[string]func(r *Record){
		// The caller hangs up while 1011 still rings; nobody reports the no-answer.
		"hangup while ringing": func(r *Record) {
			r.Caller(seedCaller())
			r.Offered("1011", at(16, 57, 11))
			r.Caller(seedHangup())
			r.Abandoned()
		},
		// The dispatcher reports the no-answer when the ringing stops.
		"no-answer reported": func(r *Record) {
			r.Caller(seedCaller())
			r.Offered("1011", at(16, 57, 11))
			r.NoAnswer("1011", at(16, 57, 29))
			r.Caller(seedHangup())
		},
		// The agent leg itself is reported, with its own stamps.
		"agent leg": func(r *Record) {
			r.Caller(seedCaller())
			r.Offered("1011", at(16, 57, 11))
			r.AgentLeg("1011", Leg{UUID: "b", Start: at(16, 57, 11), End: at(16, 57, 29)})
			r.NoAnswer("1011", at(16, 57, 26))
			r.Caller(seedHangup())
		},
	} {
		r := New(uuid, "120", false)
		steps(r)
		if got := r.Build(cst); !reflect.DeepEqual(got, seedWant()) {
			t.Errorf("%s:\n got %+v\nwant %+v", name, got, seedWant())
		}
	}
	// And rendered, it is the seed's JSON.
	r := New(uuid, "120", false)
	r.Caller(seedCaller())
	r.Offered("1011", at(16, 57, 11))
	r.Caller(seedHangup())
	c := r.Build(cst)
	want := `{"type":"cdr","cti_ip":"10.1.213.29","uuid":"7ba750aa-c138-11eb-8bdf-fd851cbd5dad","is_callout":"false","a_caller_id_number":"130****8217","a_destination_number":"120","a_start_stamp":"2021-05-30 16:57:10","a_answer_stamp":"2021-05-30 16:57:10","a_end_stamp":"2021-05-30 16:57:29","a_duration":"19","a_billsec":"19","a_sip_hangup_disposition":"recv_bye","a_record_file":"2021/May/30/18939657757_04ee30b8-c125-11eb-bb04-9180ac6fa0de.wav","str_no_answer_agents":"1011","destination_number":"1011","start_stamp":"2021-05-30 16:57:11","answer_stamp":"","end_stamp":"2021-05-30 16:57:29","duration":"18","flag":"单座席无应答","billsec":"0"}`
	if got := string(c.AppendJSON(nil, "10.1.213.29")); got != want {
		t.Errorf("json:\n got %s\nwant %s", got, want)
	}
}

func TestFlags(t *testing.T) {
	agent := func(s, a, e time.Time) Leg { return Leg{Start: s, Answer: a, End: e} }
	caller := Leg{CallerIDNumber: "13800000000", DestinationNumber: "110",
		Start: at(10, 0, 0), Answer: at(10, 0, 0), End: at(10, 5, 0)}
	for _, c := range []struct {
		name    string
		callout bool
		steps   func(r *Record)
		flag    string
		dest    string
		noans   []string
		agentTS [5]string // start, answer, end, duration, billsec
	}{
		{"answered", false, func(r *Record) {
			r.Offered("1001", at(10, 0, 5))
			r.Answered("1001", agent(at(10, 0, 5), at(10, 0, 9), time.Time{}))
			r.AgentLeg("1001", Leg{End: at(10, 4, 0)})
		}, FlagAnswered, "1001", nil,
			[5]string{"2021-05-30 10:00:05", "2021-05-30 10:00:09", "2021-05-30 10:04:00", "235", "231"}},
		{"answered without an offer, agent end unknown", false, func(r *Record) {
			r.Answered("1001", agent(at(10, 0, 5), at(10, 0, 9), time.Time{}))
		}, FlagAnswered, "1001", nil,
			[5]string{"2021-05-30 10:00:05", "2021-05-30 10:00:09", "2021-05-30 10:05:00", "295", "291"}},
		{"answered after no-answers", false, func(r *Record) {
			r.Offered("1001", at(10, 0, 5))
			r.NoAnswer("1001", at(10, 0, 20))
			r.Offered("1002", at(10, 0, 21))
			r.NoAnswer("1002", at(10, 0, 36))
			r.Offered("1003", at(10, 0, 37))
			r.Answered("1003", agent(at(10, 0, 37), at(10, 0, 40), at(10, 5, 0)))
		}, FlagAnsweredAfterNoAnswer, "1003", []string{"1001", "1002"},
			[5]string{"2021-05-30 10:00:37", "2021-05-30 10:00:40", "2021-05-30 10:05:00", "263", "260"}},
		{"single agent no answer twice", false, func(r *Record) {
			r.Offered("1001", at(10, 0, 5))
			r.NoAnswer("1001", at(10, 0, 20))
			r.Offered("1001", at(10, 1, 0))
			r.NoAnswer("1001", at(10, 1, 15))
		}, FlagNoAnswerOne, "1001", []string{"1001", "1001"},
			[5]string{"2021-05-30 10:01:00", "", "2021-05-30 10:01:15", "15", "0"}},
		{"several agents no answer", false, func(r *Record) {
			r.Offered("1011", at(10, 0, 5))
			r.NoAnswer("1011", at(10, 0, 20))
			r.Offered("1012", at(10, 0, 21))
			r.Abandoned()
		}, FlagNoAnswerMany, "1012", []string{"1011", "1012"},
			[5]string{"2021-05-30 10:00:21", "", "2021-05-30 10:05:00", "279", "0"}},
		{"abandoned in queue", false, func(r *Record) { r.Abandoned() },
			FlagAbandoned, "", nil, [5]string{"", "", "", "0", "0"}},
		{"gave up by policy after no-answers", false, func(r *Record) {
			r.Offered("1011", at(10, 0, 5))
			r.NoAnswer("1011", at(10, 0, 20))
			r.GaveUp("")
		}, FlagTimeout, "1011", []string{"1011"},
			[5]string{"2021-05-30 10:00:05", "", "2021-05-30 10:00:20", "15", "0"}},
		{"gave up with a reason", false, func(r *Record) { r.GaveUp("无空闲座席") },
			"无空闲座席", "", nil, [5]string{"", "", "", "0", "0"}},
		{"blacklisted", false, func(r *Record) { r.Blacklisted() },
			FlagBlacklisted, "", nil, [5]string{"", "", "", "0", "0"}},
		{"transferred", false, func(r *Record) {
			r.Offered("1001", at(10, 0, 5))
			r.Answered("1001", agent(at(10, 0, 5), at(10, 0, 6), at(10, 2, 0)))
			r.Transferred("1003")
		}, FlagTransferred, "1001", nil,
			[5]string{"2021-05-30 10:00:05", "2021-05-30 10:00:06", "2021-05-30 10:02:00", "115", "114"}},
		{"callout answered", true, func(r *Record) {
			r.Answered("18600000000", agent(at(10, 0, 1), at(10, 0, 8), at(10, 1, 8)))
		}, FlagCallout, "18600000000", nil,
			[5]string{"2021-05-30 10:00:01", "2021-05-30 10:00:08", "2021-05-30 10:01:08", "67", "60"}},
		{"callout not answered", true, func(r *Record) {
			r.Offered("18600000000", at(10, 0, 1))
			r.NoAnswer("18600000000", at(10, 0, 31))
		}, FlagCalloutFailed, "18600000000", []string{"18600000000"},
			[5]string{"2021-05-30 10:00:01", "", "2021-05-30 10:00:31", "30", "0"}},
		{"blacklist wins over everything", true, func(r *Record) {
			r.Answered("1001", agent(at(10, 0, 1), at(10, 0, 2), at(10, 0, 3)))
			r.Blacklisted()
		}, FlagBlacklisted, "1001", nil,
			[5]string{"2021-05-30 10:00:01", "2021-05-30 10:00:02", "2021-05-30 10:00:03", "2", "1"}},
	} {
		r := New("u", "110", c.callout)
		r.Caller(caller)
		c.steps(r)
		got := r.Build(cst)
		ts := [5]string{got.StartStamp, got.AnswerStamp, got.EndStamp, got.Duration, got.Billsec}
		if got.Flag != c.flag || got.DestinationNumber != c.dest || !reflect.DeepEqual(got.NoAnswerAgents, c.noans) || ts != c.agentTS {
			t.Errorf("%s: flag %q dest %q noanswer %q agent %q\nwant flag %q dest %q noanswer %q agent %q",
				c.name, got.Flag, got.DestinationNumber, got.NoAnswerAgents, ts, c.flag, c.dest, c.noans, c.agentTS)
		}
		if got.IsCallout != c.callout || got.Group != "110" || got.ADuration != "300" || got.ABillsec != "300" {
			t.Errorf("%s: caller part %+v", c.name, got)
		}
	}
}

func TestEdges(t *testing.T) {
	// The caller was never answered (hung up while the IVR rang): billsec 0, no answer stamp.
	r := New("u", "", false)
	r.Caller(Leg{Start: at(9, 0, 0), End: at(9, 0, 7)})
	c := r.Build(cst)
	if c.AAnswerStamp != "" || c.ADuration != "7" || c.ABillsec != "0" || c.Flag != FlagAbandoned ||
		c.StrNoAnswerAgents != "" || c.NoAnswerAgents != nil || c.Duration != "0" || c.Billsec != "0" {
		t.Errorf("never answered: %+v", c)
	}
	// Nothing known at all.
	c = New("u", "", false).Build(nil)
	if c.AStartStamp != "" || c.AEndStamp != "" || c.ADuration != "0" || c.ABillsec != "0" {
		t.Errorf("empty record: %+v", c)
	}
	// End before start clamps to 0, on both legs.
	r = New("u", "", false)
	r.Caller(Leg{Start: at(9, 0, 10), Answer: at(9, 0, 20), End: at(9, 0, 5)})
	r.Answered("1001", Leg{Start: at(9, 0, 10), Answer: at(9, 0, 12), End: at(9, 0, 1)})
	c = r.Build(cst)
	if c.ADuration != "0" || c.ABillsec != "0" || c.Duration != "0" || c.Billsec != "0" {
		t.Errorf("negative spans: %+v", c)
	}
	// Whole seconds between the displayed stamps: 10.9 → 29.1 shows :10 → :29 = 19.
	r = New("u", "", false)
	r.Caller(Leg{Start: at(9, 0, 10).Add(900 * time.Millisecond), End: at(9, 0, 29).Add(100 * time.Millisecond)})
	if c = r.Build(cst); c.ADuration != "19" || c.AStartStamp != "2021-05-30 09:00:10" {
		t.Errorf("sub-second stamps: %+v", c)
	}
	// The location decides the rendering; nil is UTC.
	if c = r.Build(nil); c.AStartStamp != "2021-05-30 01:00:10" {
		t.Errorf("UTC rendering: %q", c.AStartStamp)
	}
	// Empty extensions are ignored; AgentLeg for an unknown ext changes nothing.
	r = New("u", "", false)
	r.Offered("", at(9, 0, 0))
	r.NoAnswer("", at(9, 0, 0))
	r.Answered("", Leg{})
	r.AgentLeg("9999", Leg{Start: at(9, 0, 0)})
	if c = r.Build(cst); c.DestinationNumber != "" || c.NoAnswerAgents != nil {
		t.Errorf("empty ext recorded: %+v", c)
	}
	// A later Caller call merges: it does not erase known stamps.
	r = New("u", "", false)
	r.Caller(Leg{CallerIDNumber: "1", Start: at(9, 0, 0)})
	r.Caller(Leg{End: at(9, 0, 3), HangupDisposition: "send_bye"})
	if c = r.Build(cst); c.ACallerIDNumber != "1" || c.ADuration != "3" || c.ASIPHangupDisposition != "send_bye" {
		t.Errorf("merge: %+v", c)
	}
	// Build is repeatable and the slice it returns is the caller's own.
	r = New("u", "", false)
	r.Offered("1001", at(9, 0, 0))
	a, b := r.Build(cst), r.Build(cst)
	a.NoAnswerAgents[0] = "x"
	if b.NoAnswerAgents[0] != "1001" || r.Build(cst).NoAnswerAgents[0] != "1001" {
		t.Error("Build results share state")
	}
}

// uuid_transfer rewrites the caller channel's destination to the target; the
// record keeps the number the caller dialled.
func TestTransferKeepsTheDialledNumber(t *testing.T) {
	r := New(uuid, "120", false)
	r.Caller(Leg{UUID: uuid, CallerIDNumber: "138", DestinationNumber: "85733555", Start: at(10, 0, 0)})
	r.Offered("1001", at(10, 0, 1))
	r.Answered("1001", Leg{Start: at(10, 0, 1), Answer: at(10, 0, 2)})
	r.Transferred("1002")
	r.Caller(Leg{DestinationNumber: "1002", Answer: at(10, 0, 0), End: at(10, 3, 0)})
	c := r.Build(cst)
	if c.ADestinationNumber != "85733555" || c.Flag != FlagTransferred || c.AEndStamp != "2021-05-30 10:03:00" {
		t.Fatalf("cdr %+v", c)
	}
	// Without a transfer, FreeSWITCH's own facts still win, as before.
	r = New(uuid, "", false)
	r.Caller(Leg{UUID: uuid, DestinationNumber: "1002", Start: at(10, 0, 0)})
	r.Caller(Leg{DestinationNumber: "85733555", End: at(10, 1, 0)})
	if c := r.Build(cst); c.ADestinationNumber != "85733555" {
		t.Fatalf("cdr %+v", c)
	}
}
