/* shim/resolve.c — see resolve.h. */
#include "resolve.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../cache/store.h"
#include "../fs/path.h"
#include "fdtable.h"
#include "shim.h"

/* The current directory when it is inside a mount ("" otherwise), and whether relative paths
 * can reach a mount at all (the current directory is inside one, or an ancestor of one). */
static char cwd_path[PATH_MAX];
static char real_cwd[PATH_MAX];
int resolve_cwd_relevant;
static pthread_mutex_t cwd_lock = PTHREAD_MUTEX_INITIALIZER;

static void in_mount(struct vpath *vp)
{
    vp->m = mount_lookup(vp->abs, &vp->rel);
}

int resolve_at(int dirfd, const char *path, struct vpath *vp)
{
    vp->m = NULL;
    vp->pass = path;
    vp->abs[0] = 0;
    if (!path) return 0;
    if (path[0] == '/') {
        if (!mount_maybe(path)) return 0;
        if (path_normalize(path, vp->abs, sizeof vp->abs) < 0) return -ENAMETOOLONG;
        in_mount(vp);
        /* "/mnt/data/.." must not reach the kernel, which has no /mnt/data */
        if (!vp->m && strstr(path, "/..")) vp->pass = vp->abs;
        return vp->m != NULL;
    }
    if (dirfd == AT_FDCWD) {
        char base[PATH_MAX];
        int virtual_cwd;
        if (!__atomic_load_n(&resolve_cwd_relevant, __ATOMIC_RELAXED)) return 0;
        pthread_mutex_lock(&cwd_lock);
        virtual_cwd = cwd_path[0] != 0;
        snprintf(base, sizeof base, "%s", virtual_cwd ? cwd_path : real_cwd);
        pthread_mutex_unlock(&cwd_lock);
        if (path_join(base, path, vp->abs, sizeof vp->abs) < 0) return -ENAMETOOLONG;
        in_mount(vp);
        /* The kernel's cwd is a stand-in: paths leaving the mount must go out absolute. */
        if (!vp->m && virtual_cwd) vp->pass = vp->abs;
        return vp->m != NULL;
    }
    struct fd_entry *e = fdt_get(dirfd);
    if (!e) return 0;
    int rc = e->kind == FD_DIR ? path_join(e->abs, path, vp->abs, sizeof vp->abs) : -ENOTDIR;
    fdt_put(e);
    if (rc == -ENOTDIR) return rc;
    if (rc < 0) return -ENAMETOOLONG;
    in_mount(vp);
    if (!vp->m) vp->pass = vp->abs;
    return vp->m != NULL;
}

const char *resolve_keep_pass(const struct vpath *vp, const char *path, int slot)
{
    static __thread char kept[2][PATH_MAX];
    if (vp->pass == path) return path;
    snprintf(kept[slot], sizeof kept[slot], "%s", vp->pass);
    return kept[slot];
}

/* Makes directory p and its missing parents below root_len; usually one mkdir (EEXIST, or the
 * parent exists), the walk from the top only when a parent is missing. */
__attribute__((noinline)) int resolve_exists(int dirfd, const char *path, int slot, const char **pass)
{
    struct vpath vp;
    struct fs_attr a;
    int rc = resolve_at(dirfd, path, &vp);
    if (rc == 0) {
        *pass = resolve_keep_pass(&vp, path, slot);
        return RESOLVE_NOT_OURS;
    }
    if (rc < 0) return rc;
    SHIM_ENTER();
    rc = fs_stat(vp.m, vp.rel, &a);
    SHIM_LEAVE();
    return rc;
}

static int mkdir_p(char *p, size_t root_len)
{
    if (mkdir(p, 0700) == 0 || errno == EEXIST) return 0;
    if (errno != ENOENT) return -errno;
    for (char *s = p + root_len + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        int rc = mkdir(p, 0700);
        *s = '/';
        if (rc && errno != EEXIST) return -errno;
    }
    return mkdir(p, 0700) && errno != EEXIST ? -errno : 0;
}

int resolve_standin(const struct mount *m, const char *rel, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "%s/ns/%s", store_root(), m->id);
    size_t root_len = strlen(store_root()) + 3;
    if (*rel && n + 1 + strlen(rel) < outlen) {
        snprintf(out + n, outlen - (size_t)n, "/%s", rel);
        if (mkdir_p(out, root_len) == 0) return 0;
        out[n] = 0;                 /* a name the local file system refuses: use the mount's */
    }
    return mkdir_p(out, root_len);
}

void cwd_set(const char *abs_in_mount)
{
    pthread_mutex_lock(&cwd_lock);
    if (abs_in_mount) {
        snprintf(cwd_path, sizeof cwd_path, "%s", abs_in_mount);
        resolve_cwd_relevant = 1;
    } else {
        cwd_path[0] = 0;
        if (!REAL(getcwd)(real_cwd, sizeof real_cwd)) real_cwd[0] = 0;
        resolve_cwd_relevant = real_cwd[0] == '/' && mount_is_ancestor(real_cwd);
    }
    pthread_mutex_unlock(&cwd_lock);
}

int cwd_get(char *out, size_t outlen)
{
    int have;
    pthread_mutex_lock(&cwd_lock);
    have = cwd_path[0] != 0;
    if (have) snprintf(out, outlen, "%s", cwd_path);
    pthread_mutex_unlock(&cwd_lock);
    return have;
}

void cwd_init(void)
{
    char real[PATH_MAX], ns[PATH_MAX];
    size_t n;
    struct mount *m;

    if (!REAL(getcwd)(real, sizeof real)) return;
    n = (size_t)snprintf(ns, sizeof ns, "%s/ns/", store_root());
    if (!strncmp(real, ns, n) && (m = mount_by_id(real + n, strcspn(real + n, "/")))) {
        const char *rest = real + n + 16;
        char abs[PATH_MAX];
        snprintf(abs, sizeof abs, "%s%s", m->prefix, rest);
        cwd_set(abs);
        return;
    }
    cwd_set(NULL);
}
