/* cache/object.h — cached copies of object versions, as real local files.
 *
 * Small objects are cached whole (wholefile.c): fetched completely into tmp/, then renamed into
 * place, so a cached small file is always complete. Large objects are sparse files of the
 * object's exact size filled block by block (blockfile.c), with a presence bitmap in NAME.map
 * that records the data file's inode: a map is only believed for the inode it was made for, so
 * eviction or a refetch never lets a reader take a hole for data. A block's bit is set only
 * after its bytes are written; a process killed mid-fetch leaves the bit clear.
 * Bytes come from a cache_source, which knows nothing of files. */
#ifndef UFSHIM_CACHE_OBJECT_H
#define UFSHIM_CACHE_OBJECT_H

#include <stdint.h>

#include "store.h"

/* Writes bytes [off, off+len) of the object at the same offsets of fd. Returns 0 or -errno. */
typedef int (*cache_fetch_fn)(void *ctx, uint64_t off, uint64_t len, int fd);

struct cache_object {
    char name[STORE_NAME_LEN + 1];  /* from store_object_name */
    uint64_t size;
    int64_t mtime;
    cache_fetch_fn fetch;
    void *ctx;
};

/* Opens the complete cached copy with open_flags (O_RDONLY plus the caller's O_CLOEXEC,
 * O_NONBLOCK, ...), fetching it first if it is not cached. *hit tells which. */
int wholefile_open(const struct cache_object *obj, int open_flags, int *hit);

struct blockfile;

#define BLOCKFILE_BLOCK_SIZE (1u << 20)

/* Opens (creating if needed) the sparse cached copy; *fd is a descriptor with open_flags for the
 * caller to hand out; bf tracks block presence. The blockfile keeps obj->ctx until closed. */
int blockfile_open(const struct cache_object *obj, int open_flags, int *fd, struct blockfile **bf);
/* Makes bytes [off, off+len) present (clipped to the object). Several processes asking for the
 * same block at once fetch it once: the others wait for it. */
int blockfile_ensure(struct blockfile *bf, uint64_t off, uint64_t len);
int blockfile_complete(struct blockfile *bf);
int blockfile_is_complete(const struct blockfile *bf);
void blockfile_ref(struct blockfile *bf);
/* Drops a reference; the last one frees the blockfile and calls free_ctx(ctx). */
void blockfile_unref(struct blockfile *bf, void (*free_ctx)(void *));

#endif
