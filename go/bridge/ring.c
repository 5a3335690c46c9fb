// The channel-event hand-off from FreeSWITCH's event threads to Go.
//
// nwayacd_channel_event (include/nwayacd.h) is plain C, not a Go export: it
// pushes the block onto a bounded lock-free ring (D. Vyukov's bounded MPMC
// queue, used with one consumer), so the event thread never enters the Go
// runtime. One Go goroutine pops batches (nw_ring_pop); when the ring is
// empty it parks (nw_ring_park) and sleeps on an eventfd (nw_ring_wait, on
// its own thread, which runs as the switch's do: nw_sched_apply), which the
// next push writes once.  So an idle module polls nothing, and a
// busy one pays no syscall per event: only the push that finds the consumer
// parked writes the eventfd (one write(2), ~0.3 µs, on FreeSWITCH's thread).
// While calls are up the consumer parks with a deadline instead, and only
// urgent kinds (those the core acts on at once, nw_ring_set_urgent) kick it.
#define _GNU_SOURCE	// ppoll
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include "nwayacd.h"
#include "ring.h"

#define NW_RING_SIZE 16384	// power of two

typedef struct {
	_Atomic size_t seq;
	void *data;
} nw_cell_t;

static nw_cell_t cells[NW_RING_SIZE];
static _Atomic size_t enq_pos, deq_pos;
static _Atomic int ring_open;
static _Atomic uint64_t ring_dropped;
// What the consumer is doing: awake, or asleep on ring_efd until any push
// (PARK_DEEP) or until an urgent push or its own deadline (PARK_TIMED).
enum { NW_AWAKE = 0, NW_PARK_DEEP = 1, NW_PARK_TIMED = 2 };
static _Atomic int ring_parked;
static _Atomic uint64_t ring_urgent;	// bit 1 << kind: pushes that end a timed park
static int ring_efd = -1;

// Returns the eventfd the consumer sleeps on (-1 when none could be made).
int nw_ring_init(void)
{
	size_t i;

	for (i = 0; i < NW_RING_SIZE; i++) {
		atomic_store_explicit(&cells[i].seq, i, memory_order_relaxed);
	}
	atomic_store_explicit(&enq_pos, 0, memory_order_relaxed);
	atomic_store_explicit(&deq_pos, 0, memory_order_release);
	if (ring_efd < 0) {
		ring_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	}
	return ring_efd;
}

// Wakes the consumer; a non-blocking eventfd write never blocks.
void nw_ring_kick(void)
{
	uint64_t one = 1;
	ssize_t r;

	if (ring_efd >= 0) {
		r = write(ring_efd, &one, sizeof(one));
		(void) r;
	}
}

// Sleeps on the eventfd until a kick (1) or timeout_ns has passed (0);
// timeout_ns < 0: no deadline.  A blocking wait on the reader's own thread,
// not Go's netpoller: a realtime reader is woken by the kernel at the
// switch's priority, where a wake through the netpoller waits for one of
// Go's normal threads to notice it, which a switch busy with media starves.
int nw_ring_wait(int64_t timeout_ns)
{
	struct pollfd p = { .fd = ring_efd, .events = POLLIN };
	struct timespec end = { 0 }, now, left, *tp = NULL;
	uint64_t v;
	ssize_t r;
	int n;

	if (ring_efd < 0) {
		return 1;
	}
	if (timeout_ns >= 0) {
		clock_gettime(CLOCK_MONOTONIC, &end);
		end.tv_sec += timeout_ns / 1000000000;
		end.tv_nsec += timeout_ns % 1000000000;
		if (end.tv_nsec >= 1000000000) {
			end.tv_sec++;
			end.tv_nsec -= 1000000000;
		}
		tp = &left;
	}
	for (;;) {
		if (tp) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			left.tv_sec = end.tv_sec - now.tv_sec;
			left.tv_nsec = end.tv_nsec - now.tv_nsec;
			if (left.tv_nsec < 0) {
				left.tv_sec--;
				left.tv_nsec += 1000000000;
			}
			if (left.tv_sec < 0) {
				return 0;
			}
		}
		n = ppoll(&p, 1, tp, NULL);
		if (n > 0) {
			r = read(ring_efd, &v, sizeof(v));	// non-blocking: another reader never races this one
			(void) r;
			return 1;
		}
		if (n == 0) {
			return 0;
		}
		if (errno != EINTR) {
			return 1;	// not expected of an eventfd: the caller pops, then parks again
		}
	}
}

// The scheduling of the thread that starts the module (one of the switch's:
// SCHED_FIFO in FreeSWITCH, and its timer slack), for the event reader's
// thread.  Go's other threads stay SCHED_OTHER (the shim's initialiser).
static int sw_policy = -1;
static struct sched_param sw_param;
static long sw_slack = -1;

// The switch's threads are realtime (FreeSWITCH's are SCHED_FIFO).
static int sw_realtime(void)
{
	return sw_policy == SCHED_FIFO || sw_policy == SCHED_RR;
}

int nw_sched_switch_realtime(void)
{
	return sw_realtime();
}

void nw_sched_capture(void)
{
	int policy = sched_getscheduler(0);

	if (policy >= 0 && sched_getparam(0, &sw_param) == 0) {
		sw_policy = policy;
	}
	sw_slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
}

// What an owned thread had before nw_sched_apply, for nw_sched_release.
static __thread int own_policy = -1;
// 1 on a thread nw_sched_apply gave the switch's scheduling: nothing to
// lend it (nw_sched_lend).
static __thread int nw_sched_owned;
static __thread struct sched_param own_param;
static __thread long own_slack = -1;

// Gives the calling thread the captured scheduling: 0, or the errno of a
// refused realtime policy.  Nothing to do when the switch's threads are
// SCHED_OTHER themselves.
int nw_sched_apply(void)
{
	int err = 0;

	own_policy = sched_getscheduler(0);
	if (own_policy < 0 || sched_getparam(0, &own_param) != 0) {
		own_policy = -1;
	}
	own_slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
	if (sw_realtime() && sched_setscheduler(0, sw_policy, &sw_param) != 0) {
		err = errno;
	}
	nw_sched_owned = !err;
	if (sw_slack >= 0) {
		/* after the policy: Linux resets a thread's slack when it changes;
		   0 would mean "this thread's default", Go's coarse one */
		prctl(PR_SET_TIMERSLACK, (unsigned long) (sw_slack > 0 ? sw_slack : 1), 0, 0, 0);
	}
	return err;
}

// A Go thread borrows the switch's scheduling while it calls FreeSWITCH
// where a thread may be born (the shim's host calls): the session pool
// grows a worker from its caller (switch_thread_pool_launch_thread), an
// originate starts the agent's session thread from that worker, an API
// command may originate.  A thread inherits its creator's policy and slack,
// and pool workers live on: born of a Go thread, they would be SCHED_OTHER
// among the realtime media threads, starved exactly when the switch is
// busiest (an agent's leg that frees the agent slowest under load, so
// callers queue, which loads it more), and their timers 4 ms coarse.  Five
// syscalls (~5 us), none on an owned thread (the event reader, which starts
// most offers).  Returns what nw_sched_unlend gives back.
enum { NW_LENT_POLICY = 1, NW_LENT_SLACK = 2 };
static __thread long lent_slack;

int nw_sched_lend(void)
{
	long slack;

	if (nw_sched_owned) {
		return 0;
	}
	if (sw_realtime() && sched_getscheduler(0) == SCHED_OTHER
		&& sched_setscheduler(0, sw_policy, &sw_param) == 0) {
		return NW_LENT_POLICY;	// a realtime thread has no slack
	}
	if (sw_slack > 0 && (slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0)) > 0 && slack != sw_slack
		&& prctl(PR_SET_TIMERSLACK, (unsigned long) sw_slack, 0, 0, 0) == 0) {
		lent_slack = slack;
		return NW_LENT_SLACK;
	}
	return 0;
}

void nw_sched_unlend(int loan)
{
	struct sched_param other = { 0 };

	if (loan & NW_LENT_POLICY) {
		sched_setscheduler(0, SCHED_OTHER, &other);	// Linux gives the thread its own slack back
	}
	if (loan & NW_LENT_SLACK) {
		prctl(PR_SET_TIMERSLACK, (unsigned long) lent_slack, 0, 0, 0);
	}
}

// Gives the thread back what it had: Go ends a locked thread with its
// goroutine, except its first one, which it parks for good instead.
void nw_sched_release(void)
{
	if (own_policy >= 0) {
		sched_setscheduler(0, own_policy, &own_param);
	}
	if (own_slack > 0) {
		prctl(PR_SET_TIMERSLACK, (unsigned long) own_slack, 0, 0, 0);
	}
	own_policy = -1;
	own_slack = -1;
	nw_sched_owned = 0;
}

static int nw_ring_empty(void)
{
	size_t pos = atomic_load_explicit(&deq_pos, memory_order_relaxed);
	size_t seq = atomic_load_explicit(&cells[pos & (NW_RING_SIZE - 1)].seq, memory_order_seq_cst);

	return (intptr_t) seq - (intptr_t) (pos + 1) < 0;
}

// The consumer is about to sleep: 1 when it may (the ring is empty and the
// next push, or with timed the next urgent one, will kick it), 0 when events
// came in meanwhile.  All four accesses of the hand-shake are seq_cst: a
// push either sees ring_parked or its cell is seen here, so no wake is lost.
int nw_ring_park(int timed)
{
	/* a push that has claimed its cell but not filled it yet may be a lesser
	   one with an urgent one already filled behind it: park deep, so that
	   its publish kicks and the urgent one does not wait for the tick */
	if (timed && atomic_load_explicit(&enq_pos, memory_order_relaxed) != atomic_load_explicit(&deq_pos, memory_order_relaxed)) {
		timed = 0;
	}
	atomic_store_explicit(&ring_parked, timed ? NW_PARK_TIMED : NW_PARK_DEEP, memory_order_seq_cst);
	if (nw_ring_empty()) {
		return 1;
	}
	atomic_store_explicit(&ring_parked, NW_AWAKE, memory_order_relaxed);
	return 0;
}

// A timed park ended by its deadline: the consumer is awake again.  0 when
// an urgent push got there first and its kick is (or is about to be) on the
// eventfd.
int nw_ring_unpark(void)
{
	return atomic_exchange_explicit(&ring_parked, NW_AWAKE, memory_order_acq_rel) != NW_AWAKE;
}

// Kinds (bit 1 << kind, kind < 64) the consumer must see at once; the rest
// wait up to its timed park's deadline.  0: every push is urgent.
void nw_ring_set_urgent(uint64_t mask)
{
	atomic_store_explicit(&ring_urgent, mask, memory_order_relaxed);
}

void nw_ring_set_open(int open)
{
	uint64_t stale;
	ssize_t r;

	if (open && ring_efd >= 0) {
		/* a kick left over from the last run would only wake the new reader
		   once for nothing; start from a quiet eventfd */
		atomic_store_explicit(&ring_parked, NW_AWAKE, memory_order_relaxed);
		r = read(ring_efd, &stale, sizeof(stale));
		(void) r;
	}
	atomic_store_explicit(&ring_open, open, memory_order_release);
}

uint64_t nw_ring_dropped(void)
{
	return atomic_load_explicit(&ring_dropped, memory_order_relaxed);
}

static void nw_drop(nwayacd_event_t *ev)
{
	free(ev);
	atomic_fetch_add_explicit(&ring_dropped, 1, memory_order_relaxed);
}

static int nw_urgent(int kind)
{
	uint64_t mask = atomic_load_explicit(&ring_urgent, memory_order_relaxed);

	return !mask || kind < 0 || kind >= 64 || (mask >> kind) & 1;
}

void nwayacd_channel_event(nwayacd_event_t *ev)
{
	nw_cell_t *c;
	size_t pos;
	int parked, kind;

	if (!ev) {
		return;
	}
	kind = ev->kind;	/* once published, the block is the consumer's to free */
	if (!atomic_load_explicit(&ring_open, memory_order_acquire)) {
		nw_drop(ev);
		return;
	}
	pos = atomic_load_explicit(&enq_pos, memory_order_relaxed);
	for (;;) {
		size_t seq;
		intptr_t dif;

		c = &cells[pos & (NW_RING_SIZE - 1)];
		seq = atomic_load_explicit(&c->seq, memory_order_acquire);
		dif = (intptr_t) seq - (intptr_t) pos;
		if (dif == 0) {
			if (atomic_compare_exchange_weak_explicit(&enq_pos, &pos, pos + 1, memory_order_relaxed, memory_order_relaxed)) {
				break;
			}
		} else if (dif < 0) {
			nw_drop(ev);	// full
			return;
		} else {
			pos = atomic_load_explicit(&enq_pos, memory_order_relaxed);
		}
	}
	c->data = ev;
	/* seq_cst publish, then seq_cst look at ring_parked: with nw_ring_park's
	   seq_cst store and look at the cell, a push either sees the consumer
	   parked or is seen by it (one xchg on x86, cheaper than a fence) */
	atomic_exchange_explicit(&c->seq, pos + 1, memory_order_seq_cst);
	parked = atomic_load_explicit(&ring_parked, memory_order_seq_cst);
	/* a timed park ends by itself: only what the core must see at once cuts
	   it short, so a call's many lesser events cost Go no wake-up of their own */
	if ((parked == NW_PARK_DEEP || (parked == NW_PARK_TIMED && nw_urgent(kind)))
		&& atomic_exchange_explicit(&ring_parked, NW_AWAKE, memory_order_acq_rel) != NW_AWAKE) {
		nw_ring_kick();
	}
}

int nw_ring_pop(void **out, int max)
{
	int n = 0;

	while (n < max) {
		size_t pos = atomic_load_explicit(&deq_pos, memory_order_relaxed);
		nw_cell_t *c = &cells[pos & (NW_RING_SIZE - 1)];
		size_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);

		if ((intptr_t) seq - (intptr_t) (pos + 1) < 0) {
			break;	// empty (or the producer has not finished this cell yet)
		}
		out[n++] = c->data;
		atomic_store_explicit(&deq_pos, pos + 1, memory_order_relaxed);
		atomic_store_explicit(&c->seq, pos + NW_RING_SIZE, memory_order_release);
	}
	return n;
}

void nw_free_batch(void **p, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		free(p[i]);
	}
}

// Calls fn for each thread of this process; its returns are summed.
static int each_task(int (*fn)(int tid, void *arg), void *arg)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int sum = 0;

	if (!d) {
		return 0;
	}
	while ((e = readdir(d))) {
		int tid = atoi(e->d_name);

		if (tid > 0) {
			sum += fn(tid, arg);
		}
	}
	closedir(d);
	return sum;
}

// The first number in /proc/<tid>/<file>, or -1.
static long task_number(int tid, const char *file)
{
	char path[64], buf[32];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", tid, file);
	if (!(f = fopen(path, "r"))) {
		return -1;
	}
	if (fgets(buf, sizeof(buf), f)) {
		v = strtol(buf, NULL, 10);
	}
	fclose(f);
	return v;
}

#ifdef SYS_nanosleep
static int in_nanosleep_fifo(int tid, void *found)
{
	if (task_number(tid, "syscall") != SYS_nanosleep || sched_getscheduler(tid) != SCHED_FIFO) {
		return 0;
	}
	*(int *) found = tid;
	return 1;
}
#endif

// The one SCHED_FIFO thread of this process that is in nanosleep(2) now, or
// 0 when none or more than one is.  Go's scheduler monitor (sysmon) sleeps
// there between its looks (Go's usleep; glibc's sleeps use clock_nanosleep,
// Go's idle threads a futex), so under any load this finds it.
int nw_sysmon_find(void)
{
#ifdef SYS_nanosleep
	int found = 0;

	return each_task(in_nanosleep_fifo, &found) == 1 ? found : 0;
#else
	return 0;
#endif
}

// Makes thread tid SCHED_OTHER with slack_ns of timer slack: 0, or an errno.
int nw_sysmon_normal(int tid, long slack_ns)
{
	struct sched_param other = { 0 };
	char path[64];
	FILE *f;

	if (sched_setscheduler(tid, SCHED_OTHER, &other) != 0) {
		return errno;
	}
	snprintf(path, sizeof(path), "/proc/%d/timerslack_ns", tid);	/* not under task/ */
	if (!(f = fopen(path, "w"))) {
		return errno;
	}
	fprintf(f, "%ld", slack_ns);
	return fclose(f) == 0 ? 0 : errno;
}

struct heirs {
	int sysmon;
	long slack_ns;
};

static int make_heir_realtime(int tid, void *arg)
{
	struct heirs *h = arg;

	return tid != h->sysmon && sched_getscheduler(tid) == SCHED_OTHER
		&& task_number(tid, "timerslack_ns") == h->slack_ns && sched_setscheduler(tid, sw_policy, &sw_param) == 0;
}

// Threads born of sysmon once it is normal (Go starts one from it now and
// then) inherit its policy and its slack_ns, which no other thread here has:
// they get the switch's scheduling back.  Returns how many did.
int nw_sysmon_heirs(int sysmon, long slack_ns)
{
	struct heirs h = { sysmon, slack_ns };

	return sw_realtime() ? each_task(make_heir_realtime, &h) : 0;
}
