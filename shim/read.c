/* shim/read.c — the read family on large mount files (sparse cached copies): read, pread,
 * readv, preadv(2) and their 64 and fortify forms fill the blocks a call will touch before
 * the real call runs. A sequential reader gets a read-ahead window that starts at one part
 * (8 MiB) on its second consecutive read and doubles up to the mount's readahead size; the
 * window's parts are fetched in parallel in the background while the reader's own blocks are
 * fetched in the foreground. A random reader fetches only the blocks it touches (one request);
 * once it has missed RANDOM_MISSES times on one fd, the rest of the object (up to
 * WHOLE_FACTOR x readahead in size) is queued in parts too, so random access over a shard soon
 * runs from the cache instead of paying a round trip per read.
 * Calls that read behind these hooks' back — mmap, sendfile, copy_file_range, splice — fill the
 * range they need (mmap: the whole object) first. Other fds cost one load and a branch. */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../common/log.h"
#include "fdtable.h"
#include "open.h"
#include "shim.h"

#define RANDOM_MISSES 4
#define WHOLE_FACTOR 16

ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen);
ssize_t __pread64_chk(int fd, void *buf, size_t n, off64_t off, size_t buflen);

/* Fills [off, off+len) (plus read-ahead for sequential readers) of fd's object. 0, or -1 with
 * errno EIO (the reason is logged). off < 0 means the fd's current offset. */
static int fill(struct fd_entry *e, int fd, off_t off, size_t len, int track_sequence)
{
    int rc, saved = errno;
    uint64_t end;
    if (off < 0 && (off = lseek(fd, 0, SEEK_CUR)) < 0) return -1;
    end = (uint64_t)off + len;
    SHIM_ENTER();
    if (track_sequence) {
        if ((uint64_t)off == e->next_seq && off > 0 && e->m->readahead_max) {
            e->window = e->window ? e->window * 2 : BLOCKFILE_PART_SIZE;
            if (e->window > e->m->readahead_max) e->window = e->m->readahead_max;
            if (e->ahead < end) e->ahead = end;
            if (e->ahead < end + e->window) e->ahead = blockfile_fetch_ahead(e->bf, e->ahead, end + e->window - e->ahead);
        } else {
            e->window = 0;
            e->ahead = 0;
            if (!blockfile_has(e->bf, (uint64_t)off, len) && ++e->random_misses >= RANDOM_MISSES &&
                e->attr.size <= WHOLE_FACTOR * e->m->readahead_max && e->whole_queued < e->attr.size)
                e->whole_queued = blockfile_fetch_ahead(e->bf, e->whole_queued, e->attr.size - e->whole_queued);
        }
        e->next_seq = end;
    }
    rc = blockfile_ensure(e->bf, (uint64_t)off, len);
    SHIM_LEAVE();
    if (rc) {
        log_error("reading %s failed: %s", e->abs, strerror(-rc));
        errno = rc == -ESTALE ? EIO : -rc;
        return -1;
    }
    errno = saved;
    return 0;
}

/* The large-file entry of fd, or NULL for every other fd. */
static struct fd_entry *large(int fd)
{
    struct fd_entry *e;
    if (!fdt_is_large(fd) || shim_busy || !(e = fdt_get(fd))) return NULL;
    if (!e->bf) { fdt_put(e); return NULL; }
    return e;
}

__attribute__((noinline)) static int fill_fd(int fd, off_t off, size_t len, int track)
{
    struct fd_entry *e = large(fd);
    int rc = e ? fill(e, fd, off, len, track) : 0;
    fdt_put(e);
    return rc;
}

int shim_complete_fd(int fd)
{
    struct fd_entry *e = large(fd);
    int rc = 0;
    if (!e) return 0;
    SHIM_ENTER();
    rc = blockfile_complete(e->bf);
    SHIM_LEAVE();
    if (rc) {
        log_error("fetching all of %s failed: %s", e->abs, strerror(-rc));
        errno = EIO;
        rc = -1;
    }
    fdt_put(e);
    return rc;
}

static size_t iov_total(const struct iovec *iov, int n)
{
    size_t t = 0;
    for (int i = 0; i < n; i++) t += iov[i].iov_len;
    return t;
}

/* Each read hook is two functions: the exported one tail-calls libc unless fd is a large mount
 * file (so its fast path needs no stack frame), and an out-of-line one fills the blocks first. */
#define READ_HOOK(name, params, args, fd, off, len)                                     \
    __attribute__((noinline)) static ssize_t name##_large params                        \
    {                                                                                   \
        if (fill_fd(fd, off, len, 1)) return -1;                                        \
        return REAL(name) args;                                                         \
    }                                                                                   \
    EXPORT ssize_t name params                                                          \
    {                                                                                   \
        if (__builtin_expect(fdt_is_large(fd), 0)) return name##_large args;            \
        return REAL(name) args;                                                         \
    }

READ_HOOK(read, (int fd, void *buf, size_t n), (fd, buf, n), fd, -1, n)
READ_HOOK(__read_chk, (int fd, void *buf, size_t n, size_t buflen), (fd, buf, n, buflen), fd, -1, n)
READ_HOOK(pread, (int fd, void *buf, size_t n, off_t off), (fd, buf, n, off), fd, off, n)
READ_HOOK(__pread_chk, (int fd, void *buf, size_t n, off_t off, size_t buflen), (fd, buf, n, off, buflen), fd, off, n)
READ_HOOK(readv, (int fd, const struct iovec *iov, int n), (fd, iov, n), fd, -1, iov_total(iov, n))
READ_HOOK(preadv, (int fd, const struct iovec *iov, int n, off_t off), (fd, iov, n, off), fd, off, iov_total(iov, n))
READ_HOOK(preadv2, (int fd, const struct iovec *iov, int n, off_t off, int flags), (fd, iov, n, off, flags), fd, off,
          iov_total(iov, n))
EXPORT ssize_t pread64(int fd, void *buf, size_t n, off64_t off) __attribute__((alias("pread")));
EXPORT ssize_t __pread64_chk(int fd, void *buf, size_t n, off64_t off, size_t buflen) __attribute__((alias("__pread_chk")));
EXPORT ssize_t preadv64(int fd, const struct iovec *iov, int n, off64_t off) __attribute__((alias("preadv")));
EXPORT ssize_t preadv64v2(int fd, const struct iovec *iov, int n, off64_t off, int flags) __attribute__((alias("preadv2")));

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    if (fdt_any && !(flags & MAP_ANONYMOUS) && shim_complete_fd(fd)) return MAP_FAILED;
    return REAL(mmap)(addr, len, prot, flags, fd, off);
}
EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off) __attribute__((alias("mmap")));

EXPORT ssize_t sendfile(int out, int in, off_t *off, size_t count)
{
    if (fdt_any && fill_fd(in, off ? *off : -1, count, 0)) return -1;
    return REAL(sendfile)(out, in, off, count);
}
EXPORT ssize_t sendfile64(int out, int in, off64_t *off, size_t count) __attribute__((alias("sendfile")));

EXPORT ssize_t copy_file_range(int in, off64_t *in_off, int out, off64_t *out_off, size_t len, unsigned flags)
{
    if (fdt_any && fill_fd(in, in_off ? *in_off : -1, len, 0)) return -1;
    return REAL(copy_file_range)(in, in_off, out, out_off, len, flags);
}

EXPORT ssize_t splice(int in, off64_t *in_off, int out, off64_t *out_off, size_t len, unsigned flags)
{
    if (fdt_any && fill_fd(in, in_off ? *in_off : -1, len, 0)) return -1;
    return REAL(splice)(in, in_off, out, out_off, len, flags);
}
