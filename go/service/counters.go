package service

// Counters are the node's running counts, read without the core's lock
// (a Prometheus scrape must not wait on, or hold up, the call path).
type Counters struct {
	HostFailed, HostDropped uint64
	ChannelEvents           uint64
	LiveDropped             uint64
}

// Counters returns the running counts.
func (s *Service) Counters() Counters {
	return Counters{HostFailed: s.exec.Failed(), HostDropped: s.exec.Dropped(),
		ChannelEvents: s.eventsIn.Load(), LiveDropped: s.live.Dropped()}
}
