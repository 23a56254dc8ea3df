/* shim/statbuf.h — the stat results a mount path reports, in every libc layout: files are
 * 0644 regular files with the object's size and mtime, directories 0755, owned by the caller;
 * inode numbers are stable hashes of the path; st_blocks imitates a 4 KiB-block file system. */
#ifndef UFSHIM_STATBUF_H
#define UFSHIM_STATBUF_H

#include <sys/stat.h>

#include "../fs/fs.h"

void statbuf_fill(const struct mount *m, const struct fs_attr *a, struct stat *st);
void statbuf_fill_statx(const struct mount *m, const struct fs_attr *a, struct statx *stx);

#endif
