/* cache/wholefile.c — small objects cached whole; see object.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/counters.h"
#include "lock.h"
#include "object.h"

/* Opens objects/NAME if it is there with the right size. */
static int open_cached(const struct cache_object *obj, int open_flags)
{
    char path[PATH_MAX];
    struct stat st;
    int fd;
    store_object_path(obj->name, NULL, path, sizeof path);
    fd = open(path, open_flags);
    if (fd < 0) return -errno;
    if (fstat(fd, &st) || (uint64_t)st.st_size != obj->size) {
        close(fd);
        return -ENOENT;
    }
    return fd;
}

static int fetch_and_publish(const struct cache_object *obj, int open_flags)
{
    char tmp[PATH_MAX], self[64];
    struct stat st;
    int fd, out, rc;
    struct timespec times[2] = {{obj->mtime, 0}, {obj->mtime, 0}};

    fd = store_tmp_file(tmp, sizeof tmp);
    if (fd < 0) return fd;
    rc = obj->size ? obj->fetch(obj->ctx, 0, obj->size, fd) : 0;
    if (rc == 0 && (fstat(fd, &st) || (uint64_t)st.st_size != obj->size)) rc = -EIO;
    if (rc == 0) {
        futimens(fd, times);
        rc = store_publish(tmp, obj->name, NULL);
    }
    if (rc) {
        unlink(tmp);
        close(fd);
        return rc;
    }
    /* Reopen through our descriptor: right even if eviction already unlinked the name. */
    snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
    out = open(self, open_flags & ~O_NOFOLLOW);   /* /proc/self/fd/N is a symlink */
    rc = out < 0 ? -errno : out;
    close(fd);
    store_charge((uint64_t)st.st_blocks * 512);   /* what the file takes on disk */
    return rc;
}

int wholefile_cached(const struct cache_object *obj)
{
    char path[PATH_MAX];
    struct stat st;
    store_object_path(obj->name, NULL, path, sizeof path);
    return stat(path, &st) == 0 && (uint64_t)st.st_size == obj->size;
}

int wholefile_prefetch(const struct cache_object *obj)
{
    uint64_t token = lock_token(obj->name, LOCK_WHOLE_OBJECT);
    int rc = 0;
    if (lock_acquire(token, 0)) return 0;               /* being fetched by someone else */
    if (!wholefile_cached(obj)) {
        int fd = fetch_and_publish(obj, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) close(fd);
        rc = fd < 0 ? fd : 1;
    }
    lock_release(token);
    return rc;
}

int wholefile_open(const struct cache_object *obj, int open_flags, int *hit)
{
    uint64_t token;
    int fd = open_cached(obj, open_flags);

    *hit = fd >= 0;
    if (fd >= 0 || fd != -ENOENT) return fd;
    token = lock_token(obj->name, LOCK_WHOLE_OBJECT);
    if ((fd = lock_acquire(token, 1))) return fd;
    fd = open_cached(obj, open_flags);   /* another process may have fetched it meanwhile */
    *hit = fd >= 0;
    if (fd == -ENOENT) fd = fetch_and_publish(obj, open_flags);
    lock_release(token);
    return fd;
}

int wholefile_adopt(const struct cache_object *obj, const char *path)
{
    int rc = store_adopt(path, obj->name, NULL);
    if (rc == 0) store_charge(obj->size);
    return rc;
}
