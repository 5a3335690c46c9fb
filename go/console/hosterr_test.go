package console

import (
	"testing"

	"github.com/nwayacd/mod_nwayacd/go/hostexec"
)

// A command FreeSWITCH refused, or that did not run, is -ERR with the reason
// (and, as every refusal, the usage), not "internal error" and never +OK.
func TestFailNamesHostErrors(t *testing.T) {
	c := byName["nway_uuid_hold"]
	for _, err := range []error{
		&hostexec.Error{Cmd: "uuid_hold", Reply: "-ERR No such channel!", Err: hostexec.ErrRefused},
		&hostexec.Error{Cmd: "uuid_hold", Err: hostexec.ErrQueueFull},
	} {
		want := "-ERR " + err.Error() + "\nUsage: " + c.Syntax + "\n"
		if got := fail(c, err); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}
