package console

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Listings follow FreeSWITCH's `show` layout, tab-separated: a header line, one
// line per row, a blank line, then "N total.". With "json" they are a JSON array.

const timeLayout = "2006-01-02 15:04:05" // SPEC §7's time format

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(timeLayout)
}

func secs(d time.Duration) int { return int(d / time.Second) }

type sheet struct {
	b    strings.Builder
	rows int
}

func (t *sheet) line(cells ...string) {
	for i, c := range cells {
		if i > 0 {
			t.b.WriteByte('\t')
		}
		t.b.WriteString(oneLine(c))
	}
	t.b.WriteByte('\n')
}

func (t *sheet) row(cells ...string) { t.line(cells...); t.rows++ }

func (t *sheet) String() string {
	t.b.WriteString("\n" + strconv.Itoa(t.rows) + " total.\n")
	return t.b.String()
}

func jsonReply(v any) string {
	js, err := json.Marshal(v)
	if err != nil {
		return "-ERR internal error: " + oneLine(err.Error()) + "\n"
	}
	return string(js) + "\n"
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// extensionJSON is one element of `nway_list_exts json`.
type extensionJSON struct {
	Extension  string   `json:"extension"`
	JobNumber  string   `json:"job_number"`
	JobEnabled bool     `json:"job_enabled"`
	DialString string   `json:"dial_string"`
	RegState   string   `json:"reg_state"`
	SeatStatus string   `json:"seat_status"`
	CallState  string   `json:"call_state"`
	LoggedIn   bool     `json:"logged_in"`
	Groups     []string `json:"groups"`
	CallUUID   string   `json:"call_uuid"`
	AgentUUID  string   `json:"agent_uuid"`
	LastChange string   `json:"last_change"`
	Node       string   `json:"node,omitempty"` // cluster mode: where its phone is registered
}

// groupJSON is one element of `nway_list_groups json`.
type groupJSON struct {
	Number        string   `json:"number"`
	Name          string   `json:"name"`
	Mode          int      `json:"mode"`
	ModeName      string   `json:"mode_name"`
	Timeout       int      `json:"timeout"`
	CurrentExt    string   `json:"current_ext"`
	Members       []string `json:"members"`
	Waiting       int      `json:"waiting"`
	WelcomeRing   string   `json:"welcome_ring"`
	BlacklistRing string   `json:"blacklist_ring"`
	BusyRing      string   `json:"busy_ring"`
	TransferRing  string   `json:"transfer_ring"`
	BusyRingTimes int      `json:"busy_ring_times"`
	MaxWait       int      `json:"max_wait"`
	Blacklist     []string `json:"blacklist"`
	VIP           []string `json:"vip"`
}

// queueJSON is one element of `nway_list_queue json`.
type queueJSON struct {
	UUID             string `json:"uuid"`
	Number           string `json:"number"`
	RealCallinNumber string `json:"real_callin_number"`
	Group            string `json:"group"`
	Level            string `json:"level"`
	CallinTime       string `json:"callin_time"`
	OfferedTo        string `json:"offered_to"`
	Node             string `json:"node,omitempty"` // cluster mode: the node holding the caller
}

func renderExts(svc Service, asJSON bool) string {
	exts := svc.Extensions()
	if asJSON {
		out := make([]extensionJSON, 0, len(exts))
		for _, e := range exts {
			out = append(out, extensionJSON{
				Extension: e.Extension, JobNumber: e.JobNumber, JobEnabled: e.JobEnabled,
				DialString: e.DialString, RegState: string(e.RegStatus), SeatStatus: string(e.Seat),
				CallState: string(e.CallState), LoggedIn: e.LoggedIn, Groups: nonNil(e.Groups),
				CallUUID: e.CallUUID, AgentUUID: e.AgentUUID, LastChange: fmtTime(e.LastStatusChange), Node: e.Node,
			})
		}
		return jsonReply(out)
	}
	var t sheet
	t.line("extension", "job_number", "job_enabled", "reg_state", "seat_status", "call_state", "logged_in", "groups", "last_change")
	for _, e := range exts {
		t.row(e.Extension, e.JobNumber, strconv.FormatBool(e.JobEnabled), string(e.RegStatus), string(e.Seat),
			string(e.CallState), strconv.FormatBool(e.LoggedIn), strings.Join(e.Groups, ","), fmtTime(e.LastStatusChange))
	}
	return t.String()
}

func renderGroups(svc Service, asJSON bool) string {
	groups := svc.Groups()
	if asJSON {
		out := make([]groupJSON, 0, len(groups))
		for _, g := range groups {
			out = append(out, groupJSON{
				Number: g.Number, Name: g.Name, Mode: int(g.Mode), ModeName: g.Mode.String(),
				Timeout: secs(g.CalloutTimeout), CurrentExt: g.CurrentExt, Members: nonNil(g.Members),
				Waiting: g.Waiting, WelcomeRing: g.Rings.Welcome, BlacklistRing: g.Rings.Blacklist,
				BusyRing: g.Rings.Busy, TransferRing: g.Rings.Transfer, BusyRingTimes: g.GiveUp.BusyRingTimes,
				MaxWait: secs(g.GiveUp.MaxWait), Blacklist: nonNil(g.Blacklist), VIP: nonNil(g.VIP),
			})
		}
		return jsonReply(out)
	}
	var t sheet
	t.line("number", "name", "mode", "timeout", "current_ext", "members", "waiting",
		"welcome_ring", "blacklist_ring", "busy_ring", "transfer_ring", "busy_ring_times", "max_wait")
	for _, g := range groups {
		t.row(g.Number, g.Name, strconv.Itoa(int(g.Mode)), strconv.Itoa(secs(g.CalloutTimeout)), g.CurrentExt,
			strings.Join(g.Members, ","), strconv.Itoa(g.Waiting), g.Rings.Welcome, g.Rings.Blacklist,
			g.Rings.Busy, g.Rings.Transfer, strconv.Itoa(g.GiveUp.BusyRingTimes), strconv.Itoa(secs(g.GiveUp.MaxWait)))
	}
	return t.String()
}

func renderQueue(svc Service, asJSON bool) string {
	ws := svc.Waiting()
	if asJSON {
		out := make([]queueJSON, 0, len(ws))
		for _, w := range ws {
			out = append(out, queueJSON{
				UUID: w.UUID, Number: w.Number, RealCallinNumber: w.RealCallinNumber, Group: w.Group,
				Level: string(w.Level), CallinTime: fmtTime(w.CallinTime), OfferedTo: w.OfferedTo, Node: w.Node,
			})
		}
		return jsonReply(out)
	}
	cluster := len(ws) > 0 && ws[0].Node != "" // a single node's table is unchanged
	var t sheet
	if cluster {
		t.line("uuid", "number", "real_callin_number", "group", "level", "callin_time", "offered_to", "node")
	} else {
		t.line("uuid", "number", "real_callin_number", "group", "level", "callin_time", "offered_to")
	}
	for _, w := range ws {
		if cluster {
			t.row(w.UUID, w.Number, w.RealCallinNumber, w.Group, string(w.Level), fmtTime(w.CallinTime), w.OfferedTo, w.Node)
		} else {
			t.row(w.UUID, w.Number, w.RealCallinNumber, w.Group, string(w.Level), fmtTime(w.CallinTime), w.OfferedTo)
		}
	}
	return t.String()
}
