/* cache/meta.h — this process's metadata cache: what a path is (file with size/mtime/ETag,
 * directory, or known missing) and the children of listed directories, each with an expiry
 * time. Listing a directory records every child's metadata, so stat of a listed entry costs no
 * request. Keys are opaque strings chosen by the caller (mount id + path). Thread-safe. */
#ifndef UFSHIM_META_H
#define UFSHIM_META_H

#include "../backends/backend.h"

enum meta_kind { META_MISSING, META_FILE, META_DIR };

struct meta_child {
    char *name;
    int is_dir;
    struct object_info info;
};

/* A directory listing, shared by reference; immutable once published. */
struct meta_listing {
    int refs;
    int n;
    struct meta_child *children;
};

/* 1 and fills kind and info on a fresh entry, 0 on a miss or an expired entry. */
int meta_get(const char *key, enum meta_kind *kind, struct object_info *info);
void meta_put(const char *key, enum meta_kind kind, const struct object_info *info, double ttl);
void meta_forget(const char *key);
/* A fresh listing of key with a new reference, or NULL. */
struct meta_listing *meta_get_listing(const char *key);
/* 1 if key was ever listed in this process (its listing may have expired since). */
int meta_was_listed(const char *key);
/* Publishes a listing (taking the caller's reference) and records each child as
 * key + "/" + name (key "" is a mount root: children are recorded as "/" + name). */
void meta_put_listing(const char *key, struct meta_listing *listing, double ttl);
void meta_listing_unref(struct meta_listing *l);
/* Fork handlers: hold the table's lock across fork. */
void meta_before_fork(void);
void meta_after_fork_parent(void);
void meta_after_fork_child(void);
/* Drops everything (after fork the table stays valid; this is for tests and `ufs`). */
void meta_clear(void);

#endif
