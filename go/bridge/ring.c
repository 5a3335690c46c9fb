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
#define NW_LINE 64

typedef struct {
	_Atomic size_t seq;
	void *data;
} nw_cell_t;

// D. Vyukov's bounded MPMC queue.  The positions sit on lines of their own:
// producers CAS enq_pos while the consumer stores deq_pos.
typedef struct {
	nw_cell_t *cells;
	size_t mask;
	_Alignas(NW_LINE) _Atomic size_t enq_pos;
	_Alignas(NW_LINE) _Atomic size_t deq_pos;
} nw_queue_t;

static void nw_queue_init(nw_queue_t *q, nw_cell_t *cells, size_t size)
{
	size_t i;

	q->cells = cells;
	q->mask = size - 1;
	for (i = 0; i < size; i++) {
		atomic_store_explicit(&cells[i].seq, i, memory_order_relaxed);
	}
	atomic_store_explicit(&q->enq_pos, 0, memory_order_relaxed);
	atomic_store_explicit(&q->deq_pos, 0, memory_order_release);
}

// Claims the next cell at *at (enq_pos or deq_pos) once its seq is the
// position plus ahead (0: free for a push, 1: filled for a pop); NULL when
// it is not (full, or empty, or its last taker has not finished with it).
static nw_cell_t *nw_queue_claim(nw_queue_t *q, _Atomic size_t *at, size_t ahead, size_t *pos)
{
	size_t p = atomic_load_explicit(at, memory_order_relaxed);

	for (;;) {
		nw_cell_t *c = &q->cells[p & q->mask];
		intptr_t dif = (intptr_t) atomic_load_explicit(&c->seq, memory_order_acquire) - (intptr_t) (p + ahead);

		if (dif == 0) {
			if (atomic_compare_exchange_weak_explicit(at, &p, p + 1, memory_order_relaxed, memory_order_relaxed)) {
				*pos = p;
				return c;
			}
		} else if (dif < 0) {
			return NULL;
		} else {
			p = atomic_load_explicit(at, memory_order_relaxed);
		}
	}
}

// 0 when full.  The publish is seq_cst: nwayacd_channel_event's look at
// ring_parked must not pass it (one xchg on x86, cheaper than a fence).
static int nw_queue_push(nw_queue_t *q, void *data)
{
	size_t pos;
	nw_cell_t *c = nw_queue_claim(q, &q->enq_pos, 0, &pos);

	if (!c) {
		return 0;
	}
	c->data = data;
	atomic_exchange_explicit(&c->seq, pos + 1, memory_order_seq_cst);
	return 1;
}

// NULL when empty (or the producer of the next cell has not filled it yet).
static void *nw_queue_pop(nw_queue_t *q)
{
	size_t pos;
	nw_cell_t *c = nw_queue_claim(q, &q->deq_pos, 1, &pos);
	void *data;

	if (!c) {
		return NULL;
	}
	data = c->data;
	atomic_store_explicit(&c->seq, pos + q->mask + 1, memory_order_release);
	return data;
}

static int nw_queue_empty(nw_queue_t *q)
{
	size_t pos = atomic_load_explicit(&q->deq_pos, memory_order_relaxed);
	size_t seq = atomic_load_explicit(&q->cells[pos & q->mask].seq, memory_order_seq_cst);

	return (intptr_t) seq - (intptr_t) (pos + 1) < 0;
}

static nw_cell_t ring_cells[NW_RING_SIZE];
static nw_queue_t ring;
static _Atomic int ring_open;
static _Atomic uint64_t ring_dropped;
// What the consumer is doing: awake, or asleep on ring_efd until any push
// (PARK_DEEP) or until an urgent push or its own deadline (PARK_TIMED).
enum { NW_AWAKE = 0, NW_PARK_DEEP = 1, NW_PARK_TIMED = 2 };
static _Atomic int ring_parked;
static _Atomic uint64_t ring_urgent;	// bit 1 << kind: pushes that end a timed park
static int ring_efd = -1;

// Event blocks come from a pool of fixed blocks that the reader hands back,
// not from malloc: blocks malloc'd on FreeSWITCH's threads and freed on the
// reader's made glibc trim the producing arena's heap (madvise) and fault
// its pages back in on the next event, ~1 us of the event thread's time
// per event (BenchmarkChannelEvent).  Larger blocks, and any while the pool
// is empty, are malloc'd.
#define NW_BLOCK_SIZE 1024
#define NW_POOL_BLOCKS 4096	// power of two; 4 MB
static nw_cell_t pool_cells[NW_POOL_BLOCKS];
static nw_queue_t pool;
static char *_Atomic pool_base;	// set once the pool is filled

static void nw_pool_init(void)
{
	char *base;
	size_t i;

	if (atomic_load_explicit(&pool_base, memory_order_relaxed)) {
		return;
	}
	nw_queue_init(&pool, pool_cells, NW_POOL_BLOCKS);
	if (!(base = malloc((size_t) NW_POOL_BLOCKS * NW_BLOCK_SIZE))) {
		return;	// every block is malloc'd, as before the pool
	}
	for (i = 0; i < NW_POOL_BLOCKS; i++) {
		nw_queue_push(&pool, base + i * NW_BLOCK_SIZE);
	}
	atomic_store_explicit(&pool_base, base, memory_order_release);
}

nwayacd_event_t *nwayacd_event_alloc(size_t size)
{
	char *base = atomic_load_explicit(&pool_base, memory_order_acquire);
	void *b;

	if (base && size <= NW_BLOCK_SIZE && (b = nw_queue_pop(&pool))) {
		return b;
	}
	return malloc(size);
}

int nw_pool_has(void *b)
{
	char *base = atomic_load_explicit(&pool_base, memory_order_acquire);

	return base && (char *) b >= base && (char *) b < base + (size_t) NW_POOL_BLOCKS * NW_BLOCK_SIZE;
}

// Free blocks in the pool (exact when no block is on its way in or out).
int nw_pool_idle(void)
{
	if (!atomic_load_explicit(&pool_base, memory_order_acquire)) {
		return 0;
	}
	return (int) (atomic_load_explicit(&pool.enq_pos, memory_order_acquire) - atomic_load_explicit(&pool.deq_pos, memory_order_acquire));
}

static void nw_block_free(void *b)
{
	if (nw_pool_has(b)) {
		/* It holds every block, so a push fails only when a taker of the
		   same cell stalled while the queue went once round: the block then
		   stays out, and the pool is one smaller (malloc covers). */
		nw_queue_push(&pool, b);
		return;
	}
	free(b);
}

// Returns the eventfd the consumer sleeps on (-1 when none could be made).
int nw_ring_init(void)
{
	nw_queue_init(&ring, ring_cells, NW_RING_SIZE);
	nw_pool_init();
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

// Sleeps on the eventfd until a kick, side_fd (>= 0) is readable, or
// timeout_ns has passed; timeout_ns < 0: no deadline.  Returns NW_WOKE_KICK
// and/or NW_WOKE_SIDE, 0 at the deadline.  A blocking wait on the reader's
// own thread, not Go's netpoller: a realtime reader is woken by the kernel at
// the switch's priority, where a wake through the netpoller waits for one of
// Go's normal threads to notice it, which a switch busy with media starves.
// side_fd is a datagram socket the reader drains itself for the same reason
// (the SIP capture: an agent's BYE frees the agent for a waiting call).
int nw_ring_wait(int64_t timeout_ns, int side_fd)
{
	struct pollfd p[2] = { { .fd = ring_efd, .events = POLLIN }, { .fd = side_fd, .events = POLLIN } };
	struct timespec end = { 0 }, now, left, *tp = NULL;
	uint64_t v;
	ssize_t r;
	int n, woke;

	if (ring_efd < 0) {
		return NW_WOKE_KICK;
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
		n = ppoll(p, side_fd >= 0 ? 2 : 1, tp, NULL);
		if (n > 0) {
			woke = 0;
			if (p[0].revents) {
				r = read(ring_efd, &v, sizeof(v));	// non-blocking: another reader never races this one
				(void) r;
				woke |= NW_WOKE_KICK;
			}
			if (side_fd >= 0 && p[1].revents) {
				woke |= NW_WOKE_SIDE;	// an error too: the reader's recv reports it
			}
			return woke;
		}
		if (n == 0) {
			return 0;
		}
		if (errno != EINTR) {
			return NW_WOKE_KICK;	// not expected: the caller pops, then parks again
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

// The consumer is about to sleep: 1 when it may (the ring is empty and the
// next push, or with timed the next urgent one, will kick it), 0 when events
// came in meanwhile.  All four accesses of the hand-shake are seq_cst: a
// push either sees ring_parked or its cell is seen here, so no wake is lost.
int nw_ring_park(int timed)
{
	/* a push that has claimed its cell but not filled it yet may be a lesser
	   one with an urgent one already filled behind it: park deep, so that
	   its publish kicks and the urgent one does not wait for the tick */
	if (timed && atomic_load_explicit(&ring.enq_pos, memory_order_relaxed) != atomic_load_explicit(&ring.deq_pos, memory_order_relaxed)) {
		timed = 0;
	}
	atomic_store_explicit(&ring_parked, timed ? NW_PARK_TIMED : NW_PARK_DEEP, memory_order_seq_cst);
	if (nw_queue_empty(&ring)) {
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
	nw_block_free(ev);
	atomic_fetch_add_explicit(&ring_dropped, 1, memory_order_relaxed);
}

static int nw_urgent(int kind)
{
	uint64_t mask = atomic_load_explicit(&ring_urgent, memory_order_relaxed);

	return !mask || kind < 0 || kind >= 64 || (mask >> kind) & 1;
}

void nwayacd_channel_event(nwayacd_event_t *ev)
{
	int parked, kind;

	if (!ev) {
		return;
	}
	kind = ev->kind;	/* once published, the block is the consumer's to free */
	if (!atomic_load_explicit(&ring_open, memory_order_acquire) || !nw_queue_push(&ring, ev)) {
		nw_drop(ev);	// closed, or full
		return;
	}
	/* seq_cst publish (nw_queue_push), then seq_cst look at ring_parked:
	   with nw_ring_park's seq_cst store and look at the cell, a push either
	   sees the consumer parked or is seen by it */
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
	void *p;

	while (n < max && (p = nw_queue_pop(&ring))) {
		out[n++] = p;
	}
	return n;
}

void nw_free_batch(void **p, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		nw_block_free(p[i]);
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
