/* shim/dir.c — the directory family for mount directories: opendir/fdopendir/readdir(_r)(64)/
 * closedir/rewinddir/seekdir/telldir/dirfd, scandir(at), getdents64, glob, nftw/ftw.
 *
 * A mount directory stream is our own DIR: it begins with the bytes {-1 as int, "UFSM"} where
 * glibc's DIR has {fd, lock}; glibc never has fd -1 there, so one 8-byte compare tells them
 * apart. Its entries come from a directory stream opened at opendir (fs_dir_open: the index
 * read by position, or one listing); its dirfd() is the stand-in
 * directory fd, registered in the fd table so that *at() calls relative to it work.
 * glibc's glob, scandir and nftw open directories through internal calls we cannot see, so for
 * mount paths they are run here: glob through GLOB_ALTDIRFUNC, the others re-implemented. */
#include <dirent.h>
#include <stdio.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdtable.h"
#include "open.h"
#include "resolve.h"
#include "shim.h"

#define VDIR_TAG 0x4d534655u     /* "UFSM" */

struct vdir {
    int minus_one;              /* where glibc's DIR keeps its fd */
    unsigned tag;
    int fd;                     /* stand-in directory fd (owned) */
    struct fd_entry *dir;
    struct fs_dir *stream;
    long pos;                   /* 0 ".", 1 "..", then children */
    pthread_mutex_t lock;
    struct dirent64 ent;
};

static int is_vdir(const void *d)
{
    const unsigned *w = d;
    return d && (int)w[0] == -1 && w[1] == VDIR_TAG;
}

/* Wraps the directory fd (a registered mount dir fd) in a stream; takes ownership of fd. */
static DIR *vdir_new(int fd)
{
    struct vdir *d;
    struct fd_entry *e = fdt_get(fd);
    int rc;
    if (!e || e->kind != FD_DIR) { fdt_put(e); errno = ENOTDIR; return NULL; }
    if (!(d = calloc(1, sizeof *d))) { fdt_put(e); errno = ENOMEM; return NULL; }
    SHIM_ENTER();
    rc = fs_dir_open(e->m, e->rel, &d->stream);
    SHIM_LEAVE();
    if (rc) { fdt_put(e); free(d); errno = -rc; return NULL; }
    d->minus_one = -1;
    d->tag = VDIR_TAG;
    d->fd = fd;
    d->dir = e;
    pthread_mutex_init(&d->lock, NULL);
    return (DIR *)d;
}

static DIR *opendir_mount(const struct vpath *vp)
{
    int fd = shim_open_path(vp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d;
    if (fd < 0) { errno = -fd; return NULL; }
    if (!(d = vdir_new(fd))) {
        int e = errno;
        fdt_clear(fd);
        REAL(close)(fd);
        errno = e;
    }
    return d;
}

__attribute__((noinline)) static DIR *opendir_slow(const char *path)
{
    struct vpath vp;
    int rc, saved = errno;
    DIR *d;
    rc = resolve(path, &vp);
    if (rc == 0) return REAL(opendir)(vp.pass);
    if (rc < 0) { errno = -rc; return NULL; }
    if ((d = opendir_mount(&vp))) errno = saved;
    return d;
}

EXPORT DIR *opendir(const char *path)
{
    if (!shim_on() || !shim_path_maybe(AT_FDCWD, path)) return REAL(opendir)(path);
    return opendir_slow(path);
}

EXPORT DIR *fdopendir(int fd)
{
    struct fd_entry *e = fdt_get(fd);
    if (!e) return REAL(fdopendir)(fd);
    fdt_put(e);
    return vdir_new(fd);
}

/* The next entry, filled into d->ent; NULL at the end. Caller holds d->lock. */
static struct dirent64 *next_entry(struct vdir *d)
{
    struct dirent64 *ent = &d->ent;
    const char *name;
    int is_dir;
    long i = d->pos;

    if (i < 2) { name = i == 0 ? "." : ".."; is_dir = 1; }
    else if (!fs_dir_read(d->stream, i - 2, &name, &is_dir)) return NULL;
    memset(ent, 0, offsetof(struct dirent64, d_name));
    if (i >= 2) {
        char rel[PATH_MAX];
        snprintf(rel, sizeof rel, "%s%s%s", d->dir->rel, *d->dir->rel ? "/" : "", name);
        ent->d_ino = fs_ino(d->dir->m, rel);
    } else {
        ent->d_ino = d->dir->attr.ino;
    }
    ent->d_off = i + 1;
    ent->d_reclen = sizeof *ent;
    ent->d_type = is_dir ? DT_DIR : DT_REG;
    snprintf(ent->d_name, sizeof ent->d_name, "%s", name);
    d->pos++;
    return ent;
}

EXPORT struct dirent *readdir(DIR *dir)
{
    struct vdir *d = (struct vdir *)dir;
    struct dirent64 *e;
    if (!is_vdir(dir)) return REAL(readdir)(dir);
    pthread_mutex_lock(&d->lock);
    e = next_entry(d);
    pthread_mutex_unlock(&d->lock);
    return (struct dirent *)e;
}
_Static_assert(sizeof(struct dirent) == sizeof(struct dirent64), "dirent64 layout");
EXPORT struct dirent64 *readdir64(DIR *dir) __attribute__((alias("readdir")));

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
EXPORT int readdir_r(DIR *dir, struct dirent *entry, struct dirent **result)
{
    struct vdir *d = (struct vdir *)dir;
    struct dirent64 *e;
    if (!is_vdir(dir)) return REAL(readdir_r)(dir, entry, result);
    pthread_mutex_lock(&d->lock);
    e = next_entry(d);
    if (e) memcpy(entry, e, sizeof *e);
    pthread_mutex_unlock(&d->lock);
    *result = e ? entry : NULL;
    return 0;
}
EXPORT int readdir64_r(DIR *dir, struct dirent64 *entry, struct dirent64 **result) __attribute__((alias("readdir_r")));
#pragma GCC diagnostic pop

EXPORT int closedir(DIR *dir)
{
    struct vdir *d = (struct vdir *)dir;
    if (!is_vdir(dir)) {
        if (fdt_any) fdt_clear(REAL(dirfd)(dir));
        return REAL(closedir)(dir);
    }
    fdt_clear(d->fd);
    REAL(close)(d->fd);
    fdt_put(d->dir);
    fs_dir_close(d->stream);
    pthread_mutex_destroy(&d->lock);
    d->tag = 0;
    free(d);
    return 0;
}

EXPORT void rewinddir(DIR *dir)
{
    struct vdir *d = (struct vdir *)dir;
    if (!is_vdir(dir)) { REAL(rewinddir)(dir); return; }
    pthread_mutex_lock(&d->lock);
    d->pos = 0;
    pthread_mutex_unlock(&d->lock);
}

EXPORT void seekdir(DIR *dir, long pos)
{
    struct vdir *d = (struct vdir *)dir;
    if (!is_vdir(dir)) { REAL(seekdir)(dir, pos); return; }
    pthread_mutex_lock(&d->lock);
    d->pos = pos < 0 ? 0 : pos;
    pthread_mutex_unlock(&d->lock);
}

EXPORT long telldir(DIR *dir)
{
    struct vdir *d = (struct vdir *)dir;
    long pos;
    if (!is_vdir(dir)) return REAL(telldir)(dir);
    pthread_mutex_lock(&d->lock);
    pos = d->pos;
    pthread_mutex_unlock(&d->lock);
    return pos;
}

EXPORT int dirfd(DIR *dir)
{
    return is_vdir(dir) ? ((struct vdir *)dir)->fd : REAL(dirfd)(dir);
}

/* getdents64 on a mount directory fd: the listing, packed as the kernel would. */
EXPORT ssize_t getdents64(int fd, void *buf, size_t len)
{
    struct fd_entry *e = fdt_get(fd);
    size_t used = 0;
    int rc = 0;
    if (!e) return REAL(getdents64)(fd, buf, len);
    if (e->kind != FD_DIR) { fdt_put(e); return shim_fail(-ENOTDIR); }
    SHIM_ENTER();
    if (!e->dir_stream) rc = fs_dir_open(e->m, e->rel, &e->dir_stream);
    while (rc == 0) {
        long i = e->dir_pos;
        const char *name = i == 0 ? "." : "..";
        int is_dir = 1;
        if (i >= 2 && !fs_dir_read(e->dir_stream, i - 2, &name, &is_dir)) break;
        size_t namelen = strlen(name), reclen = (offsetof(struct dirent64, d_name) + namelen + 1 + 7) & ~(size_t)7;
        struct dirent64 *d = (struct dirent64 *)((char *)buf + used);
        char rel[PATH_MAX];
        if (used + reclen > len) {
            if (used == 0) rc = -EINVAL;   /* buffer too small */
            break;
        }
        snprintf(rel, sizeof rel, "%s%s%s", e->rel, *e->rel ? "/" : "", name);
        d->d_ino = i < 2 ? e->attr.ino : fs_ino(e->m, rel);
        d->d_off = i + 1;
        d->d_reclen = (unsigned short)reclen;
        d->d_type = is_dir ? DT_DIR : DT_REG;
        memcpy(d->d_name, name, namelen + 1);
        used += reclen;
        e->dir_pos++;
    }
    SHIM_LEAVE();
    fdt_put(e);
    return rc ? shim_fail(rc) : (ssize_t)used;
}

/* scandir over a mount directory stream. */
static int scan_stream(DIR *d, struct dirent ***out, int (*sel)(const struct dirent *),
                       int (*cmp)(const struct dirent **, const struct dirent **))
{
    struct dirent **list = NULL, *e;
    size_t n = 0, cap = 0;
    while ((e = readdir(d))) {
        if (sel && !sel(e)) continue;
        if (n == cap) {
            struct dirent **nl = realloc(list, sizeof *nl * (cap = cap ? cap * 2 : 64));
            if (!nl) goto oom;
            list = nl;
        }
        if (!(list[n] = malloc(sizeof *e))) goto oom;
        memcpy(list[n++], e, sizeof *e);
    }
    closedir(d);
    if (cmp) qsort(list, n, sizeof *list, (int (*)(const void *, const void *))cmp);
    *out = list;
    return (int)n;
oom:
    while (n) free(list[--n]);
    free(list);
    closedir(d);
    errno = ENOMEM;
    return -1;
}

EXPORT int scandirat(int dirfd, const char *path, struct dirent ***out, int (*sel)(const struct dirent *),
                     int (*cmp)(const struct dirent **, const struct dirent **))
{
    struct vpath vp;
    int rc;
    DIR *d;
    if (!shim_on()) return REAL(scandirat)(dirfd, path, out, sel, cmp);
    rc = resolve_at(dirfd, path, &vp);
    if (rc == 0) return REAL(scandirat)(dirfd, vp.pass, out, sel, cmp);
    if (rc < 0) return shim_fail(rc);
    if (!(d = opendir_mount(&vp))) return -1;
    return scan_stream(d, out, sel, cmp);
}

EXPORT int scandir(const char *path, struct dirent ***out, int (*sel)(const struct dirent *),
                   int (*cmp)(const struct dirent **, const struct dirent **))
{
    return scandirat(AT_FDCWD, path, out, sel, cmp);
}
EXPORT int scandir64(const char *path, struct dirent64 ***out, int (*sel)(const struct dirent64 *),
                     int (*cmp)(const struct dirent64 **, const struct dirent64 **)) __attribute__((alias("scandir")));
EXPORT int scandirat64(int dirfd, const char *path, struct dirent64 ***out, int (*sel)(const struct dirent64 *),
                       int (*cmp)(const struct dirent64 **, const struct dirent64 **)) __attribute__((alias("scandirat")));

/* glob: glibc's matcher, with our directory functions when the pattern can reach a mount. */
static void *glob_opendir(const char *path) { return opendir(path); }
static struct dirent *glob_readdir(void *d) { return readdir(d); }
static void glob_closedir(void *d) { closedir(d); }

EXPORT int glob(const char *pattern, int flags, int (*errfunc)(const char *, int), glob_t *g)
{
    struct vpath vp;
    if (!shim_on() || !pattern || (flags & GLOB_ALTDIRFUNC)) return REAL(glob)(pattern, flags, errfunc, g);
    /* Only the pattern's leading literal part decides whether it reaches a mount. */
    if (pattern[0] == '/' ? !mount_maybe(pattern) : (resolve(".", &vp) == 0 && !mount_is_ancestor(vp.abs) && !vp.m))
        return REAL(glob)(pattern, flags, errfunc, g);
    g->gl_opendir = glob_opendir;
    g->gl_readdir = glob_readdir;
    g->gl_closedir = glob_closedir;
    g->gl_stat = stat;
    g->gl_lstat = lstat;
    return REAL(glob)(pattern, flags | GLOB_ALTDIRFUNC, errfunc, g);
}
EXPORT int glob64(const char *pattern, int flags, int (*errfunc)(const char *, int), glob64_t *g) __attribute__((alias("glob")));

/* nftw over a mount tree (no symlinks, no mount points inside). */
static int walk(char *path, size_t len, int level, int (*fn)(const char *, const struct stat *, int, struct FTW *),
                int flags)
{
    struct stat st;
    struct FTW ftw;
    int rc;
    char *slash = strrchr(path, '/');
    ftw.base = slash ? (int)(slash - path + 1) : 0;
    ftw.level = level;
    if (stat(path, &st)) return fn(path, &st, FTW_NS, &ftw);
    if (!S_ISDIR(st.st_mode)) return fn(path, &st, FTW_F, &ftw);
    if (!(flags & FTW_DEPTH) && (rc = fn(path, &st, FTW_D, &ftw))) {
        if ((flags & FTW_ACTIONRETVAL) && rc == FTW_SKIP_SUBTREE) return 0;
        return rc;
    }
    DIR *d = opendir(path);
    if (!d) return fn(path, &st, FTW_DNR, &ftw);
    struct dirent *e;
    rc = 0;
    while (!rc && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (len + n + 2 > PATH_MAX) { errno = ENAMETOOLONG; rc = -1; break; }
        path[len] = '/';
        memcpy(path + len + 1, e->d_name, n + 1);
        rc = walk(path, len + 1 + n, level + 1, fn, flags);
        path[len] = 0;
        if ((flags & FTW_ACTIONRETVAL) && rc == FTW_SKIP_SIBLINGS) { rc = 0; break; }
        if ((flags & FTW_ACTIONRETVAL) && rc == FTW_SKIP_SUBTREE) rc = 0;
    }
    closedir(d);
    if (!rc && (flags & FTW_DEPTH)) rc = fn(path, &st, FTW_DP, &ftw);
    return rc;
}

EXPORT int nftw(const char *dir, int (*fn)(const char *, const struct stat *, int, struct FTW *), int nopenfd, int flags)
{
    struct vpath vp;
    char path[PATH_MAX];
    int rc;
    if (!shim_on()) return REAL(nftw)(dir, fn, nopenfd, flags);
    rc = resolve(dir, &vp);
    if (rc == 0) return REAL(nftw)(vp.pass, fn, nopenfd, flags);
    if (rc < 0) return shim_fail(rc);
    snprintf(path, sizeof path, "%s", dir);
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/') path[--len] = 0;
    return walk(path, len, 0, fn, flags);
}
EXPORT int nftw64(const char *dir, int (*fn)(const char *, const struct stat64 *, int, struct FTW *), int nopenfd,
                  int flags) __attribute__((alias("nftw")));

/* ftw is nftw without struct FTW and with FTW_D for every directory. */
static __thread int (*ftw_fn)(const char *, const struct stat *, int);
static int ftw_adapter(const char *path, const struct stat *st, int type, struct FTW *f)
{
    (void)f;
    return ftw_fn(path, st, type);
}

EXPORT int ftw(const char *dir, int (*fn)(const char *, const struct stat *, int), int nopenfd)
{
    struct vpath vp;
    int rc;
    if (!shim_on()) return REAL(ftw)(dir, fn, nopenfd);
    rc = resolve(dir, &vp);
    if (rc == 0) return REAL(ftw)(vp.pass, fn, nopenfd);
    if (rc < 0) return shim_fail(rc);
    ftw_fn = fn;
    return nftw(dir, ftw_adapter, nopenfd, 0);
}
EXPORT int ftw64(const char *dir, int (*fn)(const char *, const struct stat64 *, int), int nopenfd)
    __attribute__((alias("ftw")));
