package service

// Waker wakes a waiting caller's session at once, without an API command:
// bridge.Host does it straight from the shim (CF_BREAK plus a break of the
// session's frame read). A Switch that is not a Waker gets uuid_break.
type Waker interface {
	Wake(uuid string) error
}

// wake makes the session of a waiting caller ask for its next step. Called
// with mu held: Waker.Wake never blocks. When it fails (no wake in the host,
// or no session by that uuid) uuid_break runs on the executor instead, and
// logs its own failure.
func (s *Service) wake(uuid string) {
	if w, ok := s.opt.Switch.(Waker); ok && w.Wake(uuid) == nil {
		return
	}
	s.host("uuid_break", uuid+" all")
}
