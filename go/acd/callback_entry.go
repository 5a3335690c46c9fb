package acd

import (
	"time"

	"github.com/nwayacd/mod_nwayacd/go/ident"
)

// Keying in a callback number. After the group's callback key the caller
// may key in the number to be called back at, ending it with #; with no
// digit, or after CallbackEntryWait without a key, the callback goes to the
// caller's own number. A number keyed in is a phone number (ident.Phone);
// anything else falls back to the caller's number too. With # as the
// callback key there is no entry: the callback goes at once.

// CallbackEntryWait is how long the caller has for each key of a number.
const CallbackEntryWait = 5 * time.Second

// startCallbackEntry: c's caller pressed the callback key.
func (e *Engine) startCallbackEntry(c *call) (Step, error) {
	if c.g.opt.CallbackKey == "#" {
		return e.RequestCallback(c.uuid, "")
	}
	c.cbEntry = true
	c.cbDigits = c.cbDigits[:0]
	e.armCallbackEntry(c)
	return Step{}, nil
}

func (e *Engine) armCallbackEntry(c *call) {
	c.cbEntryGen = e.gen()
	e.arm(timer{at: e.now().Add(CallbackEntryWait), kind: tCallbackEntry, gen: c.cbEntryGen, call: c})
}

// callbackDigit takes one key of the number being keyed in.
func (e *Engine) callbackDigit(c *call, digit string) (Step, error) {
	switch d := digit[0]; {
	case d >= '0' && d <= '9':
		if len(c.cbDigits) < ident.MaxPhone {
			c.cbDigits = append(c.cbDigits, d)
		}
		e.armCallbackEntry(c)
		return Step{}, nil
	case d == '*': // start again
		c.cbDigits = c.cbDigits[:0]
		e.armCallbackEntry(c)
		return Step{}, nil
	case d == '#':
		return e.finishCallbackEntry(c)
	}
	return Step{}, nil
}

// finishCallbackEntry asks for the callback at the number keyed in, or at
// the caller's own.
func (e *Engine) finishCallbackEntry(c *call) (Step, error) {
	number := string(c.cbDigits)
	c.cbEntry = false
	c.cbDigits = c.cbDigits[:0]
	if number != "" && ident.Phone(number) != nil {
		number = ""
	}
	st, err := e.RequestCallback(c.uuid, number)
	if CodeOf(err) == ErrState { // offered meanwhile: the caller is being served
		return Step{}, nil
	}
	return st, err
}

// endCallbackEntry: the caller stopped keying (timer); its session is woken
// to hang up.
func (e *Engine) endCallbackEntry(c *call) {
	wasWaiting := c.inWait
	if st, err := e.finishCallbackEntry(c); err == nil && st.Kind != 0 && wasWaiting {
		e.emit(Decision{Kind: DWake, Call: c.view(), At: e.now()})
	}
}
