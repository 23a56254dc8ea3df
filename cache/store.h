/* cache/store.h — the on-disk cache directory shared by every process on the node.
 *
 * Layout under the root (UFSHIM_CACHE_DIR):
 *   objects/XX/NAME       cached object bytes; NAME is a hash of (store, key, ETag, size), so a
 *                         new version of an object is a new file and nothing is ever mixed
 *   objects/XX/NAME.map   block presence map of a sparse (large) object, see blockfile.h
 *   tmp/                  downloads in progress; renamed into objects/ only when complete
 *   ns/MOUNTID/...        empty directories standing for mount directories (real fds for dirs)
 *   stats/PID             per-process counters
 *   index/NAME            listing index of a store location (index.h); never evicted
 *   overlay/MOUNTID/...   this node's changes to a mount's namespace (overlay.h); never evicted
 *   journal/NAME          uploads owed to the store (journal.h)
 *   locks, usage          byte-range lock file; shared byte count of objects/
 * Eviction unlinks files: a process that has an object open keeps its bytes until it closes
 * it, so eviction never takes data from under a reader. Knows nothing of HTTP or of libc
 * interposition. */
#ifndef UFSHIM_STORE_H
#define UFSHIM_STORE_H

#include <stddef.h>
#include <stdint.h>

#define STORE_NAME_LEN 64           /* hex SHA-256 */

/* Creates the layout if needed. cap 0 means the default (half the filesystem). */
int store_open(const char *root, uint64_t cap, char *err, size_t errlen);
const char *store_root(void);
uint64_t store_capacity(void);
uint64_t store_usage(void);
/* NAME of an object version. */
void store_object_name(const char *store_url, const char *key, const char *etag, uint64_t size,
                       char name[STORE_NAME_LEN + 1]);
/* Path of NAME (with an optional suffix such as ".map") under objects/. */
void store_object_path(const char *name, const char *suffix, char *out, size_t outlen);
/* A new empty file under tmp/, O_RDWR; its path in out. */
int store_tmp_file(char *out, size_t outlen);
/* Publishes a complete tmp file as objects/NAME[suffix] (atomic rename). */
int store_publish(const char *tmp_path, const char *name, const char *suffix);
/* Publishes a complete file from elsewhere on the cache's file system as objects/NAME[suffix]
 * (a hard link: the file must never change again). An existing NAME is kept. */
int store_adopt(const char *path, const char *name, const char *suffix);
/* Accounts bytes added to objects/; evicts when over capacity. */
void store_charge(uint64_t bytes);
/* Evicts until usage <= target bytes (0: remove every object). Returns bytes freed. */
uint64_t store_evict(uint64_t target);

#endif
