/* fs/mount_index.c — see mount_index.h. One state per mount slot; a build runs as a job on
 * the work pool and holds a node-wide lock named after the store location, so eight ranks
 * starting together list the store once: the seven others wait on the lock and then map the
 * file the first one published. Superseded mappings stay mapped (callers may still be using
 * them) on a list; there is one per rebuild, i.e. per meta_ttl. */
#include "mount_index.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../cache/lock.h"
#include "../cache/overlay.h"
#include "../common/log.h"
#include "../common/workpool.h"

#define RETRY_AFTER_FAILURE 30.0

struct state {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    struct index *ix;               /* newest mapping */
    int building;                   /* a build job of this process is queued or running */
    int result;                     /* of the last build job */
    double wait_until, retry_at;
};

struct retired {
    struct index *ix;
    struct retired *next;
};

static struct state states[MOUNT_MAX];
static struct retired *retired;
static pthread_once_t states_once = PTHREAD_ONCE_INIT;

static void init_states(void)
{
    for (int i = 0; i < MOUNT_MAX; i++) {
        pthread_mutex_init(&states[i].lock, NULL);
        pthread_cond_init(&states[i].changed, NULL);
    }
}

static struct state *state_of(const struct mount *m)
{
    pthread_once(&states_once, init_states);
    return &states[m - mount_at(0)];
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static int fresh(const struct mount *m, const struct index *ix, double t)
{
    return ix && t < (double)index_built_at(ix) + m->meta_ttl;
}

/* --- building ---------------------------------------------------------------------------- */

struct build {
    struct mount *m;
    struct index_segment **segs;    /* [0]: the root's files; [1 + i]: directory i */
    char **dirs;
    int ndirs, cap, next, running, failed;
    pthread_mutex_t lock;
    pthread_cond_t done;
};

static int root_entry(void *ctx, const struct list_entry *e)
{
    struct build *b = ctx;
    if (!e->is_dir) return index_segment_add(b->segs[0], e->name, e->info.size, e->info.mtime, e->info.etag);
    if (b->ndirs == b->cap) {
        int cap = b->cap ? b->cap * 2 : 64;
        char **nd = realloc(b->dirs, sizeof *nd * (size_t)cap);
        if (!nd) return -ENOMEM;
        b->dirs = nd;
        b->cap = cap;
    }
    return (b->dirs[b->ndirs++] = strdup(e->name)) ? 0 : -ENOMEM;
}

struct subtree {
    struct index_segment *seg;
    const char *dir;
    char key[4200];
};

/* Keys of a recursive listing, made relative to the mount; markers keep their "/". */
static int subtree_entry(void *ctx, const struct list_entry *e)
{
    struct subtree *t = ctx;
    snprintf(t->key, sizeof t->key, "%s/%s%s", t->dir, e->name, e->is_dir ? "/" : "");
    return index_segment_add(t->seg, t->key, e->is_dir ? 0 : e->info.size, e->info.mtime, e->is_dir ? "" : e->info.etag);
}

static void lister(void *arg)
{
    struct build *b = arg;
    char prefix[4200];
    for (;;) {
        int i = __atomic_fetch_add(&b->next, 1, __ATOMIC_RELAXED), rc;
        if (i >= b->ndirs || __atomic_load_n(&b->failed, __ATOMIC_RELAXED)) break;
        struct subtree t = {index_segment_new(), b->dirs[i], ""};
        b->segs[1 + i] = t.seg;
        snprintf(t.key, sizeof t.key, "%s/", t.dir);   /* the directory exists even if empty */
        rc = t.seg ? index_segment_add(t.seg, t.key, 0, 0, "") : -ENOMEM;
        mount_key(b->m, t.dir, "/", prefix, sizeof prefix);
        if (rc == 0) rc = b->m->ops->list(b->m->backend, prefix, 1, subtree_entry, &t);
        if (rc) __atomic_store_n(&b->failed, rc, __ATOMIC_RELAXED);
    }
    pthread_mutex_lock(&b->lock);
    if (--b->running == 0) pthread_cond_signal(&b->done);
    pthread_mutex_unlock(&b->lock);
}

static int build(struct mount *m)
{
    struct build b = {.m = m};
    int64_t started = (int64_t)time(NULL);
    double t0 = now();
    int rc, n = 0;

    pthread_mutex_init(&b.lock, NULL);
    pthread_cond_init(&b.done, NULL);
    if (!(b.segs = calloc(1, sizeof *b.segs)) || !(b.segs[0] = index_segment_new())) { rc = -ENOMEM; goto out; }
    n = 1;
    if ((rc = m->ops->list(m->backend, m->key_prefix, 0, root_entry, &b))) goto out;
    struct index_segment **segs = realloc(b.segs, sizeof *segs * (size_t)(1 + b.ndirs));
    if (!segs) { rc = -ENOMEM; goto out; }
    b.segs = segs;
    memset(b.segs + 1, 0, sizeof *segs * (size_t)b.ndirs);
    n = 1 + b.ndirs;
    for (int i = 0; i < MOUNT_INDEX_LISTERS && i < b.ndirs; i++) {
        pthread_mutex_lock(&b.lock);
        b.running++;
        pthread_mutex_unlock(&b.lock);
        if (workpool_submit(lister, &b, 0, 0, 1)) {
            pthread_mutex_lock(&b.lock);
            b.running--;
            pthread_mutex_unlock(&b.lock);
            if (i == 0) lister(&b);     /* no thread at all: list here */
            break;
        }
    }
    pthread_mutex_lock(&b.lock);
    while (b.running) pthread_cond_wait(&b.done, &b.lock);
    pthread_mutex_unlock(&b.lock);
    for (int i = 1; i < n && !b.failed; i++)
        if (!b.segs[i]) b.failed = -ENOMEM;
    if ((rc = b.failed)) goto out;
    rc = index_publish(m->url, b.segs, n, started);
    if (rc == 0 && (m->write_mode == WRITE_THROUGH || m->write_mode == WRITE_ASYNC))
        overlay_forget_before(m->id, (time_t)started - 1);   /* the index now says what they said */
    if (rc == 0) {
        struct index *ix = index_open(m->url);
        log_info("index: listed %s: %llu objects in %.2f s", m->url, ix ? (unsigned long long)index_count(ix) : 0ULL,
                 now() - t0);
        index_close(ix);
    }
out:
    if (rc) log_error("index: listing %s failed (%s); directories are listed one by one instead", m->url, strerror(-rc));
    for (int i = 0; i < n; i++) index_segment_free(b.segs[i]);
    for (int i = 0; i < b.ndirs; i++) free(b.dirs[i]);
    free(b.segs);
    free(b.dirs);
    return rc;
}

/* Waits for whoever is building on the node, then maps a fresh index or builds one. */
static int refresh(struct mount *m, struct index **out)
{
    char name[4300];
    uint64_t token;
    int rc;
    snprintf(name, sizeof name, "index build %s", m->url);
    token = lock_token(name, 0);
    if ((rc = lock_acquire(token, 1))) return rc;
    *out = index_open(m->url);
    if (!fresh(m, *out, now())) {
        index_close(*out);
        *out = NULL;
        if ((rc = build(m)) == 0 && !(*out = index_open(m->url))) rc = -EIO;
    }
    lock_release(token);
    return rc;
}

/* With s->lock held: makes ix the mount's index, keeping the one it replaces mapped. */
static void set_index(struct state *s, struct index *ix)
{
    if (s->ix && !index_replaced(s->ix) && index_built_at(s->ix) == index_built_at(ix)) {
        index_close(ix);                /* the same file mapped twice: keep the first */
        return;
    }
    struct retired *r = s->ix ? malloc(sizeof *r) : NULL;
    if (r) {
        r->ix = s->ix;
        r->next = __atomic_load_n(&retired, __ATOMIC_ACQUIRE);
        while (!__atomic_compare_exchange_n(&retired, &r->next, r, 0, __ATOMIC_RELEASE, __ATOMIC_ACQUIRE)) {}
    }
    __atomic_store_n(&s->ix, ix, __ATOMIC_RELEASE);
}

static void install(struct mount *m, struct index *ix, int rc)
{
    struct state *s = state_of(m);
    pthread_mutex_lock(&s->lock);
    if (ix) set_index(s, ix);
    else s->retry_at = now() + RETRY_AFTER_FAILURE;
    s->result = rc;
    s->building = 0;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
}

static void build_job(void *arg)
{
    struct mount *m = arg;
    struct index *ix = NULL;
    int rc = refresh(m, &ix);
    install(m, ix, rc);
}

/* --- using ------------------------------------------------------------------------------- */

struct index *mount_index(struct mount *m)
{
    struct state *s;
    struct index *ix;
    double t = now();

    if (!m->index || m->broken) return NULL;
    s = state_of(m);
    ix = __atomic_load_n(&s->ix, __ATOMIC_ACQUIRE);
    if (fresh(m, ix, t)) return ix;
    pthread_mutex_lock(&s->lock);
    if (!s->building && !fresh(m, s->ix, t) && t >= s->retry_at) {
        struct index *disk = index_open(m->url);    /* another process may have built it */
        if (fresh(m, disk, t)) {
            set_index(s, disk);
        } else {
            index_close(disk);
            if (workpool_submit(build_job, m, 0, 0, 0) == 0) {
                s->building = 1;
                s->wait_until = t + MOUNT_INDEX_WAIT;
            }
        }
    }
    while (s->building && !fresh(m, s->ix, t) && (t = now()) < s->wait_until) {
        struct timespec until = {(time_t)s->wait_until, (long)((s->wait_until - (double)(time_t)s->wait_until) * 1e9)};
        pthread_cond_timedwait(&s->changed, &s->lock, &until);
    }
    ix = fresh(m, s->ix, now()) ? s->ix : NULL;
    pthread_mutex_unlock(&s->lock);
    return ix;
}

int mount_index_refresh(struct mount *m)
{
    struct index *ix = NULL;
    int rc;
    if (m->broken) return -EIO;
    rc = refresh(m, &ix);
    install(m, ix, rc);
    return rc;
}

void mount_index_after_fork_child(void)
{
    /* A build job of the parent does not exist here: let this process start its own. */
    for (int i = 0; i < MOUNT_MAX; i++) {
        pthread_mutex_init(&states[i].lock, NULL);
        pthread_cond_init(&states[i].changed, NULL);
        states[i].building = 0;
    }
}
