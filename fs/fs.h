/* fs/fs.h — the file layer: paths inside mounts as files and directories, backed by the store
 * (backends/) and the caches (cache/). Knows nothing of libc symbols or fds handed to
 * applications beyond returning real descriptors; the shim and the `ufs` CLI both use it.
 * Every function returns 0 or a negative errno and may be called from any thread. */
#ifndef UFSHIM_FS_H
#define UFSHIM_FS_H

#include <stdint.h>

#include "../cache/meta.h"
#include "../cache/object.h"
#include "mount.h"
#include "settings.h"

struct fs_attr {
    int is_dir;
    uint64_t size;
    int64_t mtime;
    uint64_t ino;                   /* stable per path */
    char etag[BACKEND_ETAG_MAX];
    int staged;                     /* the bytes are a file written on this node (write.h) */
};

struct fs_file {
    int fd;                         /* real descriptor of the cached copy */
    struct blockfile *bf;           /* NULL when the copy is complete (whole-fetched) */
    struct fs_attr attr;
};

/* Reads the settings, mounts and cache; later calls return the first result. 0 if usable. */
int fs_init(void);
const struct settings *fs_settings(void);
int fs_stat(struct mount *m, const char *rel, struct fs_attr *out);
/* Children of a directory (a new reference: meta_listing_unref when done). */
int fs_list(struct mount *m, const char *rel, struct meta_listing **out);
/* A directory stream (fs/dirstream.c): read by position from the mount's index when it has one
 * (constant memory for any directory size), else from fs_list. fs_dir_read gives the pos-th
 * child (from 0): 1 with *name (valid until the next call on d) and *is_dir, 0 past the end. */
struct fs_dir;
int fs_dir_open(struct mount *m, const char *rel, struct fs_dir **out);
int fs_dir_read(struct fs_dir *d, long pos, const char **name, int *is_dir);
void fs_dir_close(struct fs_dir *d);
/* Opens a file for reading, given its attributes from fs_stat (looked up again only if the
 * object changed since). open_flags are the application's, without access-mode or creation
 * bits. -EISDIR for a directory. */
int fs_open_file(struct mount *m, const char *rel, const struct fs_attr *attr, int open_flags, struct fs_file *out);
uint64_t fs_ino(const struct mount *m, const char *rel);
/* Small files only: 1 if cached; fs_prefetch_file fetches one into the cache unless it is
 * cached or being fetched (1 fetched, 0 not needed, -errno). */
int fs_is_cached(struct mount *m, const char *rel, const struct fs_attr *attr);
int fs_prefetch_file(struct mount *m, const char *rel, const struct fs_attr *attr);
/* In a forked child, before anything else: new connections, new counters. */
void fs_after_fork(void);

#endif
