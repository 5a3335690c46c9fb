// Package cbench is the C side of mod_nwayacd's boundary tests and
// benchmarks (_test.go files cannot use cgo). It calls the c-archive's
// exports, so it links only into the test binary of go/cmd/mod_nwayacd,
// which imports it; the module itself never does.
package cbench

/*
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <unistd.h>
#include <time.h>
#include <pthread.h>
#cgo CFLAGS: -I${SRCDIR}/../../../../../include
#define NWAYACD_NO_PROTOTYPES
#include "nwayacd.h"

// the exports of main.go, as cgo declares them
extern int nwayacd_start(nwayacd_host_t *host, char **kv, int nkv, char *err, size_t errlen);
extern char *nwayacd_api(char *name, char *args);
extern void nwayacd_channel_event(nwayacd_event_t *ev);
extern nwayacd_event_t *nwayacd_event_alloc(size_t size);
extern int nwayacd_enter(nwayacd_call_t *call, nwayacd_directive_t *out);
extern int nwayacd_next(char *uuid, nwayacd_directive_t *out);
extern void nwayacd_offer_result(nwayacd_offer_result_t *r);
extern void nwayacd_bridge_ended(char *uuid);
extern void nwayacd_leave(char *uuid);

static int bench_api_execute(const char *cmd, const char *args, char **out) { *out = strdup("+OK"); return 0; }
static void bench_log(int level, const char *file, int line, const char *msg) { if (level <= 2) fprintf(stderr, "%s:%d %s\n", file, line, msg); }
static int bench_fire(const char *subclass, const char *const *headers, int n, const char *body) { return 0; }
// The wake the shim does (CF_BREAK + SWITCH_SIG_BREAK) is modelled by a
// condition the waiting "session thread" sleeps on, as FreeSWITCH's session
// thread sleeps in its frame read until SIG_BREAK pings its socket.
static pthread_mutex_t wake_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake_cond = PTHREAD_COND_INITIALIZER;
static char woken[64];
static int64_t woken_at, woken_cpu;
static int64_t mono_ns(void);
static int64_t thread_ns(void);

static int bench_wake(const char *uuid)
{
	int64_t now = mono_ns(), cpu = thread_ns();

	pthread_mutex_lock(&wake_mu);
	woken_at = now;
	woken_cpu = cpu;
	snprintf(woken, sizeof(woken), "%s", uuid);
	pthread_cond_broadcast(&wake_cond);
	pthread_mutex_unlock(&wake_mu);
	return 0;
}

// A private folder, no publisher and a free port: a benchmark touches
// nothing of the machine's (FreeSWITCH's db folder, Redis, :8085).
static int bench_start(const char *dir)
{
	static nwayacd_host_t h = { NWAYACD_ABI_VERSION, bench_api_execute, bench_log, bench_fire, bench_wake };
	char *kv[] = { "rest-listen", "127.0.0.1:0", "publisher", "none", "fs-db-dir", (char *) dir, "fs-log-dir", (char *) dir };
	char err[256];

	return nwayacd_start(&h, kv, (int) (sizeof(kv) / sizeof(kv[0]) / 2), err, sizeof(err));
}

// uuid_break through the API, as the module woke callers before the host's wake.
static int bench_api_break(const char *cmd, const char *args, char **out)
{
	char uuid[64];

	if (!strcmp(cmd, "uuid_break")) {
		snprintf(uuid, sizeof(uuid), "%.*s", (int) strcspn(args, " "), args);
		bench_wake(uuid);
	}
	*out = strdup("+OK");
	return 0;
}

static int bench_start_wake(const char *dir, int direct)
{
	static nwayacd_host_t h = { NWAYACD_ABI_VERSION, bench_api_break, bench_log, bench_fire, bench_wake };
	char *kv[] = { "rest-listen", "127.0.0.1:0", "publisher", "none", "fs-db-dir", (char *) dir, "fs-log-dir", (char *) dir,
		"wrapup-seconds", "0" };
	char err[256];

	int rc;

	h.wake = direct ? bench_wake : NULL;
	if ((rc = nwayacd_start(&h, kv, (int) (sizeof(kv) / sizeof(kv[0]) / 2), err, sizeof(err))) != 0) fprintf(stderr, "nwayacd_start: %s\n", err);
	return rc;
}

static int64_t wake_called_total;	// ns from the bridge's end to the wake callback, summed
static int64_t wake_cpu_total;	// the same on the calling thread's CPU clock (direct wakes run on it)

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

typedef struct {
	char uuid[64];
	int entered;	// 1 once enter returned WAIT, -1 when it returned anything else
	int64_t decided;
	nwayacd_directive_t d;
} waiter_t;

static void enter_queue(const char *uuid, nwayacd_directive_t *d);

// A waiting caller's session thread, as FreeSWITCH runs one: it enters the
// queue itself (so, like a session thread, it has been in Go before), sleeps
// until woken, then asks Go for its next step.
static void *waiter_run(void *p)
{
	waiter_t *w = p;
	struct timespec until;

	enter_queue(w->uuid, &w->d);
	pthread_mutex_lock(&wake_mu);
	w->entered = w->d.action == NWAYACD_WAIT ? 1 : -1;
	pthread_cond_broadcast(&wake_cond);
	if (w->entered < 0) {
		pthread_mutex_unlock(&wake_mu);
		return NULL;
	}
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 20;	// a lost wake fails the round; a slow machine does not
	while (strcmp(woken, w->uuid) && pthread_cond_timedwait(&wake_cond, &wake_mu, &until) == 0);
	pthread_mutex_unlock(&wake_mu);
	nwayacd_next(w->uuid, &w->d);
	w->decided = mono_ns();
	return NULL;
}

static void enter_queue(const char *uuid, nwayacd_directive_t *d)
{
	nwayacd_call_t c = { 0 };

	c.kind = NWAYACD_KIND_QUEUE;
	c.uuid = uuid;
	c.group = "100";
	c.caller_number = uuid;
	c.caller_name = "";
	c.dest_number = "85733555";
	c.level = "";
	c.idle_cpu = -1; // not known: { 0 } would read as a saturated switch
	nwayacd_enter(&c, d);
}

// The agent answers the offer d of call uuid (leg named by the dial string).
static void answer(const char *uuid, const nwayacd_directive_t *d)
{
	nwayacd_offer_result_t r = { 0 };
	char leg[64] = "";
	const char *p = strstr(d->dial, "origination_uuid=");

	if (p) snprintf(leg, sizeof(leg), "%.*s", (int) strcspn(p + 17, ",}"), p + 17);
	r.uuid = uuid;
	r.agent = d->agent;
	r.agent_uuid = leg;
	r.answered = 1;
	r.cause = "SUCCESS";
	r.idle_cpu = -1;
	nwayacd_offer_result(&r);
}

// n rounds of: caller B waits while A talks to the only agent; the agent
// hangs up (A's bridge ends, as the shim reports it); B's session is woken
// and gets its offer.  Returns the summed ns from A's bridge end to B's
// offer decided, or -1 when a step went otherwise.
static int64_t bench_wake_rounds(int n, int round0)
{
	nwayacd_directive_t d;
	char cur[64], nxt[64];
	int64_t total = 0;
	int i;

	static int seq;

	snprintf(cur, sizeof(cur), "wake-%d-%d", round0, ++seq);
	enter_queue(cur, &d);
	if (d.action != NWAYACD_OFFER) return -1;
	answer(cur, &d);
	for (i = 1; i <= n; i++) {
		waiter_t w;
		pthread_t t;
		int64_t t0, c0;

		memset(&w, 0, sizeof(w));
		snprintf(nxt, sizeof(nxt), "wake-%d-%d-%d", round0, seq, i);
		snprintf(w.uuid, sizeof(w.uuid), "%s", nxt);
		pthread_mutex_lock(&wake_mu);
		woken[0] = '\0';	// only a wake from here on counts
		pthread_mutex_unlock(&wake_mu);
		pthread_create(&t, NULL, waiter_run, &w);
		pthread_mutex_lock(&wake_mu);
		while (!w.entered) pthread_cond_wait(&wake_cond, &wake_mu);
		pthread_mutex_unlock(&wake_mu);
		if (w.entered < 0) { pthread_join(t, NULL); return -2; }
		usleep(200);	// the waiter is asleep, as a queued caller is
		woken_cpu = 0;
		c0 = thread_ns();
		t0 = mono_ns();
		nwayacd_bridge_ended(cur);	// the agent hung up
		pthread_join(t, NULL);
		if (w.d.action != NWAYACD_OFFER) { fprintf(stderr, "got %d %s %s\n", w.d.action, w.d.file, w.d.nvars ? w.d.var_value[0] : ""); return -3; }
		total += w.decided - t0;
		wake_called_total += woken_at - t0;
		if (woken_cpu) wake_cpu_total += woken_cpu - c0;
		nwayacd_leave(cur);
		answer(nxt, &w.d);
		snprintf(cur, sizeof(cur), "%s", nxt);
	}
	nwayacd_bridge_ended(cur);
	nwayacd_leave(cur);
	return total;
}

static int64_t wake_called(void) { return wake_called_total; }
static int64_t wake_cpu(void) { return wake_cpu_total; }

static int64_t thread_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

// Both loops return the CPU time of the calling thread: on a shared machine
// wall time mostly measures the neighbours.
static int64_t bench_api(int n)
{
	int64_t t0 = thread_ns();
	int i;

	for (i = 0; i < n; i++) free(nwayacd_api((char *) "nwayacd_version", (char *) ""));
	return thread_ns() - t0;
}

// What the shim does per event after its header look-ups: one block, one call.
static int64_t bench_event(int n)
{
	int64_t t0 = thread_ns();
	static const char *v[NWAYACD_EF_COUNT] = {
		"3f1c2d4e-0000-4000-8000-000000000001", "3f1c2d4e-0000-4000-8000-000000000002", "inbound", "13912345678",
		"85733555", "10.0.0.1", "", "gw1", "13912345678", "", "", "", "", "1764028800000000", "1764028805000000", "", "",
		"3f1c2d4e-0000-4000-8000-000000000002" };
	int i, j;

	for (i = 0; i < n; i++) {
		size_t total = sizeof(nwayacd_event_t);
		uint32_t len[NWAYACD_EF_COUNT];
		nwayacd_event_t *ev;
		char *p;

		for (j = 0; j < NWAYACD_EF_COUNT; j++) { len[j] = (uint32_t) strlen(v[j]); total += len[j] + 1; }
		ev = nwayacd_event_alloc(total);
		ev->kind = 4;
		p = (char *) (ev + 1);
		for (j = 0; j < NWAYACD_EF_COUNT; j++) {
			ev->f[j] = p; ev->len[j] = len[j];
			memcpy(p, v[j], len[j]); p[len[j]] = 0; p += len[j] + 1;
		}
		nwayacd_channel_event(ev);
	}
	return thread_ns() - t0;
}
*/
import "C"

import (
	"unsafe"

	"github.com/nwayacd/mod_nwayacd/go/bridge"
)

// Start starts the real module in dir, with no publisher and a free port.
func Start(dir string) bool {
	cdir := C.CString(dir)
	defer C.free(unsafe.Pointer(cdir))
	return C.bench_start(cdir) == 0
}

// Stop stops it (nwayacd_stop).
func Stop() { bridge.Stop() }

// StartWake starts the real module with wrap-up 0 and the modelled
// wake: the host's wake callback (direct), or uuid_break through the API.
func StartWake(dir string, direct bool) bool {
	cdir := C.CString(dir)
	defer C.free(unsafe.Pointer(cdir))
	d := C.int(0)
	if direct {
		d = 1
	}
	return C.bench_start_wake(cdir, d) == 0
}

// WakeRounds returns the summed wake latency of n rounds in ns (< 0: a
// step went otherwise).
func WakeRounds(n, round0 int) int64 { return int64(C.bench_wake_rounds(C.int(n), C.int(round0))) }

// WakeCalled returns, summed over all rounds so far, the ns from the
// bridge's end to the host's wake callback (Go's part of the wake).
func WakeCalled() int64 { return int64(C.wake_called()) }

// WakeCPU is the same on the CPU clock of the thread that ended the
// bridge (a direct wake runs on it; uuid_break's on an executor: 0).
func WakeCPU() int64 { return int64(C.wake_cpu()) }

// APIArgs runs an API command (for set-up).
func APIArgs(name, args string) string {
	cn, ca := C.CString(name), C.CString(args)
	defer C.free(unsafe.Pointer(cn))
	defer C.free(unsafe.Pointer(ca))
	r := C.nwayacd_api(cn, ca)
	defer C.free(unsafe.Pointer(r))
	return C.GoString(r)
}

// API and Event return the calling thread's CPU time in ns.
func API(n int) int64   { return int64(C.bench_api(C.int(n))) }
func Event(n int) int64 { return int64(C.bench_event(C.int(n))) }
