/* fs/write.c — see write.h: staging files for writing, and publishing them (through, async,
 * sync). Uploading the bytes is upload.c's. */
#include "write.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../cache/journal.h"
#include "../cache/lock.h"
#include "../cache/overlay.h"
#include "../common/log.h"
#include "../common/workpool.h"
#include "upload.h"

#define WRITER_LOCK_BYTE (1LL << 62)
/* open flags of the application that carry over to the staged file's descriptor */
#define STAGED_FLAGS (O_APPEND | O_CLOEXEC | O_NONBLOCK | O_DSYNC | O_SYNC | O_NOATIME)

static int writer_lock(int fd, short type, int wait)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = WRITER_LOCK_BYTE, .l_len = 1};
    return fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) == 0 ? 0 : -errno;
}

static int same_file(int fd, const char *path)
{
    struct stat a, b;
    return fstat(fd, &a) == 0 && lstat(path, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev &&
           !(b.st_mode & S_ISVTX);
}

int fs_parent_is_dir(struct mount *m, const char *rel)
{
    struct fs_attr a;
    const char *slash = strrchr(rel, '/');
    char parent[PATH_MAX];
    int rc;
    if (!slash) return 0;
    snprintf(parent, sizeof parent, "%.*s", (int)(slash - rel), rel);
    if ((rc = fs_stat(m, parent, &a))) return rc;
    return a.is_dir ? 0 : -ENOTDIR;
}

uint64_t fs_write_lock(struct mount *m, const char *rel)
{
    char path[PATH_MAX];
    uint64_t token;
    overlay_path(m->id, rel, path, sizeof path);
    token = lock_token(path, 0);
    return lock_acquire(token, 1) == 0 ? token : 0;
}

/* Copies the current bytes of an existing object into fd (opening it for update). */
static int copy_in(struct mount *m, const char *rel, const struct fs_attr *attr, int fd)
{
    struct fs_file f;
    int rc = fs_open_file(m, rel, attr, O_RDONLY | O_CLOEXEC, &f);
    if (rc) return rc;
    if (f.bf) rc = blockfile_complete(f.bf);
    for (loff_t in = 0, out = 0; rc == 0 && (uint64_t)in < f.attr.size;) {
        ssize_t n = copy_file_range(f.fd, &in, fd, &out, f.attr.size - (uint64_t)in, 0);
        if (n <= 0) rc = n < 0 ? -errno : -EIO;
    }
    close(f.fd);
    if (f.bf) blockfile_unref(f.bf);
    return rc;
}

/* Records that rel's bytes are owed to the store (modes through and async). */
static int ensure_owed(struct mount *m, const char *rel)
{
    struct journal_entry e;
    if (m->write_mode == WRITE_CACHE || journal_get(m->id, rel, &e) == 0) return 0;
    memset(&e, 0, sizeof e);
    snprintf(e.mount_id, sizeof e.mount_id, "%s", m->id);
    snprintf(e.rel, sizeof e.rel, "%s", rel);
    return journal_put(&e);
}

int fs_stage(struct mount *m, const char *rel, const char *src_rel, const struct fs_attr *src)
{
    char tmp[PATH_MAX], path[PATH_MAX];
    int rc = 0, fd = store_tmp_file(tmp, sizeof tmp);
    if (fd < 0) return fd;
    overlay_path(m->id, rel, path, sizeof path);
    if (src) rc = copy_in(m, src_rel, src, fd);
    if (rc == 0 && fchmod(fd, 0644) != 0) rc = -errno;
    close(fd);
    if (rc == 0) rc = ensure_owed(m, rel);
    if (rc == 0) rc = overlay_make_parents(m->id, rel);
    if (rc == 0 && rename(tmp, path) != 0) rc = -errno;
    if (rc) {
        unlink(tmp);
        log_error("%s/%s: cannot stage the file for writing in the cache: %s", m->prefix, rel, strerror(-rc));
    }
    return rc;
}

int fs_open_write(struct mount *m, const char *rel, int flags, struct fs_attr *attr)
{
    struct fs_attr cur;
    struct object_info info;
    char path[PATH_MAX];
    struct stat st;
    uint64_t token;
    int rc, fd = -1, exists;

    if (m->broken) return -EIO;
    if (m->write_mode == WRITE_RO) return -EROFS;
    if (!*rel) return -EISDIR;
    overlay_path(m->id, rel, path, sizeof path);
    if (!(token = fs_write_lock(m, rel))) return -EIO;
    for (int tries = 0; tries < 100; tries++) {
        rc = fs_stat(m, rel, &cur);
        exists = rc == 0;
        if (rc == 0 && cur.is_dir) rc = -EISDIR;
        else if (rc == 0 && (flags & O_CREAT) && (flags & O_EXCL)) rc = -EEXIST;
        else if (rc == -ENOENT && (flags & O_CREAT)) rc = fs_parent_is_dir(m, rel);
        if (rc) break;
        if (!(exists && cur.staged) && (rc = fs_stage(m, rel, rel, exists && !(flags & O_TRUNC) ? &cur : NULL)))
            break;
        if (exists && cur.staged && (rc = ensure_owed(m, rel))) break;
        /* read-write even for O_WRONLY: the shared lock below needs a readable description */
        if ((fd = open(path, (flags & STAGED_FLAGS) | O_RDWR)) < 0) { rc = -errno; if (rc == -ENOENT) continue; break; }
        /* waits while a publisher holds the file; then it may have been published: look again */
        if ((rc = writer_lock(fd, F_RDLCK, 1)) == 0 && same_file(fd, path)) break;
        close(fd);
        fd = -1;
        if (rc) break;
    }
    if (rc == 0 && fd < 0) rc = -EAGAIN;
    if (rc == 0 && (flags & O_TRUNC) && exists && cur.staged) {
        upload_discard(m, rel);
        if (ftruncate(fd, 0) != 0) rc = -errno;
    }
    lock_release(token);
    if (rc) {
        if (fd >= 0) close(fd);
        return rc;
    }
    fstat(fd, &st);
    info = (struct object_info){.size = (uint64_t)st.st_size, .mtime = st.st_mtime};
    memset(attr, 0, sizeof *attr);
    attr->size = info.size;
    attr->mtime = info.mtime;
    attr->ino = fs_ino(m, rel);
    attr->staged = 1;
    return fd;
}

void fs_write_progress(struct mount *m, const char *rel, int fd)
{
    struct stat st;
    if (m->write_mode != WRITE_CACHE && fstat(fd, &st) == 0) upload_progress(m, rel, fd, (uint64_t)st.st_size);
}

/* Makes the uploaded file the cached copy of the new version (read back without a fetch). */
static void adopt(struct mount *m, const char *rel, const struct object_info *info, const char *path)
{
    struct cache_object obj = {.size = info->size, .mtime = info->mtime};
    char key[4200];
    mount_key(m, rel, "", key, sizeof key);
    store_object_name(m->url, key, info->etag, info->size, obj.name);
    if (info->size <= m->whole_max) wholefile_adopt(&obj, path);
    else blockfile_adopt(&obj, path);
}

/* What was uploaded, as "SIZE CTIME ETAG": the change time moves with every write and cannot
 * be set back by a program, so equal marks mean the same bytes. */
static void published_mark(const struct stat *st, const struct object_info *info, char *out, size_t outlen)
{
    snprintf(out, outlen, "%llu %lld.%09ld %s", (unsigned long long)st->st_size, (long long)st->st_ctim.tv_sec,
             st->st_ctim.tv_nsec, info->etag);
}

/* Uploads rel's staged bytes. closing: only if no writer remains, and then the entry becomes
 * the record of the published version. 0 (also when there was nothing to do), -EBUSY (writers
 * remain), or the upload's error. */
static int publish(struct mount *m, const char *rel, int closing)
{
    char path[PATH_MAX], mark[160];
    struct journal_entry je;
    struct object_info info = {0};
    struct stat st;
    uint64_t token = fs_write_lock(m, rel);
    int fd, rc = 0;

    overlay_path(m->id, rel, path, sizeof path);
    if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0) {     /* renamed or deleted since */
        if (token) lock_release(token);
        return 0;
    }
    if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (st.st_mode & S_ISVTX)) goto out;
    if (closing && writer_lock(fd, F_WRLCK, 0)) { rc = -EBUSY; goto out; }
    if (journal_get(m->id, rel, &je) || !same_file(fd, path)) goto out;
    if (je.published[0]) {
        unsigned long long size;
        char etag[BACKEND_ETAG_MAX];
        published_mark(&st, &(struct object_info){0}, mark, sizeof mark);
        if (sscanf(je.published, "%llu %*s %79s", &size, etag) == 2 && !strncmp(je.published, mark, strlen(mark))) {
            info.size = size;
            snprintf(info.etag, sizeof info.etag, "%s", etag);
            goto uploaded;
        }
    }
    if ((rc = upload_file(m, rel, fd, (uint64_t)st.st_size, &info))) {
        log_error("%s/%s: the upload failed (%s); the written bytes are kept in the cache (%s) and `ufs sync` or "
                  "the next process that uses the mount uploads them", m->prefix, rel, strerror(-rc), path);
        rc = -EIO;
        goto out;
    }
uploaded:
    info.mtime = st.st_mtime;
    if (!closing) {
        published_mark(&st, &info, je.published, sizeof je.published);
        journal_put(&je);
        goto out;
    }
    adopt(m, rel, &info, path);
    if ((rc = overlay_set(m->id, rel, &info)) == 0) journal_remove(m->id, rel);
out:
    close(fd);
    if (token) lock_release(token);
    return rc;
}

/* ------------------------------------------------------------------ async uploads */

struct pending {
    struct pending *next;
    struct mount *m;
    int own;                        /* queued by this process's close (exit waits for it) */
    char rel[];
};

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_done = PTHREAD_COND_INITIALIZER;
static struct pending *queue_head, **queue_tail = &queue_head;
static int draining, own_pending;

static void drain(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&queue_lock);
    while (queue_head) {
        struct pending *p = queue_head;
        if (!(queue_head = p->next)) queue_tail = &queue_head;
        pthread_mutex_unlock(&queue_lock);
        publish(p->m, p->rel, 1);
        pthread_mutex_lock(&queue_lock);
        if (p->own) own_pending--;
        free(p);
        pthread_cond_broadcast(&queue_done);
    }
    draining = 0;
    pthread_cond_broadcast(&queue_done);
    pthread_mutex_unlock(&queue_lock);
}

static void enqueue(struct mount *m, const char *rel, int own)
{
    struct pending *p = malloc(sizeof *p + strlen(rel) + 1);
    if (!p) { publish(m, rel, 1); return; }
    p->next = NULL;
    p->m = m;
    p->own = own;
    strcpy(p->rel, rel);
    pthread_mutex_lock(&queue_lock);
    *queue_tail = p;
    queue_tail = &p->next;
    own_pending += own;
    int start = !draining;
    draining = 1;
    pthread_mutex_unlock(&queue_lock);
    if (start && workpool_submit(drain, NULL, 0, 0, 1) != 0) drain(NULL);
}

int fs_write_closed(struct mount *m, const char *rel)
{
    if (m->write_mode == WRITE_CACHE) return 0;
    if (m->write_mode == WRITE_ASYNC) { enqueue(m, rel, 1); return 0; }
    int rc = publish(m, rel, 1);
    return rc == -EBUSY ? 0 : rc;
}

int fs_write_flush(struct mount *m, const char *rel)
{
    return m->write_mode == WRITE_CACHE ? 0 : publish(m, rel, 0);
}

void fs_write_exit(void)
{
    const char *v = getenv("UFSHIM_ASYNC_WAIT");
    double limit = v ? atof(v) : 60;
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += (time_t)limit;
    pthread_mutex_lock(&queue_lock);
    if (own_pending) log_warn("waiting up to %.0f s (UFSHIM_ASYNC_WAIT) for %d queued upload(s)", limit, own_pending);
    while (own_pending && pthread_cond_timedwait(&queue_done, &queue_lock, &deadline) == 0) {}
    if (own_pending)
        log_warn("%d upload(s) still pending at exit (UFSHIM_ASYNC_WAIT=%.0f s); they are journaled in the cache "
                 "and `ufs sync` or the next process that uses the mount finishes them", own_pending, limit);
    pthread_mutex_unlock(&queue_lock);
}

/* ------------------------------------------------------------------ sync */

struct sync_ctx {
    int wait;
    void (*report)(void *, const char *, const char *, int);
    void *ctx;
    int failed;
};

static int sync_one(void *arg, const struct journal_entry *e)
{
    struct sync_ctx *s = arg;
    struct mount *m = mount_by_id(e->mount_id, strlen(e->mount_id));
    int rc;
    if (!m || m->broken || m->write_mode == WRITE_CACHE || m->write_mode == WRITE_RO) {
        if (s->wait) {
            s->report(s->ctx, m ? m->prefix : e->mount_id, e->rel, -ENODEV);
            s->failed++;
        }
        return 0;
    }
    if (!s->wait) { enqueue(m, e->rel, 0); return 0; }
    rc = publish(m, e->rel, 1);
    s->report(s->ctx, m->prefix, e->rel, rc);
    if (rc) s->failed++;
    return 0;
}

int fs_sync(int wait, void (*report)(void *ctx, const char *prefix, const char *rel, int result), void *ctx)
{
    struct sync_ctx s = {wait, report, ctx, 0};
    int rc = journal_each(sync_one, &s);
    return rc ? rc : s.failed ? -EIO : 0;
}
