/* shim/readonly.c — calls that would change a mount (mkdir, unlink, rename, link, symlink,
 * chmod, chown, truncate, utimes, mknod, and their *at and fd forms): EROFS for an existing
 * path (EEXIST for mkdir), ENOENT for a missing one, as a read-only file system answers.
 * Writes arrive in a later version; until then mounts are read-only. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <utime.h>

#include "fdtable.h"
#include "resolve.h"
#include "shim.h"

/* -2: not a mount path (vp->pass holds the real call's path); else -1 with errno set. */
#define NOT_OURS (-2)
static int refuse_at(int dirfd, const char *path, int creates, struct vpath *vp)
{
    struct fs_attr a;
    int rc;
    vp->pass = path;
    if (!shim_on()) return NOT_OURS;
    rc = resolve_at(dirfd, path, vp);
    if (rc == 0) return NOT_OURS;
    if (rc < 0) return shim_fail(rc);
    SHIM_ENTER();
    rc = fs_stat(vp->m, vp->rel, &a);
    SHIM_LEAVE();
    if (rc == -ENOENT) return shim_fail(creates ? -EROFS : -ENOENT);
    if (rc) return shim_fail(rc);
    return shim_fail(creates == 2 ? -EEXIST : -EROFS);
}

static int refuse_fd(int fd)
{
    struct fd_entry *e = fdt_get(fd);
    if (!e) return 0;
    fdt_put(e);
    errno = EROFS;
    return 1;
}

#define MKDIR 2     /* creates, and an existing path is EEXIST */
#define CREATES 1

EXPORT int mkdir(const char *p, mode_t m) { struct vpath v; int rc = refuse_at(AT_FDCWD, p, MKDIR, &v); return rc == NOT_OURS ? REAL(mkdir)(v.pass, m) : rc; }
EXPORT int mkdirat(int d, const char *p, mode_t m) { struct vpath v; int rc = refuse_at(d, p, MKDIR, &v); return rc == NOT_OURS ? REAL(mkdirat)(d, v.pass, m) : rc; }
EXPORT int rmdir(const char *p) { struct vpath v; int rc = refuse_at(AT_FDCWD, p, 0, &v); return rc == NOT_OURS ? REAL(rmdir)(v.pass) : rc; }
EXPORT int unlink(const char *p) { struct vpath v; int rc = refuse_at(AT_FDCWD, p, 0, &v); return rc == NOT_OURS ? REAL(unlink)(v.pass) : rc; }
EXPORT int unlinkat(int d, const char *p, int f) { struct vpath v; int rc = refuse_at(d, p, 0, &v); return rc == NOT_OURS ? REAL(unlinkat)(d, v.pass, f) : rc; }
EXPORT int chmod(const char *p, mode_t m) { struct vpath v; int rc = refuse_at(AT_FDCWD, p, 0, &v); return rc == NOT_OURS ? REAL(chmod)(v.pass, m) : rc; }
EXPORT int fchmodat(int d, const char *p, mode_t m, int f) { struct vpath v; int rc = refuse_at(d, p, 0, &v); return rc == NOT_OURS ? REAL(fchmodat)(d, v.pass, m, f) : rc; }
EXPORT int chown(const char *p, uid_t u, gid_t g) { struct vpath v; int rc = refuse_at(AT_FDCWD, p, 0, &v); return rc == NOT_OURS ? REAL(chown)(v.pass, u, g) : rc; }
EXPORT int lchown(const char *p, uid_t u, gid_t g) { struct vpath v; int rc = refuse_at(AT_FDCWD, p, 0, &v); return rc == NOT_OURS ? REAL(lchown)(v.pass, u, g) : rc; }
EXPORT int fchownat(int d, const char *p, uid_t u, gid_t g, int f) { struct vpath v; int rc = refuse_at(d, p, 0, &v); return rc == NOT_OURS ? REAL(fchownat)(d, v.pass, u, g, f) : rc; }
EXPORT int truncate(const char *p, off_t l) { struct vpath v; int rc = refuse_at(AT_FDCWD, p, 0, &v); return rc == NOT_OURS ? REAL(truncate)(v.pass, l) : rc; }
EXPORT int truncate64(const char *p, off64_t l) __attribute__((alias("truncate")));
EXPORT int utime(const char *p, const struct utimbuf *t) { struct vpath v; int rc = refuse_at(AT_FDCWD, p, 0, &v); return rc == NOT_OURS ? REAL(utime)(v.pass, t) : rc; }
EXPORT int utimes(const char *p, const struct timeval t[2]) { struct vpath v; int rc = refuse_at(AT_FDCWD, p, 0, &v); return rc == NOT_OURS ? REAL(utimes)(v.pass, t) : rc; }
EXPORT int lutimes(const char *p, const struct timeval t[2]) { struct vpath v; int rc = refuse_at(AT_FDCWD, p, 0, &v); return rc == NOT_OURS ? REAL(lutimes)(v.pass, t) : rc; }
EXPORT int utimensat(int d, const char *p, const struct timespec t[2], int f)
{
    struct vpath v;
    int rc;
    if (!p) return refuse_fd(d) ? -1 : REAL(utimensat)(d, p, t, f);   /* futimens */
    rc = refuse_at(d, p, 0, &v);
    return rc == NOT_OURS ? REAL(utimensat)(d, v.pass, t, f) : rc;
}
EXPORT int mknod(const char *p, mode_t m, dev_t dev) { struct vpath v; int rc = refuse_at(AT_FDCWD, p, CREATES, &v); return rc == NOT_OURS ? REAL(mknod)(v.pass, m, dev) : rc; }
EXPORT int mknodat(int d, const char *p, mode_t m, dev_t dev) { struct vpath v; int rc = refuse_at(d, p, CREATES, &v); return rc == NOT_OURS ? REAL(mknodat)(d, v.pass, m, dev) : rc; }
EXPORT int symlink(const char *t, const char *p) { struct vpath v; int rc = refuse_at(AT_FDCWD, p, CREATES, &v); return rc == NOT_OURS ? REAL(symlink)(t, v.pass) : rc; }
EXPORT int symlinkat(const char *t, int d, const char *p) { struct vpath v; int rc = refuse_at(d, p, CREATES, &v); return rc == NOT_OURS ? REAL(symlinkat)(t, d, v.pass) : rc; }

/* Two-path calls: refused if either side is in a mount. */
static int refuse_pair(int d1, const char *p1, int d2, const char *p2, struct vpath *v1, struct vpath *v2)
{
    int rc = refuse_at(d1, p1, 0, v1);
    if (rc != NOT_OURS) return rc;
    return refuse_at(d2, p2, CREATES, v2);
}

EXPORT int rename(const char *a, const char *b) { struct vpath x, y; int rc = refuse_pair(AT_FDCWD, a, AT_FDCWD, b, &x, &y); return rc == NOT_OURS ? REAL(rename)(x.pass, y.pass) : rc; }
EXPORT int renameat(int da, const char *a, int db, const char *b) { struct vpath x, y; int rc = refuse_pair(da, a, db, b, &x, &y); return rc == NOT_OURS ? REAL(renameat)(da, x.pass, db, y.pass) : rc; }
EXPORT int renameat2(int da, const char *a, int db, const char *b, unsigned f) { struct vpath x, y; int rc = refuse_pair(da, a, db, b, &x, &y); return rc == NOT_OURS ? REAL(renameat2)(da, x.pass, db, y.pass, f) : rc; }
EXPORT int link(const char *a, const char *b) { struct vpath x, y; int rc = refuse_pair(AT_FDCWD, a, AT_FDCWD, b, &x, &y); return rc == NOT_OURS ? REAL(link)(x.pass, y.pass) : rc; }
EXPORT int linkat(int da, const char *a, int db, const char *b, int f) { struct vpath x, y; int rc = refuse_pair(da, a, db, b, &x, &y); return rc == NOT_OURS ? REAL(linkat)(da, x.pass, db, y.pass, f) : rc; }

/* fd forms: the descriptor is on the cached copy, which must not change under other readers. */
EXPORT int fchmod(int fd, mode_t m) { return fdt_any && refuse_fd(fd) ? -1 : REAL(fchmod)(fd, m); }
EXPORT int fchown(int fd, uid_t u, gid_t g) { return fdt_any && refuse_fd(fd) ? -1 : REAL(fchown)(fd, u, g); }
EXPORT int futimens(int fd, const struct timespec t[2]) { return fdt_any && refuse_fd(fd) ? -1 : REAL(futimens)(fd, t); }
EXPORT int futimes(int fd, const struct timeval t[2]) { return fdt_any && refuse_fd(fd) ? -1 : REAL(futimes)(fd, t); }
EXPORT int ftruncate(int fd, off_t l) { return fdt_any && refuse_fd(fd) ? -1 : REAL(ftruncate)(fd, l); }
EXPORT int ftruncate64(int fd, off64_t l) __attribute__((alias("ftruncate")));
