//go:build nwayacd_bench

package main

// Benchmark helpers: _test.go files cannot use cgo, so the C side of the
// benchmarks lives here, behind a build tag that keeps it out of the module.

/*
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <time.h>
#cgo CFLAGS: -I${SRCDIR}/../../../include
#define NWAYACD_NO_PROTOTYPES
#include "nwayacd.h"

// the exports of main.go, as cgo declares them
extern int nwayacd_start(nwayacd_host_t *host, char **kv, int nkv, char *err, size_t errlen);
extern char *nwayacd_api(char *name, char *args);
extern void nwayacd_channel_event(nwayacd_event_t *ev);

static int bench_api_execute(const char *cmd, const char *args, char **out) { *out = strdup("+OK"); return 0; }
static void bench_log(int level, const char *file, int line, const char *msg) {}
static int bench_fire(const char *subclass, const char *const *headers, int n, const char *body) { return 0; }
static int bench_wake(const char *uuid) { return -1; }

// A private folder, no publisher and a free port: a benchmark touches
// nothing of the machine's (FreeSWITCH's db folder, Redis, :8085).
static int bench_start(const char *dir)
{
	static nwayacd_host_t h = { NWAYACD_ABI_VERSION, bench_api_execute, bench_log, bench_fire, bench_wake };
	char *kv[] = { "rest-listen", "127.0.0.1:0", "publisher", "none", "fs-db-dir", (char *) dir, "fs-log-dir", (char *) dir };
	char err[256];

	return nwayacd_start(&h, kv, 8, err, sizeof(err));
}

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
		ev = malloc(total);
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

func benchStart(dir string) bool {
	cdir := C.CString(dir)
	defer C.free(unsafe.Pointer(cdir))
	return C.bench_start(cdir) == 0
}
func benchStop() { bridge.Stop() }

// benchAPI and benchEvent return the calling thread's CPU time in ns.
func benchAPI(n int) int64   { return int64(C.bench_api(C.int(n))) }
func benchEvent(n int) int64 { return int64(C.bench_event(C.int(n))) }
