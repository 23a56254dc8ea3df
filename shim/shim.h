/* shim/shim.h — what every interposition file shares: reaching the real libc function, the
 * re-entrancy guard, lazy start-up, and turning fs/ results into libc return conventions.
 *
 * Rule for every hook: if the shim is busy on this thread (its own libcurl/OpenSSL/cache file
 * accesses), or the path/fd is not ours, call the real function at once and touch nothing,
 * errno included. Hooks that serve a mount path leave errno as the real call would: set on
 * failure, untouched on success. */
#ifndef UFSHIM_SHIM_H
#define UFSHIM_SHIM_H

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>

#include "../fs/fs.h"

#define EXPORT __attribute__((visibility("default")))

/* The next definition of f after ours (libc's), looked up once per call site. */
#define REAL(f) ({                                                          \
        static __typeof__(&f) real_;                                        \
        if (!real_) real_ = (__typeof__(&f))dlsym(RTLD_NEXT, #f);           \
        real_; })

extern __thread int shim_busy;
extern int shim_started;        /* shim_start() has run */
extern int shim_active;         /* at least one mount exists */

void shim_start(void);

/* Enter/leave shim code that may call libc (and so our own hooks) internally. */
#define SHIM_ENTER() (shim_busy++)
#define SHIM_LEAVE() (shim_busy--)

/* 1 if a hook should look closer at its arguments at all. */
static inline int shim_on(void)
{
    if (__builtin_expect(!shim_started, 0) && !shim_busy) shim_start();
    return shim_active && !shim_busy;
}

/* Sets errno from a negative fs result and returns -1. */
static inline int shim_fail(int neg_errno)
{
    errno = -neg_errno;
    return -1;
}

#endif
