/* cache/index.c — see index.h.
 *
 * File layout (little-endian, as written by this machine's gcc on x86-64/aarch64):
 *   header    u64 magic, u64 count, u64 offsets_at, i64 built_at, u32 origin_len; the origin
 *             string at ORIGIN_AT; records start at HEADER_SIZE
 *   records   u16 key_len, u8 etag_len, u8 reserved, u64 size, i64 mtime, key, etag
 *   offsets   u64 per record (file offset of the record), at header.offsets_at */
#include "index.h"

#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

#define INDEX_MAGIC 0x5546534944583031ULL   /* "UFSIDX01" */
#define HEADER_SIZE 4096
#define ORIGIN_AT 64
#define RECORD_FIXED 20
#define KEY_MAX 4000

struct file_header {
    uint64_t magic;
    uint64_t count;
    uint64_t offsets_at;
    int64_t built_at;
    uint32_t origin_len;
};

struct index_segment {
    FILE *f;
    char path[PATH_MAX];
    char last[KEY_MAX + 1];
    size_t last_len;
    int has_last;
};

struct index {
    void *map;
    size_t len;
    uint64_t count;
    const uint64_t *offsets;
    int64_t built_at;
    dev_t dev;
    ino_t ino;
    char path[PATH_MAX];
};

static int key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

struct index_segment *index_segment_new(void)
{
    struct index_segment *s = calloc(1, sizeof *s);
    int fd;
    if (!s) return NULL;
    if ((fd = store_tmp_file(s->path, sizeof s->path)) < 0 || !(s->f = fdopen(fd, "w+"))) {
        if (fd >= 0) { close(fd); unlink(s->path); }
        free(s);
        return NULL;
    }
    return s;
}

int index_segment_add(struct index_segment *s, const char *key, uint64_t size, int64_t mtime, const char *etag)
{
    size_t klen = strlen(key), elen = strlen(etag);
    unsigned char fixed[RECORD_FIXED];
    uint16_t k16 = (uint16_t)klen;
    if (klen > KEY_MAX || elen > 255) return -ENAMETOOLONG;
    if (s->has_last && key_cmp(s->last, s->last_len, key, klen) >= 0) return -EINVAL;
    memcpy(fixed, &k16, 2);
    fixed[2] = (unsigned char)elen;
    fixed[3] = 0;
    memcpy(fixed + 4, &size, 8);
    memcpy(fixed + 12, &mtime, 8);
    if (fwrite(fixed, RECORD_FIXED, 1, s->f) != 1 || fwrite(key, 1, klen, s->f) != klen ||
        fwrite(etag, 1, elen, s->f) != elen)
        return -EIO;
    memcpy(s->last, key, klen);
    s->last_len = klen;
    s->has_last = 1;
    return 0;
}

void index_segment_free(struct index_segment *s)
{
    if (!s) return;
    fclose(s->f);
    unlink(s->path);
    free(s);
}

void index_path(const char *origin, char *out, size_t outlen)
{
    char name[STORE_NAME_LEN + 1];
    store_object_name(origin, "", "listing index", 0, name);
    snprintf(out, outlen, "%s/index/%s", store_root(), name);
}

static void read_record(const char *p, struct index_entry *e)
{
    uint16_t k16;
    memcpy(&k16, p, 2);
    e->key_len = k16;
    e->etag_len = (unsigned char)p[2];
    memcpy(&e->size, p + 4, 8);
    memcpy(&e->mtime, p + 12, 8);
    e->key = p + RECORD_FIXED;
    e->etag = e->key + e->key_len;
}

/* A segment being merged: its mapped records and the next one. */
struct cursor {
    char *buf;
    size_t len, at;
    struct index_entry e;
};

static int cursor_next(struct cursor *c)
{
    if (c->at >= c->len) return 0;
    read_record(c->buf + c->at, &c->e);
    return 1;
}

static int cursor_less(const struct cursor *a, const struct cursor *b)
{
    return key_cmp(a->e.key, a->e.key_len, b->e.key, b->e.key_len) < 0;
}

static void sift_down(struct cursor **heap, int n, int i)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && cursor_less(heap[l], heap[m])) m = l;
        if (r < n && cursor_less(heap[r], heap[m])) m = r;
        if (m == i) return;
        struct cursor *t = heap[i]; heap[i] = heap[m]; heap[m] = t;
        i = m;
    }
}

/* Merges the sorted segments into out (records) and offs (their offsets), dropping duplicate
 * keys. */
static int merge(struct index_segment *const *segs, int n, FILE *out, FILE *offs, uint64_t *count)
{
    struct cursor *cur = calloc((size_t)n + 1, sizeof *cur), **heap = calloc((size_t)n + 1, sizeof *heap);
    char *prev = malloc(KEY_MAX + 1);
    size_t prev_len = 0;
    uint64_t pos = HEADER_SIZE;
    int rc = 0, h = 0, has_prev = 0;

    if (!cur || !heap || !prev) rc = -ENOMEM;
    for (int i = 0; i < n && rc == 0; i++) {
        long len;
        if (fflush(segs[i]->f) || (len = ftell(segs[i]->f)) < 0) { rc = -EIO; break; }
        if (len == 0) continue;
        cur[i].len = (size_t)len;
        cur[i].buf = mmap(NULL, cur[i].len, PROT_READ, MAP_PRIVATE, fileno(segs[i]->f), 0);
        if (cur[i].buf == MAP_FAILED) { cur[i].buf = NULL; rc = -errno; break; }
        if (cursor_next(&cur[i])) heap[h++] = &cur[i];
    }
    for (int i = h / 2 - 1; i >= 0; i--) sift_down(heap, h, i);
    while (rc == 0 && h) {
        struct cursor *c = heap[0];
        size_t rlen = RECORD_FIXED + c->e.key_len + c->e.etag_len;
        if (!has_prev || key_cmp(prev, prev_len, c->e.key, c->e.key_len) != 0) {
            if (fwrite(&pos, 8, 1, offs) != 1 || fwrite(c->buf + c->at, 1, rlen, out) != rlen) { rc = -EIO; break; }
            pos += rlen;
            (*count)++;
            memcpy(prev, c->e.key, c->e.key_len);
            prev_len = c->e.key_len;
            has_prev = 1;
        }
        c->at += rlen;
        if (!cursor_next(c)) heap[0] = heap[--h];
        sift_down(heap, h, 0);
    }
    for (int i = 0; cur && i < n; i++)
        if (cur[i].buf) munmap(cur[i].buf, cur[i].len);
    free(cur);
    free(heap);
    free(prev);
    return rc;
}

int index_publish(const char *origin, struct index_segment *const *segs, int n, int64_t built_at)
{
    char tmp[PATH_MAX], otmp[PATH_MAX], dst[PATH_MAX];
    size_t olen = strlen(origin);
    int rc = 0, fd, ofd = -1;
    uint64_t count = 0;
    long end;
    FILE *out = NULL, *offs = NULL;
    struct file_header h = {INDEX_MAGIC, 0, 0, built_at, (uint32_t)olen};

    if (ORIGIN_AT + olen > HEADER_SIZE) return -ENAMETOOLONG;
    if ((fd = store_tmp_file(tmp, sizeof tmp)) < 0) return fd;
    if ((ofd = store_tmp_file(otmp, sizeof otmp)) < 0) { rc = ofd; goto out; }
    unlink(otmp);
    if (!(out = fdopen(fd, "w")) || !(offs = fdopen(ofd, "w+"))) { rc = -ENOMEM; goto out; }
    fd = ofd = -1;
    if (fseek(out, HEADER_SIZE, SEEK_SET) || (rc = merge(segs, n, out, offs, &count))) { rc = rc ? rc : -EIO; goto out; }
    /* offsets, then the header that makes the file valid */
    if ((end = ftell(out)) < 0) { rc = -EIO; goto out; }
    h.count = count;
    h.offsets_at = ((uint64_t)end + 7) & ~7ULL;
    if (fseek(out, (long)h.offsets_at, SEEK_SET) || fflush(offs) || fseek(offs, 0, SEEK_SET)) { rc = -EIO; goto out; }
    for (uint64_t i = 0; i < count; i++) {
        uint64_t v;
        if (fread(&v, 8, 1, offs) != 1 || fwrite(&v, 8, 1, out) != 1) { rc = -EIO; goto out; }
    }
    if (fseek(out, 0, SEEK_SET) || fwrite(&h, sizeof h, 1, out) != 1 || fseek(out, ORIGIN_AT, SEEK_SET) ||
        fwrite(origin, 1, olen, out) != olen || fflush(out)) {
        rc = -EIO;
        goto out;
    }
    index_path(origin, dst, sizeof dst);
    if (rename(tmp, dst)) rc = -errno;
out:
    if (rc) unlink(tmp);
    if (out) fclose(out); else if (fd >= 0) close(fd);
    if (offs) fclose(offs); else if (ofd >= 0) close(ofd);
    return rc;
}

/* Maps path and checks that it is a whole index of origin. */
static struct index *map_file(const char *path, const char *origin)
{
    struct index *ix = calloc(1, sizeof *ix);
    struct stat st;
    struct file_header h;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t olen = strlen(origin);

    if (!ix || fd < 0 || fstat(fd, &st) || (uint64_t)st.st_size < HEADER_SIZE) goto fail;
    ix->len = (size_t)st.st_size;
    ix->map = mmap(NULL, ix->len, PROT_READ, MAP_SHARED, fd, 0);
    if (ix->map == MAP_FAILED) { ix->map = NULL; goto fail; }
    memcpy(&h, ix->map, sizeof h);
    if (h.magic != INDEX_MAGIC || h.origin_len != olen || ORIGIN_AT + olen > HEADER_SIZE || memcmp((char *)ix->map + ORIGIN_AT, origin, olen) ||
        h.offsets_at % 8 || h.offsets_at > ix->len || (ix->len - h.offsets_at) / 8 < h.count)
        goto fail;
    ix->count = h.count;
    ix->offsets = (const uint64_t *)((const char *)ix->map + h.offsets_at);
    ix->built_at = h.built_at;
    ix->dev = st.st_dev;
    ix->ino = st.st_ino;
    snprintf(ix->path, sizeof ix->path, "%s", path);
    close(fd);
    return ix;
fail:
    if (fd >= 0) close(fd);
    if (ix && ix->map) munmap(ix->map, ix->len);
    free(ix);
    return NULL;
}

struct index *index_open(const char *origin)
{
    char path[PATH_MAX];
    index_path(origin, path, sizeof path);
    return map_file(path, origin);
}

int index_replaced(const struct index *ix)
{
    struct stat st;
    return stat(ix->path, &st) || st.st_ino != ix->ino || st.st_dev != ix->dev;
}

void index_close(struct index *ix)
{
    if (!ix) return;
    munmap(ix->map, ix->len);
    free(ix);
}

int64_t index_built_at(const struct index *ix) { return ix->built_at; }
uint64_t index_count(const struct index *ix) { return ix->count; }

static void entry_at(const struct index *ix, uint64_t i, struct index_entry *e)
{
    read_record((const char *)ix->map + ix->offsets[i], e);
}

/* First record whose key is >= s. */
static uint64_t lower_bound(const struct index *ix, const char *s, size_t slen)
{
    uint64_t lo = 0, hi = ix->count;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        struct index_entry e;
        entry_at(ix, mid, &e);
        if (key_cmp(e.key, e.key_len, s, slen) < 0) lo = mid + 1; else hi = mid;
    }
    return lo;
}

static int has_prefix(const struct index_entry *e, const char *p, size_t plen)
{
    return e->key_len >= plen && memcmp(e->key, p, plen) == 0;
}

/* dir + "/" (nothing for the root) into buf; its length, or -1 if too long. */
static long dir_prefix(const char *dir, char *buf)
{
    size_t n = strlen(dir);
    if (n + 2 > KEY_MAX) return -1;
    memcpy(buf, dir, n);
    if (n) buf[n++] = '/';
    buf[n] = 0;
    return (long)n;
}

enum index_kind index_lookup(const struct index *ix, const char *rel, struct index_entry *e)
{
    char p[KEY_MAX + 2];
    long plen;
    uint64_t i;
    struct index_entry x;
    if (!*rel) return INDEX_DIR;
    if ((plen = dir_prefix(rel, p)) < 0) return INDEX_MISSING;
    i = lower_bound(ix, p, (size_t)plen);
    if (i < ix->count && (entry_at(ix, i, &x), has_prefix(&x, p, (size_t)plen))) return INDEX_DIR;
    i = lower_bound(ix, rel, (size_t)plen - 1);
    if (i < ix->count && (entry_at(ix, i, &x), key_cmp(x.key, x.key_len, rel, (size_t)plen - 1) == 0)) {
        if (e) *e = x;
        return INDEX_FILE;
    }
    return INDEX_MISSING;
}

int index_children_start(const struct index *ix, const char *dir, struct index_cursor *c)
{
    long plen = dir_prefix(dir, c->prefix);
    if (plen < 0) return -ENAMETOOLONG;
    c->prefix_len = (size_t)plen;
    c->rec = lower_bound(ix, c->prefix, c->prefix_len);
    return 0;
}

int index_children_next(const struct index *ix, struct index_cursor *c, const char **name, size_t *name_len,
                        int *is_dir, struct index_entry *e)
{
    while (c->rec < ix->count) {
        char sub[KEY_MAX + 2];
        const char *rest, *slash;
        size_t rlen, slen;
        entry_at(ix, c->rec, e);
        if (!has_prefix(e, c->prefix, c->prefix_len)) break;
        rest = e->key + c->prefix_len;
        rlen = e->key_len - c->prefix_len;
        slash = memchr(rest, '/', rlen);
        slen = (size_t)((slash ? slash : rest + rlen) - e->key);     /* the child's key, without "/" */
        memcpy(sub, e->key, slen);
        sub[slen] = slash ? '0' : '/';
        if (!slash) {
            /* an object: unless a directory of the same name follows, which wins */
            uint64_t d = lower_bound(ix, sub, slen + 1);
            struct index_entry x;
            c->rec++;
            if (!rlen || (d < ix->count && (entry_at(ix, d, &x), has_prefix(&x, sub, slen + 1)))) continue;
            *name = rest;
            *name_len = rlen;
            *is_dir = 0;
            return 1;
        }
        /* a directory: skip its subtree (every key below "name/" sorts before "name0") */
        c->rec = lower_bound(ix, sub, slen + 1);
        if (slash == rest) continue;
        *name = rest;
        *name_len = (size_t)(slash - rest);
        *is_dir = 1;
        return 1;
    }
    return 0;
}

int index_files_under(const struct index *ix, const char *dir, index_file_fn fn, void *ctx)
{
    char p[KEY_MAX + 2];
    long plen = dir_prefix(dir, p);
    int rc;
    if (plen < 0) return 0;
    for (uint64_t i = lower_bound(ix, p, (size_t)plen); i < ix->count; i++) {
        struct index_entry e;
        entry_at(ix, i, &e);
        if (!has_prefix(&e, p, (size_t)plen)) break;
        if (e.key_len && e.key[e.key_len - 1] != '/' && (rc = fn(ctx, &e))) return rc;
    }
    return 0;
}

static int copy_file(const char *src, int dfd, char *err, size_t errlen)
{
    char buf[1 << 16];
    ssize_t n;
    int sfd = open(src, O_RDONLY | O_CLOEXEC);
    if (sfd < 0) { snprintf(err, errlen, "cannot open %s: %s", src, strerror(errno)); return -errno; }
    while ((n = read(sfd, buf, sizeof buf)) > 0)
        if (write(dfd, buf, (size_t)n) != n) { n = -1; break; }
    close(sfd);
    if (n < 0) { snprintf(err, errlen, "copying %s failed: %s", src, strerror(errno)); return -EIO; }
    return 0;
}

int index_export(const char *origin, const char *dst, char *err, size_t errlen)
{
    char path[PATH_MAX];
    struct index *ix = index_open(origin);
    int fd, rc;
    if (!ix) { snprintf(err, errlen, "no listing index of %s yet (run `ufs load --metadata-only` first)", origin); return -ENOENT; }
    snprintf(path, sizeof path, "%s", ix->path);
    index_close(ix);
    if ((fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
        snprintf(err, errlen, "cannot create %s: %s", dst, strerror(errno));
        return -errno;
    }
    rc = copy_file(path, fd, err, errlen);
    if (close(fd) && !rc) { snprintf(err, errlen, "writing %s failed: %s", dst, strerror(errno)); rc = -EIO; }
    return rc;
}

int index_import(const char *src, const char *origin, char *err, size_t errlen)
{
    char tmp[PATH_MAX], dst[PATH_MAX];
    struct index *ix = map_file(src, origin);
    int64_t now = (int64_t)time(NULL);
    int fd, rc;
    *err = 0;
    if (!ix) {
        snprintf(err, errlen, "%s is not a listing index of %s (made for another location, or damaged)", src, origin);
        return -EINVAL;
    }
    index_close(ix);
    if ((fd = store_tmp_file(tmp, sizeof tmp)) < 0) { snprintf(err, errlen, "cannot write to the cache"); return fd; }
    rc = copy_file(src, fd, err, errlen);
    if (!rc && pwrite(fd, &now, sizeof now, offsetof(struct file_header, built_at)) != sizeof now) rc = -EIO;
    close(fd);
    index_path(origin, dst, sizeof dst);
    if (!rc && rename(tmp, dst)) rc = -errno;
    if (rc) { unlink(tmp); if (!*err) snprintf(err, errlen, "installing the index failed: %s", strerror(-rc)); }
    return rc;
}

void index_remove_all(void)
{
    char dir[PATH_MAX], path[PATH_MAX + 300];
    DIR *d;
    struct dirent *e;
    snprintf(dir, sizeof dir, "%s/index", store_root());
    if (!(d = opendir(dir))) return;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    closedir(d);
}
