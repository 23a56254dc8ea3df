/* fs/write.h — writing files under a mount. A file opened for writing is a real local file, its
 * overlay entry (cache/overlay.h), shared by every process on the node: writes, mmap, stdio and
 * ftruncate work on it natively, and every reader on the node sees it at once. What happens
 * to its bytes depends on the mount's write mode (mount.h):
 *   through  published when the last descriptor writing it (dup'd and inherited ones included,
 *            in any process) is closed, or on fsync; a failure is returned (EIO)
 *   async    the same upload, queued at close; process exit waits for it (UFSHIM_ASYNC_WAIT)
 *   cache    never uploaded: the file lives in the node's cache until deleted
 * Bytes owed to the store are journaled (cache/journal.h) before they are staged, so nothing
 * written is lost when a process dies or an upload fails: `ufs sync` and the next process
 * that starts on the node upload what is left.
 *
 * "Last descriptor" is decided by the kernel: each writer's open file description holds a
 * shared lock on one far byte of the staged file (never a byte an application locks), and a
 * publisher must get the exclusive lock on it, which only succeeds once every writing
 * description everywhere is gone. The publisher keeps that lock until the path's entry names
 * the published version, so a writer can never write into bytes being published. */
#ifndef UFSHIM_WRITE_H
#define UFSHIM_WRITE_H

#include <stdint.h>

#include "fs.h"

/* Opens rel for writing with the application's open flags: a real descriptor, *attr filled. */
int fs_open_write(struct mount *m, const char *rel, int flags, struct fs_attr *attr);
/* A descriptor writing rel was closed: publishes (through), queues (async) or does nothing
 * (cache, or other writers remain). 0 or -EIO. */
int fs_write_closed(struct mount *m, const char *rel);
/* fsync/fdatasync on a descriptor writing rel: its bytes now in the store. 0 or -EIO. */
int fs_write_flush(struct mount *m, const char *rel);
/* Bytes of rel were written through fd (for sending parts of a sequential writer early). */
void fs_write_progress(struct mount *m, const char *rel, int fd);
/* Uploads everything journaled on the node for this process's mounts. With wait, one at a time
 * and now, calling report(ctx, mount prefix, rel, result) for each (-EBUSY: still open for
 * writing somewhere, -ENODEV: its mount is not configured here); without, in the background. */
int fs_sync(int wait, void (*report)(void *ctx, const char *prefix, const char *rel, int result), void *ctx);
/* For namespace changes (namespace.c): the node-wide lock of rel's entry, held by whoever
 * stages, publishes, renames or deletes it (a token for lock_release, 0 on failure); and
 * making rel a staged file with the bytes of src_rel (src NULL: empty), journaled. */
uint64_t fs_write_lock(struct mount *m, const char *rel);
int fs_stage(struct mount *m, const char *rel, const char *src_rel, const struct fs_attr *src);
/* 0 if rel's parent is a directory (the root counts), else -ENOENT / -ENOTDIR / -errno. */
int fs_parent_is_dir(struct mount *m, const char *rel);
/* At exit: waits up to UFSHIM_ASYNC_WAIT for this process's queued uploads; logs what is left. */
void fs_write_exit(void);

#endif
