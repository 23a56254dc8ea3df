/* cache/lock.h — node-wide mutual exclusion between every thread of every process using the
 * cache, for "fetch this block once": open-file-description byte-range locks on one lock file.
 * Each thread holds its own descriptor of the lock file (locks on one description do not
 * exclude each other), reopened after fork. A process that dies releases its locks, so a
 * killed fetcher never blocks anyone. Tokens are hashed into the file's 2^40 byte offsets;
 * a collision only makes two unrelated fetches wait for each other. */
#ifndef UFSHIM_LOCK_H
#define UFSHIM_LOCK_H

#include <stdint.h>

#define LOCK_WHOLE_OBJECT UINT64_MAX

uint64_t lock_token(const char *object_name, uint64_t block);
/* wait: block until acquired; else -EAGAIN when another holds it. */
int lock_acquire(uint64_t token, int wait);
void lock_release(uint64_t token);
/* A lock held for a long time and released by closing the returned descriptor (any thread may
 * close it): a descriptor, or -EAGAIN when another holds the lock. */
int lock_lease(uint64_t token);

#endif
