package bridge

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#define NWAYACD_NO_PROTOTYPES
#include <stdlib.h>
#include <string.h>
#include "nwayacd.h"
#include "ring.h"

// Go cannot call C function pointers; these do it for it.
static int nw_call_api(nwayacd_host_t *h, const char *cmd, const char *args, char **out)
{
	*out = NULL;
	if (!h->api_execute) return -1;
	return h->api_execute(cmd, args, out);
}

static void nw_call_log(nwayacd_host_t *h, int level, const char *file, int line, const char *msg)
{
	if (h->log) h->log(level, file, line, msg);
}

static int nw_call_fire(nwayacd_host_t *h, const char *subclass, const char *const *headers, int n, const char *body)
{
	if (!h->fire_event) return -1;
	return h->fire_event(subclass, headers, n, body);
}

// buf holds NUL-terminated strings at off[]: the subclass, n header names
// and values in turn, then the body ("" for none). The host copies them.
static int nw_call_fire_packed(nwayacd_host_t *h, const char *buf, const int *off, int n)
{
	const char *stack[64], **kv = stack, *body;
	int i, rc;

	if (!h->fire_event || n < 0) return -1;
	if (2 * n > 64 && !(kv = malloc(sizeof(*kv) * 2 * n))) return -1;
	for (i = 0; i < 2 * n; i++) kv[i] = buf + off[1 + i];
	body = buf + off[1 + 2 * n];
	rc = h->fire_event(buf + off[0], kv, n, *body ? body : NULL);
	if (kv != stack) free(kv);
	return rc;
}

static int nw_call_wake(nwayacd_host_t *h, const char *uuid)
{
	if (!h->wake) return -1;
	return h->wake(uuid);
}

static int nw_call_offer(nwayacd_host_t *h, const char *uuid, const nwayacd_directive_t *d)
{
	if (!h->offer) return -1;
	return h->offer(uuid, d);
}

void nwayacd_channel_event(nwayacd_event_t *ev); // ring.c
nwayacd_event_t *nwayacd_event_alloc(size_t size); // ring.c

static const char *nw_kv(const char *const *kv, int i)
{
	return kv[i] ? kv[i] : "";
}
*/
import "C"

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/nwayacd/mod_nwayacd/go/session"
)

func init() {
	// The Go copies of the header's sizes must match the C ones.
	var d C.nwayacd_directive_t
	if len(d.file) != fileLen || len(d.dial) != dialLen || len(d.agent) != nameLen ||
		len(d.caller_number) != nameLen || len(d.cause) != causeLen ||
		len(d.var_name) != maxVars || len(d.var_name[0]) != varNameLen || len(d.var_value[0]) != varValueLen ||
		C.NWAYACD_EF_COUNT != efCount ||
		C.NWAYACD_KIND_QUEUE != C.int(session.Queue) || C.NWAYACD_KIND_CALLOUT != C.int(session.Callout) ||
		C.NWAYACD_KIND_DIRECT != C.int(session.Direct) {
		panic("bridge: nwayacd.h and directive.go disagree")
	}
}

var events = newEventQueue(cRing{}, decodeEvent)

// cRing is the C ring of ring.c.
type cRing struct{}

var ringInit sync.Once

func (cRing) setOpen(open bool) {
	ringInit.Do(func() {
		if C.nw_ring_init() < 0 {
			panic("bridge: eventfd for the event ring failed")
		}
	})
	v := C.int(0)
	if open {
		v = 1
	}
	C.nw_ring_set_open(v)
}

func (cRing) park(timed bool) bool {
	t := C.int(0)
	if timed {
		t = 1
	}
	return C.nw_ring_park(t) != 0
}
func (cRing) kick()                 { C.nw_ring_kick() }
func (cRing) setUrgent(mask uint64) { C.nw_ring_set_urgent(C.uint64_t(mask)) }

func (cRing) wait(deadline time.Time, fd int) (kicked, fdReady bool) {
	ns := int64(-1)
	if !deadline.IsZero() {
		ns = max(0, int64(time.Until(deadline)))
	}
	woke := C.nw_ring_wait(C.int64_t(ns), C.int(fd))
	fdReady = woke&C.NW_WOKE_SIDE != 0
	if woke&C.NW_WOKE_KICK != 0 {
		return true, fdReady
	}
	// The deadline came, or fd woke the reader: either way it is awake
	// again. A push that kicked just then left a write on the eventfd (or
	// is about to): take it now, or the next park would end at once for
	// nothing.
	if C.nw_ring_unpark() == 0 {
		C.nw_ring_wait(-1, -1)
	}
	return false, fdReady
}

// ownThread locks the reader to its thread for good and gives that thread
// the scheduling of the thread that started the module: one of the
// switch's, realtime in FreeSWITCH. A freed agent then reaches a waiting
// call at the switch's priority, not after Go's normal threads get a turn,
// which under load they may not for hundreds of milliseconds. release
// gives the thread back what it had, as the reader ends (Go then ends the
// thread, or parks it for good if it is its first).
func (cRing) ownThread() (release func()) {
	runtime.LockOSThread()
	if err := C.nw_sched_apply(); err != 0 {
		logf(LogWarning, "event reader: could not take the switch's realtime scheduling: %v", syscall.Errno(err))
	}
	return func() { C.nw_sched_release() }
}

// ringBuf is C memory the reader pops into and frees from: cgo's pointer
// check walks a whole Go array handed to C on every call, and the reader
// pops in a spin (perf had runtime.cgoCheckArg as the module's top symbol).
// Only the reader's goroutine uses it.
var ringBuf = unsafe.Slice((*unsafe.Pointer)(C.calloc(batchSize, C.size_t(unsafe.Sizeof(unsafe.Pointer(nil))))), batchSize)

func (cRing) pop(buf []unsafe.Pointer) int {
	n := int(C.nw_ring_pop(&ringBuf[0], C.int(min(len(buf), len(ringBuf)))))
	return copy(buf, ringBuf[:n])
}

func (cRing) free(buf []unsafe.Pointer) {
	for len(buf) > 0 {
		n := copy(ringBuf, buf)
		C.nw_free_batch(&ringBuf[0], C.int(n))
		buf = buf[n:]
	}
}

func (cRing) dropped() uint64 { return uint64(C.nw_ring_dropped()) }

// poolIdle is how many blocks of the event pool are free.
func poolIdle() int { return int(C.nw_pool_idle()) }

// pushTestEvent hands a real C event block (kind, Unique-ID uuid, other
// fields empty) from nwayacd_event_alloc to nwayacd_channel_event, as the
// shim does; for tests. It returns whether the block came from the pool.
func pushTestEvent(kind int, uuid string) (pooled bool) {
	n := C.size_t(unsafe.Sizeof(C.nwayacd_event_t{})) + C.size_t(len(uuid)+1) + efCount
	ev := C.nwayacd_event_alloc(n)
	pooled = C.nw_pool_has(unsafe.Pointer(ev)) != 0
	ev.kind = C.int(kind)
	p := unsafe.Add(unsafe.Pointer(ev), unsafe.Sizeof(C.nwayacd_event_t{}))
	for i := 0; i < efCount; i++ {
		s := ""
		if i == efUUID {
			s = uuid
		}
		b := unsafe.Slice((*byte)(p), len(s)+1)
		copy(b, s)
		b[len(s)] = 0
		ev.f[i], ev.len[i] = (*C.char)(p), C.uint32_t(len(s))
		p = unsafe.Add(p, len(s)+1)
	}
	C.nwayacd_channel_event(ev)
	return pooled
}

func gostr(p *C.char) string {
	if p == nil {
		return ""
	}
	return C.GoString(p)
}

// kvMap copies nkv borrowed key/value pairs.
func kvMap(kv unsafe.Pointer, nkv int) map[string]string {
	m := make(map[string]string, nkv)
	if kv == nil {
		return m
	}
	arr := (**C.char)(kv)
	for i := 0; i < nkv; i++ {
		k := C.GoString(C.nw_kv(arr, C.int(2*i)))
		m[k] = C.GoString(C.nw_kv(arr, C.int(2*i+1)))
	}
	return m
}

// cHost builds the Host that calls through the C callback table (copied).
func cHost(p unsafe.Pointer) *Host {
	tbl := (*C.nwayacd_host_t)(C.malloc(C.size_t(unsafe.Sizeof(C.nwayacd_host_t{}))))
	*tbl = *(*C.nwayacd_host_t)(p)
	// tbl is C memory kept for the process's life (a few bytes per load).
	return &Host{f: HostFuncs{
		API: func(cmd, args string) (string, bool) {
			ccmd, cargs := C.CString(cmd), C.CString(args)
			defer C.free(unsafe.Pointer(ccmd))
			defer C.free(unsafe.Pointer(cargs))
			var out *C.char
			rc := C.nw_call_api(tbl, ccmd, cargs, &out)
			s := ""
			if out != nil {
				s = C.GoString(out)
				C.free(unsafe.Pointer(out))
			}
			return s, rc == 0
		},
		Log: func(level int, file string, line int, msg string) {
			cfile, cmsg := C.CString(file), C.CString(msg)
			C.nw_call_log(tbl, C.int(level), cfile, C.int(line), cmsg)
			C.free(unsafe.Pointer(cfile))
			C.free(unsafe.Pointer(cmsg))
		},
		FireEvent: func(subclass string, headers [][2]string, body string) bool {
			return firePacked(tbl, subclass, headers, body)
		},
		Wake: func(uuid string) bool {
			cuuid := C.CString(uuid)
			rc := C.nw_call_wake(tbl, cuuid)
			C.free(unsafe.Pointer(cuuid))
			return rc == 0
		},
		Offer: func(uuid string, d session.Directive) bool {
			cd := (*C.nwayacd_directive_t)(C.calloc(1, C.size_t(unsafe.Sizeof(C.nwayacd_directive_t{}))))
			if cd == nil {
				return false
			}
			fill(cd, d)
			cuuid := C.CString(uuid)
			rc := C.nw_call_offer(tbl, cuuid, cd)
			C.free(unsafe.Pointer(cuuid))
			C.free(unsafe.Pointer(cd))
			return rc == 0
		},
		Feed: events.attach,
	}}
}

// firePacked hands an event's strings to C in one Go buffer: one call into
// C per event rather than an allocation and a free per string, each a call
// of its own (nwayacd::info fires one event per published message). A NUL
// inside a string ends it there, as C.CString's copy would have.
func firePacked(tbl *C.nwayacd_host_t, subclass string, headers [][2]string, body string) bool {
	size := len(subclass) + len(body) + 2
	for _, kv := range headers {
		size += len(kv[0]) + len(kv[1]) + 2
	}
	buf := make([]byte, 0, size)
	off := make([]C.int, 0, 2*len(headers)+2)
	add := func(s string) {
		off = append(off, C.int(len(buf)))
		buf = append(append(buf, s...), 0)
	}
	add(subclass)
	for _, kv := range headers {
		add(kv[0])
		add(kv[1])
	}
	add(body)
	return C.nw_call_fire_packed(tbl, (*C.char)(unsafe.Pointer(&buf[0])), &off[0], C.int(len(headers))) == 0
}

// Start implements nwayacd_start.
func Start(hostTable, kv unsafe.Pointer, nkv int, errBuf unsafe.Pointer, errLen int) (rc int) {
	fail := func(msg string) int {
		if errBuf != nil && errLen > 0 {
			b := unsafe.Slice((*byte)(errBuf), errLen)
			n := copy(b[:errLen-1], msg)
			b[n] = 0
		}
		return -1
	}
	defer recovered("start", "", func(any) { rc = fail("internal error") })
	if hostTable == nil {
		return fail("no host table")
	}
	if v := (*C.nwayacd_host_t)(hostTable).abi_version; v != C.NWAYACD_ABI_VERSION {
		return fail(fmt.Sprintf("host ABI %d, module ABI %d", int(v), C.NWAYACD_ABI_VERSION))
	}
	schedCapture() // on the switch's thread that loads the module
	if err := start(kvMap(kv, nkv), cHost(hostTable)); err != nil {
		return fail(err.Error())
	}
	// only where the shim kept Go's threads realtime (a switch that is not
	// realtime itself has no realtime sysmon to find)
	if os.Getenv("NWAYACD_GO_THREADS") == "realtime" && C.nw_sched_switch_realtime() != 0 {
		sysmonOnce.Do(func() { go keepSysmonNormal() })
	}
	return 0
}

// keepSysmonNormal makes sysmon normal once it is found, then every 10 s
// gives the threads born of it the switch's scheduling back.
func keepSysmonNormal() {
	defer recovered("sysmon", "", nil)
	slack := sysmonSlackUS(os.Getenv("NWAYACD_GO_TIMER_SLACK_US"))
	tid, err := normalSysmon(2*time.Second, slack)
	if err != nil {
		logf(LogWarning, "Go's scheduler monitor (thread %d) stays realtime: %v", tid, err)
		return
	}
	logf(LogNotice, "Go's scheduler monitor (thread %d): normal scheduling, timer slack %d us", tid, slack)
	for {
		time.Sleep(10 * time.Second)
		if n := sysmonHeirs(tid, slack); n > 0 {
			logf(LogInfo, "%d of Go's threads born of its scheduler monitor made realtime again", n)
		}
	}
}

// With NWAYACD_GO_THREADS=realtime (the shim's initialiser) Go's threads
// keep the switch's realtime policy, sysmon's too, whose 20 µs naps while
// any processor is busy or in a call (the event reader waits in one) then
// get no timer slack: ~2,500 wakes a second, 5% of FreeSWITCH's CPU at 20
// calls/s. Once per process (the runtime outlives an unload) it is found
// where it sleeps and made normal again, with Go's slack. Only it: the
// processors it takes back are still handed to realtime threads.
var sysmonOnce sync.Once

// normalSysmon looks for sysmon every look until three looks agree, then
// makes its thread SCHED_OTHER with slackUS of timer slack.
func normalSysmon(look time.Duration, slackUS int) (tid int, err error) {
	seen := 0
	for seen < 3 {
		time.Sleep(look)
		switch t := int(C.nw_sysmon_find()); {
		case t == 0: // idle: sysmon sleeps on a futex then
		case t == tid:
			seen++
		default:
			tid, seen = t, 1
		}
	}
	if e := C.nw_sysmon_normal(C.int(tid), C.long(slackUS)*1000); e != 0 {
		return tid, syscall.Errno(e)
	}
	return tid, nil
}

// sysmonHeirs gives threads born of the normal sysmon the switch's
// scheduling back (nw_sysmon_heirs).
func sysmonHeirs(sysmon, slackUS int) int {
	return int(C.nw_sysmon_heirs(C.int(sysmon), C.long(slackUS)*1000))
}

// schedCapture records the calling thread's scheduling as the switch's.
func schedCapture() { C.nw_sched_capture() }

// sysmonSlackUS is the slack the shim gives Go's threads
// (NWAYACD_GO_TIMER_SLACK_US, 0..10000 µs, else 4000); 0 is the kernel's
// 50 µs.
func sysmonSlackUS(v string) int {
	us, err := strconv.Atoi(v)
	if err != nil || us < 0 || us > 10000 {
		return 4000
	}
	if us == 0 {
		return 50
	}
	return us
}

// Stop implements nwayacd_stop.
func Stop() { defer recovered("stop", "", nil); stop() }

// API implements nwayacd_api: the reply is malloc'd for the host to free.
func API(name, args unsafe.Pointer) (reply unsafe.Pointer) {
	defer recovered("api", "", func(any) { reply = unsafe.Pointer(C.CString("-ERR internal error")) })
	return unsafe.Pointer(C.CString(command(gostr((*C.char)(name)), gostr((*C.char)(args)))))
}

// Names implements nwayacd_names: the reply is malloc'd for the host to free.
func Names(list unsafe.Pointer) (reply unsafe.Pointer) {
	defer recovered("names", "", func(any) { reply = unsafe.Pointer(C.CString("")) })
	return unsafe.Pointer(C.CString(names(gostr((*C.char)(list)))))
}

// Reload implements nwayacd_reload.
func Reload(kv unsafe.Pointer, nkv int) (reply unsafe.Pointer) {
	defer recovered("reload", "", func(any) { reply = unsafe.Pointer(C.CString("-ERR internal error")) })
	return unsafe.Pointer(C.CString(reload(kvMap(kv, nkv))))
}

// Enter implements nwayacd_enter.
func Enter(call, out unsafe.Pointer) int {
	if out == nil {
		return -1
	}
	defer recovered("enter", "", func(any) { fill((*C.nwayacd_directive_t)(out), hangupOnPanic) })
	var c session.Call
	if call != nil {
		cc := (*C.nwayacd_call_t)(call)
		c = session.Call{
			Kind:         session.Kind(cc.kind),
			UUID:         gostr(cc.uuid),
			Group:        gostr(cc.group),
			Target:       gostr(cc.target),
			Gateway:      gostr(cc.gateway),
			CallerNumber: gostr(cc.caller_number),
			CallerName:   gostr(cc.caller_name),
			DestNumber:   gostr(cc.dest_number),
			Level:        gostr(cc.level),
			Skills:       gostr(cc.skills),
		}
		c.CPUBusy = cpuBusy(float64(cc.idle_cpu))
	}
	fill((*C.nwayacd_directive_t)(out), enter(c))
	return 0
}

// Next implements nwayacd_next.
func Next(uuid, out unsafe.Pointer) int {
	if out == nil {
		return -1
	}
	defer recovered("next", "", func(any) { fill((*C.nwayacd_directive_t)(out), hangupOnPanic) })
	fill((*C.nwayacd_directive_t)(out), next(gostr((*C.char)(uuid))))
	return 0
}

// cpuBusy turns the switch's idle CPU (switch_core_idle_cpu; < 0 when not
// known) into the busy percent Go carries, where 0 means not known: a
// wholly idle switch is 0.001% busy, not unknown.
func cpuBusy(idle float64) float64 {
	if !(idle >= 0 && idle <= 100) { // NaN too
		return 0
	}
	return max(100-idle, 0.001)
}

// OfferResult implements nwayacd_offer_result.
func OfferResult(p unsafe.Pointer) {
	if p == nil {
		return
	}
	defer recovered("offer_result", "", nil)
	r := (*C.nwayacd_offer_result_t)(p)
	cause := gostr(r.cause)
	offerResult(session.OfferResult{
		UUID:      gostr(r.uuid),
		Agent:     gostr(r.agent),
		AgentUUID: gostr(r.agent_uuid),
		Outcome:   outcome(r.answered != 0, r.caller_gone != 0, cause),
		Cause:     cause,
		CPUBusy:   cpuBusy(float64(r.idle_cpu)),
	})
}

// Transferring implements nwayacd_transferring.
func Transferring(uuid, dest unsafe.Pointer) {
	defer recovered("transferring", "", nil)
	transferring(gostr((*C.char)(uuid)), gostr((*C.char)(dest)))
}

// BridgeEnded implements nwayacd_bridge_ended.
func BridgeEnded(uuid unsafe.Pointer) {
	defer recovered("bridge_ended", "", nil)
	bridgeEnded(gostr((*C.char)(uuid)))
}

// Leave implements nwayacd_leave.
func Leave(uuid unsafe.Pointer) {
	defer recovered("leave", "", nil)
	leave(gostr((*C.char)(uuid)))
}

func decodeEvent(p unsafe.Pointer) *session.ChannelEvent {
	ev := (*C.nwayacd_event_t)(p)
	var f [efCount]string
	for i := range f {
		if ev.f[i] != nil {
			f[i] = C.GoStringN(ev.f[i], C.int(ev.len[i]))
		}
	}
	return reduceEvent(int(ev.kind), &f)
}

// put copies s (checked by checkDirective to fit) NUL-terminated into buf.
func put(buf []C.char, s string) {
	b := unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), len(buf))
	n := copy(b[:len(b)-1], s)
	b[n] = 0
}

func fill(out *C.nwayacd_directive_t, d session.Directive) {
	out.action = C.int(d.Action)
	out.loops = C.int(d.Loops)
	out.timeout_ms = C.int(d.TimeoutMS)
	out.ring_ms = C.int(d.RingMS)
	put(out.file[:], d.File)
	put(out.dial[:], d.Dial)
	put(out.agent[:], d.Agent)
	put(out.caller_number[:], d.CallerNumber)
	put(out.cause[:], d.Cause)
	n := min(len(d.Vars), maxVars)
	for i := 0; i < n; i++ {
		put(out.var_name[i][:], d.Vars[i][0])
		put(out.var_value[i][:], d.Vars[i][1])
	}
	out.nvars = C.int(n)
}
