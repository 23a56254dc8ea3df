/* fs/dirstream.c — directory streams, see fs_dir_open in fs.h. From the index, a stream is a
 * cursor: reading on from the last position costs one step, going back (rewinddir, seekdir)
 * restarts the walk. Without an index it is a listing held by reference. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "mount_index.h"

struct fs_dir {
    struct index *ix;               /* NULL: listing */
    struct index_cursor cur;
    char rel[4000];
    long next;                      /* position of the child the cursor yields next */
    char name[1025];
    struct meta_listing *listing;
};

int fs_dir_open(struct mount *m, const char *rel, struct fs_dir **out)
{
    struct fs_dir *d = calloc(1, sizeof *d);
    struct index *ix = m->broken ? NULL : mount_index(m);
    int rc = 0;
    if (!d) return -ENOMEM;
    if (ix) {
        enum index_kind k = index_lookup(ix, rel, NULL);
        if (k != INDEX_DIR) rc = k == INDEX_FILE ? -ENOTDIR : -ENOENT;
        else if (strlen(rel) >= sizeof d->rel) rc = -ENAMETOOLONG;
        else if ((rc = index_children_start(ix, rel, &d->cur)) == 0) {
            d->ix = ix;
            snprintf(d->rel, sizeof d->rel, "%s", rel);
        }
    } else {
        rc = fs_list(m, rel, &d->listing);
    }
    if (rc) { free(d); return rc; }
    *out = d;
    return 0;
}

int fs_dir_read(struct fs_dir *d, long pos, const char **name, int *is_dir)
{
    if (pos < 0) return 0;
    if (!d->ix) {
        if (pos >= d->listing->n) return 0;
        *name = d->listing->children[pos].name;
        *is_dir = d->listing->children[pos].is_dir;
        return 1;
    }
    if (pos < d->next) {
        index_children_start(d->ix, d->rel, &d->cur);
        d->next = 0;
    }
    for (;;) {
        struct index_entry e;
        const char *n;
        size_t len;
        if (!index_children_next(d->ix, &d->cur, &n, &len, is_dir, &e)) return 0;
        if (d->next++ == pos) {
            snprintf(d->name, sizeof d->name, "%.*s", (int)len, n);
            *name = d->name;
            return 1;
        }
    }
}

void fs_dir_close(struct fs_dir *d)
{
    if (!d) return;
    if (d->listing) meta_listing_unref(d->listing);
    free(d);
}
