/* shim/mutate.c — calls that change a mount's namespace or attributes: mkdir, rmdir, unlink,
 * rename (and their *at forms), truncate, the utime family, chmod/chown (and fd forms), link,
 * symlink, mknod. Mount paths go to fs/namespace.h; rename or link between a mount and
 * anything else is EXDEV (mv then copies), link/symlink/mknod inside a mount EPERM (object
 * stores have no such things), chmod/chown EPERM unless they ask for what is already there. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <utime.h>

#include "../fs/namespace.h"
#include "fdtable.h"
#include "resolve.h"
#include "shim.h"

enum op { OP_MKDIR, OP_RMDIR, OP_UNLINK, OP_TRUNCATE, OP_UTIMENS, OP_CHMOD, OP_CHOWN, OP_CREATE_SPECIAL };

struct op_args {
    uint64_t len;
    const struct timespec *times;
    int mode, uid, gid;
};

static int run_op(struct mount *m, const char *rel, enum op op, const struct op_args *a)
{
    struct fs_attr attr;
    int rc;
    switch (op) {
    case OP_MKDIR: return fs_mkdir(m, rel);
    case OP_RMDIR: return fs_rmdir(m, rel);
    case OP_UNLINK: return fs_unlink(m, rel);
    case OP_TRUNCATE: return fs_truncate(m, rel, a->len);
    case OP_UTIMENS: return fs_utimens(m, rel, a->times);
    case OP_CHMOD: return fs_check_owner_mode(m, rel, a->mode, -1, -1);
    case OP_CHOWN: return fs_check_owner_mode(m, rel, -1, a->uid, a->gid);
    case OP_CREATE_SPECIAL:
        rc = fs_stat(m, rel, &attr);
        return rc == 0 ? -EEXIST : rc != -ENOENT ? rc : m->write_mode == WRITE_RO ? -EROFS : -EPERM;
    }
    return -EINVAL;
}

/* -2: not a mount path (*pass is the real call's path); else the hook's result. */
#define NOT_OURS (-2)
__attribute__((noinline)) static int op_at(int d, const char *p, enum op op, const struct op_args *a, const char **pass)
{
    struct vpath vp;
    int rc = resolve_at(d, p, &vp), saved = errno;
    if (rc == 0) { *pass = resolve_keep_pass(&vp, p, 0); return NOT_OURS; }
    if (rc < 0) return shim_fail(rc);
    SHIM_ENTER();
    rc = run_op(vp.m, vp.rel, op, a);
    SHIM_LEAVE();
    if (rc) return shim_fail(rc);
    errno = saved;
    return 0;
}

#define OP(d, p, op, args, real_call)                                                   \
    do {                                                                                \
        const char *pass = (p);                                                         \
        if (shim_on() && shim_path_maybe(d, p)) {                                       \
            int rc_ = op_at(d, p, op, args, &pass);                                     \
            if (rc_ != NOT_OURS) return rc_;                                            \
        }                                                                               \
        return real_call;                                                               \
    } while (0)

/* rename and link: both paths in one mount go to fs_rename (link: EPERM); one of them in a
 * mount is EXDEV. */
__attribute__((noinline)) static int pair_at(int d1, const char *p1, int d2, const char *p2, unsigned flags,
                                             int is_link, const char **pass1, const char **pass2)
{
    struct vpath a, b;
    int ra = resolve_at(d1, p1, &a), rb = resolve_at(d2, p2, &b), rc, saved = errno;
    if (ra < 0 || rb < 0) return shim_fail(ra < 0 ? ra : rb);
    if (ra == 0 && rb == 0) {
        *pass1 = resolve_keep_pass(&a, p1, 0);
        *pass2 = resolve_keep_pass(&b, p2, 1);
        return NOT_OURS;
    }
    if (ra == 0 || rb == 0 || a.m != b.m) return shim_fail(-EXDEV);
    SHIM_ENTER();
    struct fs_attr attr;
    /* a hard link: ENOENT for a missing source, else EPERM (a store has no such thing) */
    rc = is_link ? (fs_stat(a.m, a.rel, &attr) ?: -EPERM) : fs_rename(a.m, a.rel, b.m, b.rel, flags);
    SHIM_LEAVE();
    if (rc) return shim_fail(rc);
    errno = saved;
    return 0;
}

#define PAIR(d1, p1, d2, p2, flags, is_link, real_call)                                 \
    do {                                                                                \
        const char *pass = (p1), *pass2 = (p2);                                         \
        if (shim_on() && (shim_path_maybe(d1, p1) || shim_path_maybe(d2, p2))) {        \
            int rc_ = pair_at(d1, p1, d2, p2, flags, is_link, &pass, &pass2);           \
            if (rc_ != NOT_OURS) return rc_;                                            \
        }                                                                               \
        return real_call;                                                               \
    } while (0)

EXPORT int mkdir(const char *p, mode_t m) { OP(AT_FDCWD, p, OP_MKDIR, NULL, REAL(mkdir)(pass, m)); }
EXPORT int mkdirat(int d, const char *p, mode_t m) { OP(d, p, OP_MKDIR, NULL, REAL(mkdirat)(d, pass, m)); }
EXPORT int rmdir(const char *p) { OP(AT_FDCWD, p, OP_RMDIR, NULL, REAL(rmdir)(pass)); }
EXPORT int unlink(const char *p) { OP(AT_FDCWD, p, OP_UNLINK, NULL, REAL(unlink)(pass)); }
EXPORT int unlinkat(int d, const char *p, int f)
{
    OP(d, p, (f & AT_REMOVEDIR) ? OP_RMDIR : OP_UNLINK, NULL, REAL(unlinkat)(d, pass, f));
}
EXPORT int truncate(const char *p, off_t l)
{
    if (l < 0) { errno = EINVAL; return -1; }
    OP(AT_FDCWD, p, OP_TRUNCATE, (&(struct op_args){.len = (uint64_t)l}), REAL(truncate)(pass, l));
}
EXPORT int truncate64(const char *p, off64_t l) __attribute__((alias("truncate")));
EXPORT int chmod(const char *p, mode_t m) { OP(AT_FDCWD, p, OP_CHMOD, (&(struct op_args){.mode = (int)m}), REAL(chmod)(pass, m)); }
EXPORT int fchmodat(int d, const char *p, mode_t m, int f)
{
    OP(d, p, OP_CHMOD, (&(struct op_args){.mode = (int)m}), REAL(fchmodat)(d, pass, m, f));
}
#define OWNER(u, g) (&(struct op_args){.uid = (u) == (uid_t)-1 ? -1 : (int)(u), .gid = (g) == (gid_t)-1 ? -1 : (int)(g)})
EXPORT int chown(const char *p, uid_t u, gid_t g) { OP(AT_FDCWD, p, OP_CHOWN, OWNER(u, g), REAL(chown)(pass, u, g)); }
EXPORT int lchown(const char *p, uid_t u, gid_t g) { OP(AT_FDCWD, p, OP_CHOWN, OWNER(u, g), REAL(lchown)(pass, u, g)); }
EXPORT int fchownat(int d, const char *p, uid_t u, gid_t g, int f)
{
    OP(d, p, OP_CHOWN, OWNER(u, g), REAL(fchownat)(d, pass, u, g, f));
}
EXPORT int mknod(const char *p, mode_t m, dev_t dev) { OP(AT_FDCWD, p, OP_CREATE_SPECIAL, NULL, REAL(mknod)(pass, m, dev)); }
EXPORT int mknodat(int d, const char *p, mode_t m, dev_t dev) { OP(d, p, OP_CREATE_SPECIAL, NULL, REAL(mknodat)(d, pass, m, dev)); }
EXPORT int symlink(const char *t, const char *p) { OP(AT_FDCWD, p, OP_CREATE_SPECIAL, NULL, REAL(symlink)(t, pass)); }
EXPORT int symlinkat(const char *t, int d, const char *p) { OP(d, p, OP_CREATE_SPECIAL, NULL, REAL(symlinkat)(t, d, pass)); }
EXPORT int rename(const char *a, const char *b) { PAIR(AT_FDCWD, a, AT_FDCWD, b, 0, 0, REAL(rename)(pass, pass2)); }
EXPORT int renameat(int da, const char *a, int db, const char *b) { PAIR(da, a, db, b, 0, 0, REAL(renameat)(da, pass, db, pass2)); }
EXPORT int renameat2(int da, const char *a, int db, const char *b, unsigned f)
{
    PAIR(da, a, db, b, f, 0, REAL(renameat2)(da, pass, db, pass2, f));
}
EXPORT int link(const char *a, const char *b) { PAIR(AT_FDCWD, a, AT_FDCWD, b, 0, 1, REAL(link)(pass, pass2)); }
EXPORT int linkat(int da, const char *a, int db, const char *b, int f) { PAIR(da, a, db, b, 0, 1, REAL(linkat)(da, pass, db, pass2, f)); }

/* The utime family as utimensat times (NULL: now). */
static const struct timespec *from_timeval(const struct timeval *tv, struct timespec ts[2])
{
    if (!tv) return NULL;
    for (int i = 0; i < 2; i++) ts[i] = (struct timespec){tv[i].tv_sec, tv[i].tv_usec * 1000};
    return ts;
}

EXPORT int utimensat(int d, const char *p, const struct timespec t[2], int f);
EXPORT int utime(const char *p, const struct utimbuf *b)
{
    struct timespec ts[2];
    if (b) ts[0] = (struct timespec){b->actime, 0}, ts[1] = (struct timespec){b->modtime, 0};
    return utimensat(AT_FDCWD, p, b ? ts : NULL, 0);
}
EXPORT int utimes(const char *p, const struct timeval t[2])
{
    struct timespec ts[2];
    return utimensat(AT_FDCWD, p, from_timeval(t, ts), 0);
}
EXPORT int lutimes(const char *p, const struct timeval t[2])
{
    struct timespec ts[2];
    return utimensat(AT_FDCWD, p, from_timeval(t, ts), AT_SYMLINK_NOFOLLOW);
}

/* fd forms on a mount fd: a staged file takes them natively; other mount fds are on cached
 * copies, which must not change: the change goes to the path. 1 when fd was ours (result in *rc). */
static int fd_op(int fd, enum op op, const struct op_args *a, int *rc)
{
    struct fd_entry *e = fdt_any ? fdt_get(fd) : NULL;
    if (!e) return 0;
    if (e->attr.staged && op == OP_UTIMENS) { fdt_put(e); return 0; }
    SHIM_ENTER();
    int r = run_op(e->m, e->rel, op, a);
    SHIM_LEAVE();
    fdt_put(e);
    *rc = r ? shim_fail(r) : 0;
    return 1;
}

EXPORT int utimensat(int d, const char *p, const struct timespec t[2], int f)
{
    int rc;
    if (!p) return fd_op(d, OP_UTIMENS, &(struct op_args){.times = t}, &rc) ? rc : REAL(utimensat)(d, p, t, f);
    OP(d, p, OP_UTIMENS, (&(struct op_args){.times = t}), REAL(utimensat)(d, pass, t, f));
}
EXPORT int futimens(int fd, const struct timespec t[2])
{
    int rc;
    return fd_op(fd, OP_UTIMENS, &(struct op_args){.times = t}, &rc) ? rc : REAL(futimens)(fd, t);
}
EXPORT int futimes(int fd, const struct timeval t[2])
{
    struct timespec ts[2];
    return futimens(fd, from_timeval(t, ts));
}
EXPORT int fchmod(int fd, mode_t m)
{
    int rc;
    return fd_op(fd, OP_CHMOD, &(struct op_args){.mode = (int)m}, &rc) ? rc : REAL(fchmod)(fd, m);
}
EXPORT int fchown(int fd, uid_t u, gid_t g)
{
    int rc;
    return fd_op(fd, OP_CHOWN, OWNER(u, g), &rc) ? rc : REAL(fchown)(fd, u, g);
}
