/* shim/xattr.c — extended attributes of mount paths: objects carry none the shim exposes, so
 * get answers ENODATA and list answers an empty list (tools such as ls ask for ACLs and SELinux
 * labels on every file); set/remove answer ENOTSUP (objects keep no extended attributes; cp -a
 * and tar --xattrs take that as "not supported here"). A missing path is ENOENT. */
#include <fcntl.h>
#include <sys/xattr.h>

#include "resolve.h"
#include "shim.h"

/* A mount path's answer: -2 if it is not a mount path after all (then *pass is the path for
 * the real call), else the libc result. */
#define NOT_OURS (-2)
static int xattr_answer(const char *path, int answer_errno, const char **pass)
{
    int rc = resolve_exists(AT_FDCWD, path, 0, pass);
    if (rc == RESOLVE_NOT_OURS) return NOT_OURS;
    if (rc) return shim_fail(rc);
    return answer_errno ? shim_fail(-answer_errno) : 0;
}

/* The shape of every hook: fast path to libc, else the mount's answer, else libc with the
 * path resolve chose. */
#define XATTR_HOOK(ret, name, answer_errno, params, p, real_args)                        \
    EXPORT ret name params                                                              \
    {                                                                                   \
        const char *pass;                                                               \
        if (!shim_on() || !shim_path_maybe(AT_FDCWD, p)) { pass = p; return REAL(name) real_args; } \
        int rc = xattr_answer(p, answer_errno, &pass);                 \
        return rc == NOT_OURS ? REAL(name) real_args : rc;                              \
    }

XATTR_HOOK(ssize_t, getxattr, ENODATA, (const char *p, const char *n, void *v, size_t s), p, (pass, n, v, s))
XATTR_HOOK(ssize_t, lgetxattr, ENODATA, (const char *p, const char *n, void *v, size_t s), p, (pass, n, v, s))
XATTR_HOOK(ssize_t, listxattr, 0, (const char *p, char *l, size_t s), p, (pass, l, s))
XATTR_HOOK(ssize_t, llistxattr, 0, (const char *p, char *l, size_t s), p, (pass, l, s))
XATTR_HOOK(int, setxattr, ENOTSUP, (const char *p, const char *n, const void *v, size_t s, int f), p, (pass, n, v, s, f))
XATTR_HOOK(int, lsetxattr, ENOTSUP, (const char *p, const char *n, const void *v, size_t s, int f), p, (pass, n, v, s, f))
XATTR_HOOK(int, removexattr, ENOTSUP, (const char *p, const char *n), p, (pass, n))
XATTR_HOOK(int, lremovexattr, ENOTSUP, (const char *p, const char *n), p, (pass, n))
