/* fs/dirstream.c — directory streams, see fs_dir_open in fs.h. The store's children come first:
 * from the index a stream is a cursor (reading on from the last position costs one step, going
 * back — rewinddir, seekdir — restarts the walk); without an index, a listing held by
 * reference. This node's own entries (cache/overlay.h, read at open, usually few) replace the
 * store's children of the same name and follow them; deleted ones are left out. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cache/overlay.h"
#include "fs.h"
#include "mount_index.h"

struct own_entry {
    char *name;
    enum overlay_kind kind;
};

struct fs_dir {
    struct index *ix;               /* NULL: listing (or nothing from the store) */
    struct index_cursor cur;
    char rel[4000];
    long next;                      /* position of the child the stream yields next */
    long base_pos;                  /* listing: the store child to look at next */
    int in_own;                     /* the store's children are done: own[] is next */
    int own_pos;
    char name[1025];
    struct meta_listing *listing;
    struct own_entry *own;          /* sorted by name */
    int n_own, cap_own;
};

static int add_own(void *ctx, const char *name, enum overlay_kind kind)
{
    struct fs_dir *d = ctx;
    if (d->n_own == d->cap_own) {
        int cap = d->cap_own ? d->cap_own * 2 : 16;
        struct own_entry *n = realloc(d->own, sizeof *n * (size_t)cap);
        if (!n) return -ENOMEM;
        d->own = n;
        d->cap_own = cap;
    }
    if (!(d->own[d->n_own].name = strdup(name))) return -ENOMEM;
    d->own[d->n_own++].kind = kind;
    return 0;
}

static int cmp_own(const void *a, const void *b)
{
    return strcmp(((const struct own_entry *)a)->name, ((const struct own_entry *)b)->name);
}

static int is_own(const struct fs_dir *d, const char *name)
{
    struct own_entry key = {(char *)name, OV_NONE};
    return d->n_own && bsearch(&key, d->own, (size_t)d->n_own, sizeof key, cmp_own) != NULL;
}

/* The store's side of the stream: 0, or -ENOENT / -ENOTDIR when the store has no such directory. */
static int open_store_side(struct fs_dir *d, struct mount *m, const char *rel)
{
    struct index *ix = mount_index(m);
    if (!ix) return fs_list(m, rel, &d->listing);
    enum index_kind k = index_lookup(ix, rel, NULL);
    if (k != INDEX_DIR) return k == INDEX_FILE ? -ENOTDIR : -ENOENT;
    if (strlen(rel) >= sizeof d->rel) return -ENAMETOOLONG;
    int rc = index_children_start(ix, rel, &d->cur);
    if (rc == 0) {
        d->ix = ix;
        snprintf(d->rel, sizeof d->rel, "%s", rel);
    }
    return rc;
}

void fs_dir_close(struct fs_dir *d)
{
    if (!d) return;
    if (d->listing) meta_listing_unref(d->listing);
    for (int i = 0; i < d->n_own; i++) free(d->own[i].name);
    free(d->own);
    free(d);
}

int fs_dir_open(struct mount *m, const char *rel, struct fs_dir **out)
{
    struct fs_dir *d = calloc(1, sizeof *d);
    int rc = 0, own_dir = 0;
    if (!d) return -ENOMEM;
    if (m->broken) rc = -EIO;
    else if (m->write_mode != WRITE_RO && *rel) {
        /* this node's word on the directory itself comes first */
        switch (overlay_lookup(m->id, rel, mount_overlay_age(m), NULL)) {
        case OV_DIR: own_dir = 1; break;
        case OV_DELETED: rc = -ENOENT; break;
        case OV_NONE: break;
        default: rc = -ENOTDIR; break;
        }
    }
    if (rc == 0 && m->write_mode != WRITE_RO) {
        rc = overlay_children(m->id, rel, mount_overlay_age(m), add_own, d);
        if (d->n_own) qsort(d->own, (size_t)d->n_own, sizeof *d->own, cmp_own);
    }
    if (rc == 0) {
        rc = open_store_side(d, m, rel);
        if (own_dir && (rc == -ENOENT || rc == -ENOTDIR)) rc = 0;   /* made on this node */
    }
    if (rc) { fs_dir_close(d); return rc; }
    *out = d;
    return 0;
}

/* The next child of the store, not overridden by an own entry: 1, or 0 at the end. */
static int next_store_child(struct fs_dir *d, const char **name, int *is_dir)
{
    for (;;) {
        if (d->ix) {
            struct index_entry e;
            const char *n;
            size_t len;
            if (!index_children_next(d->ix, &d->cur, &n, &len, is_dir, &e)) return 0;
            snprintf(d->name, sizeof d->name, "%.*s", (int)len, n);
            *name = d->name;
        } else {
            if (!d->listing || d->base_pos >= d->listing->n) return 0;
            *name = d->listing->children[d->base_pos].name;
            *is_dir = d->listing->children[d->base_pos++].is_dir;
        }
        if (!is_own(d, *name)) return 1;
    }
}

static int next_own_child(struct fs_dir *d, const char **name, int *is_dir)
{
    while (d->own_pos < d->n_own) {
        struct own_entry *o = &d->own[d->own_pos++];
        if (o->kind == OV_DELETED) continue;
        *name = o->name;
        *is_dir = o->kind == OV_DIR;
        return 1;
    }
    return 0;
}

int fs_dir_read(struct fs_dir *d, long pos, const char **name, int *is_dir)
{
    if (pos < 0) return 0;
    if (pos < d->next) {
        if (d->ix) index_children_start(d->ix, d->rel, &d->cur);
        d->base_pos = 0;
        d->in_own = 0;
        d->own_pos = 0;
        d->next = 0;
    }
    for (;;) {
        int got = 0;
        if (!d->in_own && !(got = next_store_child(d, name, is_dir))) d->in_own = 1;
        if (d->in_own && !(got = next_own_child(d, name, is_dir))) return 0;
        if (d->next++ == pos) return 1;
    }
}
