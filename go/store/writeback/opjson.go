package writeback

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/event"
)

// appendJSON appends o as the journal file keeps it. The kinds every call
// writes several times (agent logs, a group's current extension, caller
// memory) are written by hand: they are queued on FreeSWITCH's threads, and
// encoding/json's reflection over op's nineteen fields cost more there than
// the rest of the enqueue. Other kinds go through encoding/json. json.Unmarshal
// reads both the same way (TestOpJSONMatchesEncodingJSON).
func (o *op) appendJSON(dst []byte) ([]byte, error) {
	start := len(dst)
	switch {
	case o.Kind == opSetCurrentExt:
		dst = o.appendHead(dst)
		dst = appendField(dst, "n", o.Key)
		dst = appendField(dst, "a", o.Arg)
		return append(dst, '}'), nil
	case o.Kind == opAppendAgentLog && o.Log != nil:
		dst = append(o.appendHead(dst), `,"al":{"ID":`...)
		dst = event.AppendJSONString(dst, o.Log.ID)
		dst = append(dst, `,"Ext":`...)
		dst = event.AppendJSONString(dst, o.Log.Ext)
		dst = append(dst, `,"Status":`...)
		dst = event.AppendJSONString(dst, o.Log.Status)
		dst = append(dst, `,"At":`...)
		return appendTime(dst, start, o.Log.At)
	case o.Kind == opPutMemory && o.Memory != nil:
		m := o.Memory
		dst = append(o.appendHead(dst), `,"m":{"Caller":`...)
		dst = event.AppendJSONString(dst, m.Caller)
		dst = append(dst, `,"Group":`...)
		dst = event.AppendJSONString(dst, m.Group)
		dst = append(dst, `,"Ext":`...)
		dst = event.AppendJSONString(dst, m.Ext)
		dst = append(dst, `,"LastTime":`...)
		return appendTime(dst, start, m.LastTime)
	}
	b, err := json.Marshal(o)
	if err != nil {
		return dst[:start], err
	}
	return append(dst, b...), nil
}

func (o *op) appendHead(dst []byte) []byte {
	dst = append(dst, `{"s":`...)
	dst = strconv.AppendUint(dst, o.Seq, 10)
	dst = append(dst, `,"k":`...)
	return strconv.AppendInt(dst, int64(o.Kind), 10)
}

// appendField writes an omitempty string field.
func appendField(dst []byte, name, v string) []byte {
	if v == "" {
		return dst
	}
	dst = append(append(append(dst, `,"`...), name...), `":`...)
	return event.AppendJSONString(dst, v)
}

// appendTime ends an op with t, as time.Time's MarshalJSON writes it (and
// refuses it: a year past 9999, say), then the two closing braces.
func appendTime(dst []byte, start int, t time.Time) ([]byte, error) {
	b, err := t.MarshalJSON()
	if err != nil {
		return dst[:start], fmt.Errorf("json: %w", err)
	}
	return append(append(dst, b...), '}', '}'), nil
}
