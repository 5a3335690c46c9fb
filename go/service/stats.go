package service

import (
	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/store"
)

// Today's counters of the agents (modes 7 and 8: fewest calls, least talk
// time) survive a module reload: the service writes them through the
// journal as it stops and restores them as it loads; the core drops those
// of another day (they restart at local midnight).

// StatsJournal persists the agents' counters. A Journal that also
// implements it (writeback.Journal does) keeps them across a reload.
type StatsJournal interface {
	PutAgentStats(a store.AgentStats)
}

// saveStats journals every agent's counters of today. Called with mu held.
func (s *Service) saveStats() {
	sj, _ := s.opt.Journal.(StatsJournal)
	if sj == nil {
		return
	}
	for _, x := range s.eng.Extensions() {
		st := x.Stats
		if st.Answered == 0 && st.TalkTime == 0 && st.LastCallEnd.IsZero() {
			continue
		}
		sj.PutAgentStats(store.AgentStats{Ext: x.Extension, Day: st.Day, Answered: st.Answered, TalkTime: st.TalkTime,
			LastCallEnd: st.LastCallEnd})
	}
}

// restoreStats loads the stored counters (at start). Called with mu held.
func (s *Service) restoreStats(all []store.AgentStats) {
	for _, a := range all {
		err := s.eng.RestoreStats(a.Ext, acd.AgentStats{Day: a.Day, Answered: a.Answered, TalkTime: a.TalkTime, LastCallEnd: a.LastCallEnd})
		if err != nil && acd.CodeOf(err) != acd.ErrUnknownExtension {
			s.log.Warn("agent stats dropped", "ext", a.Ext, "err", err)
		}
	}
}
