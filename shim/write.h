/* shim/write.h — descriptors open for writing a mount file (write.c). */
#ifndef UFSHIM_SHIM_WRITE_H
#define UFSHIM_SHIM_WRITE_H

#include "fdtable.h"

/* fd's entry (a new reference) if it is open for writing a mount file, else NULL. */
struct fd_entry *shim_writer_of(int fd);
/* After the real close (result rc) of a descriptor writing e's file: publishes or queues it,
 * drops the reference. Returns rc, or -1 with errno EIO when the publish failed. */
int shim_writer_closed(struct fd_entry *e, int rc);
/* At exit: closes and publishes the writers the program left open, then waits for queued uploads. */
void shim_writers_exit(void);
/* At start: registers descriptors inherited across exec that write staged files. */
void shim_writers_inherit(void);

#endif
