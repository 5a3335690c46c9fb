package api

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nwayacd/mod_nwayacd/go/acd"
)

// fakeService is an in-memory Service that records every call as
// "Method arg1 arg2 …". Extensions and groups must exist (404 otherwise);
// call control needs the extension to be in a call (409 otherwise).
type fakeService struct {
	mu      sync.Mutex
	calls   []string
	exts    map[string]*acd.ExtensionInfo
	groups  map[string]*acd.GroupInfo
	waiting []acd.WaitingInfo
	inCall  map[string]bool
	down    bool // every mutation answers ErrUnavailable
	panicOn string
	subs    map[chan []byte]bool
	record  bool
	// snapshot, when set, is what Extensions returns (copied), as a service
	// keeping a sorted table would; benchmarks use it so the fake's own
	// sorting does not dominate.
	snapshot []acd.ExtensionInfo
}

func newFake() *fakeService {
	f := &fakeService{
		exts:   map[string]*acd.ExtensionInfo{},
		groups: map[string]*acd.GroupInfo{},
		inCall: map[string]bool{},
		subs:   map[chan []byte]bool{},
		record: true,
	}
	for _, g := range []string{"110", "12345", "12320"} {
		f.groups[g] = &acd.GroupInfo{Number: g, Name: g, Mode: acd.DefaultMode, CalloutTimeout: 15 * time.Second}
	}
	for _, e := range []string{"1001", "1002", "1003"} {
		f.addExt(e)
	}
	return f
}

func (f *fakeService) addExt(e string) {
	f.exts[e] = &acd.ExtensionInfo{Extension: e, JobNumber: "J" + e, RegStatus: acd.Reged, Seat: acd.SeatBusy, CallState: acd.CallReady}
}

func (f *fakeService) log(format string, args ...any) {
	if f.record {
		f.calls = append(f.calls, strings.TrimSpace(fmt.Sprintf(format, args...)))
	}
}

// Calls returns and clears the recorded calls.
func (f *fakeService) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

func (f *fakeService) ext(e string) (*acd.ExtensionInfo, error) {
	if f.panicOn == e {
		panic("fake: asked to panic for " + e)
	}
	if f.down {
		return nil, acd.Errorf(acd.ErrUnavailable, "switch unavailable")
	}
	x := f.exts[e]
	if x == nil {
		return nil, acd.Errorf(acd.ErrUnknownExtension, "unknown extension %s", e)
	}
	return x, nil
}

func (f *fakeService) Login(ext string, groups []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("Login %s %s", ext, strings.Join(groups, ","))
	x, err := f.ext(ext)
	if err != nil {
		return err
	}
	for _, g := range groups {
		if f.groups[g] == nil {
			return acd.Errorf(acd.ErrUnknownGroup, "unknown group %s", g)
		}
	}
	if x.LoggedIn {
		return acd.Errorf(acd.ErrExists, "extension %s is already logged in", ext)
	}
	x.LoggedIn, x.Groups = true, append([]string(nil), groups...)
	for _, g := range groups {
		f.groups[g].Members = append(f.groups[g].Members, ext)
	}
	return nil
}

func (f *fakeService) Logout(ext string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("Logout %s", ext)
	x, err := f.ext(ext)
	if err != nil {
		return err
	}
	if !x.LoggedIn {
		return acd.Errorf(acd.ErrState, "extension %s is not logged in", ext)
	}
	x.LoggedIn, x.Groups = false, nil
	return nil
}

func (f *fakeService) setSeat(name, ext string, seat acd.Seat) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("%s %s", name, ext)
	x, err := f.ext(ext)
	if err != nil {
		return err
	}
	x.Seat, x.LastStatusChange = seat, time.Now()
	return nil
}

func (f *fakeService) SetReady(ext string) error { return f.setSeat("SetReady", ext, acd.SeatIdle) }
func (f *fakeService) SetBusy(ext string) error  { return f.setSeat("SetBusy", ext, acd.SeatBusy) }

func (f *fakeService) SetDialString(ext, dial string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("SetDialString %s %s", ext, dial)
	x, err := f.ext(ext)
	if err != nil {
		return err
	}
	x.DialString = dial
	return nil
}

func (f *fakeService) SetCallState(ext string, st acd.CallState) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("SetCallState %s %s", ext, st)
	x, err := f.ext(ext)
	if err != nil {
		return err
	}
	x.CallState, x.LastStatusChange = st, time.Now()
	return nil
}

func (f *fakeService) Waiting() []acd.WaitingInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("Waiting")
	if f.panicOn == "Waiting" {
		panic("fake: asked to panic in Waiting")
	}
	return append([]acd.WaitingInfo(nil), f.waiting...)
}

func (f *fakeService) Extensions() []acd.ExtensionInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("Extensions")
	if f.snapshot != nil {
		return append([]acd.ExtensionInfo(nil), f.snapshot...)
	}
	out := make([]acd.ExtensionInfo, 0, len(f.exts))
	for _, x := range f.exts {
		c := *x
		c.Groups = append([]string(nil), x.Groups...)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Extension < out[j].Extension })
	return out
}

func (f *fakeService) Extension(ext string) (acd.ExtensionInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("Extension %s", ext)
	x, err := f.ext(ext)
	if err != nil {
		return acd.ExtensionInfo{}, err
	}
	return *x, nil
}

func (f *fakeService) Groups() []acd.GroupInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("Groups")
	var out []acd.GroupInfo
	for _, g := range f.groups {
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out
}

func (f *fakeService) Group(number string) (acd.GroupInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("Group %s", number)
	g := f.groups[number]
	if g == nil {
		return acd.GroupInfo{}, acd.Errorf(acd.ErrUnknownGroup, "unknown group %s", number)
	}
	return *g, nil
}

// callOp is the shape of every call-control method: the extension whose
// call it acts on (in) must exist and be in a call.
func (f *fakeService) callOp(name, in string, args ...string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log("%s %s", name, strings.Join(args, " "))
	if _, err := f.ext(in); err != nil {
		return err
	}
	if !f.inCall[in] {
		return acd.Errorf(acd.ErrNoCall, "extension %s has no call", in)
	}
	return nil
}

func (f *fakeService) Transfer(ext, to, gw string) error {
	return f.callOp("Transfer", ext, ext, to, gw)
}
func (f *fakeService) Answer(ext string) error      { return f.callOp("Answer", ext, ext) }
func (f *fakeService) Hangup(ext string) error      { return f.callOp("Hangup", ext, ext) }
func (f *fakeService) Hold(ext string) error        { return f.callOp("Hold", ext, ext) }
func (f *fakeService) Unhold(ext string) error      { return f.callOp("Unhold", ext, ext) }
func (f *fakeService) PhoneHold(ext string) error   { return f.callOp("PhoneHold", ext, ext) }
func (f *fakeService) PhoneUnhold(ext string) error { return f.callOp("PhoneUnhold", ext, ext) }
func (f *fakeService) Eavesdrop(target, listener, gw string) error {
	return f.callOp("Eavesdrop", target, target, listener, gw)
}
func (f *fakeService) ThreeWay(invitee, inCall, gw string) error {
	return f.callOp("ThreeWay", inCall, invitee, inCall, gw)
}

func (f *fakeService) Subscribe(buf int) (<-chan []byte, func()) {
	ch := make(chan []byte, buf)
	f.mu.Lock()
	f.subs[ch] = true
	f.log("Subscribe")
	f.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			f.mu.Lock()
			delete(f.subs, ch)
			f.log("Unsubscribe")
			f.mu.Unlock()
		})
	}
}

func (f *fakeService) publish(msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		select {
		case ch <- []byte(msg):
		default:
		}
	}
}

func (f *fakeService) subscribers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}
