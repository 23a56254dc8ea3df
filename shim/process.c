/* shim/process.c — the process-level calls: chdir/fchdir/getcwd into and inside mounts, and the
 * exec family and posix_spawn, which keep LD_PRELOAD and UFSHIM_* in the new program's
 * environment (even when the caller scrubbed it) and first complete every large mount file an
 * inherited fd could read without our read hooks. */
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "fdtable.h"
#include "open.h"
#include "process.h"
#include "resolve.h"
#include "shim.h"

extern char **environ;

char *__getcwd_chk(char *buf, size_t size, size_t buflen);

EXPORT int chdir(const char *path)
{
    struct vpath vp;
    struct fs_attr a;
    char standin[PATH_MAX];
    int rc, saved = errno;
    if (!shim_on()) return REAL(chdir)(path);
    rc = resolve(path, &vp);
    if (rc == 0) {
        rc = REAL(chdir)(vp.pass);
        if (rc == 0) { SHIM_ENTER(); cwd_set(NULL); SHIM_LEAVE(); }
        return rc;
    }
    if (rc < 0) return shim_fail(rc);
    SHIM_ENTER();
    rc = fs_stat(vp.m, vp.rel, &a);
    if (rc == 0 && !a.is_dir) rc = -ENOTDIR;
    if (rc == 0) rc = resolve_standin(vp.m, vp.rel, standin, sizeof standin);
    if (rc == 0 && REAL(chdir)(standin)) rc = -errno;
    if (rc == 0) cwd_set(vp.abs);
    SHIM_LEAVE();
    if (rc) return shim_fail(rc);
    errno = saved;
    return 0;
}

EXPORT int fchdir(int fd)
{
    struct fd_entry *e = shim_on() ? fdt_get(fd) : NULL;
    int rc = REAL(fchdir)(fd);
    if (rc == 0 && shim_active) {
        SHIM_ENTER();
        cwd_set(e && e->kind == FD_DIR ? e->abs : NULL);
        SHIM_LEAVE();
    }
    fdt_put(e);
    return rc;
}

EXPORT char *getcwd(char *buf, size_t size)
{
    char cwd[PATH_MAX];
    size_t n;
    if (!shim_on() || !cwd_get(cwd, sizeof cwd)) return REAL(getcwd)(buf, size);
    n = strlen(cwd) + 1;
    if (!buf) {
        if (!(buf = malloc(size > n ? size : n))) { errno = ENOMEM; return NULL; }
    } else if (size < n) {
        errno = size ? ERANGE : EINVAL;
        return NULL;
    }
    memcpy(buf, cwd, n);
    return buf;
}

EXPORT char *__getcwd_chk(char *buf, size_t size, size_t buflen)
{
    (void)buflen;
    return getcwd(buf, size);
}

EXPORT char *get_current_dir_name(void)
{
    char cwd[PATH_MAX];
    if (shim_on() && cwd_get(cwd, sizeof cwd)) return strdup(cwd);
    return REAL(get_current_dir_name)();
}

/* ------------------------------------------------------------------ exec */

static void complete_inherited(int fd, struct fd_entry *e)
{
    int flags = REAL(fcntl)(fd, F_GETFD);
    if (e->bf && flags >= 0 && !(flags & FD_CLOEXEC) && shim_complete_fd(fd))
        log_warn("%s is open across exec but could not be fetched completely", e->abs);
}

/* Our own path, for an LD_PRELOAD the caller dropped. */
static const char *own_path(void)
{
    static Dl_info info;
    if (!info.dli_fname && !dladdr((void *)own_path, &info)) return NULL;
    return info.dli_fname;
}

/* The UFSHIM_* settings as the process started with them: the program may clear its own
 * environment (clearenv, env -i) before it execs. */
static char **saved_settings;

void shim_save_environment(void)
{
    size_t n = 0, k = 0;
    for (char **e = environ; e && *e; e++) n += !strncmp(*e, "UFSHIM_", 7);
    if (!(saved_settings = calloc(n + 1, sizeof *saved_settings))) return;
    for (char **e = environ; e && *e; e++)
        if (!strncmp(*e, "UFSHIM_", 7) && (saved_settings[k] = strdup(*e))) k++;
}

/* envp plus what the shim needs: LD_PRELOAD naming this library, and this process's UFSHIM_*
 * settings where envp lacks them. Returns envp itself when nothing is missing; else a
 * malloc'd array (strings in it leak: exec replaces the process, and spawn is rare). */
static char **patched_env(char *const envp[])
{
    const char *self = own_path();
    size_t n = 0, extra = 0;
    int has_preload = 0;
    char **out;

    for (; envp && envp[n]; n++)
        if (!strncmp(envp[n], "LD_PRELOAD=", 11) && self && strstr(envp[n], self)) has_preload = 1;
    for (char **e = saved_settings; e && *e; e++) extra++;
    if (!(out = calloc(n + extra + 2, sizeof *out))) return (char **)envp;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!has_preload && self && !strncmp(envp[i], "LD_PRELOAD=", 11)) {
            size_t len = strlen(envp[i]) + strlen(self) + 2;
            char *s = malloc(len);
            if (s) { snprintf(s, len, "LD_PRELOAD=%s:%s", self, envp[i] + 11); out[k++] = s; has_preload = 1; continue; }
        }
        out[k++] = envp[i];
    }
    if (!has_preload && self) {
        size_t len = strlen(self) + 12;
        char *s = malloc(len);
        if (s) { snprintf(s, len, "LD_PRELOAD=%s", self); out[k++] = s; }
    }
    for (char **e = saved_settings; e && *e; e++) {
        size_t name_len = strcspn(*e, "=");
        int present = 0;
        for (size_t i = 0; i < n && !present; i++) present = !strncmp(envp[i], *e, name_len + 1);
        if (!present) out[k++] = *e;
    }
    out[k] = NULL;
    return out;
}

static char **prepare_exec(char *const envp[])
{
    if (!shim_active) return (char **)envp;
    fdt_each(complete_inherited);       /* shim_complete_fd enters the shim itself */
    SHIM_ENTER();
    char **env = patched_env(envp);
    SHIM_LEAVE();
    return env;
}

EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    return REAL(execve)(path, argv, prepare_exec(envp));
}

EXPORT int execv(const char *path, char *const argv[])
{
    return REAL(execve)(path, argv, prepare_exec(environ));
}

EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    return REAL(execvpe)(file, argv, prepare_exec(envp));
}

EXPORT int execvp(const char *file, char *const argv[])
{
    return REAL(execvpe)(file, argv, prepare_exec(environ));
}

EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
    return REAL(fexecve)(fd, argv, prepare_exec(envp));
}

/* The variadic exec forms collect their arguments and become execve or execvpe. */
enum exec_form { EXEC_PATH, EXEC_SEARCH, EXEC_WITH_ENV };

static int exec_args(enum exec_form form, const char *file, const char *arg0, va_list ap)
{
    va_list count;
    size_t n = 1;
    char **argv, **envp = environ;
    int rc;

    va_copy(count, ap);
    while (va_arg(count, char *)) n++;
    va_end(count);
    if (!(argv = malloc(sizeof *argv * (n + 1)))) { errno = ENOMEM; return -1; }
    argv[0] = (char *)arg0;
    for (size_t i = 1; i <= n; i++) argv[i] = va_arg(ap, char *);   /* argv[n] is the NULL */
    if (form == EXEC_WITH_ENV) envp = va_arg(ap, char **);
    rc = form == EXEC_SEARCH ? execvpe(file, argv, envp) : execve(file, argv, envp);
    free(argv);
    return rc;
}

#define EXEC_VARIADIC(name, form)                                   \
    EXPORT int name(const char *file, const char *arg, ...)         \
    {                                                               \
        va_list ap;                                                 \
        va_start(ap, arg);                                          \
        int rc = exec_args(form, file, arg, ap);                    \
        va_end(ap);                                                 \
        return rc;                                                  \
    }
EXEC_VARIADIC(execl, EXEC_PATH)
EXEC_VARIADIC(execlp, EXEC_SEARCH)
EXEC_VARIADIC(execle, EXEC_WITH_ENV)

EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                       const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    char **env = prepare_exec(envp);
    int rc = REAL(posix_spawn)(pid, path, fa, attr, argv, env);
    if (env != envp) free(env);
    return rc;
}

EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                        const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
    char **env = prepare_exec(envp);
    int rc = REAL(posix_spawnp)(pid, file, fa, attr, argv, env);
    if (env != envp) free(env);
    return rc;
}
