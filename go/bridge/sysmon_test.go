//go:build linux

package bridge

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

const schedFIFO = 1

func setPolicy(tid, policy, prio int) error {
	param := struct{ prio int32 }{int32(prio)}
	if _, _, e := syscall.RawSyscall(syscall.SYS_SCHED_SETSCHEDULER, uintptr(tid), uintptr(policy), uintptr(unsafe.Pointer(&param))); e != 0 {
		return e
	}
	return nil
}

func policyOf(tid int) int {
	p, _, _ := syscall.RawSyscall(syscall.SYS_SCHED_GETSCHEDULER, uintptr(tid), 0, 0)
	return int(p)
}

func threads(t *testing.T) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	var tids []int
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, n)
		}
	}
	return tids
}

// As in FreeSWITCH with NWAYACD_GO_THREADS=realtime, every thread of the
// process is SCHED_FIFO; with one processor busy, sysmon naps in
// nanosleep(2). normalSysmon must find that thread (and only it) and make it
// SCHED_OTHER with the slack asked for.
func TestNormalSysmon(t *testing.T) {
	if err := setPolicy(0, schedFIFO, 1); err != nil {
		t.Skipf("this process may not run SCHED_FIFO (%v): nothing to find", err)
	}
	t.Cleanup(func() {
		for _, tid := range threads(t) {
			_ = setPolicy(tid, 0, 0)
		}
	})
	for _, tid := range threads(t) {
		if err := setPolicy(tid, schedFIFO, 1); err != nil {
			t.Fatalf("thread %d: %v", tid, err)
		}
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() { // keeps a processor busy, as calls keep the module's
		for {
			select {
			case <-stop:
				return
			default:
				for i := 0; i < 1e5; i++ {
					_ = i
				}
				time.Sleep(time.Millisecond) // leaves the core to others now and then
			}
		}
	}()
	type found struct {
		tid int
		err error
	}
	got := make(chan found, 1)
	go func() { tid, err := normalSysmon(20*time.Millisecond, 3000); got <- found{tid, err} }()
	var f found
	select {
	case f = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("sysmon not found in 10 s")
	}
	if f.err != nil {
		t.Fatalf("thread %d: %v", f.tid, f.err)
	}
	if p := policyOf(f.tid); p != 0 {
		t.Errorf("thread %d policy %d after normalSysmon, want SCHED_OTHER", f.tid, p)
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(f.tid) + "/timerslack_ns")
	if err != nil {
		t.Fatal(err)
	}
	if s := strings.TrimSpace(string(b)); s != "3000000" {
		t.Errorf("thread %d timer slack %s ns, want 3000000", f.tid, s)
	}
	// the rest stayed realtime: only sysmon was made normal
	normal := 0
	for _, tid := range threads(t) {
		if tid != f.tid && policyOf(tid) != schedFIFO {
			normal++
		}
	}
	if normal != 0 {
		t.Errorf("%d other threads left realtime", normal)
	}
}

// A thread born of the normal sysmon carries its slack and policy: it gets
// the switch's (realtime) scheduling back; a normal thread with another
// slack is left alone.
func TestSysmonHeirs(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := setPolicy(0, schedFIFO, 1); err != nil {
		t.Skipf("this process may not run SCHED_FIFO (%v)", err)
	}
	schedCapture() // this thread stands for the switch's
	defer func() {
		_ = setPolicy(0, 0, 0)
		schedCapture() // later tests see a switch of normal threads again
	}()
	type helper struct {
		tid  chan int
		done chan struct{}
	}
	start := func(slackNS string) (int, chan struct{}) {
		h := helper{make(chan int), make(chan struct{})}
		go func() {
			runtime.LockOSThread() // ends with the goroutine: the thread goes too
			h.tid <- syscall.Gettid()
			<-h.done
		}()
		tid := <-h.tid
		if err := setPolicy(tid, 0, 0); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("/proc/"+strconv.Itoa(tid)+"/timerslack_ns", []byte(slackNS), 0); err != nil {
			t.Fatal(err)
		}
		return tid, h.done
	}
	heir, done1 := start("3100000") // not TestNormalSysmon's 3 ms: its sysmon keeps that
	defer close(done1)
	other, done2 := start("2000000")
	defer close(done2)
	if n := sysmonHeirs(0, 3100); n != 1 {
		t.Errorf("%d threads made realtime, want 1", n)
	}
	if p := policyOf(heir); p != schedFIFO {
		t.Errorf("heir %d policy %d, want SCHED_FIFO", heir, p)
	}
	if p := policyOf(other); p != 0 {
		t.Errorf("thread %d with another slack policy %d, want SCHED_OTHER", other, p)
	}
}

func TestSysmonSlackUS(t *testing.T) {
	for v, want := range map[string]int{"": 4000, "x": 4000, "-1": 4000, "10001": 4000, "0": 50, "1": 1, "10000": 10000, "2500": 2500} {
		if got := sysmonSlackUS(v); got != want {
			t.Errorf("sysmonSlackUS(%q) = %d, want %d", v, got, want)
		}
	}
}
