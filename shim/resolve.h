/* shim/resolve.h — deciding whether a path argument names something inside a mount, relative
 * to the current directory or to a directory fd the shim handed out. Also owns the process's
 * current directory when it is inside a mount (the kernel's is then a stand-in directory under
 * the cache's ns/, which is how child processes find it again). */
#ifndef UFSHIM_RESOLVE_H
#define UFSHIM_RESOLVE_H

#include <limits.h>

#include "../fs/mount.h"
#include "fdtable.h"

/* Whether relative paths can reach a mount (the current directory is in one or above one). */
extern int resolve_cwd_relevant;

/* The fast path of every path hook: 0 when path (relative to dirfd) cannot be in a mount. */
static inline int shim_path_maybe(int dirfd, const char *path)
{
    if (!path) return 0;
    if (path[0] == '/') return mount_maybe(path);
    if (dirfd == -100 /* AT_FDCWD */) return __atomic_load_n(&resolve_cwd_relevant, __ATOMIC_RELAXED);
    return fdt_any;
}

struct vpath {
    struct mount *m;                /* NULL: not in a mount */
    const char *rel;                /* path inside the mount (points into abs) */
    char abs[PATH_MAX];             /* normalised absolute path */
    const char *pass;               /* for the real call when not in a mount */
};

/* Resolves path against dirfd (AT_FDCWD or an fd). Returns 1 if in a mount, 0 if not (then
 * vp->pass is what to give the real function), or -errno (e.g. -ENAMETOOLONG). */
int resolve_at(int dirfd, const char *path, struct vpath *vp);
static inline int resolve(const char *path, struct vpath *vp) { return resolve_at(-100 /* AT_FDCWD */, path, vp); }

/* vp->pass (or path itself) made to outlive vp: copied, when it is not path, into one of two
 * per-thread buffers (slot 0 or 1: rename and link have two paths). */
const char *resolve_keep_pass(const struct vpath *vp, const char *path, int slot);

/* For hooks that only need to know whether a mount path exists: RESOLVE_NOT_OURS if path is
 * not in a mount (*pass then names the path for the real call, kept in slot), else fs_stat's
 * result (0 or -errno). Out of line, so callers keep no PATH_MAX frame. */
#define RESOLVE_NOT_OURS 1
int resolve_exists(int dirfd, const char *path, int slot, const char **pass);

/* The stand-in directory for a mount directory (created on demand). */
int resolve_standin(const struct mount *m, const char *rel, char *out, size_t outlen);
/* Records a successful chdir: the new directory if inside a mount, else NULL (re-reads the
 * real one). */
void cwd_set(const char *abs_in_mount);
/* Copies the virtual current directory; 0 if the process is not in a mount. */
int cwd_get(char *out, size_t outlen);
/* At start-up: maps a stand-in current directory (inherited across exec) back to its mount. */
void cwd_init(void);

#endif
