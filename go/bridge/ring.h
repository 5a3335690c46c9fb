// Go-side helpers of ring.c (not part of the host boundary).
#ifndef NW_RING_H
#define NW_RING_H
#include <stdint.h>
int nw_ring_init(void);
void nw_ring_kick(void);
enum { NW_WOKE_KICK = 1, NW_WOKE_SIDE = 2 };
int nw_ring_wait(int64_t timeout_ns, int side_fd);
void nw_sched_capture(void);
int nw_sched_switch_realtime(void);
int nw_sched_apply(void);
void nw_sched_release(void);
int nw_sched_lend(void);
void nw_sched_unlend(int loan);
int nw_ring_park(int timed);
int nw_ring_unpark(void);
void nw_ring_set_urgent(uint64_t mask);
void nw_ring_set_open(int open);
uint64_t nw_ring_dropped(void);
int nw_ring_pop(void **out, int max);
void nw_free_batch(void **p, int n);
int nw_pool_has(void *b);
int nw_pool_idle(void);
int nw_sysmon_find(void);
int nw_sysmon_normal(int tid, long slack_ns);
int nw_sysmon_heirs(int sysmon, long slack_ns);
#endif
