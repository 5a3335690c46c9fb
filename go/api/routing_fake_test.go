package api

import (
	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/groupopt"
)

// The fake's routing settings (RoutingService): recorded, and kept where
// the listings read them.

func (f *fakeService) SetGroupMode(number string, m acd.Mode) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("SetGroupMode %s %d", number, int(m))
	g := f.groups[number]
	if g == nil {
		return acd.Errorf(acd.ErrUnknownGroup, "unknown group %s", number)
	}
	g.Mode = m
	return nil
}

func (f *fakeService) SetGroupOptions(number string, fn func(*acd.GroupOptions)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	g := f.groups[number]
	if g == nil {
		f.log("SetGroupOptions %s", number)
		return acd.Errorf(acd.ErrUnknownGroup, "unknown group %s", number)
	}
	o := g.Options
	fn(&o)
	if o.ExitKey != "" && o.ExitKey == o.CallbackKey { // as the core refuses it
		return acd.Errorf(acd.ErrBadArgument, "the exit and callback keys are both %q", o.ExitKey)
	}
	g.Options = o
	var s string
	for _, n := range groupopt.Names() {
		if v := groupopt.Get(o, n); v != "-" && v != "0" && v != "false" {
			s += " " + n + "=" + v
		}
	}
	f.log("SetGroupOptions %s%s", number, s)
	return nil
}

func (f *fakeService) member(ext, group string, fn func(*acd.Membership)) error {
	if _, err := f.ext(ext); err != nil {
		return err
	}
	g := f.groups[group]
	if g == nil {
		return acd.Errorf(acd.ErrUnknownGroup, "unknown group %s", group)
	}
	for i := range g.Memberships {
		if g.Memberships[i].Extension == ext {
			fn(&g.Memberships[i])
			return nil
		}
	}
	m := acd.Membership{Extension: ext, Tier: 1, Weight: 1}
	fn(&m)
	g.Memberships = append(g.Memberships, m)
	return nil
}

func (f *fakeService) SetTier(ext, group string, tier int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("SetTier %s %s %d", ext, group, tier)
	return f.member(ext, group, func(m *acd.Membership) { m.Tier = tier })
}

func (f *fakeService) SetWeight(ext, group string, weight int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("SetWeight %s %s %d", ext, group, weight)
	return f.member(ext, group, func(m *acd.Membership) { m.Weight = weight })
}

func (f *fakeService) SetSkill(ext, skill string, level int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("SetSkill %s %s %d", ext, skill, level)
	x, err := f.ext(ext)
	if err != nil {
		return err
	}
	for i := range x.Skills {
		if x.Skills[i].Name == skill {
			x.Skills[i].Level = level
			return nil
		}
	}
	x.Skills = append(x.Skills, acd.SkillReq{Name: skill, Level: level})
	return nil
}

func (f *fakeService) RemoveSkill(ext, skill string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("RemoveSkill %s %s", ext, skill)
	x, err := f.ext(ext)
	if err != nil {
		return err
	}
	for i := range x.Skills {
		if x.Skills[i].Name == skill {
			x.Skills = append(x.Skills[:i], x.Skills[i+1:]...)
			break
		}
	}
	return nil
}
