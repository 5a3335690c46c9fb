package acd

import (
	"github.com/nwayacd/mod_nwayacd/go/ident"

	"slices"
	"time"
)

// MaxNumberLen is ident.MaxNumber (the varchar(50) number columns).
const MaxNumberLen = ident.MaxNumber

// ValidNumber checks an extension, group, job or phone number (kind names
// it): the one definition in package ident.
func ValidNumber(kind, s string) error {
	if err := ident.Number(kind, s); err != nil {
		return Errorf(ErrBadArgument, "%v", err)
	}
	return nil
}

func (e *Engine) agent(ext string) (*agent, error) {
	if err := ValidNumber("extension", ext); err != nil {
		return nil, err
	}
	a := e.agents[ext]
	if a == nil {
		return nil, Errorf(ErrUnknownExtension, "unknown extension %s", ext)
	}
	return a, nil
}

func (e *Engine) group(num string) (*group, error) {
	if err := ValidNumber("group", num); err != nil {
		return nil, err
	}
	g := e.groups[num]
	if g == nil {
		return nil, Errorf(ErrUnknownGroup, "unknown group %s", num)
	}
	return g, nil
}

// ExtensionSpec is an extension as stored.
type ExtensionSpec struct {
	Extension  string
	JobNumber  string
	JobEnabled bool
	DialString string
}

// AddExtension creates an extension; it exists already → ErrExists.
func (e *Engine) AddExtension(s ExtensionSpec) error {
	if err := ValidNumber("extension", s.Extension); err != nil {
		return err
	}
	if s.JobNumber != "" {
		if err := ValidNumber("job number", s.JobNumber); err != nil {
			return err
		}
	}
	if s.DialString != "" {
		if err := ident.Dial(s.DialString); err != nil {
			return Errorf(ErrBadArgument, "%v", err)
		}
	}
	if e.agents[s.Extension] != nil {
		return Errorf(ErrExists, "extension %s exists", s.Extension)
	}
	e.agents[s.Extension] = &agent{
		ext: s.Extension, job: s.JobNumber, jobOn: s.JobEnabled, dial: s.DialString,
		reg: Unreg, seat: SeatIdle, state: CallReady, changed: e.now(),
	}
	return nil
}

// SetJobNumber sets an extension's job number and whether it may take calls.
func (e *Engine) SetJobNumber(ext, job string, enabled bool) error {
	a, err := e.agent(ext)
	if err != nil {
		return err
	}
	if job != "" {
		if err := ValidNumber("job number", job); err != nil {
			return err
		}
	}
	a.job, a.jobOn = job, enabled
	if a.idle() {
		e.dispatchAgent(a)
	}
	return nil
}

// SetDialString sets how the extension is reached ("" = the node's template).
func (e *Engine) SetDialString(ext, dial string) error {
	a, err := e.agent(ext)
	if err != nil {
		return err
	}
	if dial != "" {
		if err := ident.Dial(dial); err != nil {
			return Errorf(ErrBadArgument, "%v", err)
		}
	}
	a.dial = dial
	return nil
}

// RemoveExtension logs the extension out and forgets it. A call it is
// talking on continues; the agent simply no longer exists afterwards.
func (e *Engine) RemoveExtension(ext string) error {
	a, err := e.agent(ext)
	if err != nil {
		return err
	}
	e.logout(a)
	if c := a.call; c != nil && c.phase == phaseOffering {
		e.takeBackAgent(c, a)
	}
	delete(e.agents, ext)
	return nil
}

// SetRegistered records a SIP registration change.
func (e *Engine) SetRegistered(ext string, reged bool) error {
	a, err := e.agent(ext)
	if err != nil {
		return err
	}
	r := Unreg
	if reged {
		r = Reged
	}
	if a.reg == r {
		return nil
	}
	a.reg = r
	e.agentChanged(a, string(r))
	e.dispatchAgent(a)
	return nil
}

// GroupSpec is a group as stored.
type GroupSpec struct {
	Number         string
	Name           string
	Mode           Mode
	CalloutTimeout time.Duration // 0 = the node default
	CurrentExt     string
	Rings          Rings
	GiveUp         *GiveUp // nil = the node default
	Blacklist      []string
	VIP            []string
	Options        GroupOptions // strategies, tiers, skills and queue features
}

// AddGroup creates a group; it exists already → ErrExists.
func (e *Engine) AddGroup(s GroupSpec) error {
	if err := ValidNumber("group", s.Number); err != nil {
		return err
	}
	if !s.Mode.Valid() {
		return Errorf(ErrBadArgument, "mode %d out of range (%s)", int(s.Mode), ModeHelp)
	}
	if e.groups[s.Number] != nil {
		return Errorf(ErrExists, "group %s exists", s.Number)
	}
	if s.CalloutTimeout < 0 {
		return Errorf(ErrBadArgument, "negative callout timeout")
	}
	g := &group{num: s.Number, name: s.Name, mode: s.Mode, timeout: s.CalloutTimeout, cursor: s.CurrentExt,
		rings: s.Rings, giveUp: e.cfg.DefaultGiveUp, black: map[string]struct{}{}, vip: map[string]struct{}{}, pos: map[string]int{},
		maxTier: 1}
	if err := e.setOptions(g, s.Options); err != nil {
		return err
	}
	if g.timeout == 0 {
		g.timeout = e.cfg.DefaultTimeout
	}
	if g.name == "" {
		g.name = s.Number
	}
	if s.GiveUp != nil {
		g.giveUp = *s.GiveUp
	}
	for _, n := range s.Blacklist {
		g.black[n] = struct{}{}
	}
	for _, n := range s.VIP {
		g.vip[n] = struct{}{}
	}
	e.groups[s.Number] = g
	return nil
}

// UpdateGroup changes a group's settings, keeping members and waiting calls.
func (e *Engine) UpdateGroup(num string, fn func(*GroupSpec)) error {
	g, err := e.group(num)
	if err != nil {
		return err
	}
	gu := g.giveUp
	s := GroupSpec{Number: g.num, Name: g.name, Mode: g.mode, CalloutTimeout: g.timeout, CurrentExt: g.cursor, Rings: g.rings, GiveUp: &gu,
		Options: g.opt.clone()}
	fn(&s)
	if !s.Mode.Valid() {
		return Errorf(ErrBadArgument, "mode %d out of range (%s)", int(s.Mode), ModeHelp)
	}
	if s.CalloutTimeout <= 0 {
		return Errorf(ErrBadArgument, "callout timeout must be positive")
	}
	if s.GiveUp != nil && (s.GiveUp.BusyRingTimes < 0 || s.GiveUp.MaxWait < 0) {
		return Errorf(ErrBadArgument, "negative give-up setting")
	}
	if err := e.setOptions(g, s.Options); err != nil {
		return err
	}
	g.name, g.mode, g.timeout, g.cursor, g.rings = s.Name, s.Mode, s.CalloutTimeout, s.CurrentExt, s.Rings
	if s.GiveUp != nil {
		g.giveUp = *s.GiveUp
	}
	e.reexamineGroup(g) // the new settings may let waiting calls through, or need timers
	return nil
}

// RemoveGroup deletes a group: members are logged out of it and waiting
// calls are released with ResultNoGroup.
func (e *Engine) RemoveGroup(num string) error {
	g, err := e.group(num)
	if err != nil {
		return err
	}
	for _, a := range slices.Clone(g.members) {
		e.leaveGroup(a, g)
	}
	for _, c := range e.calls {
		if c.g == g && (c.phase == phaseWelcome || c.phase == phaseWaiting || c.phase == phaseOffering || c.phase == phaseCallback) {
			e.giveUp(c, ResultNoGroup)
			if c.left { // a callback without a session: nobody else will forget it
				e.forget(c)
			}
		}
	}
	delete(e.groups, num)
	return nil
}

// ListKind selects a per-group number list.
type ListKind uint8

const (
	Blacklist ListKind = iota + 1
	VIPList
)

// SetListed adds (on) or removes a number from a group's blacklist or VIP list.
func (e *Engine) SetListed(kind ListKind, groupNum, number string, on bool) error {
	g, err := e.group(groupNum)
	if err != nil {
		return err
	}
	if err := ValidNumber("number", number); err != nil {
		return err
	}
	m := g.black
	if kind == VIPList {
		m = g.vip
	}
	if on {
		m[number] = struct{}{}
	} else {
		delete(m, number) // idempotent: removing an unlisted number is not an error
	}
	return nil
}

// Remember loads caller↔agent memory (at start, from the store).
func (e *Engine) Remember(caller, ext string, at time.Time) {
	if m, ok := e.memory[caller]; !ok || m.at.Before(at) {
		e.memory[caller] = memo{ext: ext, at: at}
	}
}
