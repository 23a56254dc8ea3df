/* shim/open.h — opening mount paths, shared by the open, directory and process hooks. */
#ifndef UFSHIM_SHIM_OPEN_H
#define UFSHIM_SHIM_OPEN_H

#include "resolve.h"

/* Opens a mount path with open(2) flags: a real fd (>= 0) or -errno. */
int shim_open_path(const struct vpath *vp, int flags);
/* Opens the stand-in directory fd of a mount directory. */
int shim_open_dir(struct mount *m, const char *abs, const char *rel, const struct fs_attr *attr, int flags);
/* Fills every missing block of fd's object, if it is a large mount file (before handing it to
 * something the read hooks do not see: stdio, mmap, sendfile, exec). 0, or -1 with errno. */
int shim_complete_fd(int fd);

#endif
