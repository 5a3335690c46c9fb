package event

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

const ctiIP = "10.1.213.29"

// message is what a publisher holds; declared here only to pin that every
// type satisfies it with pointer receivers.
type message interface {
	Family() Family
	Channel() string
	RoutingKey() string
	AppendRedis(dst []byte) []byte
	AppendJSON(dst []byte, ctiIP string) []byte
}

var (
	_ message = (*Call)(nil)
	_ message = (*Offer)(nil)
	_ message = (*CDR)(nil)
	_ message = (*Queue)(nil)
	_ message = (*Agent)(nil)
)

const seedUUID = "7ba750aa-c138-11eb-8bdf-fd851cbd5dad"

func seedOffer(m OfferMethod) *Offer {
	return &Offer{Method: m, UUID: seedUUID, Number: "18638737767", Group: "120",
		Extension: "1018", Level: "normal", CallinTime: "2021-05-30 17:00:02", CTIIP: "10.1.213.29"}
}

// seedCDR carries the values of the seed's example CDR.
func seedCDR() *CDR {
	return &CDR{
		UUID:                  seedUUID,
		ACallerIDNumber:       "130****8217",
		ADestinationNumber:    "120",
		AStartStamp:           "2021-05-30 16:57:10",
		AAnswerStamp:          "2021-05-30 16:57:10",
		AEndStamp:             "2021-05-30 16:57:29",
		ADuration:             "19",
		ABillsec:              "19",
		ASIPHangupDisposition: "recv_bye",
		ARecordFile:           "2021/May/30/18939657757_04ee30b8-c125-11eb-bb04-9180ac6fa0de.wav",
		StrNoAnswerAgents:     "1011",
		DestinationNumber:     "1011",
		StartStamp:            "2021-05-30 16:57:11",
		AnswerStamp:           "",
		EndStamp:              "2021-05-30 16:57:29",
		Duration:              "18",
		Billsec:               "0",
		NoAnswerAgents:        []string{"1011"},
		Flag:                  "单座席无应答",
		Group:                 "120",
	}
}

// hostile holds every character class a formatter can get wrong.
const hostile = " a\"b\\c,d\n\te\x01\x7f中\xff\u2028*? [x] "

func cases() []struct {
	name string
	m    message
} {
	return []struct {
		name string
		m    message
	}{
		{"call_callin", &Call{Name: EventCallin, CallinNumber: "18638737767", DestNumber: "120",
			Domain: "10.1.213.29", Gateway: "", OriginateNumber: "18638737767", Direction: "inbound",
			AUUID: seedUUID, BUUID: "", OriginationDestNumber: "85733555"}},
		{"call_alert_fallback", &Call{Name: EventAlert, CallinNumber: "1002", Direction: "outbound",
			AUUID: "a-1", BUUID: "b-1", DTMF: "1,2"}},
		{"call_destroy_auuid", &Call{Name: EventDestroy, AUUID: "a-2"}},
		{"call_da_hostile", &Call{Name: EventDA, CallinNumber: hostile, DestNumber: hostile,
			Domain: hostile, DTMF: hostile, Gateway: hostile, OriginateNumber: hostile,
			Direction: hostile, AUUID: hostile, BUUID: hostile, OriginationDestNumber: hostile}},
		{"offer_callout", seedOffer(OfferCallout)},
		{"offer_noanswer", seedOffer(OfferNoAnswer)},
		{"offer_answered", seedOffer(OfferAnswered)},
		{"offer_hangup", seedOffer(OfferHangup)},
		{"queue_add", &Queue{Method: QueueAdd, UUID: seedUUID, Number: "130****8217", Group: "120",
			Level: "normal", CallinTime: "2021-05-30 17:00:01"}},
		{"queue_remove", &Queue{Method: QueueRemove, UUID: seedUUID, Number: "130****8217", Group: "120",
			Level: "vip", CallinTime: "2021-05-30 19:16:30"}},
		{"queue_overflow", &Queue{Method: QueueOverflow, UUID: seedUUID, Number: "130****8217", Group: "120",
			Level: "normal", CallinTime: "2021-05-30 17:00:01", ToGroup: "130"}},
		{"queue_exit", &Queue{Method: QueueExit, UUID: seedUUID, Number: "130****8217", Group: "120",
			Level: "normal", CallinTime: "2021-05-30 17:00:01"}},
		{"queue_full", &Queue{Method: QueueFull, UUID: seedUUID, Number: "130****8217", Group: "120",
			Level: "vip", CallinTime: "2021-05-30 17:00:01"}},
		{"queue_callback", &Queue{Method: QueueCallback, UUID: seedUUID, Number: "130****8217", Group: "120",
			Level: "normal", CallinTime: "2021-05-30 17:00:01", Callback: "13012348217"}},
		{"queue_callback_placed", &Queue{Method: QueueCallbackPlaced, UUID: seedUUID, Number: "130****8217", Group: "120",
			Level: "normal", CallinTime: "2021-05-30 17:00:01", Callback: "13012348217", Extension: "1002", Order: "caller_first"}},
		{"agent_ready", &Agent{Number: "1002", Status: "ready", Time: "2021-05-30 17:00:02"}},
		{"cdr_seed", seedCDR()},
		{"cdr_two_noanswer", &CDR{UUID: "u-2", IsCallout: false, ACallerIDNumber: "13800000000",
			ADestinationNumber: "110", AStartStamp: "2021-05-30 10:00:00", AAnswerStamp: "2021-05-30 10:00:00",
			AEndStamp: "2021-05-30 10:02:00", ADuration: "120", ABillsec: "120",
			ASIPHangupDisposition: "send_bye", StrNoAnswerAgents: "1011,1012", DestinationNumber: "1013",
			StartStamp: "2021-05-30 10:00:31", AnswerStamp: "2021-05-30 10:00:35",
			EndStamp: "2021-05-30 10:02:00", Duration: "89", Billsec: "85",
			NoAnswerAgents: []string{"1011", "1012"}, Flag: "无应答后接听"}},
		{"cdr_callout_empty", &CDR{UUID: " u-3 ", IsCallout: true, ADestinationNumber: "18600000000",
			Duration: "0", Billsec: "0", Flag: "外呼未接通"}},
		{"cdr_hostile", &CDR{UUID: hostile, ACallerIDNumber: hostile, ADestinationNumber: hostile,
			ARecordFile: hostile, StrNoAnswerAgents: "10,11", NoAnswerAgents: []string{"1,0", hostile},
			Flag: hostile, Group: hostile}},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s:\n got %q\nwant %q", name, got, want)
	}
}

func TestGolden(t *testing.T) {
	var routes bytes.Buffer
	for _, c := range cases() {
		golden(t, c.name+".redis", c.m.AppendRedis(nil))
		golden(t, c.name+".json", c.m.AppendJSON(nil, ctiIP))
		routes.WriteString(c.name + "\t" + c.m.Family().String() + "\t" + c.m.Channel() + "\t" + c.m.RoutingKey() + "\n")
	}
	golden(t, "routes", routes.Bytes())
}

// The seed's own examples, pasted as written there; our MQ JSON must equal their compact form.
var seedJSON = map[string]string{
	"offer_callout": `{
    "type":"event",
    "method":"callout",
    "cti_ip":"10.1.213.29",
    "uuid":"7ba750aa-c138-11eb-8bdf-fd851cbd5dad",
    "number":"18638737767",
    "group":"120",
    "extension":"1018",
    "level":"normal",
    "callin_time":"2021-05-30 17:00:02"
}`,
	"offer_hangup": `{
    "type":"event",
    "method":"hangup",
    "cti_ip":"10.1.213.29",
    "uuid":"7ba750aa-c138-11eb-8bdf-fd851cbd5dad",
    "number":"18638737767",
    "group":"120",
    "extension":"1018",
    "level":"normal",
    "callin_time":"2021-05-30 17:00:02"
}`,
	"cdr_seed": `{
    "type":"cdr",
    "cti_ip":"10.1.213.29",
    "uuid":"7ba750aa-c138-11eb-8bdf-fd851cbd5dad",
    "is_callout":"false",
    "a_caller_id_number":"130****8217",
    "a_destination_number":"120",
    "a_start_stamp":"2021-05-30 16:57:10",
    "a_answer_stamp":"2021-05-30 16:57:10",
    "a_end_stamp":"2021-05-30 16:57:29",
    "a_duration":"19",
    "a_billsec":"19",
    "a_sip_hangup_disposition":"recv_bye",
    "a_record_file":"2021/May/30/18939657757_04ee30b8-c125-11eb-bb04-9180ac6fa0de.wav",
    "str_no_answer_agents":"1011",
    "destination_number":"1011",
    "start_stamp":"2021-05-30 16:57:11",
    "answer_stamp":"",
    "end_stamp":"2021-05-30 16:57:29",
    "duration":"18",
    "flag":"单座席无应答",
    "billsec":"0"
}`,
	"queue_add": `{
    "type":"queue",
    "method":"nway_queue_add",
    "cti_ip":"10.1.213.29",
    "uuid":"7ba750aa-c138-11eb-8bdf-fd851cbd5dad",
    "number":"130****8217",
    "group":"120",
    "level":"normal",
    "callin_time":"2021-05-30 17:00:01"
}`,
}

func TestSeedExamples(t *testing.T) {
	byName := map[string]message{}
	for _, c := range cases() {
		byName[c.name] = c.m
	}
	for name, pretty := range seedJSON {
		var want bytes.Buffer
		if err := json.Compact(&want, []byte(pretty)); err != nil {
			t.Fatal(err)
		}
		if got := byName[name].AppendJSON(nil, ctiIP); !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want.Bytes())
		}
	}
	// The seed's nway_queue_remove example has no cti_ip: it is the Redis form.
	q := &Queue{Method: QueueRemove, UUID: seedUUID, Number: "130****8217", Group: "120",
		Level: "normal", CallinTime: "2021-05-30 19:16:30"}
	var want bytes.Buffer
	_ = json.Compact(&want, []byte(`{
    "type":"queue",
    "method":"nway_queue_remove",
    "uuid":"7ba750aa-c138-11eb-8bdf-fd851cbd5dad",
    "number":"130****8217",
    "group":"120",
    "level":"normal",
    "callin_time":"2021-05-30 19:16:30"
}`))
	if got := q.AppendRedis(nil); !bytes.Equal(got, want.Bytes()) {
		t.Errorf("queue remove redis:\n got %s\nwant %s", got, want.Bytes())
	}
	// The seed CDR as a Redis line: 17 fields and the braced agents.
	wantLine := seedUUID + ",130****8217,120,2021-05-30 16:57:10,2021-05-30 16:57:10,2021-05-30 16:57:29,19,19,recv_bye," +
		"2021/May/30/18939657757_04ee30b8-c125-11eb-bb04-9180ac6fa0de.wav,1011,1011,2021-05-30 16:57:11,,2021-05-30 16:57:29,18,0,{1011}"
	if got := string(seedCDR().AppendRedis(nil)); got != wantLine {
		t.Errorf("seed cdr redis:\n got %s\nwant %s", got, wantLine)
	}
}

func TestNames(t *testing.T) {
	want := []string{"EVENT_CALLIN", "EVENT_CALLOUT", "EVENT_RING", "EVNET_ALERT", "EVENT_ANSWER",
		"EVENT_HANGUP", "EVENT_DTMF", "EVENT_PLAYRING", "EVENT_PLAYSTOP", "EVENT_PARK", "EVENT_UNPARK",
		"EVENT_HOLD", "EVENT_UNHOLD", "EVENT_BRIDGED", "EVENT_DESTORY", "EVENT_TALKING", "EVENT_DA"}
	for i, w := range want {
		n := CallEventName(i + 1)
		if n.String() != w || !n.Valid() {
			t.Errorf("%d: %q valid=%v, want %q", i+1, n.String(), n.Valid(), w)
		}
	}
	if EventAlert.String() != "EVNET_ALERT" || EventDestroy.String() != "EVENT_DESTORY" || EventDA != 17 {
		t.Error("constants drifted from the wire numbering")
	}
	for _, n := range []CallEventName{0, 18, 255} {
		if n.String() != "EVENT_UNKNOWN" || n.Valid() {
			t.Errorf("%d: %q valid=%v", n, n.String(), n.Valid())
		}
	}
	for m, w := range map[OfferMethod]string{OfferCallout: "callout", OfferNoAnswer: "noanswer",
		OfferAnswered: "answered", OfferHangup: "hangup", 0: "unknown"} {
		if m.String() != w {
			t.Errorf("offer %d: %q want %q", m, m.String(), w)
		}
	}
	for m, w := range map[QueueMethod]string{QueueAdd: "nway_queue_add", QueueRemove: "nway_queue_remove",
		QueueOverflow: "nway_queue_overflow", QueueExit: "nway_queue_exit", QueueFull: "nway_queue_full",
		QueueCallback: "nway_queue_callback", QueueCallbackPlaced: "nway_queue_callback_placed", 9: "unknown"} {
		if m.String() != w {
			t.Errorf("queue %d: %q want %q", m, m.String(), w)
		}
	}
	for f, w := range map[Family]string{FamilyEvent: "event", FamilyCDR: "cdr", FamilyQueue: "queue", FamilyAgent: "agent", 0: "unknown"} {
		if f.String() != w {
			t.Errorf("family %d: %q want %q", f, f.String(), w)
		}
	}
}

func TestRoutes(t *testing.T) {
	long := strings.Repeat("9", 300)
	for _, c := range []struct {
		m             message
		channel, rkey string
	}{
		{&Agent{Number: "1002"}, "agent_1002", "agent.1002"},
		{seedOffer(OfferCallout), "event_1018", "event.1018"},
		{&Call{DestNumber: "120", CallinNumber: "1"}, "event_120", "event.120"},
		{&Call{CallinNumber: "1002", AUUID: "u"}, "event_1002", "event.1002"},
		{&Call{AUUID: "u-1"}, "event_u-1", "event.u-1"},
		{&CDR{ADestinationNumber: "119"}, "cdr_119", "cdr.119"},
		{&CDR{Group: "120", ADestinationNumber: "119"}, "cdr_120", "cdr.120"},
		{&Queue{Group: "12320"}, "queue_12320", "queue.12320"},
		{&Agent{Number: "a*b?c[d]e f\tg\\h"}, "agent_a_b_c_d_e_f_g_h", "agent.a_b_c_d_e_f_g_h"},
		{&Agent{Number: "10.2#3"}, "agent_10.2#3", "agent.10_2_3"},
		{&Agent{Number: "中\xff\u3000x"}, "agent_中__x", "agent.中__x"},
		{&Agent{Number: long}, "agent_" + long[:maxEntity], "agent." + long[:maxEntity]},
		{&Agent{}, "agent_", "agent."},
	} {
		if got := c.m.Channel(); got != c.channel {
			t.Errorf("channel %q want %q", got, c.channel)
		}
		if got := c.m.RoutingKey(); got != c.rkey {
			t.Errorf("routing key %q want %q", got, c.rkey)
		}
	}
}

func TestCSVFieldCount(t *testing.T) {
	c := &Call{Name: EventDTMF, DTMF: "1,2,3", CallinNumber: "a,b"}
	if f := strings.Split(string(c.AppendRedis(nil)), ","); len(f) != 11 || f[0] != "7" || f[1] != "a;b" || f[4] != "1;2;3" {
		t.Errorf("call line fields %q", f)
	}
	d := &CDR{UUID: " u ", StrNoAnswerAgents: "1011,1012", NoAnswerAgents: []string{"1011", "1012"}}
	line := string(d.AppendRedis(nil))
	f := strings.SplitN(line, ",", 18)
	if len(f) != 18 || f[0] != "u" || f[10] != "1011;1012" || f[17] != "{1011,1012}" {
		t.Errorf("cdr line fields %q", f)
	}
	d.NoAnswerAgents = nil
	if !strings.HasSuffix(string(d.AppendRedis(nil)), ",") || strings.Count(string(d.AppendRedis(nil)), ",") != 17 {
		t.Errorf("cdr without no-answer agents: %q", d.AppendRedis(nil))
	}
}

func TestZeroAllocs(t *testing.T) {
	buf := make([]byte, 0, 4096)
	for _, c := range cases() {
		if n := testing.AllocsPerRun(50, func() { buf = c.m.AppendRedis(buf[:0]) }); n != 0 {
			t.Errorf("%s AppendRedis: %v allocs", c.name, n)
		}
		if n := testing.AllocsPerRun(50, func() { buf = c.m.AppendJSON(buf[:0], ctiIP) }); n != 0 {
			t.Errorf("%s AppendJSON: %v allocs", c.name, n)
		}
	}
}
