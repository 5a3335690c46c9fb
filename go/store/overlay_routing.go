package store

import (
	"cmp"
	"context"
	"slices"
)

// routingOverlay is the Overlay's part for the routing records
// (RoutingWriter), so that a replayed snapshot keeps them.
type routingOverlay struct {
	members map[[2]string]MemberConfig // (ext, group)
	skills  map[[2]string]Skill        // (ext, name)
	options map[string]GroupOptions
	cbs     map[string]Callback // pending callbacks by uuid
	stats   map[string]AgentStats
}

var _ RoutingWriter = (*Overlay)(nil)

func newRoutingOverlay(snap Snapshot) routingOverlay {
	r := routingOverlay{members: map[[2]string]MemberConfig{}, skills: map[[2]string]Skill{}, options: map[string]GroupOptions{},
		cbs: map[string]Callback{}, stats: map[string]AgentStats{}}
	for _, a := range snap.AgentStats {
		r.stats[a.Ext] = a
	}
	for _, c := range snap.Callbacks {
		r.cbs[c.UUID] = c
	}
	for _, m := range snap.MemberConfigs {
		r.members[[2]string{m.Ext, m.Group}] = m
	}
	for _, k := range snap.Skills {
		r.skills[[2]string{k.Ext, k.Name}] = k
	}
	for _, o := range snap.GroupOptions {
		r.options[o.Group] = o
	}
	return r
}

func (r *routingOverlay) fill(s *Snapshot) {
	for _, m := range r.members {
		s.MemberConfigs = append(s.MemberConfigs, m)
	}
	slices.SortFunc(s.MemberConfigs, func(a, b MemberConfig) int {
		return cmp.Or(cmp.Compare(a.Ext, b.Ext), cmp.Compare(a.Group, b.Group))
	})
	for _, k := range r.skills {
		s.Skills = append(s.Skills, k)
	}
	slices.SortFunc(s.Skills, func(a, b Skill) int { return cmp.Or(cmp.Compare(a.Ext, b.Ext), cmp.Compare(a.Name, b.Name)) })
	for _, o := range r.options {
		s.GroupOptions = append(s.GroupOptions, o)
	}
	slices.SortFunc(s.GroupOptions, func(a, b GroupOptions) int { return cmp.Compare(a.Group, b.Group) })
	for _, c := range r.cbs {
		s.Callbacks = append(s.Callbacks, c)
	}
	for _, a := range r.stats {
		s.AgentStats = append(s.AgentStats, a)
	}
	slices.SortFunc(s.AgentStats, func(a, b AgentStats) int { return cmp.Compare(a.Ext, b.Ext) })
	slices.SortFunc(s.Callbacks, func(a, b Callback) int {
		return cmp.Or(a.CallinTime.Compare(b.CallinTime), cmp.Compare(a.UUID, b.UUID))
	})
}

func (r *routingOverlay) dropGroup(group string) {
	for k := range r.members {
		if k[1] == group {
			delete(r.members, k)
		}
	}
	delete(r.options, group)
}

// PutMemberConfig sets an extension's tier and weight in a group.
func (o *Overlay) PutMemberConfig(_ context.Context, m MemberConfig) error {
	if err := m.Validate(); err != nil {
		return err
	}
	o.routing.members[[2]string{m.Ext, m.Group}] = m
	return nil
}

// PutSkill gives an extension a skill at a level.
func (o *Overlay) PutSkill(_ context.Context, k Skill) error {
	if err := k.Validate(); err != nil {
		return err
	}
	o.routing.skills[[2]string{k.Ext, k.Name}] = k
	return nil
}

// DeleteSkill takes a skill from an extension.
func (o *Overlay) DeleteSkill(_ context.Context, ext, name string) error {
	delete(o.routing.skills, [2]string{ext, name})
	return nil
}

// PutGroupOptions replaces a group's options (durations in whole seconds,
// as the stores keep them).
func (o *Overlay) PutGroupOptions(_ context.Context, g GroupOptions) error {
	if err := g.Validate(); err != nil {
		return err
	}
	g.TierWait, g.RelaxEvery = g.TierWait.Truncate(1e9), g.RelaxEvery.Truncate(1e9)
	g.OverflowAfter, g.CallbackRetryDelay = g.OverflowAfter.Truncate(1e9), g.CallbackRetryDelay.Truncate(1e9)
	g.AnnounceEvery, g.RingWait = g.AnnounceEvery.Truncate(1e9), g.RingWait.Truncate(1e9)
	o.routing.options[g.Group] = g
	return nil
}

// ClearExtensionRouting forgets an extension's skills and tiers.
func (o *Overlay) ClearExtensionRouting(_ context.Context, ext string) error {
	for k := range o.routing.skills {
		if k[0] == ext {
			delete(o.routing.skills, k)
		}
	}
	for k := range o.routing.members {
		if k[0] == ext {
			delete(o.routing.members, k)
		}
	}
	return nil
}

// ClearGroupRouting forgets a group's options and tiers.
func (o *Overlay) ClearGroupRouting(_ context.Context, group string) error {
	o.routing.dropGroup(group)
	return nil
}

var _ CallbackWriter = (*Overlay)(nil)

// PutCallback keeps a pending callback.
func (o *Overlay) PutCallback(_ context.Context, c Callback) error {
	if err := c.Validate(); err != nil {
		return err
	}
	o.routing.cbs[c.UUID] = c
	return nil
}

// DeleteCallback forgets a pending callback; absent is fine.
func (o *Overlay) DeleteCallback(_ context.Context, uuid string) error {
	delete(o.routing.cbs, uuid)
	return nil
}

var _ StatsWriter = (*Overlay)(nil)

// PutAgentStats keeps an agent's counters.
func (o *Overlay) PutAgentStats(_ context.Context, a AgentStats) error {
	if err := a.Validate(); err != nil {
		return err
	}
	a.TalkTime = a.TalkTime.Truncate(1e9)
	o.routing.stats[a.Ext] = a
	return nil
}
