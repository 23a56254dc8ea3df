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

/* -2: not a mount path (*pass is the real call's path); else -1 with errno set. */
#define NOT_OURS (-2)
static int refuse_at(int dirfd, const char *path, int creates, int slot, const char **pass)
{
    int rc = resolve_exists(dirfd, path, slot, pass);
    if (rc == RESOLVE_NOT_OURS) return NOT_OURS;
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

/* One path: libc unless it is a mount path; `pass` names the path the real call gets. */
#define REFUSE(d, p, creates, real_call)                                                \
    do {                                                                                \
        const char *pass = (p);                                                         \
        if (shim_on() && shim_path_maybe(d, p)) {                                       \
            int rc_ = refuse_at(d, p, creates, 0, &pass);                               \
            if (rc_ != NOT_OURS) return rc_;                                            \
        }                                                                               \
        return real_call;                                                               \
    } while (0)

/* Two paths (rename, link): refused if either is in a mount; pass and pass2 for the real call. */
#define REFUSE_PAIR(d1, p1, d2, p2, real_call)                                          \
    do {                                                                                \
        const char *pass = (p1), *pass2 = (p2);                                         \
        if (shim_on() && (shim_path_maybe(d1, p1) || shim_path_maybe(d2, p2))) {        \
            int rc_ = refuse_at(d1, p1, 0, 0, &pass);                                   \
            if (rc_ == NOT_OURS) rc_ = refuse_at(d2, p2, CREATES, 1, &pass2);           \
            if (rc_ != NOT_OURS) return rc_;                                            \
        }                                                                               \
        return real_call;                                                               \
    } while (0)

EXPORT int mkdir(const char *p, mode_t m) { REFUSE(AT_FDCWD, p, MKDIR, REAL(mkdir)(pass, m)); }
EXPORT int mkdirat(int d, const char *p, mode_t m) { REFUSE(d, p, MKDIR, REAL(mkdirat)(d, pass, m)); }
EXPORT int rmdir(const char *p) { REFUSE(AT_FDCWD, p, 0, REAL(rmdir)(pass)); }
EXPORT int unlink(const char *p) { REFUSE(AT_FDCWD, p, 0, REAL(unlink)(pass)); }
EXPORT int unlinkat(int d, const char *p, int f) { REFUSE(d, p, 0, REAL(unlinkat)(d, pass, f)); }
EXPORT int chmod(const char *p, mode_t m) { REFUSE(AT_FDCWD, p, 0, REAL(chmod)(pass, m)); }
EXPORT int fchmodat(int d, const char *p, mode_t m, int f) { REFUSE(d, p, 0, REAL(fchmodat)(d, pass, m, f)); }
EXPORT int chown(const char *p, uid_t u, gid_t g) { REFUSE(AT_FDCWD, p, 0, REAL(chown)(pass, u, g)); }
EXPORT int lchown(const char *p, uid_t u, gid_t g) { REFUSE(AT_FDCWD, p, 0, REAL(lchown)(pass, u, g)); }
EXPORT int fchownat(int d, const char *p, uid_t u, gid_t g, int f) { REFUSE(d, p, 0, REAL(fchownat)(d, pass, u, g, f)); }
EXPORT int truncate(const char *p, off_t l) { REFUSE(AT_FDCWD, p, 0, REAL(truncate)(pass, l)); }
EXPORT int truncate64(const char *p, off64_t l) __attribute__((alias("truncate")));
EXPORT int utime(const char *p, const struct utimbuf *t) { REFUSE(AT_FDCWD, p, 0, REAL(utime)(pass, t)); }
EXPORT int utimes(const char *p, const struct timeval t[2]) { REFUSE(AT_FDCWD, p, 0, REAL(utimes)(pass, t)); }
EXPORT int lutimes(const char *p, const struct timeval t[2]) { REFUSE(AT_FDCWD, p, 0, REAL(lutimes)(pass, t)); }
EXPORT int utimensat(int d, const char *p, const struct timespec t[2], int f)
{
    if (!p) return fdt_any && refuse_fd(d) ? -1 : REAL(utimensat)(d, p, t, f);   /* futimens */
    REFUSE(d, p, 0, REAL(utimensat)(d, pass, t, f));
}
EXPORT int mknod(const char *p, mode_t m, dev_t dev) { REFUSE(AT_FDCWD, p, CREATES, REAL(mknod)(pass, m, dev)); }
EXPORT int mknodat(int d, const char *p, mode_t m, dev_t dev) { REFUSE(d, p, CREATES, REAL(mknodat)(d, pass, m, dev)); }
EXPORT int symlink(const char *t, const char *p) { REFUSE(AT_FDCWD, p, CREATES, REAL(symlink)(t, pass)); }
EXPORT int symlinkat(const char *t, int d, const char *p) { REFUSE(d, p, CREATES, REAL(symlinkat)(t, d, pass)); }
EXPORT int rename(const char *a, const char *b) { REFUSE_PAIR(AT_FDCWD, a, AT_FDCWD, b, REAL(rename)(pass, pass2)); }
EXPORT int renameat(int da, const char *a, int db, const char *b) { REFUSE_PAIR(da, a, db, b, REAL(renameat)(da, pass, db, pass2)); }
EXPORT int renameat2(int da, const char *a, int db, const char *b, unsigned f) { REFUSE_PAIR(da, a, db, b, REAL(renameat2)(da, pass, db, pass2, f)); }
EXPORT int link(const char *a, const char *b) { REFUSE_PAIR(AT_FDCWD, a, AT_FDCWD, b, REAL(link)(pass, pass2)); }
EXPORT int linkat(int da, const char *a, int db, const char *b, int f) { REFUSE_PAIR(da, a, db, b, REAL(linkat)(da, pass, db, pass2, f)); }

/* fd forms: the descriptor is on the cached copy, which must not change under other readers. */
EXPORT int fchmod(int fd, mode_t m) { return fdt_any && refuse_fd(fd) ? -1 : REAL(fchmod)(fd, m); }
EXPORT int fchown(int fd, uid_t u, gid_t g) { return fdt_any && refuse_fd(fd) ? -1 : REAL(fchown)(fd, u, g); }
EXPORT int futimens(int fd, const struct timespec t[2]) { return fdt_any && refuse_fd(fd) ? -1 : REAL(futimens)(fd, t); }
EXPORT int futimes(int fd, const struct timeval t[2]) { return fdt_any && refuse_fd(fd) ? -1 : REAL(futimes)(fd, t); }
EXPORT int ftruncate(int fd, off_t l) { return fdt_any && refuse_fd(fd) ? -1 : REAL(ftruncate)(fd, l); }
EXPORT int ftruncate64(int fd, off64_t l) __attribute__((alias("ftruncate")));
