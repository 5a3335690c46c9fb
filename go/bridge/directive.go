package bridge

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nwayacd/mod_nwayacd/go/session"
)

// Buffer sizes of nwayacd_directive_t (include/nwayacd.h); cgo.go checks
// at init that they match the C header.
const (
	fileLen     = 1024
	dialLen     = 4096
	nameLen     = 128
	causeLen    = 64
	maxVars     = 16
	varNameLen  = 128
	varValueLen = 512
)

// ErrDirective reports a directive the C side cannot carry.
var ErrDirective = errors.New("directive does not fit the C boundary")

// fits reports whether s fits a NUL-terminated buffer of n bytes and has no NUL.
func fits(s string, n int) bool { return len(s) < n && !strings.ContainsRune(s, 0) }

// checkDirective validates d against the C buffer sizes. A field that does
// not fit, an unknown action or an offer without a dial string is an error:
// the directive cannot be carried. A channel variable that does not fit, or
// one past the 16th, is only dropped (with a warning in the log) and the
// rest of the directive is returned, usable.
func checkDirective(d session.Directive) (session.Directive, error) {
	if d.Action < session.Wait || d.Action > session.Done {
		return d, fmt.Errorf("%w: unknown action %d", ErrDirective, d.Action)
	}
	for _, f := range []struct {
		name string
		v    string
		n    int
	}{
		{"file", d.File, fileLen},
		{"dial", d.Dial, dialLen},
		{"agent", d.Agent, nameLen},
		{"caller number", d.CallerNumber, nameLen},
		{"cause", d.Cause, causeLen},
	} {
		if !fits(f.v, f.n) {
			return d, fmt.Errorf("%w: %s of %d bytes (max %d)", ErrDirective, f.name, len(f.v), f.n-1)
		}
	}
	if d.Action == session.Offer && d.Dial == "" {
		return d, fmt.Errorf("%w: offer without a dial string", ErrDirective)
	}
	if len(d.Vars) == 0 {
		return d, nil
	}
	kept := make([][2]string, 0, len(d.Vars))
	for _, kv := range d.Vars {
		if len(kept) == maxVars || kv[0] == "" || !fits(kv[0], varNameLen) || !fits(kv[1], varValueLen) {
			logf(LogWarning, "dropping channel variable %.64q: over the boundary's limits", kv[0])
			continue
		}
		kept = append(kept, kv)
	}
	d.Vars = kept
	return d, nil
}

// outcome derives how an offer ended from what the session thread saw.
func outcome(answered, callerGone bool, cause string) session.Outcome {
	switch {
	case answered:
		return session.Answered
	case callerGone:
		return session.Canceled
	}
	// ORIGINATOR_CANCEL with the caller still there is a 487 from a proxy or
	// gateway, or originate's own cancel: the agent did not take the call.
	switch cause {
	case "ORIGINATOR_CANCEL", "NO_ANSWER", "NO_USER_RESPONSE", "USER_BUSY", "CALL_REJECTED", "ALLOTTED_TIMEOUT",
		"PROGRESS_TIMEOUT", "RECOVERY_ON_TIMER_EXPIRE", "LOSE_RACE", "PICKED_OFF", "NORMAL_CLEARING":
		return session.NoAnswer
	}
	return session.Failed
}
