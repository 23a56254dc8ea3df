/* cache/journal.h — uploads owed to the store, one small file per path under the cache's
 * journal/: written before a path's bytes are staged for upload, removed once they are
 * published, so they survive the process that wrote them (killed or not). `ufs sync` and the
 * next process that starts on the node finish what is left. An entry also names the multipart
 * upload in progress, so that a successor can abort it instead of leaving its parts billed, and
 * what an fsync already uploaded, so that close does not upload the same bytes again. */
#ifndef UFSHIM_JOURNAL_H
#define UFSHIM_JOURNAL_H

#include <limits.h>

#include "../backends/backend.h"

struct journal_entry {
    char mount_id[17];
    char rel[PATH_MAX];
    char upload_id[BACKEND_UPLOAD_ID_MAX];   /* "" when no multipart upload is in progress */
    char published[160];            /* "SIZE MTIME_NS ETAG" of bytes already uploaded (fsync), or "" */
};

/* Creates or replaces the entry of (mount_id, rel). */
int journal_put(const struct journal_entry *e);
/* 0 and fills out, or -ENOENT. */
int journal_get(const char *mount_id, const char *rel, struct journal_entry *out);
int journal_remove(const char *mount_id, const char *rel);
/* Calls fn for every entry; a non-zero return stops the walk and is returned. */
int journal_each(int (*fn)(void *ctx, const struct journal_entry *e), void *ctx);

#endif
