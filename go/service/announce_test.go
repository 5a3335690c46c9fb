package service

import (
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/session"
)

// A group that announces every 30 s: the caller hears FreeSWITCH's phrase
// on entry (say in the channel's language), waits 30 s at most, hears it
// again; with the group's own folder the files are joined by file_string.
func TestPeriodicAnnouncements(t *testing.T) {
	s, _, _ := routingTest(t)
	c := s.clock.(*clock)
	must(t, s.SetGroupOptions("130", func(o *acd.GroupOptions) { o.AnnounceEvery = 30 * time.Second }))
	d := s.Enter(session.Call{Kind: session.Queue, UUID: "an1", Group: "130", CallerNumber: "139"})
	if d.Action != session.Play || d.File != "phrase:nwayacd_position:1:" || vars(d)["nwayacd_position"] != "1" {
		t.Fatalf("entry: %+v", d)
	}
	d = s.Next("an1")
	if d.Action != session.Wait || d.TimeoutMS != 30000 {
		t.Fatalf("after the announcement: %+v", d)
	}
	c.add(30 * time.Second)
	if d = s.Next("an1"); d.Action != session.Play || d.File != "phrase:nwayacd_position:1:" {
		t.Fatalf("30 s later: %+v", d)
	}
	must(t, s.SetGroupOptions("130", func(o *acd.GroupOptions) { o.AnnounceSounds = "/sounds/q130/" }))
	s.Enter(session.Call{Kind: session.Queue, UUID: "an2", Group: "130", CallerNumber: "138"})
	d = s.Enter(session.Call{Kind: session.Queue, UUID: "an3", Group: "130", CallerNumber: "137"})
	if want := "file_string:///sounds/q130/position.wav!/sounds/q130/3.wav"; d.Action != session.Play || d.File != want {
		t.Fatalf("own files: %q, want %q", d.File, want)
	}
	if err := s.SetGroupOptions("130", func(o *acd.GroupOptions) { o.AnnounceSounds = "/a!b" }); err == nil {
		t.Fatal("a folder with file_string's separator was taken")
	}
}

func TestAnnounceDirectiveWithEWT(t *testing.T) {
	d := announceDirective(acd.Step{Kind: acd.StepPlay, Announce: true, Position: 12, EWT: 150 * time.Second, EWTKnown: true, File: "/s"})
	if want := "file_string:///s/position.wav!/s/1.wav!/s/2.wav!/s/ewt.wav!/s/3.wav!/s/minutes.wav"; d.File != want {
		t.Fatalf("%q, want %q", d.File, want)
	}
	if v := vars(d); v["nwayacd_position"] != "12" || v["nwayacd_ewt"] != "150" {
		t.Fatalf("vars %v", v)
	}
	d = announceDirective(acd.Step{Kind: acd.StepPlay, Announce: true, Position: 2, EWT: 61 * time.Second, EWTKnown: true})
	if d.File != "phrase:nwayacd_position:2:2" {
		t.Fatalf("%q", d.File)
	}
}

// The exit key's done step names the group's exit_to for the dialplan.
func TestExitTo(t *testing.T) {
	s, _, _ := routingTest(t)
	must(t, s.SetGroupOptions("130", func(o *acd.GroupOptions) { o.ExitKey, o.ExitTo = "0", "8000" }))
	s.Enter(session.Call{Kind: session.Queue, UUID: "ex1", Group: "130", CallerNumber: "139"})
	s.ChannelEvent(&session.ChannelEvent{Kind: session.ChannelDTMF, UUID: "ex1", DTMF: "0"})
	d := s.Next("ex1")
	if v := vars(d); d.Action != session.Done || v["nwayacd_result"] != "exit" || v["nwayacd_exit_to"] != "8000" {
		t.Fatalf("exit: %+v", d)
	}
	if err := s.SetGroupOptions("130", func(o *acd.GroupOptions) { o.ExitTo = "-x" }); err == nil {
		t.Fatal("a bad exit_to was taken")
	}
}
