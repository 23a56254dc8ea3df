/* shim/write.c — descriptors open for writing a mount file (real fds on staged files, see
 * fs/write.h): the write family reports progress so a sequential writer's parts are uploaded
 * while it writes; fsync/fdatasync publish; closing the last one publishes (through) or queues
 * (async) — from close, fclose, dup2/dup3 over it, and at exit for those never closed. A
 * program started by exec with such a descriptor (a shell redirection) takes it over at start.
 * Other fds cost one load and a branch. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../cache/store.h"
#include "../common/log.h"
#include "../fs/upload.h"
#include "../fs/write.h"
#include "fdtable.h"
#include "shim.h"
#include "write.h"

int shim_writer_closed(struct fd_entry *e, int rc)
{
    int saved = errno, pub;
    SHIM_ENTER();
    pub = fs_write_closed(e->m, e->rel);
    SHIM_LEAVE();
    fdt_put(e);
    if (rc == 0 && pub) return shim_fail(pub);
    errno = saved;
    return rc;
}

struct fd_entry *shim_writer_of(int fd)
{
    struct fd_entry *e;
    if (!fdt_is_writer(fd)) return NULL;
    if ((e = fdt_get(fd)) && !e->writer) { fdt_put(e); e = NULL; }
    return e;
}

/* After n bytes were written through fd. */
static void wrote(int fd, ssize_t n)
{
    struct fd_entry *e;
    if (n <= 0 || !(e = shim_writer_of(fd))) return;
    if ((e->unreported += (uint64_t)n) >= UPLOAD_PART_SIZE) {
        int saved = errno;
        e->unreported = 0;
        SHIM_ENTER();
        fs_write_progress(e->m, e->rel, fd);
        SHIM_LEAVE();
        errno = saved;
    }
    fdt_put(e);
}

#define WROTE(fd, call) ({ ssize_t n_ = (call); if (fdt_is_writer(fd)) wrote(fd, n_); n_; })

EXPORT ssize_t write(int fd, const void *buf, size_t n) { return WROTE(fd, REAL(write)(fd, buf, n)); }
EXPORT ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) { return WROTE(fd, REAL(pwrite)(fd, buf, n, off)); }
EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off) __attribute__((alias("pwrite")));
EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt) { return WROTE(fd, REAL(writev)(fd, iov, cnt)); }
EXPORT ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off) { return WROTE(fd, REAL(pwritev)(fd, iov, cnt, off)); }
EXPORT ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off64_t off) __attribute__((alias("pwritev")));

/* fsync: the bytes are in the store when it returns 0. */
static int flush(int fd, int rc)
{
    struct fd_entry *e;
    int pub, saved = errno;
    if (rc != 0 || !(e = shim_writer_of(fd))) return rc;
    SHIM_ENTER();
    pub = fs_write_flush(e->m, e->rel);
    SHIM_LEAVE();
    fdt_put(e);
    if (pub) return shim_fail(pub);
    errno = saved;
    return 0;
}

EXPORT int fsync(int fd) { return flush(fd, REAL(fsync)(fd)); }
EXPORT int fdatasync(int fd) { return flush(fd, REAL(fdatasync)(fd)); }

static void close_at_exit(int fd, struct fd_entry *e)
{
    if (!e->writer) return;
    fdt_get(fd);                    /* the table's reference goes with the fd */
    fdt_clear(fd);
    shim_writer_closed(e, REAL(close)(fd));
}

void shim_writers_exit(void)
{
    fdt_each(close_at_exit);
    SHIM_ENTER();
    fs_write_exit();
    SHIM_LEAVE();
}

void shim_writers_inherit(void)
{
    char dir[PATH_MAX], link[PATH_MAX + 64], target[PATH_MAX];
    size_t len;
    struct dirent *de;
    DIR *d;
    snprintf(dir, sizeof dir, "%s/overlay/", store_root());
    len = strlen(dir);
    if (!(d = opendir("/proc/self/fd"))) return;
    while ((de = readdir(d))) {
        int fd = atoi(de->d_name), flags;
        ssize_t n;
        snprintf(link, sizeof link, "/proc/self/fd/%s", de->d_name);
        if (de->d_name[0] == '.' || fd == dirfd(d) || (n = readlink(link, target, sizeof target - 1)) <= (ssize_t)len)
            continue;
        target[n] = 0;
        if (strncmp(target, dir, len) || (flags = fcntl(fd, F_GETFL)) < 0 || (flags & O_ACCMODE) == O_RDONLY) continue;
        const char *id = target + len, *slash = strchr(id, '/');
        struct mount *m = slash ? mount_by_id(id, (size_t)(slash - id)) : NULL;
        struct fs_attr attr = {0};
        char abs[PATH_MAX];
        struct fd_entry *e;
        if (!m) continue;
        snprintf(abs, sizeof abs, "%s/%s", m->prefix, slash + 1);
        attr.staged = 1;
        attr.ino = fs_ino(m, slash + 1);
        if ((e = fd_entry_new(FD_FILE, m, abs, &attr))) {
            e->writer = 1;
            fdt_set(fd, e);
        }
    }
    closedir(d);
}
