package groupopt

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
)

func TestSet(t *testing.T) {
	var o acd.GroupOptions
	for _, c := range [][2]string{
		{"memory_first", "true"}, {"tier_wait", "20"}, {"tier_skip", "True"}, {"skills", "zh:5, billing:3"},
		{"relax_every", "30"}, {"max_waiting", "50"}, {"overflow", "120"}, {"overflow_after", "90"},
		{"overflow_waiting", "10"}, {"exit_key", "#"}, {"announce", "true"}, {"callback_key", "-"},
		{"callback_agent_first", "true"}, {"callback_retries", "2"}, {"callback_retry_delay", "60"},
		{"callback_gateway", "carrier_1"}, {"announce_every", "45"}, {"exit_to", "8000"}, {"announce_sounds", "/sounds/queue"},
	} {
		if err := Set(&o, c[0], c[1]); err != nil {
			t.Fatalf("%s %s: %v", c[0], c[1], err)
		}
	}
	want := acd.GroupOptions{MemoryFirst: true, TierWait: 20 * time.Second, TierSkip: true,
		Skills: []acd.SkillReq{{Name: "zh", Level: 5}, {Name: "billing", Level: 3}}, RelaxEvery: 30 * time.Second,
		MaxWaiting: 50, OverflowGroup: "120", OverflowAfter: 90 * time.Second, OverflowWaiting: 10, ExitKey: "#",
		Announce: true, CallbackAgentFirst: true, CallbackRetries: 2, CallbackRetryDelay: time.Minute, CallbackGateway: "carrier_1",
		AnnounceEvery: 45 * time.Second, ExitTo: "8000", AnnounceSounds: "/sounds/queue"}
	if acd.FormatSkills(o.Skills) != "zh:5,billing:3" {
		t.Fatalf("skills %v", o.Skills)
	}
	o.Skills, want.Skills = nil, nil
	if !reflect.DeepEqual(o, want) {
		t.Fatalf("got %+v\nwant %+v", o, want)
	}
	if Get(o, "exit_key") != "#" || Get(o, "overflow_after") != "90" || Get(o, "announce") != "true" || Get(o, "skills") != "-" {
		t.Fatalf("Get: %q %q %q %q", Get(o, "exit_key"), Get(o, "overflow_after"), Get(o, "announce"), Get(o, "skills"))
	}
	for _, n := range []string{"exit_key", "overflow", "skills"} {
		if err := Set(&o, n, "-"); err != nil || Get(o, n) != "-" {
			t.Fatalf("%s - : %v %q", n, err, Get(o, n))
		}
	}
}

func TestSetRefuses(t *testing.T) {
	for _, c := range []struct{ name, value, reason string }{
		{"bogus", "1", `unknown option "bogus"`},
		{"memory_first", "yes", "bad memory_first"},
		{"tier_wait", "-1", "bad tier_wait"},
		{"tier_wait", "86401", "bad tier_wait"},
		{"max_waiting", "1e3", "bad max_waiting"},
		{"exit_key", "##", "bad exit_key"},
		{"exit_key", "x", "bad exit_key"},
		{"callback_gateway", "gw 1", "bad callback_gateway"},
		{"exit_to", "8000@evil.example.com", "bad exit_to"},
		{"callback_gateway", "-gw", "bad callback_gateway"},
		{"overflow", "a/b", "bad overflow"},
		{"skills", "zh:11", "bad skills"},
		{"skills", "zh:1,zh:2", "bad skills"},
	} {
		var o acd.GroupOptions
		err := Set(&o, c.name, c.value)
		var ge *Error
		if !errors.As(err, &ge) || !strings.Contains(err.Error(), c.reason) {
			t.Errorf("%s %q: %v, want %q", c.name, c.value, err, c.reason)
		}
		if o.TierWait != 0 || o.ExitKey != "" || o.Skills != nil || o.MaxWaiting != 0 {
			t.Errorf("%s %q: refused value changed the options: %+v", c.name, c.value, o)
		}
	}
}

func FuzzSet(f *testing.F) {
	for _, n := range Names() {
		f.Add(n, "1")
	}
	f.Add("skills", "zh:5,en")
	f.Fuzz(func(t *testing.T, name, value string) {
		var o acd.GroupOptions
		if err := Set(&o, name, value); err != nil {
			return
		}
		// What Set took renders back to a value Set takes to the same thing.
		var o2 acd.GroupOptions
		if err := Set(&o2, name, Get(o, name)); err != nil || Get(o2, name) != Get(o, name) {
			t.Fatalf("%s %q: round trip %q: %v", name, value, Get(o, name), err)
		}
	})
}

func BenchmarkSet(b *testing.B) {
	var o acd.GroupOptions
	for i := 0; i < b.N; i++ {
		if err := Set(&o, "skills", "zh:5,billing:3"); err != nil {
			b.Fatal(err)
		}
		if err := Set(&o, "tier_wait", "20"); err != nil {
			b.Fatal(err)
		}
	}
}
