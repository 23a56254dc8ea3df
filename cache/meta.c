/* cache/meta.c — see meta.h. A uthash table under one mutex; expiry on a monotonic clock. */
#include "meta.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uthash.h>

#include "../common/counters.h"

struct entry {
    UT_hash_handle hh;
    char *key;
    enum meta_kind kind;
    struct object_info info;
    double expires;
    struct meta_listing *listing;
    double listing_expires;
};

static struct entry *table;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void meta_before_fork(void) { pthread_mutex_lock(&lock); }
void meta_after_fork_parent(void) { pthread_mutex_unlock(&lock); }
void meta_after_fork_child(void) { pthread_mutex_init(&lock, NULL); }

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct entry *find_or_add(const char *key)
{
    struct entry *e;
    HASH_FIND_STR(table, key, e);
    if (e) return e;
    e = calloc(1, sizeof *e);
    if (!e || !(e->key = strdup(key))) { free(e); return NULL; }
    e->expires = -1;
    e->listing_expires = -1;
    HASH_ADD_KEYPTR(hh, table, e->key, strlen(e->key), e);
    return e;
}

int meta_get(const char *key, enum meta_kind *kind, struct object_info *info)
{
    struct entry *e;
    int hit = 0;
    pthread_mutex_lock(&lock);
    HASH_FIND_STR(table, key, e);
    if (e && e->expires >= now()) {
        *kind = e->kind;
        if (info) *info = e->info;
        hit = 1;
    }
    pthread_mutex_unlock(&lock);
    counters_add(hit ? CTR_META_HITS : CTR_META_MISSES, 1);
    return hit;
}

static void put_locked(const char *key, enum meta_kind kind, const struct object_info *info, double expires)
{
    struct entry *e = find_or_add(key);
    if (!e) return;
    e->kind = kind;
    if (info) e->info = *info;
    else memset(&e->info, 0, sizeof e->info);
    e->expires = expires;
}

void meta_put(const char *key, enum meta_kind kind, const struct object_info *info, double ttl)
{
    pthread_mutex_lock(&lock);
    put_locked(key, kind, info, now() + ttl);
    pthread_mutex_unlock(&lock);
}

void meta_forget(const char *key)
{
    struct entry *e;
    pthread_mutex_lock(&lock);
    HASH_FIND_STR(table, key, e);
    if (e) e->expires = e->listing_expires = -1;
    pthread_mutex_unlock(&lock);
}

struct meta_listing *meta_get_listing(const char *key)
{
    struct entry *e;
    struct meta_listing *l = NULL;
    pthread_mutex_lock(&lock);
    HASH_FIND_STR(table, key, e);
    if (e && e->listing && e->listing_expires >= now()) {
        l = e->listing;
        l->refs++;
    }
    pthread_mutex_unlock(&lock);
    return l;
}

int meta_was_listed(const char *key)
{
    struct entry *e;
    int listed;
    pthread_mutex_lock(&lock);
    HASH_FIND_STR(table, key, e);
    listed = e && e->listing;
    pthread_mutex_unlock(&lock);
    return listed;
}

static void free_listing(struct meta_listing *l)
{
    for (int i = 0; i < l->n; i++) free(l->children[i].name);
    free(l->children);
    free(l);
}

void meta_listing_unref(struct meta_listing *l)
{
    int last;
    if (!l) return;
    pthread_mutex_lock(&lock);
    last = --l->refs == 0;
    pthread_mutex_unlock(&lock);
    if (last) free_listing(l);
}

void meta_put_listing(const char *key, struct meta_listing *l, double ttl)
{
    double expires = now() + ttl;
    struct meta_listing *old = NULL;
    size_t klen = strlen(key);
    char *child = NULL;
    size_t cap = 0;

    pthread_mutex_lock(&lock);
    struct entry *e = find_or_add(key);
    if (e) {
        old = e->listing;
        e->listing = l;
        e->listing_expires = expires;
        e->kind = META_DIR;
        e->expires = expires;
    }
    for (int i = 0; i < l->n; i++) {
        size_t need = klen + strlen(l->children[i].name) + 2;
        if (need > cap) {
            char *nc = realloc(child, need);
            if (!nc) break;
            child = nc;
            cap = need;
        }
        snprintf(child, cap, "%s/%s", key, l->children[i].name);
        put_locked(child, l->children[i].is_dir ? META_DIR : META_FILE,
                   l->children[i].is_dir ? NULL : &l->children[i].info, expires);
    }
    pthread_mutex_unlock(&lock);
    free(child);
    if (!e) meta_listing_unref(l);
    meta_listing_unref(old);
}

void meta_clear(void)
{
    struct entry *e, *tmp;
    pthread_mutex_lock(&lock);
    HASH_ITER(hh, table, e, tmp) {
        HASH_DEL(table, e);
        if (e->listing && --e->listing->refs == 0) free_listing(e->listing);
        free(e->key);
        free(e);
    }
    pthread_mutex_unlock(&lock);
}
