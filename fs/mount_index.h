/* fs/mount_index.h — each mount's listing index (cache/index.h): built on first use by one
 * process on the node while the others wait for it, shared by all, rebuilt once it is older
 * than the mount's meta_ttl. The build lists the location flat (no delimiter), one listing per
 * top-level directory, MOUNT_INDEX_LISTERS at a time. Callers wait for a running build for up
 * to MOUNT_INDEX_WAIT seconds, then fall back to per-directory listings, so a huge dataset
 * still answers at once. Mount option index=0 turns it off. */
#ifndef UFSHIM_MOUNT_INDEX_H
#define UFSHIM_MOUNT_INDEX_H

#include "../cache/index.h"
#include "mount.h"

#define MOUNT_INDEX_LISTERS 16
#define MOUNT_INDEX_WAIT 5.0

/* The mount's fresh index, or NULL (off, failed, or still being built after the wait). The
 * mapping stays valid for the life of the process. */
struct index *mount_index(struct mount *m);
/* Builds (or waits for another process's build of) a fresh index now. 0 or -errno. */
int mount_index_refresh(struct mount *m);
void mount_index_after_fork_child(void);

#endif
