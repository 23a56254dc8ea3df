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
    void (*free_ctx)(void *);       /* frees ctx when the last user is done (may be NULL) */
};

/* Opens the complete cached copy with open_flags (O_RDONLY plus the caller's O_CLOEXEC,
 * O_NONBLOCK, ...), fetching it first if it is not cached. *hit tells which. */
int wholefile_open(const struct cache_object *obj, int open_flags, int *hit);
/* Fetches the object into the cache unless it is cached or another thread or process is
 * fetching it right now (then returns at once: that fetch will publish it). 1 if this call
 * fetched it, 0 if it did not need to, -errno. Callers that walk many objects check
 * wholefile_cached first, without the lock. */
int wholefile_prefetch(const struct cache_object *obj);
/* 1 if a complete copy is cached. */
int wholefile_cached(const struct cache_object *obj);
/* Makes the complete local file at path (which must never change again) the cached copy of
 * obj, without copying: what was just uploaded is read back from the cache. */
int wholefile_adopt(const struct cache_object *obj, const char *path);

struct blockfile;

#define BLOCKFILE_BLOCK_SIZE (1u << 20)
#define BLOCKFILE_PART_SIZE (8u << 20)    /* the most one request fetches */

/* Opens (creating if needed) the sparse cached copy; *fd is a descriptor with open_flags for the
 * caller to hand out; bf tracks block presence. The blockfile owns obj->ctx from then on, also
 * on failure. */
int blockfile_open(const struct cache_object *obj, int open_flags, int *fd, struct blockfile **bf);
/* Makes bytes [off, off+len) present (clipped to the object). Several processes asking for the
 * same block at once fetch it once: the others wait for it. */
int blockfile_ensure(struct blockfile *bf, uint64_t off, uint64_t len);
int blockfile_complete(struct blockfile *bf);
int blockfile_is_complete(const struct blockfile *bf);
/* 1 if every block of [off, off+len) is present. */
int blockfile_has(const struct blockfile *bf, uint64_t off, uint64_t len);
/* Read-ahead: queues background fetches of the missing parts (BLOCKFILE_PART_SIZE each, in
 * parallel on the work pool) of [off, off+len). Stops queuing when the pool's bytes-in-flight
 * budget is spent (the reader then fetches in the foreground). Returns where queuing stopped. */
uint64_t blockfile_fetch_ahead(struct blockfile *bf, uint64_t off, uint64_t len);
/* As wholefile_adopt, for a large object: the file becomes the data file with every block present. */
int blockfile_adopt(const struct cache_object *obj, const char *path);
void blockfile_ref(struct blockfile *bf);
/* Drops a reference; the last one frees the blockfile and its obj->ctx. */
void blockfile_unref(struct blockfile *bf);

#endif
