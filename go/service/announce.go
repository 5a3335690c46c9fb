package service

import (
	"strconv"
	"strings"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/session"
)

// Announcements of position and estimated wait (acd announce.go). The
// session plays them as any file, so the shim needs nothing new:
//
//   - by default FreeSWITCH's phrase macro nwayacd_position with
//     "<position>:<minutes>" ("" minutes: not known yet), in the channel's
//     language (the `language` variable): conf/lang/{en,zh}/nwayacd.xml say
//     the numbers with mod_say_en / mod_say_zh;
//   - with the group's announce_sounds folder, its own files joined by
//     file_string://: position.wav, the position's digits (0.wav … 9.wav),
//     then, when known, ewt.wav, the minutes' digits and minutes.wav.
//
// nwayacd_position and nwayacd_ewt (seconds) are set on the channel too.

// exitDirective is the done step of a caller who pressed the exit key: the
// group's exit_to goes with it as nwayacd_exit_to, for the dialplan to
// transfer to (conf/dialplan/nwayacd.xml).
func (s *Service) exitDirective(ci *callInfo, lvl acd.Level) session.Directive {
	to := ""
	if g, err := s.eng.Group(ci.group); err == nil {
		to = g.Options.ExitTo
	}
	return session.Directive{Action: session.Done, Vars: [][2]string{
		{"nwayacd_group", ci.group},
		{"nwayacd_agent", ci.agent},
		{"nwayacd_level", string(lvl)},
		{"nwayacd_result", string(acd.ResultExit)},
		{"nwayacd_wait_seconds", strconv.Itoa(int(ci.waited / time.Second))},
		{"nwayacd_exit_to", to},
	}}
}

// AnnouncePhrase is the phrase macro announcements use.
const AnnouncePhrase = "nwayacd_position"

func announceDirective(st acd.Step) session.Directive {
	ewt, mins := "", ""
	if st.EWTKnown {
		ewt = strconv.Itoa(int((st.EWT + time.Second - 1) / time.Second))
		mins = strconv.Itoa(int((st.EWT + time.Minute - 1) / time.Minute))
	}
	pos := strconv.Itoa(st.Position)
	d := session.Directive{Action: session.Play, Loops: 1,
		Vars: [][2]string{{"nwayacd_position", pos}, {"nwayacd_ewt", ewt}}}
	if st.File == "" {
		d.File = "phrase:" + AnnouncePhrase + ":" + pos + ":" + mins
		return d
	}
	dir := strings.TrimSuffix(st.File, "/") + "/"
	var b strings.Builder
	b.WriteString("file_string://" + dir + "position.wav")
	digits := func(n string) {
		for _, c := range n {
			b.WriteString("!" + dir + string(c) + ".wav")
		}
	}
	digits(pos)
	if mins != "" {
		b.WriteString("!" + dir + "ewt.wav")
		digits(mins)
		b.WriteString("!" + dir + "minutes.wav")
	}
	d.File = b.String()
	return d
}
