package service

import "github.com/nwayacd/mod_nwayacd/go/session"

// Waker wakes a waiting caller's session at once, without an API command:
// bridge.Host does it straight from the shim (CF_BREAK plus a break of the
// session's frame read). A Switch that is not a Waker gets uuid_break.
type Waker interface {
	Wake(uuid string) error
}

// Offerer starts a waiting caller's offer on a switch thread at once, so the
// agent's INVITE does not wait for the caller's session to wake (its next
// media frame, up to 20 ms); the session takes it over when it asks for
// that same offer. bridge.Host does it through the shim. Never blocks.
type Offerer interface {
	Offer(uuid string, d session.Directive) error
}

// wake makes the session of a waiting caller ask for its next step. Called
// with mu held: Waker.Wake never blocks. When it fails (no wake in the host,
// or no session by that uuid) uuid_break runs on the executor instead, and
// logs its own failure. A wake that brings an offer starts that offer first
// (Offerer), unless Options.NoEarlyOffer.
func (s *Service) wake(uuid string) {
	s.offerEarly(uuid)
	if w, ok := s.opt.Switch.(Waker); ok && w.Wake(uuid) == nil {
		return
	}
	s.host("uuid_break", uuid+" all")
}

// offerEarly hands the offer the core has just made to a waiting caller to
// the switch now. The core marks it delivered (Next), so the session's own
// Next returns the same offer, with the same legs. Called with mu held.
func (s *Service) offerEarly(uuid string) {
	o, ok := s.opt.Switch.(Offerer)
	if !ok || s.opt.NoEarlyOffer || !s.eng.OfferPending(uuid) {
		return
	}
	ci := s.calls[uuid]
	if ci == nil {
		return
	}
	st, err := s.eng.Next(uuid)
	if err != nil {
		return
	}
	d := s.directive(uuid, ci, st)
	if d.Action != session.Offer {
		return
	}
	if err := o.Offer(uuid, d); err != nil {
		s.log.Debug("offer left to the session", "call", uuid, "err", err)
	}
}
