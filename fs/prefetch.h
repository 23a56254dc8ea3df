/* fs/prefetch.h — cross-file prefetch. Once a process has missed the cache on
 * PREFETCH_AFTER_MISSES small files of a mount, background fetches bring in every other small
 * file of the closest directory containing all the files it missed (a shuffled epoch's misses
 * span the class folders, so the scope is the dataset split; `cp -r dir` stays within dir),
 * listed in the mount's index, mount option `prefetch` at a time, so a cold epoch is bound by
 * bandwidth rather than by one round trip per file. Bounded three ways: parallel fetches, the
 * work pool's bytes-in-flight budget, and cache space (it stops at PREFETCH_CACHE_SHARE of the
 * cache's capacity, never evicting for itself). One process on the node prefetches a tree at a
 * time (a node-wide lease); an object being fetched by anyone is skipped, and a foreground open
 * of it waits for that fetch, so no object is fetched twice. */
#ifndef UFSHIM_PREFETCH_H
#define UFSHIM_PREFETCH_H

#include "mount.h"

#define PREFETCH_AFTER_MISSES 4
#define PREFETCH_CACHE_SHARE 0.8

/* Called by the open path on a cache miss of a small file. */
void prefetch_note_miss(struct mount *m, const char *rel);
void prefetch_after_fork_child(void);

#endif
