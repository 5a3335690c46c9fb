package event

import (
	"encoding/json"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

// decoded parses one JSON object, returning its keys in order and its values,
// and fails if any value is not a string.
func decoded(t *testing.T, b []byte) ([]string, map[string]string) {
	t.Helper()
	if !json.Valid(b) {
		t.Fatalf("invalid JSON: %q", b)
	}
	if !utf8.Valid(b) {
		t.Fatalf("invalid UTF-8 in JSON: %q", b)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("want object, got %v %v", tok, err)
	}
	var keys []string
	vals := map[string]string{}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		v, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		s, ok := v.(string)
		if !ok {
			t.Fatalf("key %v: value %v is not a string", k, v)
		}
		keys = append(keys, k.(string))
		vals[k.(string)] = s
	}
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("trailing data after object: %v", err)
	}
	return keys, vals
}

// wantString is what a JSON reader must get back: each invalid byte as U+FFFD.
func wantString(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func check(t *testing.T, what string, b []byte, want [][2]string) {
	t.Helper()
	keys, vals := decoded(t, b)
	if len(keys) != len(want) {
		t.Fatalf("%s: keys %q, want %d keys", what, keys, len(want))
	}
	for i, kv := range want {
		if keys[i] != kv[0] {
			t.Fatalf("%s: key %d is %q, want %q", what, i, keys[i], kv[0])
		}
		if got, w := vals[kv[0]], wantString(kv[1]); got != w {
			t.Fatalf("%s: %s = %q, want %q", what, kv[0], got, w)
		}
	}
}

func FuzzAppendJSON(f *testing.F) {
	f.Add("1018", "10.1.213.29", "单座席无应答", uint8(1))
	f.Add(hostile, "\"\\", "\x00\x1f\u2028\u2029", uint8(17))
	f.Add("\xed\xa0\x80", "\xf4\x90\x80\x80", " , ", uint8(0))
	f.Fuzz(func(t *testing.T, a, b, c string, n uint8) {
		call := &Call{Name: CallEventName(n), CallinNumber: a, DestNumber: b, Domain: c, DTMF: a,
			Gateway: b, OriginateNumber: c, Direction: a, AUUID: b, BUUID: c, OriginationDestNumber: a}
		check(t, "call", call.AppendJSON(nil, c), [][2]string{{"type", "event"}, {"cti_ip", c},
			{"event_name", call.Name.String()}, {"aleg_uuid", b}, {"bleg_uuid", c}, {"callin_number", a},
			{"dest_number", b}, {"domain", c}, {"dtmf", a}, {"gateway", b}, {"originate_number", c},
			{"direction", a}, {"origination_dest_number", a}})
		if got := strings.Count(string(call.AppendRedis(nil)), ","); got != 10 {
			t.Fatalf("call line has %d commas, want 10", got)
		}

		offer := &Offer{Method: OfferMethod(n), UUID: a, Number: b, Group: c, Extension: a, Level: b, CallinTime: c, CTIIP: c}
		ofields := [][2]string{{"uuid", a}, {"number", b}, {"group", c}, {"extension", a}, {"level", b}, {"callin_time", c}}
		head := [][2]string{{"type", "event"}, {"method", offer.Method.String()}}
		check(t, "offer", offer.AppendJSON(nil, b), append(append(head[:2:2], [2]string{"cti_ip", b}), ofields...))
		check(t, "offer redis", offer.AppendRedis(nil), append(append(head[:2:2], [2]string{"cti_ip", c}), ofields...))

		q := &Queue{Method: QueueMethod(n), UUID: a, Number: b, Group: c, Level: a, CallinTime: b}
		qfields := [][2]string{{"uuid", a}, {"number", b}, {"group", c}, {"level", a}, {"callin_time", b}}
		qhead := [][2]string{{"type", "queue"}, {"method", q.Method.String()}}
		check(t, "queue", q.AppendJSON(nil, a), append(append(qhead[:2:2], [2]string{"cti_ip", a}), qfields...))
		check(t, "queue redis", q.AppendRedis(nil), append(qhead[:2:2], qfields...))

		ag := &Agent{Number: a, Status: b, Time: c}
		check(t, "agent", ag.AppendJSON(nil, c), [][2]string{{"type", "agent"}, {"cti_ip", c}, {"number", a}, {"status", b}, {"time", c}})
		check(t, "agent redis", ag.AppendRedis(nil), [][2]string{{"type", "agent"}, {"number", a}, {"status", b}, {"time", c}})

		cdr := &CDR{UUID: a, IsCallout: n%2 == 1, ACallerIDNumber: b, ADestinationNumber: c, AStartStamp: a,
			AAnswerStamp: b, AEndStamp: c, ADuration: a, ABillsec: b, ASIPHangupDisposition: c, ARecordFile: a,
			StrNoAnswerAgents: b, DestinationNumber: c, StartStamp: a, AnswerStamp: b, EndStamp: c,
			Duration: a, Billsec: b, Flag: c, NoAnswerAgents: []string{a, b}}
		ta, tb, tc := trim(a), trim(b), trim(c)
		callout := "false"
		if cdr.IsCallout {
			callout = "true"
		}
		check(t, "cdr", cdr.AppendJSON(nil, a), [][2]string{{"type", "cdr"}, {"cti_ip", a}, {"uuid", ta},
			{"is_callout", callout}, {"a_caller_id_number", tb}, {"a_destination_number", tc},
			{"a_start_stamp", ta}, {"a_answer_stamp", tb}, {"a_end_stamp", tc}, {"a_duration", ta},
			{"a_billsec", tb}, {"a_sip_hangup_disposition", tc}, {"a_record_file", ta},
			{"str_no_answer_agents", tb}, {"destination_number", tc}, {"start_stamp", ta},
			{"answer_stamp", tb}, {"end_stamp", tc}, {"duration", ta}, {"flag", c}, {"billsec", tb}})
		fields := strings.SplitN(string(cdr.AppendRedis(nil)), ",", 18)
		if len(fields) != 18 || fields[0] != strings.ReplaceAll(ta, ",", ";") {
			t.Fatalf("cdr line split into %d fields: %q", len(fields), fields)
		}
	})
}
