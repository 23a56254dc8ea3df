/* cache/overlay.h — this node's changes to a mount's namespace, kept as a real directory tree
 * per mount under the cache (overlay/MOUNTID/PATH) that every process on the node sees at once.
 * An entry at PATH says what PATH is now, whatever the store's listing (or the index built
 * from it) still says:
 *   regular file             the path's bytes are here: written on this node and not (yet)
 *                            published, or never to be (mount mode `cache`)
 *   sticky file "SIZE MTIME ETAG"   published from this node as that object version (its bytes,
 *                            if kept, are in the object cache)
 *   empty sticky file        deleted (a whiteout)
 *   directory                exists on this node; its entries override the store's children
 *   sticky directory         deleted; its entries still hide the store's children
 * A path with no entry is whatever the store says. Knows nothing of HTTP or of libc hooks. */
#ifndef UFSHIM_OVERLAY_H
#define UFSHIM_OVERLAY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../backends/backend.h"

enum overlay_kind {
    OV_NONE,                        /* no entry: ask the store */
    OV_DATA,                        /* bytes here; info.size and info.mtime from the file */
    OV_RECORD,                      /* published version in info */
    OV_DIR,
    OV_DELETED,                     /* a whiteout, a deleted directory, or below one */
    OV_BELOW_FILE,                  /* a path below a file: ENOTDIR */
};

/* Path of the entry for rel ("" is the mount root's directory). */
void overlay_path(const char *mount_id, const char *rel, char *out, size_t outlen);
/* max_age: records, whiteouts and deleted directories older than this many seconds count as
 * no entry (the store's view is then fresher than they are); negative: they never expire. */
enum overlay_kind overlay_lookup(const char *mount_id, const char *rel, double max_age, struct object_info *info);
/* Creates rel's parent directories as plain overlay directories (a deleted one is revived). */
int overlay_make_parents(const char *mount_id, const char *rel);
/* Replaces rel's entry by a record of info, or by a whiteout (info NULL); atomic for readers. */
int overlay_set(const char *mount_id, const char *rel, const struct object_info *info);
/* Makes rel an existing directory (reviving a deleted one); marks it deleted with deleted=1. */
int overlay_set_dir(const char *mount_id, const char *rel, int deleted);
/* Calls fn for each entry directly under rel (a directory entry), with its kind. */
typedef int (*overlay_entry_fn)(void *ctx, const char *name, enum overlay_kind kind);
int overlay_children(const char *mount_id, const char *rel, double max_age, overlay_entry_fn fn, void *ctx);
/* Drops records, whiteouts and deleted directories made before t: a listing of the store
 * started after them (the index's) already says the same. Staged files are kept. */
void overlay_forget_before(const char *mount_id, time_t t);

#endif
