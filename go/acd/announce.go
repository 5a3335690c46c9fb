package acd

import "time"

// Periodic announcements (GroupOptions.AnnounceEvery): a waiting caller
// hears its position and estimated wait on entering the queue, then every
// AnnounceEvery. The wait step's timeout ends at the next announcement;
// the session then asks Next and gets a play step that announces (the
// service turns it into FreeSWITCH's say for the channel's language, or the
// group's sound files). An announcement is woken like a wait: an agent
// freed meanwhile does not wait for it to end.

// announceDue: c's next announcement is due now.
func (e *Engine) announceDue(c *call) bool {
	every := c.g.opt.AnnounceEvery
	return every > 0 && c.kind == kindQueued && (c.annAt.IsZero() || !e.now().Before(c.annAt))
}

// announce is the announcement step for waiting call c, when one is due.
func (e *Engine) announce(c *call) (Step, bool) {
	if !e.announceDue(c) {
		return Step{}, false
	}
	pos, ewt, known, ok := e.Position(c.uuid)
	if !ok {
		return Step{}, false
	}
	c.annAt = e.now().Add(c.g.opt.AnnounceEvery)
	c.inWait, c.annPlaying = true, true
	return Step{Kind: StepPlay, Loops: 1, Announce: true, File: c.g.opt.AnnounceSounds, Position: pos, EWT: ewt, EWTKnown: known}, true
}

// untilAnnounce ends wait step s at c's next announcement.
func (e *Engine) untilAnnounce(c *call, s *Step) {
	if c.g.opt.AnnounceEvery <= 0 || c.annAt.IsZero() {
		return
	}
	left := max(c.annAt.Sub(e.now()), time.Millisecond)
	if s.Timeout == 0 || left < s.Timeout {
		s.Timeout = left
	}
}
