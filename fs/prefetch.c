/* fs/prefetch.c — see prefetch.h. A small table of the trees this process has missed in; a
 * tree whose miss count reaches PREFETCH_AFTER_MISSES gets a walk job on the work pool if this
 * process wins the tree's node-wide lease. A process that loses tries again on a later miss
 * (at most every LEASE_RETRY seconds), so the prefetch survives the death of its holder. */
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

#define TREES 32
#define LEASE_RETRY 2

struct tree {
    struct mount *m;
    char rel[1024];
    int misses;
    int state;                      /* 0 counting misses, 1 walking, 2 done */
    time_t next_try;
};

struct walk {
    struct tree *t;
    int lease;
    int active;
    int stopped;
    pthread_mutex_t lock;
    pthread_cond_t idle;
};

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tree trees[TREES];
static int ntrees;

static struct tree *find_tree(struct mount *m, const char *rel, size_t len)
{
    for (int i = 0; i < ntrees; i++)
        if (trees[i].m == m && strlen(trees[i].rel) == len && !strncmp(trees[i].rel, rel, len)) return &trees[i];
    if (ntrees == TREES || len >= sizeof trees[0].rel) return NULL;
    struct tree *t = &trees[ntrees++];
    t->m = m;
    memcpy(t->rel, rel, len);
    t->rel[len] = 0;
    return t;
}

struct file_job {
    struct walk *w;
    struct fs_attr attr;
    char rel[];
};

static void fetch_file(void *arg)
{
    struct file_job *j = arg;
    struct walk *w = j->w;
    if (fs_prefetch_file(w->t->m, j->rel, &j->attr) == 1) counters_add(CTR_PREFETCHED, 1);
    pthread_mutex_lock(&w->lock);
    if (--w->active < w->t->m->prefetch) pthread_cond_broadcast(&w->idle);
    pthread_mutex_unlock(&w->lock);
    free(j);
}

static int visit(void *ctx, const struct index_entry *e)
{
    struct walk *w = ctx;
    struct mount *m = w->t->m;
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
        log_info("prefetch: stopped in %s/%s: the cache is %.0f%% full (UFSHIM_CACHE_SIZE)", m->prefix, w->t->rel,
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
    struct index *ix = mount_index(w->t->m);
    if (ix) index_files_under(ix, w->t->rel, visit, w);
    pthread_mutex_lock(&w->lock);
    while (w->active) pthread_cond_wait(&w->idle, &w->lock);
    pthread_mutex_unlock(&w->lock);
    close(w->lease);
    pthread_mutex_lock(&table_lock);
    w->t->state = 2;
    pthread_mutex_unlock(&table_lock);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->idle);
    free(w);
}

/* With table_lock held: take the tree's lease and start walking it. */
static void start(struct tree *t)
{
    char name[2200];
    struct walk *w;
    int lease;
    snprintf(name, sizeof name, "prefetch %s%s", t->m->url, t->rel);
    t->next_try = time(NULL) + LEASE_RETRY;
    if ((lease = lock_lease(lock_token(name, 0))) < 0) return;
    if (!(w = calloc(1, sizeof *w))) { close(lease); return; }
    w->t = t;
    w->lease = lease;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->idle, NULL);
    t->state = 1;
    if (workpool_submit(walk_tree, w, 0, 0, 0)) {
        t->state = 0;
        close(lease);
        free(w);
    }
}

void prefetch_note_miss(struct mount *m, const char *rel)
{
    const char *end = strrchr(rel, '/');
    struct tree *t;
    if (!m->prefetch || !m->index) return;
    /* the tree: the directory above the file's directory */
    while (end && end > rel && *--end != '/') {}
    size_t len = end && end > rel ? (size_t)(end - rel) : 0;
    pthread_mutex_lock(&table_lock);
    t = find_tree(m, rel, len);
    if (t && t->state == 0 && ++t->misses >= PREFETCH_AFTER_MISSES && time(NULL) >= t->next_try) start(t);
    pthread_mutex_unlock(&table_lock);
}

void prefetch_after_fork_child(void)
{
    /* The parent's walks (and leases) are the parent's: count misses afresh. */
    pthread_mutex_init(&table_lock, NULL);
    ntrees = 0;
}
