package service

import (
	"github.com/nwayacd/mod_nwayacd/go/ident"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/store"
)

// locked runs fn on the core and handles what it decided.
func (s *Service) locked(fn func(e *acd.Engine) error) error {
	s.lock()
	defer s.unlock()
	return fn(s.eng)
}

func (s *Service) saveExtension(e *acd.Engine, ext string) {
	if s.opt.Journal == nil {
		return
	}
	if x, err := e.Extension(ext); err == nil {
		s.opt.Journal.UpsertExtension(store.Extension{Number: x.Extension, JobNumber: x.JobNumber, JobEnabled: x.JobEnabled,
			DialString: x.DialString, Busy: x.Seat == acd.SeatBusy})
	}
}

func (s *Service) saveGroup(e *acd.Engine, num string) {
	if s.opt.Journal == nil {
		return
	}
	if g, err := e.Group(num); err == nil {
		s.opt.Journal.UpsertGroup(groupRecord(g))
	}
}

func groupRecord(g acd.GroupInfo) store.Group {
	return store.Group{Number: g.Number, Name: g.Name, Mode: int(g.Mode), CalloutTimeout: g.CalloutTimeout, CurrentExt: g.CurrentExt,
		WelcomeRing: g.Rings.Welcome, BlacklistRing: g.Rings.Blacklist, BusyRing: g.Rings.Busy, TransferRing: g.Rings.Transfer,
		BusyRingTimes: g.GiveUp.BusyRingTimes, MaxWait: g.GiveUp.MaxWait}
}

func (s *Service) saveMemberships(e *acd.Engine, ext string) {
	if s.opt.Journal == nil {
		return
	}
	if x, err := e.Extension(ext); err == nil {
		s.opt.Journal.ReplaceMemberships(ext, x.Groups)
	}
}

// AddExtension adds an extension with its job number (enabled).
func (s *Service) AddExtension(ext, jobNumber string) error {
	return s.locked(func(e *acd.Engine) error {
		if err := e.AddExtension(acd.ExtensionSpec{Extension: ext, JobNumber: jobNumber, JobEnabled: true}); err != nil {
			return err
		}
		s.saveExtension(e, ext)
		return nil
	})
}

// SetJobNumber sets the job number and whether the extension takes calls.
func (s *Service) SetJobNumber(ext, jobNumber string, enabled bool) error {
	return s.locked(func(e *acd.Engine) error {
		if err := e.SetJobNumber(ext, jobNumber, enabled); err != nil {
			return err
		}
		s.saveExtension(e, ext)
		return nil
	})
}

// RemoveExtension forgets an extension.
func (s *Service) RemoveExtension(ext string) error {
	return s.locked(func(e *acd.Engine) error {
		if err := e.RemoveExtension(ext); err != nil {
			return err
		}
		if s.opt.Journal != nil {
			s.opt.Journal.ReplaceMemberships(ext, nil)
			s.opt.Journal.DeleteExtension(ext)
		}
		if rj := s.routingJournal(); rj != nil {
			rj.ClearExtensionRouting(ext)
		}
		return nil
	})
}

// SetRegistered marks an extension registered or not.
func (s *Service) SetRegistered(ext string, reged bool) error {
	return s.locked(func(e *acd.Engine) error { return e.SetRegistered(ext, reged) })
}

// SetDialString sets how the extension is reached; "" or "default" = the template.
func (s *Service) SetDialString(ext, dial string) error {
	if dial == "default" {
		dial = ""
	}
	return s.locked(func(e *acd.Engine) error {
		if err := e.SetDialString(ext, dial); err != nil {
			return err
		}
		s.saveExtension(e, ext)
		return nil
	})
}

// Extensions lists every extension.
// In cluster mode each shows the pool's truth (as last read by the
// membership's tick): where its phone is registered and its call state
// across the cluster.
func (s *Service) Extensions() []acd.ExtensionInfo {
	s.lock()
	defer s.release()
	xs := s.eng.Extensions()
	if s.pool != nil {
		for i := range xs {
			s.pool.overlay(&xs[i])
		}
	}
	return xs
}

// Extension returns one extension (in cluster mode, as Extensions).
func (s *Service) Extension(ext string) (acd.ExtensionInfo, error) {
	s.lock()
	defer s.release()
	x, err := s.eng.Extension(ext)
	if err == nil && s.pool != nil {
		s.pool.overlay(&x)
	}
	return x, err
}

// AddGroup adds a group with a routing mode and the node's defaults.
func (s *Service) AddGroup(number string, mode acd.Mode) error {
	return s.locked(func(e *acd.Engine) error {
		if err := e.AddGroup(acd.GroupSpec{Number: number, Mode: mode}); err != nil {
			return err
		}
		s.saveGroup(e, number)
		return nil
	})
}

func (s *Service) updateGroup(number string, fn func(*acd.GroupSpec)) error {
	return s.locked(func(e *acd.Engine) error {
		if err := e.UpdateGroup(number, fn); err != nil {
			return err
		}
		s.saveGroup(e, number)
		return nil
	})
}

// SetGroupName renames a group.
func (s *Service) SetGroupName(number, name string) error {
	return s.updateGroup(number, func(g *acd.GroupSpec) { g.Name = name })
}

// SetGroupMode changes a group's routing mode.
func (s *Service) SetGroupMode(number string, m acd.Mode) error {
	return s.updateGroup(number, func(g *acd.GroupSpec) { g.Mode = m })
}

// SetGroupTimeout sets how long each agent rings.
func (s *Service) SetGroupTimeout(number string, d time.Duration) error {
	return s.updateGroup(number, func(g *acd.GroupSpec) { g.CalloutTimeout = d })
}

// SetGroupGiveUp sets the group's give-up policy.
func (s *Service) SetGroupGiveUp(number string, gu acd.GiveUp) error {
	return s.updateGroup(number, func(g *acd.GroupSpec) { g.GiveUp = &gu })
}

// SetGroupRings sets the group's sound files.
func (s *Service) SetGroupRings(number string, r acd.Rings) error {
	return s.updateGroup(number, func(g *acd.GroupSpec) { g.Rings = r })
}

// RemoveGroup deletes a group; its waiting calls leave with no_group.
func (s *Service) RemoveGroup(number string) error {
	return s.locked(func(e *acd.Engine) error {
		g, err := e.Group(number)
		if err != nil {
			return err
		}
		if err := e.RemoveGroup(number); err != nil {
			return err
		}
		for _, m := range g.Members {
			s.saveMemberships(e, m)
		}
		if s.opt.Journal != nil {
			s.opt.Journal.DeleteGroup(number)
		}
		if rj := s.routingJournal(); rj != nil {
			rj.ClearGroupRouting(number)
		}
		return nil
	})
}

// Groups lists every group.
func (s *Service) Groups() []acd.GroupInfo {
	s.lock()
	defer s.release()
	return s.eng.Groups()
}

// Group returns one group.
func (s *Service) Group(number string) (acd.GroupInfo, error) {
	s.lock()
	defer s.release()
	return s.eng.Group(number)
}

func (s *Service) setListed(kind acd.ListKind, group, number string, on bool) error {
	return s.locked(func(e *acd.Engine) error {
		if err := e.SetListed(kind, group, number, on); err != nil {
			return err
		}
		if s.opt.Journal != nil {
			k := store.Blacklist
			if kind == acd.VIPList {
				k = store.VIP
			}
			l := store.ListEntry{Kind: k, Group: group, Number: number}
			if on {
				s.opt.Journal.AddListEntry(l)
			} else {
				s.opt.Journal.RemoveListEntry(l)
			}
		}
		return nil
	})
}

// AddBlacklist blacklists a number in a group.
func (s *Service) AddBlacklist(group, number string) error {
	return s.setListed(acd.Blacklist, group, number, true)
}

// RemoveBlacklist lifts a blacklisting.
func (s *Service) RemoveBlacklist(group, number string) error {
	return s.setListed(acd.Blacklist, group, number, false)
}

// AddVIP makes a number VIP in a group.
func (s *Service) AddVIP(group, number string) error {
	return s.setListed(acd.VIPList, group, number, true)
}

// RemoveVIP makes a number normal again.
func (s *Service) RemoveVIP(group, number string) error {
	return s.setListed(acd.VIPList, group, number, false)
}

// Login logs an agent in to groups.
func (s *Service) Login(ext string, groups []string) error {
	return s.seat(ext, func(e *acd.Engine) error { // logging in makes the seat idle
		if err := e.Login(ext, groups); err != nil {
			return err
		}
		s.saveMemberships(e, ext)
		return nil
	})
}

// Logout ends every membership of an agent.
func (s *Service) Logout(ext string) error {
	return s.locked(func(e *acd.Engine) error {
		if err := e.Logout(ext); err != nil {
			return err
		}
		s.saveMemberships(e, ext)
		return nil
	})
}

// seat runs a change that may move the seat and stores the seat when it did.
func (s *Service) seat(ext string, fn func(e *acd.Engine) error) error {
	return s.locked(func(e *acd.Engine) error {
		before, _ := e.Extension(ext)
		if err := fn(e); err != nil {
			return err
		}
		if after, _ := e.Extension(ext); after.Seat != before.Seat {
			s.saveExtension(e, ext)
		}
		return nil
	})
}

// SetReady makes the agent's seat idle.
func (s *Service) SetReady(ext string) error {
	return s.seat(ext, func(e *acd.Engine) error { return e.SetReady(ext) })
}

// SetBusy makes the agent's seat busy.
func (s *Service) SetBusy(ext string) error {
	return s.seat(ext, func(e *acd.Engine) error { return e.SetBusy(ext) })
}

// SetCallState sets the agent's call state.
func (s *Service) SetCallState(ext string, st acd.CallState) error {
	return s.seat(ext, func(e *acd.Engine) error { return e.SetCallState(ext, st) })
}

// Waiting lists queued calls, VIP first then oldest.
// In cluster mode: this node's calls, then those the other nodes hold in
// the shared queues (as last read by the membership's tick), each with
// its node.
func (s *Service) Waiting() []acd.WaitingInfo {
	s.lock()
	defer s.release()
	ws := s.eng.Waiting()
	if s.pool != nil {
		ws = s.pool.withRemote(ws)
	}
	return ws
}

// Version is the module version.
func (s *Service) Version() string { return s.opt.Version }

// Load fills an empty core from a stored snapshot (at start). Entries the
// core refuses are logged and skipped: one bad row must not stop the node.
func (s *Service) Load(snap store.Snapshot) {
	s.lock()
	defer s.unlock()
	s.apply(snap)
	s.restoreStats(snap.AgentStats)
	// Restoring is not a change: publishing 10,000 "login" events at every
	// module load would flood subscribers and the bounded queues.
	s.eng.Decisions()
	// Pending callbacks after: one placed at once needs its decision handled.
	s.restoreCallbacks(snap.Callbacks)
}

func (s *Service) apply(snap store.Snapshot) {
	e := s.eng
	for _, x := range snap.Extensions {
		if x.DialString != "" {
			// Rows edited in the database directly never passed our checks.
			if err := ident.Dial(x.DialString); err != nil {
				s.log.Warn("load extension: stored dial string refused, the dial template reaches it", "ext", x.Number, "err", err)
				x.DialString = ""
			}
		}
		if err := e.AddExtension(acd.ExtensionSpec{Extension: x.Number, JobNumber: x.JobNumber, JobEnabled: x.JobEnabled, DialString: x.DialString}); err != nil && acd.CodeOf(err) != acd.ErrExists {
			s.log.Warn("load extension", "ext", x.Number, "err", err)
		}
	}
	for _, g := range snap.Groups {
		gu := acd.GiveUp{BusyRingTimes: g.BusyRingTimes, MaxWait: g.MaxWait}
		spec := acd.GroupSpec{Number: g.Number, Name: g.Name, Mode: acd.Mode(g.Mode), CalloutTimeout: g.CalloutTimeout, CurrentExt: g.CurrentExt,
			Rings: acd.Rings{Welcome: g.WelcomeRing, Blacklist: g.BlacklistRing, Busy: g.BusyRing, Transfer: g.TransferRing}, GiveUp: &gu}
		if !spec.Mode.Valid() {
			s.log.Warn("load group: unknown mode, using the default", "group", g.Number, "mode", g.Mode, "default", int(acd.DefaultMode))
			spec.Mode = acd.DefaultMode
		}
		err := e.AddGroup(spec)
		if acd.CodeOf(err) == acd.ErrExists {
			err = e.UpdateGroup(g.Number, func(cur *acd.GroupSpec) {
				cur.Name, cur.Mode, cur.Rings, cur.GiveUp = spec.Name, spec.Mode, spec.Rings, spec.GiveUp
				if spec.CalloutTimeout > 0 {
					cur.CalloutTimeout = spec.CalloutTimeout
				}
			})
		}
		if err != nil {
			s.log.Warn("load group", "group", g.Number, "err", err)
		}
	}
	byExt := map[string][]string{}
	var order []string
	for _, m := range snap.Memberships {
		if _, ok := byExt[m.Ext]; !ok {
			order = append(order, m.Ext)
		}
		byExt[m.Ext] = append(byExt[m.Ext], m.Group)
	}
	for _, ext := range order {
		// FSGUI keeps extensions in its own tables: a member we have not
		// seen yet is created rather than dropped.
		if _, err := e.Extension(ext); acd.CodeOf(err) == acd.ErrUnknownExtension {
			_ = e.AddExtension(acd.ExtensionSpec{Extension: ext, JobEnabled: true})
		}
		if err := e.Login(ext, byExt[ext]); err != nil {
			s.log.Warn("load login", "ext", ext, "err", err)
		}
	}
	// Login makes a seat idle: a seat stored busy goes back to busy.
	for _, x := range snap.Extensions {
		if x.Busy {
			_ = e.SetBusy(x.Number)
		}
	}
	for _, l := range snap.Lists {
		k := acd.Blacklist
		if l.Kind == store.VIP {
			k = acd.VIPList
		}
		if err := e.SetListed(k, l.Group, l.Number, true); err != nil {
			s.log.Warn("load list entry", "list", l.Kind, "group", l.Group, "number", l.Number, "err", err)
		}
	}
	for _, m := range snap.Memory {
		e.Remember(m.Caller, m.Ext, m.LastTime)
	}
	s.applyRouting(snap)
}

// syncExtensions removes the extensions the snapshot no longer has and
// updates the job number and dial string of those it changed (apply only
// adds: another node's nway_set_ext_jobnumber would otherwise never show).
func (s *Service) syncExtensions(xs []store.Extension) {
	e := s.eng
	byNum := make(map[string]store.Extension, len(xs))
	for _, x := range xs {
		byNum[x.Number] = x
	}
	for _, cur := range e.Extensions() {
		x, ok := byNum[cur.Extension]
		if !ok {
			if err := e.RemoveExtension(cur.Extension); err != nil {
				s.log.Warn("sync: remove extension", "ext", cur.Extension, "err", err)
			}
			continue
		}
		if x.JobNumber != cur.JobNumber || x.JobEnabled != cur.JobEnabled {
			if err := e.SetJobNumber(x.Number, x.JobNumber, x.JobEnabled); err != nil {
				s.log.Warn("sync: job number", "ext", x.Number, "err", err)
			}
		}
		if x.DialString != cur.DialString {
			if err := e.SetDialString(x.Number, x.DialString); err != nil {
				s.log.Warn("sync: dial string refused, the dial template reaches it", "ext", x.Number, "err", err)
				_ = e.SetDialString(x.Number, "")
			}
		}
	}
}

// syncLists drops the blacklist and VIP entries the snapshot no longer has
// (apply adds the new ones).
func (s *Service) syncLists(ls []store.ListEntry) {
	e := s.eng
	want := make(map[store.ListEntry]bool, len(ls))
	for _, l := range ls {
		want[l] = true
	}
	for _, g := range e.Groups() {
		for _, n := range g.Blacklist {
			if !want[store.ListEntry{Kind: store.Blacklist, Group: g.Number, Number: n}] {
				_ = e.SetListed(acd.Blacklist, g.Number, n, false)
			}
		}
		for _, n := range g.VIP {
			if !want[store.ListEntry{Kind: store.VIP, Group: g.Number, Number: n}] {
				_ = e.SetListed(acd.VIPList, g.Number, n, false)
			}
		}
	}
}

// Sync reconciles the configuration with a snapshot taken after other tools
// (FSGUI) or other nodes edited the tables: new groups, extensions and list
// entries appear, changed settings apply, deleted ones go, logins follow the
// table.
func (s *Service) Sync(snap store.Snapshot) {
	s.lock()
	defer s.unlock()
	s.sync(snap)
}

// SyncFrom is Sync with the snapshot fn returns, fn running under the lock
// every change is made (and journaled) under: it can add the changes still
// on their way to the store without missing one made meanwhile. ok false
// leaves everything as it is.
func (s *Service) SyncFrom(fn func() (snap store.Snapshot, ok bool)) {
	s.lock()
	defer s.unlock()
	if snap, ok := fn(); ok {
		s.sync(snap)
	}
}

func (s *Service) sync(snap store.Snapshot) {
	e := s.eng
	want := map[string]bool{}
	for _, g := range snap.Groups {
		want[g.Number] = true
	}
	for _, g := range e.Groups() {
		if !want[g.Number] {
			_ = e.RemoveGroup(g.Number)
		}
	}
	s.syncExtensions(snap.Extensions)
	s.syncLists(snap.Lists)
	s.apply(store.Snapshot{Extensions: snap.Extensions, Groups: snap.Groups, Lists: snap.Lists})
	in := map[string]map[string]bool{}
	for _, m := range snap.Memberships {
		if in[m.Ext] == nil {
			in[m.Ext] = map[string]bool{}
		}
		in[m.Ext][m.Group] = true
	}
	for _, x := range e.Extensions() {
		if len(in[x.Extension]) == 0 {
			if x.LoggedIn {
				_ = e.Logout(x.Extension)
			}
			continue
		}
		same := len(x.Groups) == len(in[x.Extension])
		for _, g := range x.Groups {
			same = same && in[x.Extension][g]
		}
		if same {
			continue
		}
		var gs []string
		for _, m := range snap.Memberships {
			if m.Ext == x.Extension {
				gs = append(gs, m.Group)
			}
		}
		_ = e.Logout(x.Extension)
		if err := e.Login(x.Extension, gs); err != nil {
			s.log.Warn("sync login", "ext", x.Extension, "err", err)
		}
	}
	s.syncRouting(snap)
}
