package store

import (
	"cmp"
	"context"
	"slices"
)

// Overlay applies writes to a Snapshot in memory the way a store applies
// them to its tables, so that a snapshot read from the store plus the writes
// still queued for it (replayed in order) is what the store will hold once
// it has taken them. Each write replaces what it names, so replaying one the
// snapshot already holds, followed by the later ones, changes nothing.
// Writes a store refuses (Validate) are refused here too. Not safe for
// concurrent use.
type Overlay struct {
	exts     map[string]Extension
	groups   map[string]Group
	members  map[string][]string // ext → groups, in login order
	loggedAt map[string]int      // ext → when its rows were written (row order)
	next     int
	lists    map[ListEntry]bool
	memory   map[[2]string]Memory // (caller, group)
	routing  routingOverlay       // overlay_routing.go
}

// NewOverlay starts from snap (which it does not modify).
func NewOverlay(snap Snapshot) *Overlay {
	o := &Overlay{exts: map[string]Extension{}, groups: map[string]Group{}, members: map[string][]string{},
		loggedAt: map[string]int{}, lists: map[ListEntry]bool{}, memory: map[[2]string]Memory{}}
	for _, e := range snap.Extensions {
		o.exts[e.Number] = e
	}
	for _, g := range snap.Groups {
		o.groups[g.Number] = g
	}
	for _, m := range snap.Memberships {
		if _, ok := o.loggedAt[m.Ext]; !ok {
			o.loggedAt[m.Ext] = o.next
			o.next++
		}
		o.members[m.Ext] = append(o.members[m.Ext], m.Group)
	}
	for _, l := range snap.Lists {
		o.lists[l] = true
	}
	for _, m := range snap.Memory {
		o.memory[[2]string{m.Caller, m.Group}] = m
	}
	o.routing = newRoutingOverlay(snap)
	return o
}

// Snapshot returns the result: extensions and groups by number, memberships
// in the order their rows were written.
func (o *Overlay) Snapshot() Snapshot {
	var s Snapshot
	for _, e := range o.exts {
		s.Extensions = append(s.Extensions, e)
	}
	slices.SortFunc(s.Extensions, func(a, b Extension) int { return cmp.Compare(a.Number, b.Number) })
	for _, g := range o.groups {
		s.Groups = append(s.Groups, g)
	}
	slices.SortFunc(s.Groups, func(a, b Group) int { return cmp.Compare(a.Number, b.Number) })
	var exts []string
	for x, gs := range o.members {
		if len(gs) > 0 {
			exts = append(exts, x)
		}
	}
	slices.SortFunc(exts, func(a, b string) int { return cmp.Compare(o.loggedAt[a], o.loggedAt[b]) })
	for _, x := range exts {
		for _, g := range o.members[x] {
			s.Memberships = append(s.Memberships, Membership{Ext: x, Group: g})
		}
	}
	for l := range o.lists {
		s.Lists = append(s.Lists, l)
	}
	slices.SortFunc(s.Lists, func(a, b ListEntry) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Group, b.Group), cmp.Compare(a.Number, b.Number))
	})
	for _, m := range o.memory {
		s.Memory = append(s.Memory, m)
	}
	slices.SortFunc(s.Memory, func(a, b Memory) int {
		return cmp.Or(cmp.Compare(a.Caller, b.Caller), cmp.Compare(a.Group, b.Group))
	})
	o.routing.fill(&s)
	return s
}

// UpsertExtension creates e or replaces all its fields.
func (o *Overlay) UpsertExtension(_ context.Context, e Extension) error {
	if err := e.Validate(); err != nil {
		return err
	}
	o.exts[e.Number] = e
	return nil
}

// DeleteExtension removes the extension and its logins.
func (o *Overlay) DeleteExtension(_ context.Context, number string) error {
	delete(o.members, number)
	delete(o.exts, number)
	return nil
}

// UpsertGroup creates g or replaces its settings; the cursor is kept, as
// the stores keep it.
func (o *Overlay) UpsertGroup(_ context.Context, g Group) error {
	if err := g.Validate(); err != nil {
		return err
	}
	if cur, ok := o.groups[g.Number]; ok {
		g.CurrentExt = cur.CurrentExt
	}
	o.groups[g.Number] = g
	return nil
}

// DeleteGroup removes the group with its logins, lists and memory.
func (o *Overlay) DeleteGroup(_ context.Context, number string) error {
	for x, gs := range o.members {
		o.members[x] = slices.DeleteFunc(gs, func(g string) bool { return g == number })
	}
	for l := range o.lists {
		if l.Group == number {
			delete(o.lists, l)
		}
	}
	for k := range o.memory {
		if k[1] == number {
			delete(o.memory, k)
		}
	}
	delete(o.groups, number)
	o.routing.dropGroup(number) // pg: the FK cascades
	return nil
}

// SetCurrentExt moves the group's cursor; an unknown group is a no-op.
func (o *Overlay) SetCurrentExt(_ context.Context, group, ext string) error {
	if len(ext) > MaxNumber {
		return CheckNumber("extension", ext)
	}
	if g, ok := o.groups[group]; ok {
		g.CurrentExt = ext
		o.groups[group] = g
	}
	return nil
}

// ReplaceMemberships makes groups (in order) the extension's logins.
func (o *Overlay) ReplaceMemberships(_ context.Context, ext string, groups []string) error {
	if err := CheckMemberships(ext, groups); err != nil {
		return err
	}
	if len(groups) == 0 {
		delete(o.members, ext)
		return nil
	}
	o.members[ext] = slices.Clone(groups)
	o.loggedAt[ext] = o.next // new rows come last, as new ids do
	o.next++
	return nil
}

// AddListEntry puts a number on a group's list.
func (o *Overlay) AddListEntry(_ context.Context, l ListEntry) error {
	if err := l.Validate(); err != nil {
		return err
	}
	o.lists[l] = true
	return nil
}

// RemoveListEntry takes a number off a group's list.
func (o *Overlay) RemoveListEntry(_ context.Context, l ListEntry) error {
	delete(o.lists, l)
	return nil
}

// PutMemory records the agent a caller last talked to in a group.
func (o *Overlay) PutMemory(_ context.Context, m Memory) error {
	if err := m.Validate(); err != nil {
		return err
	}
	o.memory[[2]string{m.Caller, m.Group}] = m
	return nil
}
