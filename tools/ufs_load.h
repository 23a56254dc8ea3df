/* tools/ufs_load.h — `ufs load`: warm the node's cache for a mount tree ahead of training. */
#ifndef UFSHIM_UFS_LOAD_H
#define UFSHIM_UFS_LOAD_H

#include "../fs/mount.h"

/* Lists the tree into the mount's index, then (unless metadata_only) fetches every object
 * under rel not yet cached, `jobs` requests at a time, reporting progress on stderr. Resumable:
 * cached objects and blocks are skipped. Returns the exit status. */
int ufs_load(struct mount *m, const char *rel, const char *abs, int metadata_only, int jobs);

#endif
