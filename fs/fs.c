/* fs/fs.c — see fs.h. Metadata comes from the mount's listing index when it has a fresh one
 * (no request at all), else from the per-process cache or one request: HEAD for a file, then a
 * one-entry LIST for a directory; a fresh listing of the parent answers for its children
 * (including "does not exist") without any request. */
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/counters.h"
#include "../common/log.h"
#include "../common/workpool.h"
#include "../cache/overlay.h"
#include "mount_index.h"
#include "prefetch.h"

static struct settings settings;
static int init_result = -EAGAIN;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init(void)
{
    char err[600];
    /* Background threads may still be fetching while the process exits: OpenSSL must not
     * free its state in an atexit handler under them (the OS reclaims it anyway). */
    OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
    log_init();
    settings_load(&settings);
    settings_load_mounts();
    if (mount_count() == 0) { init_result = -ENOENT; return; }
    if (store_open(settings.cache_dir, settings.cache_size, err, sizeof err)) {
        log_error("cache: %s; set UFSHIM_CACHE_DIR to a writable directory. Every mount fails with EIO", err);
        for (int i = 0; i < mount_count(); i++) mount_at(i)->broken = 1;
        init_result = -EIO;
        return;
    }
    counters_open(settings.stats_dir, settings.keep_stats);
    workpool_set_budget(settings.inflight);
    init_result = 0;
}

int fs_init(void)
{
    pthread_once(&init_once, init);
    return init_result;
}

const struct settings *fs_settings(void) { return &settings; }

void fs_after_fork(void)
{
    for (int i = 0; i < mount_count(); i++)
        if (mount_at(i)->ops && mount_at(i)->ops->after_fork) mount_at(i)->ops->after_fork();
    counters_reopen_after_fork();
    mount_index_after_fork_child();
    prefetch_after_fork_child();
}

uint64_t fs_ino(const struct mount *m, const char *rel)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = m->id; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    for (const char *p = rel; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return (h & 0x7fffffffffffffffULL) | 2;   /* never 0 or 1 */
}

/* Cache key: mount id + "/" + rel ("" for the root). */
static void meta_key(const struct mount *m, const char *rel, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s%s%s", m->id, *rel ? "/" : "", rel);
}


static void set_attr(const struct mount *m, const char *rel, int is_dir, const struct object_info *info,
                     struct fs_attr *out)
{
    memset(out, 0, sizeof *out);
    out->is_dir = is_dir;
    out->ino = fs_ino(m, rel);
    if (!is_dir && info) {
        out->size = info->size;
        out->mtime = info->mtime;
        snprintf(out->etag, sizeof out->etag, "%s", info->etag);
    }
}

static int stop_at_first(void *ctx, const struct list_entry *e)
{
    (void)ctx;
    (void)e;
    return 1;
}

/* Is rel/ a directory in the store: any key under it, or a "rel/" marker object? */
static int probe_dir(struct mount *m, const char *key)
{
    char dir[4200];
    struct object_info info;
    snprintf(dir, sizeof dir, "%s/", key);
    int rc = m->ops->list(m->backend, dir, 0, stop_at_first, NULL);
    if (rc == 1) return 1;
    if (rc < 0) return rc;
    rc = m->ops->head(m->backend, dir, &info);
    return rc == 0 ? 1 : rc == -ENOENT ? 0 : rc;
}

/* Answers from the parent directory's listing: 1 found (out filled), 0 known missing, -1 no
 * answer. An expired listing is taken again — one LIST refreshes up to 1,000 entries — rather
 * than sending a HEAD per file once a directory's metadata expires mid-epoch. */
static int from_parent_listing(struct mount *m, const char *rel, struct fs_attr *out)
{
    char key[4200], parent[4200];
    const char *slash = strrchr(rel, '/'), *name = slash ? slash + 1 : rel;
    struct meta_listing *l;
    int found = 0;

    snprintf(parent, sizeof parent, "%.*s", slash ? (int)(slash - rel) : 0, rel);
    meta_key(m, parent, key, sizeof key);
    if (!(l = meta_get_listing(key)) && (!meta_was_listed(key) || fs_list(m, parent, &l) != 0)) return -1;
    for (int i = 0; i < l->n && !found; i++)
        if (!strcmp(l->children[i].name, name)) {
            set_attr(m, rel, l->children[i].is_dir, &l->children[i].info, out);
            found = 1;
        }
    meta_listing_unref(l);
    return found;
}

/* Answers from this node's own changes (cache/overlay.h): 0, -errno, or 1 when it has none. */
static int from_overlay(struct mount *m, const char *rel, struct fs_attr *out)
{
    struct object_info info;
    if (m->write_mode == WRITE_RO) return 1;
    switch (overlay_lookup(m->id, rel, mount_overlay_age(m), &info)) {
    case OV_DATA:
        set_attr(m, rel, 0, &info, out);
        out->staged = 1;
        return 0;
    case OV_RECORD:
        set_attr(m, rel, 0, &info, out);
        return 0;
    case OV_DIR:
        set_attr(m, rel, 1, NULL, out);
        return 0;
    case OV_DELETED: return -ENOENT;
    case OV_BELOW_FILE: return -ENOTDIR;
    default: return 1;
    }
}

/* Answers from the index: 0, -ENOENT, or 1 when there is no fresh index. */
static int from_index(struct mount *m, const char *rel, struct fs_attr *out)
{
    struct index *ix = mount_index(m);
    struct index_entry e;
    struct object_info info = {0};
    if (!ix) return 1;
    switch (index_lookup(ix, rel, &e)) {
    case INDEX_DIR:
        set_attr(m, rel, 1, NULL, out);
        return 0;
    case INDEX_FILE:
        info.size = e.size;
        info.mtime = e.mtime;
        snprintf(info.etag, sizeof info.etag, "%.*s", (int)e.etag_len, e.etag);
        set_attr(m, rel, 0, &info, out);
        return 0;
    default:
        break;
    }
    /* below a file: ENOTDIR, as a local file system says */
    char parent[4200];
    snprintf(parent, sizeof parent, "%s", rel);
    for (char *slash; (slash = strrchr(parent, '/'));) {
        *slash = 0;
        enum index_kind k = index_lookup(ix, parent, NULL);
        if (k != INDEX_MISSING) return k == INDEX_FILE ? -ENOTDIR : -ENOENT;
    }
    return -ENOENT;
}

int fs_stat(struct mount *m, const char *rel, struct fs_attr *out)
{
    char mk[4200], key[4200];
    enum meta_kind kind;
    struct object_info info;
    int rc;

    if (m->broken) return -EIO;
    if (!*rel) { set_attr(m, rel, 1, NULL, out); return 0; }
    if ((rc = from_overlay(m, rel, out)) <= 0) return rc;
    if ((rc = from_index(m, rel, out)) <= 0) {
        counters_add(CTR_META_HITS, 1);
        return rc;
    }
    meta_key(m, rel, mk, sizeof mk);
    if (meta_get(mk, &kind, &info)) {
        if (kind == META_MISSING) return -ENOENT;
        set_attr(m, rel, kind == META_DIR, &info, out);
        return 0;
    }
    if ((rc = from_parent_listing(m, rel, out)) == 0) {
        meta_put(mk, META_MISSING, NULL, m->meta_ttl);
        return -ENOENT;
    }
    if (rc == 1) return 0;
    mount_key(m, rel, "", key, sizeof key);
    rc = m->ops->head(m->backend, key, &info);
    if (rc == 0) {
        meta_put(mk, META_FILE, &info, m->meta_ttl);
        set_attr(m, rel, 0, &info, out);
        return 0;
    }
    if (rc != -ENOENT) return rc;
    rc = probe_dir(m, key);
    if (rc < 0) return rc;
    meta_put(mk, rc ? META_DIR : META_MISSING, NULL, m->meta_ttl);
    if (!rc) return -ENOENT;
    set_attr(m, rel, 1, NULL, out);
    return 0;
}

struct list_builder {
    struct meta_listing *l;
    int cap;
};

static int add_child(void *ctx, const struct list_entry *e)
{
    struct list_builder *b = ctx;
    struct meta_listing *l = b->l;
    /* A key "x" next to a prefix "x/": the directory wins, as in mountpoint-s3. Both arrive in
     * key order, "x" first; dedupe against the previous entry. */
    if (l->n && !strcmp(l->children[l->n - 1].name, e->name)) {
        if (e->is_dir) l->children[l->n - 1].is_dir = 1;
        return 0;
    }
    if (!strcmp(e->name, ".") || !strcmp(e->name, "..") || strchr(e->name, '/')) return 0;
    if (l->n == b->cap) {
        int cap = b->cap ? b->cap * 2 : 64;
        struct meta_child *nc = realloc(l->children, sizeof *nc * (size_t)cap);
        if (!nc) return -ENOMEM;
        l->children = nc;
        b->cap = cap;
    }
    struct meta_child *c = &l->children[l->n];
    if (!(c->name = strdup(e->name))) return -ENOMEM;
    c->is_dir = e->is_dir;
    c->info = e->info;
    l->n++;
    return 0;
}

/* A listing made from the index: 0, -ENOENT / -ENOTDIR, or 1 when there is no fresh index. */
static int list_from_index(struct mount *m, const char *rel, struct list_builder *b)
{
    struct index *ix = mount_index(m);
    struct index_cursor c;
    struct index_entry e;
    const char *name;
    size_t len;
    int is_dir, rc;
    if (!ix) return 1;
    switch (index_lookup(ix, rel, NULL)) {
    case INDEX_FILE: return -ENOTDIR;
    case INDEX_MISSING: return -ENOENT;
    default: break;
    }
    if ((rc = index_children_start(ix, rel, &c))) return rc;
    while (index_children_next(ix, &c, &name, &len, &is_dir, &e)) {
        char buf[1100];
        struct list_entry le = {buf, is_dir, {0}};
        snprintf(buf, sizeof buf, "%.*s", (int)len, name);
        if (!is_dir) {
            le.info.size = e.size;
            le.info.mtime = e.mtime;
            snprintf(le.info.etag, sizeof le.info.etag, "%.*s", (int)e.etag_len, e.etag);
        }
        if ((rc = add_child(b, &le))) return rc;
    }
    return 0;
}

int fs_list(struct mount *m, const char *rel, struct meta_listing **out)
{
    char mk[4200], prefix[4200];
    struct list_builder b = {calloc(1, sizeof(struct meta_listing)), 0};
    struct fs_attr attr;
    int rc;

    if (m->broken) { free(b.l); return -EIO; }
    if (!b.l) return -ENOMEM;
    b.l->refs = 1;
    if ((rc = list_from_index(m, rel, &b)) <= 0) {
        if (rc) { meta_listing_unref(b.l); return rc; }
        *out = b.l;
        return 0;
    }
    meta_key(m, rel, mk, sizeof mk);
    if ((*out = meta_get_listing(mk))) { meta_listing_unref(b.l); return 0; }
    mount_key(m, rel, *rel ? "/" : "", prefix, sizeof prefix);
    rc = m->ops->list(m->backend, prefix, 0, add_child, &b);
    if (rc == 0 && b.l->n == 0 && *rel) {
        /* Empty: an empty directory (marker object), a file, or nothing at all. */
        meta_forget(mk);
        rc = fs_stat(m, rel, &attr);
        if (rc == 0 && !attr.is_dir) rc = -ENOTDIR;
    }
    if (rc) {
        meta_listing_unref(b.l);
        return rc;
    }
    b.l->refs = 2;                  /* the table's and the caller's */
    meta_put_listing(mk, b.l, m->meta_ttl);
    *out = b.l;
    return 0;
}

/* What a cached copy needs to fetch bytes: which object version, from where. */
struct fetch_ctx {
    struct mount *m;
    char key[4200];
    char etag[BACKEND_ETAG_MAX];
};

struct fd_sink {
    int fd;
    uint64_t base;
};

static int write_at(void *ctx, uint64_t pos, const void *buf, size_t len)
{
    struct fd_sink *s = ctx;
    const char *p = buf;
    while (len) {
        ssize_t n = pwrite(s->fd, p, len, (off_t)(s->base + pos));
        if (n < 0) {
            if (errno == EINTR) continue;
            log_error("cache: writing to the cache failed: %s (is the cache file system full?)", strerror(errno));
            return -1;
        }
        p += n;
        pos += (uint64_t)n;
        len -= (size_t)n;
    }
    return 0;
}

static int fetch_range(void *ctx, uint64_t off, uint64_t len, int fd)
{
    struct fetch_ctx *f = ctx;
    struct fd_sink sink = {fd, off};
    return f->m->ops->get(f->m->backend, f->key, f->etag, off, len, write_at, &sink, NULL);
}

/* The cache's view of one object version; obj->ctx is allocated (obj->free_ctx frees it). */
static int make_object(struct mount *m, const char *rel, const struct fs_attr *attr, struct cache_object *obj)
{
    struct fetch_ctx *f = calloc(1, sizeof *f);
    if (!f) return -ENOMEM;
    f->m = m;
    mount_key(m, rel, "", f->key, sizeof f->key);
    snprintf(f->etag, sizeof f->etag, "%s", attr->etag);
    store_object_name(m->url, f->key, attr->etag, attr->size, obj->name);
    obj->size = attr->size;
    obj->mtime = attr->mtime;
    obj->fetch = fetch_range;
    obj->ctx = f;
    obj->free_ctx = free;
    return 0;
}

int fs_is_cached(struct mount *m, const char *rel, const struct fs_attr *attr)
{
    struct cache_object obj = {.size = attr->size};    /* naming it is all a check needs */
    char key[4200];
    if (attr->size > m->whole_max) return 0;
    mount_key(m, rel, "", key, sizeof key);
    store_object_name(m->url, key, attr->etag, attr->size, obj.name);
    return wholefile_cached(&obj);
}

int fs_prefetch_file(struct mount *m, const char *rel, const struct fs_attr *attr)
{
    struct cache_object obj;
    int rc;
    if (attr->size > m->whole_max) return -EFBIG;
    if ((rc = make_object(m, rel, attr, &obj))) return rc;
    rc = wholefile_prefetch(&obj);
    free(obj.ctx);
    if (rc < 0 && rc != -ENOENT) log_error("prefetch of %s/%s failed: %s", m->prefix, rel, strerror(-rc));
    return rc;
}

static int open_version(struct mount *m, const char *rel, const struct fs_attr *attr, int open_flags,
                        struct fs_file *out)
{
    struct cache_object obj;
    int rc, hit = 0;

    if ((rc = make_object(m, rel, attr, &obj))) return rc;
    out->attr = *attr;
    out->bf = NULL;
    if (attr->size <= m->whole_max) {
        rc = wholefile_open(&obj, open_flags, &hit);
        free(obj.ctx);
        if (rc < 0) return rc;
        out->fd = rc;
        if (!hit) prefetch_note_miss(m, rel);
    } else {
        if ((rc = blockfile_open(&obj, open_flags, &out->fd, &out->bf))) return rc;
        hit = blockfile_is_complete(out->bf);
    }
    counters_add(hit ? CTR_CACHE_HITS : CTR_CACHE_MISSES, 1);
    counters_add(CTR_OPENS, 1);
    return 0;
}

int fs_open_file(struct mount *m, const char *rel, const struct fs_attr *known, int open_flags, struct fs_file *out)
{
    struct fs_attr attr;
    struct object_info info;
    char mk[4200], key[4200];
    int rc;

    if (known->is_dir) return -EISDIR;
    if (known->staged) {
        char path[PATH_MAX];
        overlay_path(m->id, rel, path, sizeof path);
        out->attr = *known;
        out->bf = NULL;
        out->fd = open(path, open_flags);
        if (out->fd >= 0) return 0;
        if (errno != ENOENT) return -errno;
        if ((rc = fs_stat(m, rel, &attr))) return rc;   /* published or renamed meanwhile */
        return attr.staged ? -EAGAIN : fs_open_file(m, rel, &attr, open_flags, out);
    }
    rc = open_version(m, rel, known, open_flags, out);
    if (rc != -ESTALE) return rc;
    /* The object changed since its metadata was taken (here or on another node): ask the store
     * once, and remember its answer for every process on the node. */
    mount_key(m, rel, "", key, sizeof key);
    meta_key(m, rel, mk, sizeof mk);
    meta_forget(mk);
    rc = m->ops->head(m->backend, key, &info);
    if (m->write_mode != WRITE_RO && (rc == 0 || rc == -ENOENT)) overlay_set(m->id, rel, rc == 0 ? &info : NULL);
    if (rc) return rc;
    meta_put(mk, META_FILE, &info, m->meta_ttl);
    set_attr(m, rel, 0, &info, &attr);
    rc = open_version(m, rel, &attr, open_flags, out);
    return rc == -ESTALE ? -EIO : rc;
}
