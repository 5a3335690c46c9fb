// The channel-event hand-off from FreeSWITCH's event threads to Go.
//
// nwayacd_channel_event (include/nwayacd.h) is plain C, not a Go export: it
// pushes the block onto a bounded lock-free ring (D. Vyukov's bounded MPMC
// queue, used with one consumer), so the event thread never enters the Go
// runtime. One Go goroutine pops batches (nw_ring_pop); when the ring is
// empty it parks (nw_ring_park) and sleeps in Go's netpoller on an eventfd,
// which the next push writes once.  So an idle module polls nothing, and a
// busy one pays no syscall per event: only the push that finds the consumer
// parked writes the eventfd (one write(2), ~0.3 µs, on FreeSWITCH's thread).
// While calls are up the consumer parks with a deadline instead, and only
// urgent kinds (those the core acts on at once, nw_ring_set_urgent) kick it.
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/eventfd.h>
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
