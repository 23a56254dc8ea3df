/* cache/lock.c — see lock.h. */
#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "store.h"

static __thread int lock_fd = -1;
static __thread pid_t lock_pid;
static pthread_key_t fd_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void close_thread_fd(void *p)
{
    (void)p;
    if (lock_fd >= 0 && lock_pid == getpid()) close(lock_fd);
    lock_fd = -1;
}

static void make_key(void)
{
    pthread_key_create(&fd_key, close_thread_fd);
}

static int open_lock_file(void)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/locks", store_root());
    return open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
}

static int thread_fd(void)
{
    pid_t pid = getpid();
    if (lock_fd >= 0 && lock_pid == pid) return lock_fd;
    /* After fork the inherited descriptor is shared with the parent: open our own. */
    lock_fd = open_lock_file();
    lock_pid = pid;
    pthread_once(&key_once, make_key);
    pthread_setspecific(fd_key, &lock_fd);
    return lock_fd;
}

uint64_t lock_token(const char *object_name, uint64_t block)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = object_name; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    h ^= block * 0x9E3779B97F4A7C15ULL;
    h ^= h >> 29;
    return h & ((1ULL << 40) - 1);
}

static int lock_op(uint64_t token, short type, int cmd)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = (off_t)token, .l_len = 1};
    int fd = thread_fd();
    if (fd < 0) return -errno;
    while (fcntl(fd, cmd, &fl) != 0) {
        if (errno == EINTR) continue;
        return errno == EACCES ? -EAGAIN : -errno;
    }
    return 0;
}

int lock_acquire(uint64_t token, int wait)
{
    return lock_op(token, F_WRLCK, wait ? F_OFD_SETLKW : F_OFD_SETLK);
}

int lock_lease(uint64_t token)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = (off_t)token, .l_len = 1};
    int fd = open_lock_file();
    if (fd < 0) return -errno;
    if (fcntl(fd, F_OFD_SETLK, &fl) == 0) return fd;
    close(fd);
    return -EAGAIN;
}

void lock_release(uint64_t token)
{
    lock_op(token, F_UNLCK, F_OFD_SETLK);
}
