/* fs/mount.h — the mount table: which path prefixes are views of which store locations, with
 * each mount's options. Built once per process from UFSHIM_MOUNTS and UFSHIM_CONFIG (see
 * settings.h); read-only afterwards, so lookups take no lock.
 *
 * A mount spec is PREFIX=URL, URL being SCHEME://BUCKET[/PREFIX][?OPTIONS]. Options this layer
 * owns: meta_ttl (seconds, default 3600), whole_max (size, default 4M: objects up to it are
 * fetched whole at open), index (0/1, default 1), prefetch (parallel fetches, default 32, 0 off),
 * readahead (largest window, default 64M, 0 off), write (through|cache|async|ro, see write.h).
 * Others go to the backend. A spec with a usable prefix but a bad URL
 * or option makes a broken mount: its paths fail with EIO and the log says why. */
#ifndef UFSHIM_MOUNT_H
#define UFSHIM_MOUNT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "../backends/backend.h"

#define MOUNT_MAX 64

/* What happens to bytes written under a mount (named after Alluxio's write types). */
enum write_mode {
    WRITE_THROUGH,                  /* CACHE_THROUGH: uploaded when the last writer closes */
    WRITE_CACHE,                    /* MUST_CACHE: kept in the node's cache, never uploaded */
    WRITE_ASYNC,                    /* ASYNC_THROUGH: uploaded in the background after close */
    WRITE_RO,                       /* read-only: EROFS */
};

struct mount {
    char prefix[PATH_MAX];
    size_t prefix_len;
    char id[17];                    /* hex hash of the prefix: names its ns/ directory */
    char url[2048];                 /* SCHEME://BUCKET/PREFIX, without options: the store identity */
    char key_prefix[1024];          /* "" or ending in "/" */
    const struct backend_ops *ops;
    struct backend *backend;
    double meta_ttl;
    uint64_t whole_max;
    uint64_t readahead_max;         /* largest read-ahead window of a sequential reader; 0: none */
    int index;                      /* keep a listing index of the whole location (index.h) */
    int prefetch;                   /* parallel fetches of the cross-file prefetcher; 0: off */
    enum write_mode write_mode;
    int broken;                     /* paths fail with EIO */
};

/* Parses and adds one spec; `origin` names where it came from, for log lines. */
void mount_add(const char *spec, const char *origin);
int mount_count(void);
struct mount *mount_at(int i);
/* The mount holding a normalised absolute path, with *rel set to the path inside it ("" for
 * the mount root, otherwise no leading slash); NULL if none. The longest prefix wins. */
struct mount *mount_lookup(const char *abs, const char **rel);
/* A cheap test on an unnormalised absolute path: 0 means it cannot be inside any mount. The
 * first byte after the slash is checked against a table before any string comparison, so that
 * most paths outside the mounts cost a couple of instructions. */
extern unsigned char mount_second_byte[256];
int mount_maybe_slow(const char *path);
static inline int mount_maybe(const char *path)
{
    return path[0] == '/' && mount_second_byte[(unsigned char)path[1]] && mount_maybe_slow(path);
}
/* 1 if abs (normalised) is a strict ancestor of a mount prefix. */
int mount_is_ancestor(const char *abs);
struct mount *mount_by_id(const char *id, size_t len);
/* How long the node's records of its own changes outlive the store's view (overlay.h):
 * meta_ttl for uploading mounts, forever (-1) for write=cache, whose changes exist nowhere else. */
double mount_overlay_age(const struct mount *m);
/* The store key of a path inside m (rel as from mount_lookup), followed by suffix ("" or "/"). */
void mount_key(const struct mount *m, const char *rel, const char *suffix, char *out, size_t outlen);
/* Parses "4M", "64MiB", "1G", "1000" into bytes; -1 if malformed. */
int64_t parse_size(const char *s);

#endif
