/* backends/backend.h — the object-store interface, a table of function pointers (like SQLite's
 * sqlite3_vfs). One file per store implements it; nothing here knows of files, fds or POSIX.
 *
 * Contract for every method:
 *  - returns 0 on success or a negative errno: -ENOENT (no such object), -EACCES (credentials
 *    rejected or missing), -ESTALE (the object no longer has the ETag the caller asked for),
 *    -EIO (server fault or unreachable after retries), -EINVAL (bad argument), -ENOMEM;
 *  - logs the reason for any failure other than -ENOENT in words a user can act on, without
 *    secrets;
 *  - may be called from many threads at once on the same handle;
 *  - retries transient faults itself (5xx, throttling, connection errors) within the handle's
 *    time budget, so a caller never retries.
 * Keys are raw object keys (UTF-8, no leading slash); the backend does all encoding. */
#ifndef UFSHIM_BACKEND_H
#define UFSHIM_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#define BACKEND_ETAG_MAX 80

struct object_info {
    uint64_t size;
    int64_t mtime;                  /* seconds since the epoch */
    char etag[BACKEND_ETAG_MAX];    /* opaque version token, "" if the store gave none */
};

/* One child of a listed prefix: a name relative to the prefix, without a trailing slash. */
struct list_entry {
    const char *name;
    int is_dir;
    struct object_info info;        /* valid when !is_dir */
};

/* Called for each entry of a listing, in store order; a non-zero return stops the listing and
 * becomes list()'s return value. */
typedef int (*list_entry_fn)(void *ctx, const struct list_entry *entry);

/* Receives object bytes: `pos` is the offset within the requested range. A retried request
 * delivers the same positions again, so the sink must write by position. Returns 0 to go on. */
typedef int (*data_sink_fn)(void *ctx, uint64_t pos, const void *buf, size_t len);

#define BACKEND_PART_MIN (5u << 20)
#define BACKEND_PARTS_MAX 10000
#define BACKEND_UPLOAD_ID_MAX 512

struct upload_part {
    int number;
    char etag[BACKEND_ETAG_MAX];
};

/* A parsed mount URL: scheme://bucket/prefix?options. */
struct backend_url {
    const char *scheme;
    const char *bucket;
    const char *prefix;             /* "" or a prefix ending in "/" */
    int n_options;
    const char *const *option_names;
    const char *const *option_values;
};

struct backend;

struct backend_ops {
    int version;                    /* 1 */
    const char *scheme;
    /* Makes a handle for url, consuming the options it knows (marking them in used[]).
     * On failure writes one sentence to err. */
    int (*open)(const struct backend_url *url, int *used, struct backend **out, char *err, size_t errlen);
    void (*close)(struct backend *b);
    /* Metadata of one object. */
    int (*head)(struct backend *b, const char *key, struct object_info *out);
    /* Children of `prefix` (which is "" or ends in "/"), following pagination. Directories are
     * common prefixes; a zero-byte "prefix/" marker object is not reported as a child. With
     * recursive set, every object under prefix is reported with its full relative name. */
    int (*list)(struct backend *b, const char *prefix, int recursive, list_entry_fn fn, void *ctx);
    /* Bytes [off, off+len) of key; len 0 means to the end. If etag is non-empty the read fails
     * with -ESTALE when the object has another version. *info (may be NULL) receives the
     * object's metadata as the response describes it. */
    int (*get)(struct backend *b, const char *key, const char *etag, uint64_t off, uint64_t len,
               data_sink_fn sink, void *sink_ctx, struct object_info *info);
    /* Creates or replaces key with len bytes, verified by the store against their MD5 (md5:
     * the caller's, when it has hashed them anyway; NULL: the backend hashes them).
     * *info receives the new version (size, the time of the call as mtime, ETag). */
    int (*put)(struct backend *b, const char *key, const void *data, size_t len, const unsigned char *md5,
               struct object_info *info);
    /* Deletes key; deleting a missing key succeeds. */
    int (*remove)(struct backend *b, const char *key);
    /* Server-side copy of src to dst (no bytes pass through the caller). */
    int (*copy)(struct backend *b, const char *src, const char *dst, struct object_info *info);
    /* Multipart upload of one large object: begin gives an upload id; parts (numbered from 1,
     * each but the last at least BACKEND_PART_MIN bytes, at most BACKEND_PARTS_MAX of them) may
     * be sent in any order and in parallel, a part sent again replaces the earlier one;
     * complete publishes the object from the listed parts; abort discards an upload (its
     * stored parts would otherwise be kept, and billed, by the store). */
    int (*multipart_begin)(struct backend *b, const char *key, char *upload_id, size_t idlen);
    int (*multipart_part)(struct backend *b, const char *key, const char *upload_id, int number,
                          const void *data, size_t len, const unsigned char *md5, char etag[BACKEND_ETAG_MAX]);
    int (*multipart_complete)(struct backend *b, const char *key, const char *upload_id,
                              const struct upload_part *parts, int n, struct object_info *info);
    int (*multipart_abort)(struct backend *b, const char *key, const char *upload_id);
    /* Called in a forked child before any other call: drop connections shared with the parent. */
    void (*after_fork)(void);
};

/* The registry of backends, by URL scheme. */
const struct backend_ops *backend_find(const char *scheme);

extern const struct backend_ops s3_backend;

#endif
