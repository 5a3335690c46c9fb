package service

import (
	"errors"
	"testing"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/hostexec"
)

// The holder's outcome crosses Redis as fields and comes back as an error
// the transports map as they map a local one.
func TestForwardedOutcomeRoundTrip(t *testing.T) {
	if err := outcomeErr("b", outcomeFields(nil)); err != nil {
		t.Fatalf("ok came back as %v", err)
	}
	for _, want := range []error{hostexec.ErrRefused, hostexec.ErrTimeout, hostexec.ErrQueueFull, hostexec.ErrStopped} {
		in := &hostexec.Error{Cmd: "uuid_hold", Reply: "-ERR No\tsuch\nchannel!", Err: want}
		err := outcomeErr("b", outcomeFields(in))
		if !errors.Is(err, want) || err.Error() != "on node b: uuid_hold: "+want.Error()+": -ERR No such channel!" {
			t.Fatalf("%v came back as %q", in, err)
		}
	}
	err := outcomeErr("b", outcomeFields(acd.Errorf(acd.ErrNoCall, "extension 1001 has no call")))
	if acd.CodeOf(err) != acd.ErrNoCall || err.Error() != "on node b: extension 1001 has no call" {
		t.Fatalf("no call came back as %v (code %d)", err, acd.CodeOf(err))
	}
	// A node may send anything: an unknown kind or code is a plain failure.
	for _, f := range [][]string{{"code", "99", "x"}, {"code", "x"}, {"weird", "x"}, {"ok", "x"}, {}} {
		err := outcomeErr("b", f)
		if err == nil || acd.CodeOf(err) != 0 || errors.Is(err, hostexec.ErrTimeout) {
			t.Fatalf("%q came back as %v", f, err)
		}
	}
}
