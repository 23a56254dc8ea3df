/* fs/settings.h — process-wide configuration from the environment, read once at start:
 *   UFSHIM_MOUNTS      PREFIX=URL entries separated by ',' or ';' or newlines
 *   UFSHIM_CONFIG      a file of PREFIX=URL lines ('#' starts a comment); the environment wins
 *   UFSHIM_CACHE_DIR   default $XDG_CACHE_HOME/ufshim, ~/.cache/ufshim, or /tmp/ufshim-UID
 *   UFSHIM_CACHE_SIZE  e.g. 50G; default half of the cache's file system
 *   UFSHIM_STATS_DIR   where per-process counter files go (kept after exit when set)
 *   UFSHIM_REPORT=1    print the counters at exit
 *   UFSHIM_INFLIGHT    bytes that prefetch and read-ahead may have requested and not yet
 *                      written to the cache, e.g. 256M (the default)
 * A malformed value is reported in one log line naming the variable; the rest still works. */
#ifndef UFSHIM_SETTINGS_H
#define UFSHIM_SETTINGS_H

#include <limits.h>
#include <stdint.h>

struct settings {
    char cache_dir[PATH_MAX];
    uint64_t cache_size;            /* 0: default */
    char stats_dir[PATH_MAX];
    int keep_stats;
    int report;
    uint64_t inflight;              /* bytes background fetches may have in flight */
};

void settings_load(struct settings *out);
/* Adds the mounts of UFSHIM_MOUNTS and UFSHIM_CONFIG to the mount table. */
void settings_load_mounts(void);

#endif
