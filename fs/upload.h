/* fs/upload.h — moving the bytes of a staged file to the store: one PUT for a small file, a
 * multipart upload with parts sent in parallel for a large one. A sequential writer's complete
 * parts are sent while it is still writing (upload_progress); when the file is published every
 * such part is checked against the file's bytes (MD5) and sent again if it changed, so a part
 * sent early is never trusted blindly (mmap, stdio and other processes write without telling
 * us). An open multipart upload is named in the path's journal entry and aborted on failure. */
#ifndef UFSHIM_UPLOAD_H
#define UFSHIM_UPLOAD_H

#include <stdint.h>

#include "mount.h"

#define UPLOAD_PART_SIZE (8u << 20)

/* Uploads size bytes of fd as the object of (m, rel). 0 and *info (size, ETag, mtime of the
 * upload), or -EIO / -EACCES / -ENOMEM with a log line. */
int upload_file(struct mount *m, const char *rel, int fd, uint64_t size, struct object_info *info);
/* A writer of (m, rel) through staged_fd has written up to `size`: complete parts are queued. */
void upload_progress(struct mount *m, const char *rel, int staged_fd, uint64_t size);
/* (m, rel) was deleted, renamed or truncated: parts sent early are dropped (the upload aborted). */
void upload_discard(struct mount *m, const char *rel);

#endif
