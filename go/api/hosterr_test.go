package api

import (
	"fmt"
	"testing"

	"github.com/nwayacd/mod_nwayacd/go/hostexec"
)

// Why a FreeSWITCH command did not happen decides the status: the switch
// refused (502), did not answer in time (504), or the queue was full (503).
func TestStatusOfHostErrors(t *testing.T) {
	for _, c := range []struct {
		err  error
		want int
	}{
		{&hostexec.Error{Cmd: "uuid_hold", Reply: "-ERR No such channel!", Err: hostexec.ErrRefused}, 502},
		{&hostexec.Error{Cmd: "uuid_hold", Err: hostexec.ErrTimeout}, 504},
		{&hostexec.Error{Cmd: "uuid_hold", Err: hostexec.ErrQueueFull}, 503},
		{&hostexec.Error{Cmd: "uuid_hold", Err: hostexec.ErrStopped}, 503},
		{fmt.Errorf("hold: %w", &hostexec.Error{Cmd: "uuid_hold", Err: hostexec.ErrTimeout}), 504},
	} {
		if got := statusOf(c.err); got != c.want {
			t.Errorf("%v: %d, want %d", c.err, got, c.want)
		}
	}
}
