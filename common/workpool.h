/* common/workpool.h — this process's background threads, shared by the listing-index builder,
 * the cross-file prefetcher and large-file read-ahead: a queue of jobs run by up to
 * WORKPOOL_THREADS threads, started on demand and kept for the process's life. Urgent jobs (a
 * read-ahead part a reader is about to need) run before the others. Threads do not survive
 * fork: a child starts with an empty pool and none of the parent's jobs.
 *
 * Each job declares the bytes it will bring in; the total of queued and running jobs stays
 * under a budget (UFSHIM_INFLIGHT), so background fetching pushes back instead of growing. */
#ifndef UFSHIM_WORKPOOL_H
#define UFSHIM_WORKPOOL_H

#include <stdint.h>

#define WORKPOOL_THREADS 64

/* Called first on every pool thread (the shim marks the thread as its own). */
void workpool_set_thread_init(void (*fn)(void));
void workpool_set_budget(uint64_t bytes);
/* Queues fn(arg), charging `bytes` to the budget until fn returns; when the budget is spent,
 * waits for room (wait) or fails with -EAGAIN. A job larger than the whole budget runs alone.
 * 0, or -EAGAIN / -ENOMEM, and then fn is not run. */
int workpool_submit(void (*fn)(void *), void *arg, int urgent, uint64_t bytes, int wait);
/* Bytes charged by queued and running jobs (for tests and `ufs stats`). */
uint64_t workpool_inflight(void);
void workpool_before_fork(void);
void workpool_after_fork_parent(void);
void workpool_after_fork_child(void);

#endif
