/* shim/stat.c — the stat family in every form a binary may import: stat/lstat/fstat/fstatat
 * (and 64), the pre-2.33 __xstat names, statx, statfs/statvfs; access, faccessat, euidaccess;
 * readlink; realpath and canonicalize_file_name. Mount paths are answered from fs_stat (a cached
 * listing or one request); mount fds from what was recorded at open. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fdtable.h"
#include "resolve.h"
#include "shim.h"
#include "statbuf.h"

int __xstat(int ver, const char *path, struct stat *st);
int __lxstat(int ver, const char *path, struct stat *st);
int __fxstat(int ver, int fd, struct stat *st);
int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags);
int __xstat64(int ver, const char *path, struct stat64 *st);
int __lxstat64(int ver, const char *path, struct stat64 *st);
int __fxstat64(int ver, int fd, struct stat64 *st);
int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st, int flags);

/* The attributes of a mount path: 0, or -errno. */
static int stat_vpath(const struct vpath *vp, struct fs_attr *a)
{
    int rc;
    SHIM_ENTER();
    rc = fs_stat(vp->m, vp->rel, a);
    SHIM_LEAVE();
    return rc;
}

/* 1 and fills st if fd is a mount fd; 0 if not ours. */
static int stat_fd(int fd, struct stat *st)
{
    struct fd_entry *e = fdt_get(fd);
    struct fs_attr a;
    struct stat real;
    if (!e) return 0;
    a = e->attr;
    if (a.staged && REAL(fstat)(fd, &real) == 0) {   /* a file being written: its size now */
        a.size = (uint64_t)real.st_size;
        a.mtime = real.st_mtime;
    }
    statbuf_fill(e->m, &a, st);
    fdt_put(e);
    return 1;
}

#define NOT_OURS (-2)

/* A directory above a mount prefix that does not exist on disk ("/data" for "/data/set") is
 * reported as an empty directory, so that tools walking up from a mount path do not fail. */
static int ancestor_stat(struct vpath *vp, struct stat *st)
{
    int saved = errno;
    if (vp->abs[0] != '/' || !mount_is_ancestor(vp->abs)) return NOT_OURS;
    if (REAL(stat)(vp->abs, st) == 0 || errno != ENOENT) { errno = saved; return NOT_OURS; }
    struct fs_attr a = {.is_dir = 1, .ino = 2};
    statbuf_fill(mount_at(0), &a, st);
    errno = saved;
    return 0;
}

/* The real stat-like function, in one shape: (dirfd, path, buf, flags, version). */
typedef int (*real_stat_fn)(int dirfd, const char *path, struct stat *st, int flags, int ver);

/* The slow path of every path-based stat: a mount path is answered here, anything else goes to
 * real() with the path resolve_at chose. Kept out of line so that the hooks' fast path has no
 * PATH_MAX-sized frame. */
__attribute__((noinline)) static int stat_at(int dirfd, const char *path, int flags, int ver, struct stat *st,
                                             real_stat_fn real)
{
    struct vpath vp;
    struct fs_attr a;
    int rc, saved = errno;
    if (path && !path[0] && (flags & AT_EMPTY_PATH)) {
        if (stat_fd(dirfd, st)) return 0;
        return real(dirfd, path, st, flags, ver);
    }
    rc = resolve_at(dirfd, path, &vp);
    if (rc == 0) return ancestor_stat(&vp, st) == 0 ? 0 : real(dirfd, vp.pass, st, flags, ver);
    if (rc < 0) return shim_fail(rc);
    if ((rc = stat_vpath(&vp, &a))) return shim_fail(rc);
    statbuf_fill(vp.m, &a, st);
    errno = saved;
    return 0;
}

static int real_stat(int d, const char *p, struct stat *st, int f, int v) { (void)d; (void)f; (void)v; return REAL(stat)(p, st); }
static int real_lstat(int d, const char *p, struct stat *st, int f, int v) { (void)d; (void)f; (void)v; return REAL(lstat)(p, st); }
static int real_fstatat(int d, const char *p, struct stat *st, int f, int v) { (void)v; return REAL(fstatat)(d, p, st, f); }
static int real_xstat(int d, const char *p, struct stat *st, int f, int v) { (void)d; (void)f; return REAL(__xstat)(v, p, st); }
static int real_lxstat(int d, const char *p, struct stat *st, int f, int v) { (void)d; (void)f; return REAL(__lxstat)(v, p, st); }
static int real_fxstatat(int d, const char *p, struct stat *st, int f, int v) { return REAL(__fxstatat)(v, d, p, st, f); }

/* Each hook: the fast path (not a mount path: straight to libc), else stat_at. */
#define STAT_HOOK(dirfd, path, flags, ver, st, real_call, adapter)                 \
    do {                                                                            \
        if (!shim_on() || !shim_path_maybe(dirfd, path)) return real_call;          \
        return stat_at(dirfd, path, flags, ver, st, adapter);                       \
    } while (0)

EXPORT int stat(const char *path, struct stat *st)
{ STAT_HOOK(AT_FDCWD, path, 0, 0, st, REAL(stat)(path, st), real_stat); }
EXPORT int lstat(const char *path, struct stat *st)
{ STAT_HOOK(AT_FDCWD, path, 0, 0, st, REAL(lstat)(path, st), real_lstat); }
EXPORT int fstatat(int dirfd, const char *path, struct stat *st, int flags)
{ STAT_HOOK(dirfd, path, flags, 0, st, REAL(fstatat)(dirfd, path, st, flags), real_fstatat); }
EXPORT int __xstat(int ver, const char *path, struct stat *st)
{ STAT_HOOK(AT_FDCWD, path, 0, ver, st, REAL(__xstat)(ver, path, st), real_xstat); }
EXPORT int __lxstat(int ver, const char *path, struct stat *st)
{ STAT_HOOK(AT_FDCWD, path, 0, ver, st, REAL(__lxstat)(ver, path, st), real_lxstat); }
EXPORT int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags)
{ STAT_HOOK(dirfd, path, flags, ver, st, REAL(__fxstatat)(ver, dirfd, path, st, flags), real_fxstatat); }

EXPORT int fstat(int fd, struct stat *st)
{
    if (fdt_any && stat_fd(fd, st)) return 0;
    return REAL(fstat)(fd, st);
}

EXPORT int __fxstat(int ver, int fd, struct stat *st)
{
    if (fdt_any && stat_fd(fd, st)) return 0;
    return REAL(__fxstat)(ver, fd, st);
}

/* On 64-bit glibc struct stat64 has the layout of struct stat. */
_Static_assert(sizeof(struct stat) == sizeof(struct stat64), "stat64 layout");
EXPORT int stat64(const char *path, struct stat64 *st) __attribute__((alias("stat")));
EXPORT int lstat64(const char *path, struct stat64 *st) __attribute__((alias("lstat")));
EXPORT int fstat64(int fd, struct stat64 *st) __attribute__((alias("fstat")));
EXPORT int fstatat64(int dirfd, const char *path, struct stat64 *st, int flags) __attribute__((alias("fstatat")));
EXPORT int __xstat64(int ver, const char *path, struct stat64 *st) __attribute__((alias("__xstat")));
EXPORT int __lxstat64(int ver, const char *path, struct stat64 *st) __attribute__((alias("__lxstat")));
EXPORT int __fxstat64(int ver, int fd, struct stat64 *st) __attribute__((alias("__fxstat")));
EXPORT int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st, int flags) __attribute__((alias("__fxstatat")));

__attribute__((noinline)) static int statx_at(int dirfd, const char *path, int flags, unsigned mask, struct statx *stx)
{
    struct vpath vp;
    struct fs_attr a;
    struct fd_entry *e;
    int rc, saved = errno;
    if (path && !path[0] && (flags & AT_EMPTY_PATH)) {
        if (!(e = fdt_get(dirfd))) return REAL(statx)(dirfd, path, flags, mask, stx);
        statbuf_fill_statx(e->m, &e->attr, stx);
        fdt_put(e);
        return 0;
    }
    rc = resolve_at(dirfd, path, &vp);
    if (rc == 0) return REAL(statx)(dirfd, vp.pass, flags, mask, stx);
    if (rc < 0 || (rc = stat_vpath(&vp, &a))) return shim_fail(rc);
    statbuf_fill_statx(vp.m, &a, stx);
    errno = saved;
    return 0;
}

EXPORT int statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *stx)
{
    if (!shim_on() || !shim_path_maybe(dirfd, path)) return REAL(statx)(dirfd, path, flags, mask, stx);
    return statx_at(dirfd, path, flags, mask, stx);
}

/* The file system a mount path lives on: the cache's numbers, marked read-only for write=ro. */
static int statvfs_mount(const char *path, struct statvfs *out, int (*real)(const char *, struct statvfs *))
{
    struct vpath vp;
    struct fs_attr a;
    int rc = resolve(path, &vp);
    if (rc == 0) return real(vp.pass, out);
    if (rc < 0 || (rc = stat_vpath(&vp, &a))) return shim_fail(rc);
    if (real(store_root(), out)) return -1;
    if (vp.m->write_mode == WRITE_RO) out->f_flag |= ST_RDONLY;
    return 0;
}

EXPORT int statvfs(const char *path, struct statvfs *out)
{
    if (!shim_on()) return REAL(statvfs)(path, out);
    return statvfs_mount(path, out, REAL(statvfs));
}
EXPORT int statvfs64(const char *path, struct statvfs64 *out) __attribute__((alias("statvfs")));

EXPORT int statfs(const char *path, struct statfs *out)
{
    struct vpath vp;
    struct fs_attr a;
    int rc;
    if (!shim_on()) return REAL(statfs)(path, out);
    rc = resolve(path, &vp);
    if (rc == 0) return REAL(statfs)(vp.pass, out);
    if (rc < 0 || (rc = stat_vpath(&vp, &a))) return shim_fail(rc);
    if (REAL(statfs)(store_root(), out)) return -1;
    if (vp.m->write_mode == WRITE_RO) out->f_flags |= ST_RDONLY;
    return 0;
}
EXPORT int statfs64(const char *path, struct statfs64 *out) __attribute__((alias("statfs")));

/* access() semantics on a mount: everything readable, directories searchable, everything
 * writable unless the mount is write=ro (EROFS), files not executable. */
__attribute__((noinline)) static int access_at(int dirfd, const char *path, int mode, int flags,
                     int (*real)(int, const char *, int, int))
{
    struct vpath vp;
    struct fs_attr a;
    int rc, saved = errno;
    rc = resolve_at(dirfd, path, &vp);
    if (rc == 0) return real(dirfd, vp.pass, mode, flags);
    if (rc < 0 || (rc = stat_vpath(&vp, &a))) return shim_fail(rc);
    if ((mode & W_OK) && vp.m->write_mode == WRITE_RO) return shim_fail(-EROFS);
    if ((mode & X_OK) && !a.is_dir) return shim_fail(-EACCES);
    errno = saved;
    return 0;
}

static int real_faccessat(int dirfd, const char *path, int mode, int flags)
{
    return REAL(faccessat)(dirfd, path, mode, flags);
}

static int real_access(int dirfd, const char *path, int mode, int flags)
{
    (void)dirfd; (void)flags;
    return REAL(access)(path, mode);
}

static int real_euidaccess(int dirfd, const char *path, int mode, int flags)
{
    (void)dirfd; (void)flags;
    return REAL(euidaccess)(path, mode);
}

EXPORT int access(const char *path, int mode)
{
    if (!shim_on() || !shim_path_maybe(AT_FDCWD, path)) return REAL(access)(path, mode);
    return access_at(AT_FDCWD, path, mode, 0, real_access);
}

EXPORT int faccessat(int dirfd, const char *path, int mode, int flags)
{
    if (!shim_on() || !shim_path_maybe(dirfd, path)) return REAL(faccessat)(dirfd, path, mode, flags);
    return access_at(dirfd, path, mode, flags, real_faccessat);
}

EXPORT int euidaccess(const char *path, int mode)
{
    if (!shim_on() || !shim_path_maybe(AT_FDCWD, path)) return REAL(euidaccess)(path, mode);
    return access_at(AT_FDCWD, path, mode, 0, real_euidaccess);
}
EXPORT int eaccess(const char *path, int mode) __attribute__((alias("euidaccess")));

/* Object stores have no symlinks: an existing mount path is "not a link" (EINVAL). */
static ssize_t readlink_at(int dirfd, const char *path, char *buf, size_t size,
                           ssize_t (*real)(int, const char *, char *, size_t))
{
    struct vpath vp;
    struct fs_attr a;
    int rc;
    if (!shim_on()) return real(dirfd, path, buf, size);
    rc = resolve_at(dirfd, path, &vp);
    if (rc == 0) return real(dirfd, vp.pass, buf, size);
    if (rc < 0 || (rc = stat_vpath(&vp, &a))) return shim_fail(rc);
    return shim_fail(-EINVAL);
}

static ssize_t real_readlink(int dirfd, const char *path, char *buf, size_t size)
{
    (void)dirfd;
    return REAL(readlink)(path, buf, size);
}

static ssize_t real_readlinkat(int dirfd, const char *path, char *buf, size_t size)
{
    return REAL(readlinkat)(dirfd, path, buf, size);
}

EXPORT ssize_t readlink(const char *path, char *buf, size_t size)
{
    return readlink_at(AT_FDCWD, path, buf, size, real_readlink);
}

EXPORT ssize_t readlinkat(int dirfd, const char *path, char *buf, size_t size)
{
    return readlink_at(dirfd, path, buf, size, real_readlinkat);
}

/* realpath of a mount path is its normalised form, if it exists (no symlinks in a store). */
__attribute__((noinline)) static char *realpath_slow(const char *path, char *resolved)
{
    struct vpath vp;
    struct fs_attr a;
    int rc = resolve(path, &vp);
    if (rc == 0) return REAL(realpath)(vp.pass, resolved);
    if (rc < 0 || (rc = stat_vpath(&vp, &a))) { errno = -rc; return NULL; }
    if (!resolved && !(resolved = malloc(PATH_MAX))) { errno = ENOMEM; return NULL; }
    snprintf(resolved, PATH_MAX, "%s", vp.abs);
    return resolved;
}

EXPORT char *realpath(const char *path, char *resolved)
{
    if (!shim_on() || !shim_path_maybe(AT_FDCWD, path)) return REAL(realpath)(path, resolved);
    return realpath_slow(path, resolved);
}

EXPORT char *canonicalize_file_name(const char *path)
{
    return realpath(path, NULL);
}

EXPORT char *__realpath_chk(const char *path, char *resolved, size_t resolvedlen)
{
    (void)resolvedlen;
    return realpath(path, resolved);
}
