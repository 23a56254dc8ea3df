/* common/counters.h — per-process activity counters.
 *
 * Every process keeps its counters in a small memory-mapped file, <stats dir>/<pid>, so that
 * `ufs stats` can read them while the process runs and benchmarks can sum a whole process tree.
 * Before counters_open() (or when the file cannot be made) they live in process memory. All
 * updates are relaxed atomic adds: cheap, and exact once the process is done. */
#ifndef UFSHIM_COUNTERS_H
#define UFSHIM_COUNTERS_H

#include <stdint.h>

#define COUNTERS_MAGIC 0x5546535443545233ULL /* "UFSTCTR3" */

enum counter {
    CTR_GET, CTR_HEAD, CTR_LIST,
    CTR_BYTES_FETCHED,
    CTR_CACHE_HITS, CTR_CACHE_MISSES,
    CTR_META_HITS, CTR_META_MISSES,
    CTR_RETRIES, CTR_ERRORS,
    CTR_OPENS, CTR_BLOCKS_FETCHED, CTR_EVICTED_BYTES, CTR_PREFETCHED,
    CTR_PUT, CTR_DELETE, CTR_BYTES_UPLOADED,
    CTR_COUNT
};

struct counters_file {
    uint64_t magic;
    uint64_t pid;
    uint64_t value[CTR_COUNT];
};

extern const char *const counter_names[CTR_COUNT];

/* Maps <dir>/<pid>; keep_file says whether the file outlives the process. */
void counters_open(const char *dir, int keep_file);
/* Called in a forked child: starts fresh counters under the child's pid. */
void counters_reopen_after_fork(void);
/* At exit: removes the file unless it is to be kept. */
void counters_close(void);
void counters_add(enum counter c, uint64_t n);
uint64_t counters_get(enum counter c);
/* Writes a one-screen summary to fd. */
void counters_report(int fd, const struct counters_file *totals, const char *title);
const struct counters_file *counters_current(void);

#endif
