/* shim/open.c — the open family (open, openat and their 64/fortify forms, creat, fopen, freopen)
 * and the descriptor bookkeeping around it (close, close_range, fclose, dup*, fcntl F_DUPFD).
 * A mount file opens as a real fd on its cached copy (or, when written on this node, on its
 * staged file); a mount directory as a real fd on its stand-in directory. Opening for writing
 * gives a real fd on the staged file (fs/write.h); closing the last one publishes it. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fdtable.h"
#include "open.h"
#include "resolve.h"
#include "shim.h"
#include "../common/log.h"
#include "../fs/write.h"
#include "write.h"

#define WRITE_FLAGS (O_WRONLY | O_RDWR | O_TRUNC | O_APPEND)
/* Flags of the application's open that carry over to the cached copy's descriptor. */
#define KEPT_FLAGS (O_CLOEXEC | O_NONBLOCK | O_NOATIME | O_NOFOLLOW | O_PATH | O_DIRECT)

/* A real fd standing for a mount path: on the stand-in directory of standin_rel, registered
 * in the fd table as kind. */
static int open_standin(struct mount *m, const char *abs, const char *standin_rel, const struct fs_attr *attr,
                        enum fd_kind kind, int open_flags)
{
    char standin[PATH_MAX];
    struct fd_entry *e;
    int fd, rc = resolve_standin(m, standin_rel, standin, sizeof standin);
    if (rc) return rc;
    if ((fd = REAL(open)(standin, open_flags)) < 0) return -errno;
    if (!(e = fd_entry_new(kind, m, abs, attr))) { close(fd); return -ENOMEM; }
    fdt_set(fd, e);
    return fd;
}

int shim_open_dir(struct mount *m, const char *abs, const char *rel, const struct fs_attr *attr, int flags)
{
    return open_standin(m, abs, rel, attr, FD_DIR, O_RDONLY | O_DIRECTORY | (flags & (O_CLOEXEC | O_PATH)));
}

/* For opendir: a directory stream proves a directory with no HEAD or probe (the index, or a
 * listing cached for the readdir that follows). */
static int stat_as_directory(const struct vpath *vp, struct fs_attr *attr)
{
    struct fs_dir *d;
    int rc = fs_dir_open(vp->m, vp->rel, &d);
    if (rc) return rc;
    fs_dir_close(d);
    return fs_stat(vp->m, vp->rel, attr);   /* answered from the index or the cache now */
}

int shim_open_path(const struct vpath *vp, int flags)
{
    struct fs_attr attr;
    struct fs_file f;
    struct fd_entry *e;
    int rc;

    SHIM_ENTER();
    /* O_CREAT alone opens an existing file for reading, as it is */
    if ((flags & O_CREAT) && !(flags & (WRITE_FLAGS | O_EXCL)) && fs_stat(vp->m, vp->rel, &attr) == 0) flags &= ~O_CREAT;
    if ((flags & (WRITE_FLAGS | O_CREAT)) && !(flags & (O_DIRECTORY | O_PATH))) {
        rc = fs_open_write(vp->m, vp->rel, flags, &attr);
        if (rc >= 0 && !(e = fd_entry_new(FD_FILE, vp->m, vp->abs, &attr))) { close(rc); rc = -ENOMEM; }
        else if (rc >= 0) {
            e->writer = 1;
            fdt_set(rc, e);
        }
        SHIM_LEAVE();
        return rc;
    }
    rc = (flags & O_DIRECTORY) ? stat_as_directory(vp, &attr) : fs_stat(vp->m, vp->rel, &attr);
    if (rc == 0 && (flags & O_CREAT) && (flags & O_EXCL)) rc = -EEXIST;
    else if (rc == 0 && attr.is_dir) rc = shim_open_dir(vp->m, vp->abs, vp->rel, &attr, flags);
    else if (rc == 0 && (flags & O_DIRECTORY)) rc = -ENOTDIR;
    /* O_PATH names a file without reading it: no fetch; fstat answers from the table */
    else if (rc == 0 && (flags & O_PATH)) rc = open_standin(vp->m, vp->abs, "", &attr, FD_FILE, O_PATH | (flags & O_CLOEXEC));
    else if (rc == 0) {
        rc = fs_open_file(vp->m, vp->rel, &attr, O_RDONLY | (flags & KEPT_FLAGS), &f);
        if (rc == 0) {
            if (!(e = fd_entry_new(FD_FILE, vp->m, vp->abs, &f.attr))) {
                close(f.fd);
                if (f.bf) blockfile_unref(f.bf);
                rc = -ENOMEM;
            } else {
                e->bf = f.bf;
                fdt_set(f.fd, e);
                rc = f.fd;
            }
        }
    }
    SHIM_LEAVE();
    return rc;
}

__attribute__((noinline)) static int open_slow(int dirfd, const char *path, int flags, mode_t mode,
                                               int (*real)(int, const char *, int, ...))
{
    struct vpath vp;
    int rc, saved = errno;
    rc = resolve_at(dirfd, path, &vp);
    if (rc == 0) {
        rc = real(dirfd, vp.pass, flags, mode);
        if (rc >= 0) fdt_clear(rc);
        return rc;
    }
    if (rc < 0) return shim_fail(rc);
    rc = shim_open_path(&vp, flags);
    if (rc < 0) return shim_fail(rc);
    errno = saved;
    return rc;
}

/* The open family's fast path: not a mount path, straight to libc (clearing a stale fd entry). */
static int open_at(int dirfd, const char *path, int flags, mode_t mode, int (*real)(int, const char *, int, ...))
{
    int fd;
    if (shim_on() && shim_path_maybe(dirfd, path)) return open_slow(dirfd, path, flags, mode, real);
    fd = real(dirfd, path, flags, mode);
    if (fd >= 0) fdt_clear(fd);
    return fd;
}

static mode_t mode_arg(int flags, va_list ap)
{
    return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

/* open(path) is openat(AT_FDCWD, path): every form goes to libc's openat. */
static int real_openat(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    mode_t mode;
    va_start(ap, flags);
    mode = (mode_t)va_arg(ap, int);
    va_end(ap);
    return REAL(openat)(dirfd, path, flags, mode);
}

EXPORT int open(const char *path, int flags, ...)
{
    va_list ap;
    mode_t mode;
    va_start(ap, flags);
    mode = mode_arg(flags, ap);
    va_end(ap);
    return open_at(AT_FDCWD, path, flags, mode, real_openat);
}

EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    mode_t mode;
    va_start(ap, flags);
    mode = mode_arg(flags, ap);
    va_end(ap);
    return open_at(dirfd, path, flags, mode, real_openat);
}

EXPORT int open64(const char *path, int flags, ...) __attribute__((alias("open")));
EXPORT int openat64(int dirfd, const char *path, int flags, ...) __attribute__((alias("openat")));

EXPORT int __open_2(const char *path, int flags)
{
    return open_at(AT_FDCWD, path, flags, 0, real_openat);
}
EXPORT int __open64_2(const char *path, int flags) __attribute__((alias("__open_2")));

EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
    return open_at(dirfd, path, flags, 0, real_openat);
}
EXPORT int __openat64_2(int dirfd, const char *path, int flags) __attribute__((alias("__openat_2")));

EXPORT int creat(const char *path, mode_t mode)
{
    return open_at(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode, real_openat);
}
EXPORT int creat64(const char *path, mode_t mode) __attribute__((alias("creat")));

/* fopen's mode string as open flags. */
static int fopen_flags(const char *mode)
{
    int flags = mode[0] == 'r' ? O_RDONLY : mode[0] == 'w' ? O_WRONLY | O_CREAT | O_TRUNC : O_WRONLY | O_CREAT | O_APPEND;
    for (const char *p = mode + 1; *p && *p != ','; p++) {
        if (*p == '+') flags = (flags & ~O_ACCMODE) | O_RDWR;
        else if (*p == 'e') flags |= O_CLOEXEC;
        else if (*p == 'x') flags |= O_EXCL;
    }
    return flags;
}

/* Opens a mount path for stdio: NULL with errno set on failure. */
static FILE *fopen_mount(const struct vpath *vp, const char *mode)
{
    int fd = shim_open_path(vp, fopen_flags(mode));
    FILE *f;
    if (fd < 0) { errno = -fd; return NULL; }
    f = REAL(fdopen)(fd, mode);   /* the cached copy is complete or made complete below */
    if (!f) {
        int e = errno;
        fdt_clear(fd);
        close(fd);
        errno = e;
    }
    return f;
}

__attribute__((noinline)) static FILE *fopen_slow(const char *path, const char *mode)
{
    struct vpath vp;
    int rc, saved = errno;
    FILE *f;
    rc = resolve(path, &vp);
    if (rc == 0) {
        f = REAL(fopen)(vp.pass, mode);
        if (f) fdt_clear(fileno(f));
        return f;
    }
    if (rc < 0) { errno = -rc; return NULL; }
    /* stdio reads through libc's internal read, which the read hooks never see: complete it */
    f = fopen_mount(&vp, mode);
    if (f && shim_complete_fd(fileno(f)) < 0) {
        int e = errno;
        fclose(f);
        errno = e;
        return NULL;
    }
    if (f) errno = saved;
    return f;
}

EXPORT FILE *fopen(const char *path, const char *mode)
{
    FILE *f;
    if (shim_on() && shim_path_maybe(AT_FDCWD, path)) return fopen_slow(path, mode);
    f = REAL(fopen)(path, mode);
    if (f) fdt_clear(fileno(f));
    return f;
}
EXPORT FILE *fopen64(const char *path, const char *mode) __attribute__((alias("fopen")));

EXPORT FILE *freopen(const char *path, const char *mode, FILE *stream)
{
    struct vpath vp;
    int rc, fd;
    if (!shim_on() || !path) return REAL(freopen)(path, mode, stream);
    rc = resolve(path, &vp);
    if (rc == 0) return REAL(freopen)(vp.pass, mode, stream);
    if (rc < 0) { errno = -rc; return NULL; }
    fd = shim_open_path(&vp, fopen_flags(mode));
    if (fd < 0) { errno = -fd; return NULL; }
    if (shim_complete_fd(fd) < 0) { int e = errno; fdt_clear(fd); close(fd); errno = e; return NULL; }
    /* Reset the stream on /dev/null, then make its descriptor a duplicate of ours: the same
     * open file description (a writer's carries the lock that marks it as one, see fs/write.h). */
    FILE *f = REAL(freopen)("/dev/null", mode, stream);
    if (f && REAL(dup3)(fd, fileno(f), fopen_flags(mode) & O_CLOEXEC) < 0) f = NULL;
    if (f) fdt_dup(fd, fileno(f));
    fdt_clear(fd);
    REAL(close)(fd);                /* not a last close: the stream's descriptor remains */
    return f;
}
EXPORT FILE *freopen64(const char *path, const char *mode, FILE *stream) __attribute__((alias("freopen")));

EXPORT FILE *fdopen(int fd, const char *mode)
{
    if (shim_on() && shim_complete_fd(fd) < 0) return NULL;
    return REAL(fdopen)(fd, mode);
}

EXPORT int close(int fd)
{
    struct fd_entry *w = shim_writer_of(fd);
    int rc;
    fdt_clear(fd);
    rc = REAL(close)(fd);
    return w ? shim_writer_closed(w, rc) : rc;
}

/* After the kernel closed [first, last]: forget them; writers among them were closed too. */
static void closed_range(unsigned first, unsigned last)
{
    for (unsigned fd = first; fdt_any && fd <= last && fd < (1u << 20); fd++) {
        struct fd_entry *w = shim_writer_of((int)fd);
        fdt_clear((int)fd);
        if (w && shim_writer_closed(w, 0)) log_error("closing a file by close_range: its upload failed");
    }
}

EXPORT int close_range(unsigned first, unsigned last, int flags)
{
    int rc = REAL(close_range)(first, last, flags);
    if (rc == 0 && !(flags & CLOSE_RANGE_CLOEXEC)) closed_range(first, last);
    return rc;
}

EXPORT void closefrom(int lowfd)
{
    REAL(closefrom)(lowfd);
    if (lowfd >= 0) closed_range((unsigned)lowfd, ~0u);
}

EXPORT int fclose(FILE *stream)
{
    struct fd_entry *w = NULL;
    int rc;
    if (fdt_any) {
        w = shim_writer_of(fileno(stream));
        fdt_clear(fileno(stream));
    }
    rc = REAL(fclose)(stream);
    return w ? shim_writer_closed(w, rc) : rc;
}

EXPORT int dup(int fd)
{
    int rc = REAL(dup)(fd);
    if (rc >= 0) fdt_dup(fd, rc);
    return rc;
}

/* dup2 and dup3 close fd2 first: when it was writing a mount file, that is a close too. */
static int dup_over(int fd, int fd2, int rc)
{
    struct fd_entry *w = rc >= 0 && fd != fd2 ? shim_writer_of(fd2) : NULL;
    if (rc >= 0 && fd != fd2) fdt_dup(fd, rc);
    if (w && shim_writer_closed(w, 0)) log_error("closing a file by dup2 over it: its upload failed");
    return rc;
}

EXPORT int dup2(int fd, int fd2) { return dup_over(fd, fd2, REAL(dup2)(fd, fd2)); }
EXPORT int dup3(int fd, int fd2, int flags) { return dup_over(fd, fd2, REAL(dup3)(fd, fd2, flags)); }

EXPORT int fcntl(int fd, int cmd, ...)
{
    va_list ap;
    void *arg;
    int rc;
    va_start(ap, cmd);
    arg = va_arg(ap, void *);
    va_end(ap);
    rc = REAL(fcntl)(fd, cmd, arg);
    if (rc >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)) fdt_dup(fd, rc);
    return rc;
}
/* On 64-bit glibc fcntl64 is fcntl. */
EXPORT int fcntl64(int fd, int cmd, ...) __attribute__((alias("fcntl")));
