/* fs/upload.c — see upload.h. Early parts live in a per-process table of uploads in progress,
 * one per path being written; every part is a job on the work pool. */
#include "upload.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../cache/journal.h"
#include "../common/log.h"
#include "../common/workpool.h"

enum part_state { PART_NONE, PART_QUEUED, PART_SENT, PART_FAILED };

struct part {
    enum part_state state;
    unsigned char md5[16];
    char etag[BACKEND_ETAG_MAX];
};

struct upload {
    struct upload *next;
    struct mount *m;
    char rel[PATH_MAX];
    char key[4200];
    char upload_id[BACKEND_UPLOAD_ID_MAX];
    int begin_failed;
    int fd;                         /* our own description of the staged file */
    uint64_t part_size;
    int n_parts;                    /* allocated */
    struct part *parts;
    int running;                    /* part jobs queued or running */
    pthread_mutex_t lock;
    pthread_cond_t done;
};

struct part_job {
    struct upload *u;
    int index;
    uint64_t len;
    int verify;                     /* publishing: reuse a part sent early if its bytes match */
};

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct upload *table;

static void md5_of(const void *data, size_t len, unsigned char out[16])
{
    unsigned int n = 16;
    EVP_Digest(data, len, out, &n, EVP_md5(), NULL);
}

/* The upload of (m, rel) in this process, created if asked. */
static struct upload *find(struct mount *m, const char *rel, int create)
{
    struct upload *u;
    pthread_mutex_lock(&table_lock);
    for (u = table; u && (u->m != m || strcmp(u->rel, rel)); u = u->next) {}
    if (!u && create && (u = calloc(1, sizeof *u))) {
        u->m = m;
        snprintf(u->rel, sizeof u->rel, "%s", rel);
        mount_key(m, rel, "", u->key, sizeof u->key);
        u->fd = -1;
        pthread_mutex_init(&u->lock, NULL);
        pthread_cond_init(&u->done, NULL);
        u->next = table;
        table = u;
    }
    pthread_mutex_unlock(&table_lock);
    return u;
}

static void unlink_upload(struct upload *u)
{
    pthread_mutex_lock(&table_lock);
    for (struct upload **p = &table; *p; p = &(*p)->next)
        if (*p == u) { *p = u->next; break; }
    pthread_mutex_unlock(&table_lock);
}

/* Records the open upload in the journal, so that a successor can abort it. */
static void journal_upload_id(struct upload *u, const char *id)
{
    struct journal_entry e;
    if (journal_get(u->m->id, u->rel, &e) != 0) return;
    snprintf(e.upload_id, sizeof e.upload_id, "%s", id);
    journal_put(&e);
}

/* Under u->lock: begins the multipart upload once. */
static int ensure_begun(struct upload *u)
{
    if (u->upload_id[0]) return 0;
    if (u->begin_failed) return -EIO;
    int rc = u->m->ops->multipart_begin(u->m->backend, u->key, u->upload_id, sizeof u->upload_id);
    if (rc) { u->begin_failed = 1; return rc; }
    journal_upload_id(u, u->upload_id);
    return 0;
}

static void abort_upload(struct upload *u)
{
    if (!u->upload_id[0]) return;
    u->m->ops->multipart_abort(u->m->backend, u->key, u->upload_id);
    journal_upload_id(u, "");
    u->upload_id[0] = 0;
}

static void part_job(void *arg)
{
    struct part_job *j = arg;
    struct upload *u = j->u;
    struct part *p;                 /* u->parts may be reallocated: only under u->lock */
    unsigned char md5[16];
    char *buf = malloc(j->len ? j->len : 1);
    ssize_t got = buf ? pread(u->fd, buf, j->len, (off_t)((uint64_t)j->index * u->part_size)) : -1;
    int rc = got == (ssize_t)j->len ? 0 : -EIO;

    if (rc == 0) md5_of(buf, j->len, md5);
    pthread_mutex_lock(&u->lock);
    p = &u->parts[j->index];
    if (rc == 0 && j->verify && p->state == PART_SENT && !memcmp(md5, p->md5, 16)) {
        pthread_mutex_unlock(&u->lock);   /* sent early and unchanged since */
    } else {
        if (rc == 0) rc = ensure_begun(u);
        char id[BACKEND_UPLOAD_ID_MAX];
        snprintf(id, sizeof id, "%s", u->upload_id);
        pthread_mutex_unlock(&u->lock);
        char etag[BACKEND_ETAG_MAX] = "";
        if (rc == 0) rc = u->m->ops->multipart_part(u->m->backend, u->key, id, j->index + 1, buf, j->len, md5, etag);
        pthread_mutex_lock(&u->lock);
        p = &u->parts[j->index];
        if (rc == 0) {
            memcpy(p->md5, md5, 16);
            snprintf(p->etag, sizeof p->etag, "%s", etag);
        }
        p->state = rc == 0 ? PART_SENT : PART_FAILED;
        pthread_mutex_unlock(&u->lock);
    }
    free(buf);
    pthread_mutex_lock(&u->lock);
    u->running--;
    pthread_cond_broadcast(&u->done);
    pthread_mutex_unlock(&u->lock);
    free(j);
}

/* Queues part i of u (len bytes). 0, or -errno (nothing queued). */
static int queue_part(struct upload *u, int i, uint64_t len, int verify, int wait)
{
    struct part_job *j = malloc(sizeof *j);
    int rc;
    if (!j) return -ENOMEM;
    *j = (struct part_job){u, i, len, verify};
    pthread_mutex_lock(&u->lock);
    u->running++;
    if (!verify) u->parts[i].state = PART_QUEUED;
    pthread_mutex_unlock(&u->lock);
    if ((rc = workpool_submit(part_job, j, verify, len, wait))) {
        pthread_mutex_lock(&u->lock);
        u->running--;
        if (!verify) u->parts[i].state = PART_NONE;
        pthread_mutex_unlock(&u->lock);
        free(j);
    }
    return rc;
}

static void wait_idle(struct upload *u)
{
    pthread_mutex_lock(&u->lock);
    while (u->running) pthread_cond_wait(&u->done, &u->lock);
    pthread_mutex_unlock(&u->lock);
}

static int ensure_parts(struct upload *u, int n)
{
    if (n <= u->n_parts) return 0;
    struct part *p = realloc(u->parts, sizeof *p * (size_t)n);
    if (!p) return -ENOMEM;
    memset(p + u->n_parts, 0, sizeof *p * (size_t)(n - u->n_parts));
    u->parts = p;
    u->n_parts = n;
    return 0;
}

void upload_progress(struct mount *m, const char *rel, int staged_fd, uint64_t size)
{
    struct upload *u;
    int complete = (int)(size / UPLOAD_PART_SIZE);
    if (m->write_mode == WRITE_CACHE || complete < 2 || complete > BACKEND_PARTS_MAX) return;
    if (!(u = find(m, rel, 1))) return;
    pthread_mutex_lock(&u->lock);
    if (u->fd < 0) {
        char self[64];
        snprintf(self, sizeof self, "/proc/self/fd/%d", staged_fd);
        u->fd = open(self, O_RDONLY | O_CLOEXEC);   /* a description of our own: see write.c's locks */
        u->part_size = UPLOAD_PART_SIZE;
    }
    int ok = u->fd >= 0 && ensure_parts(u, complete) == 0;
    pthread_mutex_unlock(&u->lock);
    /* the last complete part may still be the file's last: keep it for publishing */
    for (int i = 0; ok && i < complete - 1; i++) {
        pthread_mutex_lock(&u->lock);
        enum part_state s = u->parts[i].state;
        pthread_mutex_unlock(&u->lock);
        if (s == PART_NONE && queue_part(u, i, u->part_size, 0, 0) != 0) break;   /* budget spent: later */
    }
}

static void free_upload(struct upload *u)
{
    wait_idle(u);
    if (u->fd >= 0) close(u->fd);
    free(u->parts);
    pthread_mutex_destroy(&u->lock);
    pthread_cond_destroy(&u->done);
    free(u);
}

void upload_discard(struct mount *m, const char *rel)
{
    struct upload *u = find(m, rel, 0);
    if (!u) return;
    unlink_upload(u);
    wait_idle(u);
    abort_upload(u);
    free_upload(u);
}

static int put_whole(struct mount *m, const char *key, int fd, uint64_t size, struct object_info *info)
{
    char *buf = malloc(size ? size : 1);
    int rc;
    if (!buf) return -ENOMEM;
    rc = pread(fd, buf, size, 0) == (ssize_t)size ? 0 : -EIO;
    if (rc) log_error("upload of s3 key %s: reading the staged file failed", key);
    else rc = m->ops->put(m->backend, key, buf, size, NULL, info);
    free(buf);
    return rc;
}

int upload_file(struct mount *m, const char *rel, int fd, uint64_t size, struct object_info *info)
{
    struct upload *u = find(m, rel, 0);
    struct journal_entry je;
    uint64_t part = UPLOAD_PART_SIZE;
    int n, rc = 0;

    /* an upload left open by a process that died: abort it, its parts are not ours to trust */
    if (journal_get(m->id, rel, &je) == 0 && je.upload_id[0] && (!u || strcmp(u->upload_id, je.upload_id))) {
        char key[4200];
        mount_key(m, rel, "", key, sizeof key);
        if (m->ops->multipart_abort(m->backend, key, je.upload_id) == 0) {
            je.upload_id[0] = 0;
            journal_put(&je);
        }
    }
    if (size <= UPLOAD_PART_SIZE && !u) {
        char key[4200];
        mount_key(m, rel, "", key, sizeof key);
        return put_whole(m, key, fd, size, info);
    }
    if (!u && !(u = find(m, rel, 1))) return -ENOMEM;
    unlink_upload(u);               /* this call owns it now */
    wait_idle(u);
    while ((size + part - 1) / part > BACKEND_PARTS_MAX) part *= 2;
    if (u->part_size && u->part_size != part) {   /* grew past 10,000 early parts: start over */
        abort_upload(u);
        memset(u->parts, 0, sizeof *u->parts * (size_t)u->n_parts);
    }
    u->part_size = part;
    n = size ? (int)((size + part - 1) / part) : 1;
    if (u->fd >= 0) close(u->fd);
    u->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (u->fd < 0 || ensure_parts(u, n)) rc = -ENOMEM;
    for (int i = 0; rc == 0 && i < n; i++) {
        uint64_t len = i == n - 1 ? size - (uint64_t)i * part : part;
        rc = queue_part(u, i, len, 1, 1);
    }
    wait_idle(u);
    for (int i = 0; rc == 0 && i < n; i++)
        if (u->parts[i].state != PART_SENT) rc = -EIO;
    if (rc == 0) {
        struct upload_part *list = malloc(sizeof *list * (size_t)n);
        if (!list) rc = -ENOMEM;
        for (int i = 0; list && i < n; i++) {
            list[i].number = i + 1;
            snprintf(list[i].etag, sizeof list[i].etag, "%s", u->parts[i].etag);
        }
        if (rc == 0) rc = m->ops->multipart_complete(m->backend, u->key, u->upload_id, list, n, info);
        free(list);
        if (rc == 0) {
            info->size = size;
            u->upload_id[0] = 0;    /* completed: nothing to abort */
        }
    }
    if (rc) abort_upload(u);
    free_upload(u);
    return rc;
}
