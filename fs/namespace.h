/* fs/namespace.h — namespace changes under a mount (see namespace.c for what each does to the
 * store and to the node's view). Each returns 0 or a negative errno, as the system call would:
 * EROFS on a read-only mount (ENOENT first for a missing path), EXDEV across mounts, EINVAL
 * for rename flags other than RENAME_NOREPLACE, EPERM for an owner or mode the store cannot
 * keep. */
#ifndef UFSHIM_NAMESPACE_H
#define UFSHIM_NAMESPACE_H

#include <stdint.h>
#include <time.h>

#include "fs.h"

int fs_unlink(struct mount *m, const char *rel);
int fs_mkdir(struct mount *m, const char *rel);
int fs_rmdir(struct mount *m, const char *rel);
int fs_rename(struct mount *m, const char *from, struct mount *m2, const char *to, unsigned flags);
int fs_truncate(struct mount *m, const char *rel, uint64_t len);
/* times as utimensat's (NULL: now). A staged file takes them; a published one keeps them on
 * this node only (the store's Last-Modified is its own). */
int fs_utimens(struct mount *m, const char *rel, const struct timespec times[2]);
/* chmod/chown: 0 when they ask for what the mount already reports (mode 0644 for files, 0755
 * for directories, the process's owner); -EPERM otherwise. -1 means "not changed". */
int fs_check_owner_mode(struct mount *m, const char *rel, int mode, int uid, int gid);

#endif
