/* fs/prefetch.c — see prefetch.h. Per mount, the scope of this process's misses; once it has
 * PREFETCH_AFTER_MISSES of them, the scope gets a walk job on the work pool if this process
 * wins the scope's node-wide lease, and again whenever the scope widens. A process that loses
 * tries again on a later miss (at most every LEASE_RETRY seconds), so the prefetch survives
 * the death of its holder. */
#include "prefetch.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../cache/lock.h"
#include "../common/counters.h"
#include "../common/log.h"
#include "../common/workpool.h"
#include "fs.h"
#include "mount_index.h"

#define LEASE_RETRY 2

/* What this process has missed on one mount: the closest directory containing every missed
 * file, and the tree it last started walking. */
struct scope {
    char dir[1024];
    int misses;
    char walked[1024];
    int has_walked;
    time_t next_try;
};

struct walk {
    struct mount *m;
    char tree[1024];
    int lease;
    int active;
    pthread_mutex_t lock;
    pthread_cond_t idle;
};

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct scope scopes[MOUNT_MAX];

struct file_job {
    struct walk *w;
    struct fs_attr attr;
    char rel[];
};

static void fetch_file(void *arg)
{
    struct file_job *j = arg;
    struct walk *w = j->w;
    if (fs_prefetch_file(w->m, j->rel, &j->attr) == 1) counters_add(CTR_PREFETCHED, 1);
    pthread_mutex_lock(&w->lock);
    if (--w->active < w->m->prefetch) pthread_cond_broadcast(&w->idle);
    pthread_mutex_unlock(&w->lock);
    free(j);
}

static int visit(void *ctx, const struct index_entry *e)
{
    struct walk *w = ctx;
    struct mount *m = w->m;
    struct fs_attr attr = {0};
    struct file_job *j;
    uint64_t cap = store_capacity();

    if (e->size > m->whole_max) return 0;  /* large files are read-ahead's business */
    attr.size = e->size;
    attr.mtime = e->mtime;
    snprintf(attr.etag, sizeof attr.etag, "%.*s", (int)e->etag_len, e->etag);
    if (!(j = malloc(sizeof *j + e->key_len + 1))) return -ENOMEM;
    memcpy(j->rel, e->key, e->key_len);
    j->rel[e->key_len] = 0;
    j->w = w;
    j->attr = attr;
    if (fs_is_cached(m, j->rel, &attr)) { free(j); return 0; }
    if (cap && (double)(store_usage() + workpool_inflight() + e->size) > cap * PREFETCH_CACHE_SHARE) {
        log_info("prefetch: stopped in %s/%s: the cache is %.0f%% full (UFSHIM_CACHE_SIZE)", m->prefix, w->tree,
                 100.0 * (double)store_usage() / (double)cap);
        free(j);
        return 1;
    }
    pthread_mutex_lock(&w->lock);
    while (w->active >= m->prefetch) pthread_cond_wait(&w->idle, &w->lock);
    w->active++;
    pthread_mutex_unlock(&w->lock);
    if (workpool_submit(fetch_file, j, 0, e->size, 1)) {
        pthread_mutex_lock(&w->lock);
        w->active--;
        pthread_mutex_unlock(&w->lock);
        free(j);
        return 1;
    }
    return 0;
}

static void walk_tree(void *arg)
{
    struct walk *w = arg;
    struct index *ix = mount_index(w->m);
    if (ix) index_files_under(ix, w->tree, visit, w);
    pthread_mutex_lock(&w->lock);
    while (w->active) pthread_cond_wait(&w->idle, &w->lock);
    pthread_mutex_unlock(&w->lock);
    close(w->lease);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->idle);
    free(w);
}

/* With table_lock held: take the lease of tree and start walking it. 0 if started. */
static int start(struct mount *m, const char *tree)
{
    char name[2200];
    struct walk *w;
    int lease;
    snprintf(name, sizeof name, "prefetch %s%s", m->url, tree);
    if ((lease = lock_lease(lock_token(name, 0))) < 0) return lease;
    if (!(w = calloc(1, sizeof *w))) { close(lease); return -ENOMEM; }
    w->m = m;
    snprintf(w->tree, sizeof w->tree, "%s", tree);
    w->lease = lease;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->idle, NULL);
    if (workpool_submit(walk_tree, w, 0, 0, 0)) {
        close(lease);
        free(w);
        return -EAGAIN;
    }
    return 0;
}

/* Narrows dir to the closest directory that also contains other (both relative, "" the root). */
static void common_dir(char *dir, const char *other, size_t olen)
{
    size_t i = 0, cut = 0;
    for (; dir[i] && i < olen && dir[i] == other[i]; i++)
        if (dir[i] == '/') cut = i;
    if (!dir[i] && (i == olen || other[i] == '/')) return;     /* dir contains other */
    dir[cut] = 0;
}

void prefetch_note_miss(struct mount *m, const char *rel)
{
    const char *slash = strrchr(rel, '/');
    size_t len = slash ? (size_t)(slash - rel) : 0;
    struct scope *s = &scopes[m - mount_at(0)];
    time_t t = time(NULL);
    if (!m->prefetch || !m->index || len >= sizeof s->dir) return;
    pthread_mutex_lock(&table_lock);
    if (s->misses++ == 0) {
        memcpy(s->dir, rel, len);
        s->dir[len] = 0;
    } else {
        common_dir(s->dir, rel, len);
    }
    if (s->misses >= PREFETCH_AFTER_MISSES && (!s->has_walked || strcmp(s->walked, s->dir)) && t >= s->next_try) {
        if (start(m, s->dir) == 0) {
            memcpy(s->walked, s->dir, sizeof s->walked);
            s->has_walked = 1;
        } else {
            s->next_try = t + LEASE_RETRY;
        }
    }
    pthread_mutex_unlock(&table_lock);
}

void prefetch_after_fork_child(void)
{
    /* The parent's walks (and leases) are the parent's: count misses afresh. */
    pthread_mutex_init(&table_lock, NULL);
    memset(scopes, 0, sizeof scopes);
}
