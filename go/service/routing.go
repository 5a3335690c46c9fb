package service

import (
	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/store"
)

// RoutingJournal persists the routing settings of issue 12 (tiers,
// weights, skills, group options). A Journal that also implements it
// (writeback.Journal does) gets them; one that does not keeps them in
// memory only.
type RoutingJournal interface {
	PutMemberConfig(m store.MemberConfig)
	PutSkill(s store.Skill)
	DeleteSkill(ext, name string)
	PutGroupOptions(o store.GroupOptions)
	ClearExtensionRouting(ext string)
	ClearGroupRouting(group string)
}

func (s *Service) routingJournal() RoutingJournal {
	rj, _ := s.opt.Journal.(RoutingJournal)
	return rj
}

// saveMember journals ext's tier and weight in group as the core has them.
func (s *Service) saveMember(e *acd.Engine, ext, group string) {
	rj := s.routingJournal()
	if rj == nil {
		return
	}
	g, err := e.Group(group)
	if err != nil {
		return
	}
	for _, m := range g.Memberships {
		if m.Extension == ext {
			rj.PutMemberConfig(store.MemberConfig{Ext: ext, Group: group, Tier: m.Tier, Weight: m.Weight})
			return
		}
	}
}

// SetTier sets an extension's tier (1–9) in a group, kept across logins.
func (s *Service) SetTier(ext, group string, tier int) error {
	return s.locked(func(e *acd.Engine) error {
		if err := e.SetTier(ext, group, tier); err != nil {
			return err
		}
		s.saveMember(e, ext, group)
		return nil
	})
}

// SetWeight sets an extension's weight (1–1000) in a group (mode 10).
func (s *Service) SetWeight(ext, group string, weight int) error {
	return s.locked(func(e *acd.Engine) error {
		if err := e.SetWeight(ext, group, weight); err != nil {
			return err
		}
		s.saveMember(e, ext, group)
		return nil
	})
}

// SetSkill gives an extension a skill at a level (1–10).
func (s *Service) SetSkill(ext, skill string, level int) error {
	return s.locked(func(e *acd.Engine) error {
		if err := e.SetSkill(ext, skill, level); err != nil {
			return err
		}
		if rj := s.routingJournal(); rj != nil {
			rj.PutSkill(store.Skill{Ext: ext, Name: skill, Level: level})
		}
		return nil
	})
}

// RemoveSkill takes a skill from an extension (absent: fine).
func (s *Service) RemoveSkill(ext, skill string) error {
	return s.locked(func(e *acd.Engine) error {
		if err := e.RemoveSkill(ext, skill); err != nil {
			return err
		}
		if rj := s.routingJournal(); rj != nil {
			rj.DeleteSkill(ext, skill)
		}
		return nil
	})
}

// SetGroupOptions changes a group's routing and queue options: fn edits a
// copy of the current ones; the core checks the result.
func (s *Service) SetGroupOptions(number string, fn func(*acd.GroupOptions)) error {
	return s.locked(func(e *acd.Engine) error {
		if err := e.UpdateGroup(number, func(g *acd.GroupSpec) { fn(&g.Options) }); err != nil {
			return err
		}
		if rj := s.routingJournal(); rj != nil {
			if g, err := e.Group(number); err == nil {
				rj.PutGroupOptions(OptionsRecord(number, g.Options))
			}
		}
		return nil
	})
}

// OptionsRecord is the stored form of a group's options.
func OptionsRecord(group string, o acd.GroupOptions) store.GroupOptions {
	return store.GroupOptions{Group: group, MemoryFirst: o.MemoryFirst, TierWait: o.TierWait, TierSkip: o.TierSkip,
		Skills: acd.FormatSkills(o.Skills), RelaxEvery: o.RelaxEvery, MaxWaiting: o.MaxWaiting,
		OverflowGroup: o.OverflowGroup, OverflowAfter: o.OverflowAfter, OverflowWaiting: o.OverflowWaiting,
		ExitKey: o.ExitKey, Announce: o.Announce, CallbackKey: o.CallbackKey, CallbackAgentFirst: o.CallbackAgentFirst,
		CallbackRetries: o.CallbackRetries, CallbackRetryDelay: o.CallbackRetryDelay, CallbackGateway: o.CallbackGateway,
		AnnounceEvery: o.AnnounceEvery, AnnounceSounds: o.AnnounceSounds, FullOverflow: o.FullOverflow, ExitTo: o.ExitTo,
		RingWait: o.RingWait}
}

// optionsOf is the core's form of stored options; bad skills text is an
// error.
func optionsOf(r store.GroupOptions) (acd.GroupOptions, error) {
	o := acd.GroupOptions{MemoryFirst: r.MemoryFirst, TierWait: r.TierWait, TierSkip: r.TierSkip,
		RelaxEvery: r.RelaxEvery, MaxWaiting: r.MaxWaiting, OverflowGroup: r.OverflowGroup,
		OverflowAfter: r.OverflowAfter, OverflowWaiting: r.OverflowWaiting, ExitKey: r.ExitKey, Announce: r.Announce,
		CallbackKey: r.CallbackKey, CallbackAgentFirst: r.CallbackAgentFirst, CallbackRetries: r.CallbackRetries,
		CallbackRetryDelay: r.CallbackRetryDelay, CallbackGateway: r.CallbackGateway,
		AnnounceEvery: r.AnnounceEvery, AnnounceSounds: r.AnnounceSounds, FullOverflow: r.FullOverflow, ExitTo: r.ExitTo,
		RingWait: r.RingWait}
	if r.Skills != "" {
		sk, err := acd.ParseSkills(r.Skills)
		if err != nil {
			return o, err
		}
		o.Skills = sk
	}
	return o, nil
}

// applyRouting loads stored routing records into the core (after groups,
// extensions and logins). A refused record is logged and skipped.
func (s *Service) applyRouting(snap store.Snapshot) {
	e := s.eng
	for _, r := range snap.GroupOptions {
		o, err := optionsOf(r)
		if err == nil {
			err = e.UpdateGroup(r.Group, func(g *acd.GroupSpec) { g.Options = o })
		}
		if err != nil {
			s.log.Warn("load group options", "group", r.Group, "err", err)
		}
	}
	for _, m := range snap.MemberConfigs {
		if _, err := e.Extension(m.Ext); acd.CodeOf(err) == acd.ErrUnknownExtension {
			_ = e.AddExtension(acd.ExtensionSpec{Extension: m.Ext, JobEnabled: true})
		}
		err := e.SetTier(m.Ext, m.Group, m.Tier)
		if err == nil {
			err = e.SetWeight(m.Ext, m.Group, m.Weight)
		}
		if err != nil {
			s.log.Warn("load member config", "ext", m.Ext, "group", m.Group, "err", err)
		}
	}
	for _, k := range snap.Skills {
		if _, err := e.Extension(k.Ext); acd.CodeOf(err) == acd.ErrUnknownExtension {
			_ = e.AddExtension(acd.ExtensionSpec{Extension: k.Ext, JobEnabled: true})
		}
		if err := e.SetSkill(k.Ext, k.Name, k.Level); err != nil {
			s.log.Warn("load skill", "ext", k.Ext, "skill", k.Name, "err", err)
		}
	}
}

// key passes a digit a caller in a queue pressed to the core (the group's
// exit or callback key); when that ends its wait, its session is woken to
// ask for the step that follows (done with nwayacd_result=exit, …).
func (s *Service) key(uuid, digits string) {
	if uuid == "" || digits == "" {
		return
	}
	s.lock()
	defer s.unlock()
	if ci := s.calls[uuid]; ci == nil || ci.left {
		return
	}
	st, err := s.eng.Key(uuid, digits[:1])
	if err != nil {
		s.log.Debug("key ignored", "call", uuid, "err", err)
		return
	}
	if st.Kind != 0 {
		s.wake(uuid)
	}
}

// syncRouting makes the core's routing settings those of snap (another
// node or an operator changed the tables): options, tiers and weights,
// skills; settings absent from snap go back to their defaults.
func (s *Service) syncRouting(snap store.Snapshot) {
	e := s.eng
	opts := make(map[string]store.GroupOptions, len(snap.GroupOptions))
	for _, o := range snap.GroupOptions {
		opts[o.Group] = o
	}
	type member struct{ ext, group string }
	cfg := make(map[member]store.MemberConfig, len(snap.MemberConfigs))
	for _, m := range snap.MemberConfigs {
		cfg[member{m.Ext, m.Group}] = m
	}
	for _, g := range e.Groups() {
		want, ok := opts[g.Number]
		if !ok {
			want = store.GroupOptions{Group: g.Number}
		}
		if OptionsRecord(g.Number, g.Options) != want {
			o, err := optionsOf(want)
			if err == nil {
				err = e.UpdateGroup(g.Number, func(sp *acd.GroupSpec) { sp.Options = o })
			}
			if err != nil {
				s.log.Warn("sync group options", "group", g.Number, "err", err)
			}
		}
		have := map[string]acd.Membership{}
		for _, m := range g.Memberships {
			have[m.Extension] = m
			if _, ok := cfg[member{m.Extension, g.Number}]; !ok && (m.Tier != 1 || m.Weight != 1) {
				_ = e.SetTier(m.Extension, g.Number, 1)
				_ = e.SetWeight(m.Extension, g.Number, 1)
			}
		}
		for k, m := range cfg {
			if k.group != g.Number {
				continue
			}
			if h, ok := have[k.ext]; ok && h.Tier == m.Tier && h.Weight == m.Weight {
				continue
			}
			err := e.SetTier(m.Ext, m.Group, m.Tier)
			if err == nil {
				err = e.SetWeight(m.Ext, m.Group, m.Weight)
			}
			if err != nil {
				s.log.Warn("sync member config", "ext", m.Ext, "group", m.Group, "err", err)
			}
		}
	}
	skills := map[string]map[string]int{}
	for _, k := range snap.Skills {
		if skills[k.Ext] == nil {
			skills[k.Ext] = map[string]int{}
		}
		skills[k.Ext][k.Name] = k.Level
	}
	for _, x := range e.Extensions() {
		want := skills[x.Extension]
		for _, k := range x.Skills {
			if _, ok := want[k.Name]; !ok {
				_ = e.RemoveSkill(x.Extension, k.Name)
			}
		}
		for name, level := range want {
			cur := 0
			for _, k := range x.Skills {
				if k.Name == name {
					cur = k.Level
				}
			}
			if cur == level {
				continue
			}
			if err := e.SetSkill(x.Extension, name, level); err != nil {
				s.log.Warn("sync skill", "ext", x.Extension, "skill", name, "err", err)
			}
		}
	}
}
