/* cache/blockfile.c — large objects as sparse files filled block by block; see object.h.
 *
 * NAME.map: a header (which data inode it describes, object and block size) and, from offset
 * 4096, one bit per block, shared by every process through MAP_SHARED. Bits are set with atomic
 * OR after the block's bytes are written with pwrite, and read with acquire loads. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/counters.h"
#include "../common/workpool.h"
#include "lock.h"
#include "object.h"

#define MAP_MAGIC 0x5546534d41503031ULL   /* "UFSMAP01" */
#define MAP_BITS_OFFSET 4096
#define MAX_RUN_BLOCKS (BLOCKFILE_PART_SIZE / BLOCKFILE_BLOCK_SIZE)
#define LOCK_CREATE (UINT64_MAX - 1)

struct map_header {
    uint64_t magic, ino, dev, size, block_size, nblocks;
};

struct blockfile {
    int refs;
    struct cache_object obj;
    uint64_t nblocks;
    int wfd;                        /* O_RDWR descriptor of the data file, for filling */
    void *map;
    size_t map_len;
    uint64_t *bits;
    int complete;
};

static size_t map_length(uint64_t nblocks)
{
    return MAP_BITS_OFFSET + (size_t)((nblocks + 63) / 64) * 8;
}

static int has_block(const struct blockfile *bf, uint64_t i)
{
    return (__atomic_load_n(&bf->bits[i / 64], __ATOMIC_ACQUIRE) >> (i % 64)) & 1;
}

/* Opens the published data file and its map; -ENOENT if either is missing or they do not
 * belong together. */
static int attach(struct blockfile *bf)
{
    char path[PATH_MAX];
    struct stat st;
    int mfd;
    const struct map_header *h;

    store_object_path(bf->obj.name, NULL, path, sizeof path);
    bf->wfd = open(path, O_RDWR | O_CLOEXEC);
    if (bf->wfd < 0) return errno == ENOENT ? -ENOENT : -errno;
    store_object_path(bf->obj.name, ".map", path, sizeof path);
    mfd = open(path, O_RDWR | O_CLOEXEC);
    if (mfd < 0 || fstat(bf->wfd, &st)) goto stale;
    bf->map_len = map_length(bf->nblocks);
    bf->map = mmap(NULL, bf->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    close(mfd);
    mfd = -1;
    if (bf->map == MAP_FAILED) { bf->map = NULL; goto stale; }
    h = bf->map;
    if (h->magic != MAP_MAGIC || h->ino != (uint64_t)st.st_ino || h->dev != (uint64_t)st.st_dev ||
        h->size != bf->obj.size || h->block_size != BLOCKFILE_BLOCK_SIZE || (uint64_t)st.st_size != bf->obj.size) {
        munmap(bf->map, bf->map_len);
        bf->map = NULL;
        goto stale;
    }
    bf->bits = (uint64_t *)((char *)bf->map + MAP_BITS_OFFSET);
    return 0;
stale:
    if (mfd >= 0) close(mfd);
    close(bf->wfd);
    bf->wfd = -1;
    return -ENOENT;
}

/* Makes an empty sparse data file and its map in tmp/, then publishes map, then data. */
static int create(struct blockfile *bf)
{
    char dpath[PATH_MAX], mpath[PATH_MAX];
    struct stat st;
    struct timespec times[2] = {{bf->obj.mtime, 0}, {bf->obj.mtime, 0}};
    struct map_header h = {MAP_MAGIC, 0, 0, bf->obj.size, BLOCKFILE_BLOCK_SIZE, bf->nblocks};
    int rc = 0, dfd, mfd;

    if ((dfd = store_tmp_file(dpath, sizeof dpath)) < 0) return dfd;
    if ((mfd = store_tmp_file(mpath, sizeof mpath)) < 0) { unlink(dpath); close(dfd); return mfd; }
    if (ftruncate(dfd, (off_t)bf->obj.size) || futimens(dfd, times) || fstat(dfd, &st) ||
        ftruncate(mfd, (off_t)map_length(bf->nblocks))) {
        rc = -errno;
    } else {
        h.ino = (uint64_t)st.st_ino;
        h.dev = (uint64_t)st.st_dev;
        if (pwrite(mfd, &h, sizeof h, 0) != (ssize_t)sizeof h) rc = -EIO;
    }
    if (rc == 0) rc = store_publish(mpath, bf->obj.name, ".map");
    if (rc == 0) rc = store_publish(dpath, bf->obj.name, NULL);
    if (rc) { unlink(dpath); unlink(mpath); }
    close(dfd);
    close(mfd);
    return rc;
}

int blockfile_adopt(const struct cache_object *obj, const char *path)
{
    uint64_t nblocks = (obj->size + BLOCKFILE_BLOCK_SIZE - 1) / BLOCKFILE_BLOCK_SIZE;
    struct map_header h = {MAP_MAGIC, 0, 0, obj->size, BLOCKFILE_BLOCK_SIZE, nblocks};
    uint64_t token = lock_token(obj->name, LOCK_CREATE);
    size_t bits_len = map_length(nblocks) - MAP_BITS_OFFSET;
    char mpath[PATH_MAX];
    struct stat st;
    unsigned char *bits = malloc(bits_len);
    int rc = 0, mfd;

    if (!bits) return -ENOMEM;
    memset(bits, 0xff, bits_len);
    if (stat(path, &st) != 0) { free(bits); return -errno; }
    h.ino = (uint64_t)st.st_ino;
    h.dev = (uint64_t)st.st_dev;
    if ((mfd = store_tmp_file(mpath, sizeof mpath)) < 0) { free(bits); return mfd; }
    if (pwrite(mfd, &h, sizeof h, 0) != (ssize_t)sizeof h ||
        pwrite(mfd, bits, bits_len, MAP_BITS_OFFSET) != (ssize_t)bits_len)
        rc = -EIO;
    close(mfd);
    free(bits);
    if (rc == 0 && (rc = lock_acquire(token, 1)) == 0) {
        /* the data file goes in first: a map is only believed for its own data inode */
        char dpath[PATH_MAX];
        store_object_path(obj->name, NULL, dpath, sizeof dpath);
        unlink(dpath);
        if ((rc = store_adopt(path, obj->name, NULL)) == 0) rc = store_publish(mpath, obj->name, ".map");
        lock_release(token);
    }
    if (rc) unlink(mpath);
    else store_charge(obj->size);
    return rc;
}

int blockfile_open(const struct cache_object *obj, int open_flags, int *fd, struct blockfile **out)
{
    struct blockfile *bf = calloc(1, sizeof *bf);
    char self[64];
    int rc;

    if (!bf) {
        if (obj->free_ctx) obj->free_ctx(obj->ctx);
        return -ENOMEM;
    }
    bf->refs = 1;
    bf->obj = *obj;
    bf->nblocks = (obj->size + BLOCKFILE_BLOCK_SIZE - 1) / BLOCKFILE_BLOCK_SIZE;
    bf->wfd = -1;
    rc = attach(bf);
    if (rc == -ENOENT) {
        uint64_t token = lock_token(obj->name, LOCK_CREATE);
        if ((rc = lock_acquire(token, 1)) == 0) {
            rc = attach(bf);
            if (rc == -ENOENT && (rc = create(bf)) == 0) rc = attach(bf);
            lock_release(token);
        }
    }
    if (rc == 0) {
        snprintf(self, sizeof self, "/proc/self/fd/%d", bf->wfd);
        *fd = open(self, open_flags & ~O_NOFOLLOW);   /* /proc/self/fd/N is a symlink */
        if (*fd < 0) rc = -errno;
    }
    if (rc) {
        blockfile_unref(bf);
        return rc;
    }
    *out = bf;
    return 0;
}

static void set_blocks(struct blockfile *bf, uint64_t from, uint64_t to)
{
    for (uint64_t i = from; i < to; i++)
        __atomic_fetch_or(&bf->bits[i / 64], 1ULL << (i % 64), __ATOMIC_RELEASE);
}

int blockfile_ensure(struct blockfile *bf, uint64_t off, uint64_t len)
{
    uint64_t end, i, last;
    int rc = 0;

    if (__atomic_load_n(&bf->complete, __ATOMIC_ACQUIRE) || len == 0 || off >= bf->obj.size) return 0;
    end = off + len > bf->obj.size || off + len < off ? bf->obj.size : off + len;
    last = (end - 1) / BLOCKFILE_BLOCK_SIZE;
    for (i = off / BLOCKFILE_BLOCK_SIZE; i <= last && rc == 0;) {
        uint64_t j, token = lock_token(bf->obj.name, i);
        if (has_block(bf, i)) { i++; continue; }
        if ((rc = lock_acquire(token, 1))) break;
        if (has_block(bf, i)) { lock_release(token); i++; continue; }   /* someone fetched it */
        /* Extend the request over following missing blocks nobody else is fetching. */
        for (j = i + 1; j <= last && j - i < MAX_RUN_BLOCKS && !has_block(bf, j); j++) {
            if (lock_acquire(lock_token(bf->obj.name, j), 0)) break;
            if (has_block(bf, j)) { lock_release(lock_token(bf->obj.name, j)); break; }
        }
        uint64_t from = i * BLOCKFILE_BLOCK_SIZE, to = j * BLOCKFILE_BLOCK_SIZE;
        if (to > bf->obj.size) to = bf->obj.size;
        rc = bf->obj.fetch(bf->obj.ctx, from, to - from, bf->wfd);
        if (rc == 0) {
            set_blocks(bf, i, j);
            counters_add(CTR_BLOCKS_FETCHED, j - i);
            store_charge(to - from);
        }
        for (uint64_t k = i; k < j; k++) lock_release(lock_token(bf->obj.name, k));
        i = j;
    }
    return rc;
}

int blockfile_has(const struct blockfile *bf, uint64_t off, uint64_t len)
{
    if (__atomic_load_n(&bf->complete, __ATOMIC_ACQUIRE) || len == 0 || off >= bf->obj.size) return 1;
    uint64_t last = (off + len > bf->obj.size ? bf->obj.size : off + len) - 1;
    for (uint64_t i = off / BLOCKFILE_BLOCK_SIZE; i <= last / BLOCKFILE_BLOCK_SIZE; i++)
        if (!has_block(bf, i)) return 0;
    return 1;
}

int blockfile_is_complete(const struct blockfile *bf)
{
    if (__atomic_load_n(&bf->complete, __ATOMIC_ACQUIRE)) return 1;
    for (uint64_t i = 0; i < bf->nblocks; i++)
        if (!has_block(bf, i)) return 0;
    return 1;
}

int blockfile_complete(struct blockfile *bf)
{
    int rc = blockfile_ensure(bf, 0, bf->obj.size);
    if (rc == 0) __atomic_store_n(&bf->complete, blockfile_is_complete(bf), __ATOMIC_RELEASE);
    return rc;
}

struct part_job {
    struct blockfile *bf;
    uint64_t off;
};

static void fetch_part(void *arg)
{
    struct part_job *j = arg;
    blockfile_ensure(j->bf, j->off, BLOCKFILE_PART_SIZE);   /* a failure is the foreground's to report */
    blockfile_unref(j->bf);
    free(j);
}

uint64_t blockfile_fetch_ahead(struct blockfile *bf, uint64_t off, uint64_t len)
{
    uint64_t end = off + len > bf->obj.size ? bf->obj.size : off + len, part = off / BLOCKFILE_PART_SIZE;
    if (__atomic_load_n(&bf->complete, __ATOMIC_ACQUIRE)) return end;
    for (; part * BLOCKFILE_PART_SIZE < end; part++) {
        struct part_job *j;
        if (blockfile_has(bf, part * BLOCKFILE_PART_SIZE, BLOCKFILE_PART_SIZE)) continue;
        if (!(j = malloc(sizeof *j))) break;
        j->bf = bf;
        j->off = part * BLOCKFILE_PART_SIZE;
        blockfile_ref(bf);
        if (workpool_submit(fetch_part, j, 1, BLOCKFILE_PART_SIZE, 0)) {
            blockfile_unref(bf);
            free(j);
            break;
        }
    }
    return part * BLOCKFILE_PART_SIZE < end ? part * BLOCKFILE_PART_SIZE : end;
}

void blockfile_ref(struct blockfile *bf)
{
    __atomic_add_fetch(&bf->refs, 1, __ATOMIC_RELAXED);
}

void blockfile_unref(struct blockfile *bf)
{
    if (__atomic_sub_fetch(&bf->refs, 1, __ATOMIC_ACQ_REL)) return;
    if (bf->map) munmap(bf->map, bf->map_len);
    if (bf->wfd >= 0) close(bf->wfd);
    if (bf->obj.free_ctx) bf->obj.free_ctx(bf->obj.ctx);
    free(bf);
}
