package bridge

import (
	"testing"

	"github.com/nwayacd/mod_nwayacd/go/session"
)

// Every EventKind reduceEvent accepts is bound exactly once, so no fact the
// service expects is missing and no block carries a kind it refuses.
func TestEventBindingsCoverEveryKind(t *testing.T) {
	seen := map[session.EventKind]int{}
	for _, b := range EventBindings {
		seen[b.Kind]++
		if (b.Event == "SWITCH_EVENT_CUSTOM") != (b.Subclass != "") {
			t.Errorf("kind %d: event %s with subclass %q", b.Kind, b.Event, b.Subclass)
		}
	}
	for k := session.ChannelCreate; k <= session.SIPExpire; k++ {
		if seen[k] != 1 {
			t.Errorf("kind %d bound %d times, want once", k, seen[k])
		}
	}
	if len(EventBindings) != int(session.SIPExpire) {
		t.Errorf("%d bindings for %d kinds", len(EventBindings), session.SIPExpire)
	}
}

func TestApplicationsMatchSessionKinds(t *testing.T) {
	kinds := map[session.Kind]bool{}
	for _, a := range Applications {
		if a.Kind < session.Queue || a.Kind > session.Direct || kinds[a.Kind] || a.Args < 1 {
			t.Errorf("application %+v", a)
		}
		kinds[a.Kind] = true
	}
	if len(kinds) != 3 {
		t.Errorf("%d application kinds, want 3", len(kinds))
	}
}
