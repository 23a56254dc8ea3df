/* cache/index.h — the listing index: every object under one store location (its key relative
 * to the location, size, mtime and ETag) in one file sorted by key, index/NAME in the cache
 * directory, mapped read-only by every process on the node. A directory is any prefix ending
 * in "/" that some key has, so stat, readdir and "does not exist" are answered by binary
 * search without a request.
 *
 * Building streams: listing threads each append records to a segment (a tmp file), and
 * index_publish merges the sorted segments into one file, so memory stays bounded however many
 * objects there are. Publishing is an atomic rename: a reader maps an old complete index or a
 * new complete one. The file is also the export format (`ufs index export/import`); its
 * header names the store location it describes so it is never applied to another one.
 * Knows nothing of stores or of POSIX beyond '/' as the separator. */
#ifndef UFSHIM_INDEX_H
#define UFSHIM_INDEX_H

#include <stddef.h>
#include <stdint.h>

struct index_entry {
    const char *key;                /* relative to the location; not NUL-terminated */
    size_t key_len;
    uint64_t size;
    int64_t mtime;
    const char *etag;               /* not NUL-terminated */
    size_t etag_len;
};

struct index_segment;

struct index_segment *index_segment_new(void);
/* Appends one object; keys must be added in strictly increasing byte order. 0 or -errno. */
int index_segment_add(struct index_segment *s, const char *key, uint64_t size, int64_t mtime, const char *etag);
void index_segment_free(struct index_segment *s);

/* Path of the index file for a store location (origin: URL of bucket and prefix). */
void index_path(const char *origin, char *out, size_t outlen);
/* Merges the segments (each sorted; together they may interleave) into the index of origin
 * listed at built_at, and publishes it. A key in several segments is kept once. */
int index_publish(const char *origin, struct index_segment *const *segs, int n, int64_t built_at);

struct index;

/* Maps the index of origin; NULL if there is none (or it is damaged or for another origin). */
struct index *index_open(const char *origin);
/* 1 if the file on disk is no longer the one ix maps (rebuilt or removed). */
int index_replaced(const struct index *ix);
void index_close(struct index *ix);
int64_t index_built_at(const struct index *ix);
uint64_t index_count(const struct index *ix);

enum index_kind { INDEX_MISSING, INDEX_FILE, INDEX_DIR };
/* What rel is ("" is the root, always a directory); e is filled for a file. A prefix with keys
 * under it is a directory even if an object of the same name exists. */
enum index_kind index_lookup(const struct index *ix, const char *rel, struct index_entry *e);

/* Walks the immediate children of a directory in key order, one at a time, holding nothing but
 * a position: a directory of any size is listed in constant memory. A name that is both an
 * object and a directory is reported once, as the directory. */
struct index_cursor {
    uint64_t rec;
    char prefix[4002];              /* dir + "/" */
    size_t prefix_len;
};
/* 0, or -ENAMETOOLONG. */
int index_children_start(const struct index *ix, const char *dir, struct index_cursor *c);
/* 1 and the next child (name not NUL-terminated; e filled for an object), or 0 at the end. */
int index_children_next(const struct index *ix, struct index_cursor *c, const char **name, size_t *name_len,
                        int *is_dir, struct index_entry *e);
/* Every object under dir (recursively), in key order; a non-zero return stops the walk. */
typedef int (*index_file_fn)(void *ctx, const struct index_entry *e);
int index_files_under(const struct index *ix, const char *dir, index_file_fn fn, void *ctx);

/* Copies the index of origin to dst / installs src as the index of origin (which must be the
 * origin src was made for), treated as listed now. On failure writes one sentence to err. */
int index_export(const char *origin, const char *dst, char *err, size_t errlen);
int index_import(const char *src, const char *origin, char *err, size_t errlen);
/* Removes every listing index of the cache (`ufs cache clear`). */
void index_remove_all(void);

#endif
