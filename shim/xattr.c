/* shim/xattr.c — extended attributes of mount paths: objects carry none the shim exposes, so
 * get answers ENODATA and list answers an empty list (tools such as ls ask for ACLs and SELinux
 * labels on every file); set/remove answer EROFS. A missing path is ENOENT. */
#include <fcntl.h>
#include <sys/xattr.h>

#include "resolve.h"
#include "shim.h"

/* -2 when not ours; else the libc result for an existing/missing mount path. */
static int xattr_path(const char *path, struct vpath *vp, int answer_errno, int *ours)
{
    struct fs_attr a;
    int rc;
    *ours = 0;
    vp->pass = path;
    if (!shim_on() || (rc = resolve(path, vp)) == 0) return 0;
    *ours = 1;
    if (rc < 0) return shim_fail(rc);
    SHIM_ENTER();
    rc = fs_stat(vp->m, vp->rel, &a);
    SHIM_LEAVE();
    if (rc) return shim_fail(rc);
    return answer_errno ? shim_fail(-answer_errno) : 0;
}

EXPORT ssize_t getxattr(const char *p, const char *n, void *v, size_t s)
{ struct vpath vp; int ours; ssize_t rc = xattr_path(p, &vp, ENODATA, &ours); return ours ? rc : REAL(getxattr)(vp.pass, n, v, s); }
EXPORT ssize_t lgetxattr(const char *p, const char *n, void *v, size_t s)
{ struct vpath vp; int ours; ssize_t rc = xattr_path(p, &vp, ENODATA, &ours); return ours ? rc : REAL(lgetxattr)(vp.pass, n, v, s); }
EXPORT ssize_t listxattr(const char *p, char *l, size_t s)
{ struct vpath vp; int ours; ssize_t rc = xattr_path(p, &vp, 0, &ours); return ours ? rc : REAL(listxattr)(vp.pass, l, s); }
EXPORT ssize_t llistxattr(const char *p, char *l, size_t s)
{ struct vpath vp; int ours; ssize_t rc = xattr_path(p, &vp, 0, &ours); return ours ? rc : REAL(llistxattr)(vp.pass, l, s); }
EXPORT int setxattr(const char *p, const char *n, const void *v, size_t s, int f)
{ struct vpath vp; int ours; int rc = xattr_path(p, &vp, EROFS, &ours); return ours ? rc : REAL(setxattr)(vp.pass, n, v, s, f); }
EXPORT int lsetxattr(const char *p, const char *n, const void *v, size_t s, int f)
{ struct vpath vp; int ours; int rc = xattr_path(p, &vp, EROFS, &ours); return ours ? rc : REAL(lsetxattr)(vp.pass, n, v, s, f); }
EXPORT int removexattr(const char *p, const char *n)
{ struct vpath vp; int ours; int rc = xattr_path(p, &vp, EROFS, &ours); return ours ? rc : REAL(removexattr)(vp.pass, n); }
EXPORT int lremovexattr(const char *p, const char *n)
{ struct vpath vp; int ours; int rc = xattr_path(p, &vp, EROFS, &ours); return ours ? rc : REAL(lremovexattr)(vp.pass, n); }
