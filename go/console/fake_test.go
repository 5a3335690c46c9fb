package console

import (
	"strconv"
	"strings"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
	"github.com/nwayacd/mod_nwayacd/go/groupopt"
)

// call is one recorded service call: the method and its arguments as text.
type call struct {
	m    string
	args []string
}

func (c call) String() string { return c.m + "(" + strings.Join(c.args, "|") + ")" }

// fakeService is an in-memory Service recording every call. errs makes a
// method fail; panicOn makes one panic.
type fakeService struct {
	calls   []call
	errs    map[string]error
	panicOn string

	exts    []acd.ExtensionInfo
	groups  []acd.GroupInfo
	waiting []acd.WaitingInfo
	version string
	status  []string
	stJSON  []byte
}

func (f *fakeService) rec(m string, args ...string) error {
	if f.panicOn == m {
		panic("boom in " + m)
	}
	f.calls = append(f.calls, call{m, args})
	return f.errs[m]
}

func (f *fakeService) AddExtension(ext, job string) error { return f.rec("AddExtension", ext, job) }
func (f *fakeService) SetJobNumber(ext, job string, on bool) error {
	return f.rec("SetJobNumber", ext, job, strconv.FormatBool(on))
}
func (f *fakeService) RemoveExtension(ext string) error { return f.rec("RemoveExtension", ext) }
func (f *fakeService) SetRegistered(ext string, reged bool) error {
	return f.rec("SetRegistered", ext, strconv.FormatBool(reged))
}
func (f *fakeService) SetDialString(ext, dial string) error { return f.rec("SetDialString", ext, dial) }
func (f *fakeService) Extensions() []acd.ExtensionInfo {
	_ = f.rec("Extensions")
	return f.exts
}
func (f *fakeService) AddGroup(n string, m acd.Mode) error {
	return f.rec("AddGroup", n, strconv.Itoa(int(m)))
}
func (f *fakeService) SetGroupName(n, name string) error { return f.rec("SetGroupName", n, name) }
func (f *fakeService) SetGroupMode(n string, m acd.Mode) error {
	return f.rec("SetGroupMode", n, strconv.Itoa(int(m)))
}
func (f *fakeService) SetGroupOptions(n string, fn func(*acd.GroupOptions)) error {
	var o acd.GroupOptions
	for _, g := range f.groups {
		if g.Number == n {
			o = g.Options
		}
	}
	fn(&o)
	var vals []string
	for _, name := range groupopt.Names() {
		vals = append(vals, name+"="+groupopt.Get(o, name))
	}
	return f.rec("SetGroupOptions", n, strings.Join(vals, " "))
}
func (f *fakeService) SetTier(ext, g string, n int) error {
	return f.rec("SetTier", ext, g, strconv.Itoa(n))
}
func (f *fakeService) SetWeight(ext, g string, n int) error {
	return f.rec("SetWeight", ext, g, strconv.Itoa(n))
}
func (f *fakeService) SetSkill(ext, sk string, n int) error {
	return f.rec("SetSkill", ext, sk, strconv.Itoa(n))
}
func (f *fakeService) RemoveSkill(ext, sk string) error { return f.rec("RemoveSkill", ext, sk) }
func (f *fakeService) SetGroupTimeout(n string, d time.Duration) error {
	return f.rec("SetGroupTimeout", n, d.String())
}
func (f *fakeService) SetGroupGiveUp(n string, g acd.GiveUp) error {
	return f.rec("SetGroupGiveUp", n, strconv.Itoa(g.BusyRingTimes), g.MaxWait.String())
}
func (f *fakeService) RemoveGroup(n string) error { return f.rec("RemoveGroup", n) }
func (f *fakeService) SetGroupRings(n string, r acd.Rings) error {
	return f.rec("SetGroupRings", n, r.Welcome, r.Blacklist, r.Busy, r.Transfer)
}
func (f *fakeService) Groups() []acd.GroupInfo {
	_ = f.rec("Groups")
	return f.groups
}

// Group returns the stored group, or a blank one for any other number (so a
// read-modify-write command always reaches its write in the fuzz test).
func (f *fakeService) Group(n string) (acd.GroupInfo, error) {
	if err := f.rec("Group", n); err != nil {
		return acd.GroupInfo{}, err
	}
	for _, g := range f.groups {
		if g.Number == n {
			return g, nil
		}
	}
	return acd.GroupInfo{Number: n}, nil
}
func (f *fakeService) AddBlacklist(g, n string) error    { return f.rec("AddBlacklist", g, n) }
func (f *fakeService) RemoveBlacklist(g, n string) error { return f.rec("RemoveBlacklist", g, n) }
func (f *fakeService) AddVIP(g, n string) error          { return f.rec("AddVIP", g, n) }
func (f *fakeService) RemoveVIP(g, n string) error       { return f.rec("RemoveVIP", g, n) }
func (f *fakeService) Login(ext string, groups []string) error {
	return f.rec("Login", ext, strings.Join(groups, ","))
}
func (f *fakeService) Logout(ext string) error   { return f.rec("Logout", ext) }
func (f *fakeService) SetReady(ext string) error { return f.rec("SetReady", ext) }
func (f *fakeService) SetBusy(ext string) error  { return f.rec("SetBusy", ext) }
func (f *fakeService) SetCallState(ext string, st acd.CallState) error {
	return f.rec("SetCallState", ext, string(st))
}
func (f *fakeService) Waiting() []acd.WaitingInfo {
	_ = f.rec("Waiting")
	return f.waiting
}
func (f *fakeService) TransferUUID(uuid, to string) error { return f.rec("TransferUUID", uuid, to) }
func (f *fakeService) HoldUUID(uuid string) error         { return f.rec("HoldUUID", uuid) }
func (f *fakeService) UnholdUUID(uuid string) error       { return f.rec("UnholdUUID", uuid) }
func (f *fakeService) ThreeWayUUID(uuid, number, gw string) error {
	return f.rec("ThreeWayUUID", uuid, number, gw)
}
func (f *fakeService) Version() string {
	_ = f.rec("Version")
	return f.version
}
func (f *fakeService) StatusLines() []string {
	_ = f.rec("StatusLines")
	return f.status
}
func (f *fakeService) StatusJSON() []byte {
	_ = f.rec("StatusJSON")
	return f.stJSON
}
func (f *fakeService) Reload() error { return f.rec("Reload") }

// callList renders the recorded calls for comparison.
func (f *fakeService) callList() []string {
	out := make([]string, len(f.calls))
	for i, c := range f.calls {
		out[i] = c.String()
	}
	return out
}
