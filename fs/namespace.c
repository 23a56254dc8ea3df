/* fs/namespace.c — namespace changes under a mount: unlink, mkdir, rmdir, rename, truncate,
 * utimens, and the answer to chmod/chown. Modes through and async change the store at once
 * (DELETE; a zero-byte "dir/" marker for mkdir; server-side copy then delete for rename) and
 * then record the result in the node's overlay (cache/overlay.h), so every process on the node
 * sees it without asking the store; mode cache changes only the node's view. A directory is
 * renamed entry by entry (not atomic). Errors leave everything as it was. */
#include "namespace.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../cache/journal.h"
#include "../cache/lock.h"
#include "../cache/overlay.h"
#include "../common/log.h"
#include "upload.h"
#include "write.h"

static int uploads(const struct mount *m)
{
    return m->write_mode == WRITE_THROUGH || m->write_mode == WRITE_ASYNC;
}

/* Existence and write permission: 0 with *a filled, or -errno (EROFS on a read-only mount). */
static int writable(struct mount *m, const char *rel, struct fs_attr *a)
{
    int rc = fs_stat(m, rel, a);
    if (rc == 0 && m->write_mode == WRITE_RO) rc = -EROFS;
    return rc;
}

/* rel's bytes are no longer owed: the journal entry goes, and a multipart upload a dead
 * process left open for it is aborted. */
static void forget_owed(struct mount *m, const char *rel)
{
    struct journal_entry e;
    char key[4200];
    upload_discard(m, rel);
    if (journal_get(m->id, rel, &e) != 0) return;
    if (e.upload_id[0]) {
        mount_key(m, rel, "", key, sizeof key);
        m->ops->multipart_abort(m->backend, key, e.upload_id);
    }
    journal_remove(m->id, rel);
}

/* Removes a file: from the store (through/async), then from the node's view. Caller holds the lock. */
static int remove_file(struct mount *m, const char *rel)
{
    char key[4200];
    int rc;
    if (uploads(m)) {
        mount_key(m, rel, "", key, sizeof key);
        if ((rc = m->ops->remove(m->backend, key))) return rc;
    }
    if ((rc = overlay_set(m->id, rel, NULL))) return rc;
    forget_owed(m, rel);
    return 0;
}

int fs_unlink(struct mount *m, const char *rel)
{
    struct fs_attr a;
    uint64_t token;
    int rc = writable(m, rel, &a);
    if (rc) return rc;
    if (a.is_dir) return -EISDIR;
    if (!(token = fs_write_lock(m, rel))) return -EIO;
    rc = remove_file(m, rel);
    lock_release(token);
    return rc;
}

int fs_mkdir(struct mount *m, const char *rel)
{
    struct fs_attr a;
    struct object_info info;
    char key[4200];
    int rc = fs_stat(m, rel, &a);
    if (!*rel || rc == 0) return -EEXIST;
    if (rc != -ENOENT) return rc;
    if (m->write_mode == WRITE_RO) return -EROFS;
    if ((rc = fs_parent_is_dir(m, rel))) return rc;
    if (uploads(m)) {
        mount_key(m, rel, "/", key, sizeof key);
        if ((rc = m->ops->put(m->backend, key, "", 0, NULL, &info))) return rc;
    }
    return overlay_set_dir(m->id, rel, 0);
}

static int is_empty_dir(struct mount *m, const char *rel)
{
    struct fs_dir *d;
    const char *name;
    int is_dir, rc = fs_dir_open(m, rel, &d);
    if (rc) return rc;
    rc = fs_dir_read(d, 0, &name, &is_dir) ? -ENOTEMPTY : 0;
    fs_dir_close(d);
    return rc;
}

int fs_rmdir(struct mount *m, const char *rel)
{
    struct fs_attr a;
    char key[4200];
    int rc = writable(m, rel, &a);
    if (rc) return rc;
    if (!*rel) return -EBUSY;
    if (!a.is_dir) return -ENOTDIR;
    if ((rc = is_empty_dir(m, rel))) return rc;
    if (uploads(m)) {
        mount_key(m, rel, "/", key, sizeof key);
        if ((rc = m->ops->remove(m->backend, key))) return rc;
    }
    return overlay_set_dir(m->id, rel, 1);
}

/* Renames a file whose destination may be replaced. Caller holds both paths' locks. */
static int rename_file(struct mount *m, const char *from, const char *to, const struct fs_attr *src)
{
    char key_from[4200], key_to[4200], p_from[PATH_MAX], p_to[PATH_MAX];
    struct object_info info;
    int rc;

    if (src->staged) {
        /* bytes written on this node: move them (and what is owed for them) to the new name */
        struct journal_entry e;
        int owed = journal_get(m->id, from, &e) == 0;
        forget_owed(m, to);             /* what the destination owed is replaced */
        if (owed) {
            snprintf(e.rel, sizeof e.rel, "%s", to);
            e.upload_id[0] = e.published[0] = 0;
            if ((rc = journal_put(&e))) return rc;
        }
        overlay_path(m->id, from, p_from, sizeof p_from);
        overlay_path(m->id, to, p_to, sizeof p_to);
        if ((rc = overlay_make_parents(m->id, to)) || rename(p_from, p_to) != 0) {
            rc = rc ? rc : -errno;
            if (owed) journal_remove(m->id, to);
            return rc;
        }
        if (owed) forget_owed(m, from);   /* an upload left open for it is for the old key */
        /* the old name may exist in the store (a file opened for update, then renamed) */
        if (uploads(m)) {
            mount_key(m, from, "", key_from, sizeof key_from);
            m->ops->remove(m->backend, key_from);
        }
        overlay_set(m->id, from, NULL);
        return 0;
    }
    if (!uploads(m)) {
        /* mode cache: the store object's bytes become a node-local file */
        if ((rc = fs_stage(m, to, from, src))) return rc;
        return overlay_set(m->id, from, NULL);
    }
    mount_key(m, from, "", key_from, sizeof key_from);
    mount_key(m, to, "", key_to, sizeof key_to);
    if ((rc = m->ops->copy(m->backend, key_from, key_to, &info))) return rc;
    info.size = src->size;
    info.mtime = src->mtime;
    forget_owed(m, to);
    if ((rc = overlay_set(m->id, to, &info))) return rc;
    return remove_file(m, from);
}

static int rename_entry(struct mount *m, const char *from, const char *to, unsigned flags);

/* Renames a directory entry by entry (making the destination first unless it exists), then
 * removes it. */
static int rename_dir(struct mount *m, const char *from, const char *to, int to_exists)
{
    struct fs_dir *d;
    const char *name;
    char **names = NULL;
    int is_dir, n = 0, cap = 0, rc;

    if (!to_exists && (rc = fs_mkdir(m, to))) return rc;
    if ((rc = fs_dir_open(m, from, &d))) return rc;
    for (long pos = 0; rc == 0 && fs_dir_read(d, pos, &name, &is_dir); pos++) {
        if (n == cap) {
            char **nn = realloc(names, sizeof *nn * (size_t)(cap = cap ? cap * 2 : 64));
            if (!nn) { rc = -ENOMEM; break; }
            names = nn;
        }
        if (!(names[n] = strdup(name))) rc = -ENOMEM;
        else n++;
    }
    fs_dir_close(d);
    for (int i = 0; i < n; i++) {
        char f[PATH_MAX], t[PATH_MAX];
        snprintf(f, sizeof f, "%s/%s", from, names[i]);
        snprintf(t, sizeof t, "%s/%s", to, names[i]);
        if (rc == 0) rc = rename_entry(m, f, t, 0);
        free(names[i]);
    }
    free(names);
    return rc ? rc : fs_rmdir(m, from);
}

static int rename_entry(struct mount *m, const char *from, const char *to, unsigned flags)
{
    struct fs_attr src, dst;
    size_t fl = strlen(from);
    uint64_t t1, t2;
    int rc = writable(m, from, &src), dst_rc;
    if (rc) return rc;
    if (!strcmp(from, to)) return 0;
    if (!*from || !*to) return -EBUSY;
    if (!strncmp(to, from, fl) && to[fl] == '/') return -EINVAL;   /* into itself */
    dst_rc = fs_stat(m, to, &dst);
    if (dst_rc && dst_rc != -ENOENT) return dst_rc;
    if (dst_rc == 0 && (flags & RENAME_NOREPLACE)) return -EEXIST;
    if (dst_rc == -ENOENT && (rc = fs_parent_is_dir(m, to))) return rc;
    if (src.is_dir) {
        if (dst_rc == 0 && !dst.is_dir) return -ENOTDIR;
        if (dst_rc == 0 && (rc = is_empty_dir(m, to))) return rc;
        return rename_dir(m, from, to, dst_rc == 0);
    }
    if (dst_rc == 0 && dst.is_dir) return -EISDIR;
    /* both paths' locks, in one order for everyone (two opposite renames must not deadlock) */
    const char *first = strcmp(from, to) < 0 ? from : to, *second = first == from ? to : from;
    if (!(t1 = fs_write_lock(m, first))) return -EIO;
    if (!(t2 = fs_write_lock(m, second))) { lock_release(t1); return -EIO; }
    rc = fs_stat(m, from, &src);    /* again, under the locks: a publish may have finished */
    if (rc == 0) rc = rename_file(m, from, to, &src);
    lock_release(t2);
    lock_release(t1);
    if (rc == 0 && src.staged) {
        int pub = fs_write_closed(m, to);   /* published now, unless still open for writing */
        if (pub) log_warn("%s/%s: renamed on this node; its upload failed and is journaled", m->prefix, to);
    }
    return rc;
}

int fs_rename(struct mount *m, const char *from, struct mount *m2, const char *to, unsigned flags)
{
    if (m != m2) return -EXDEV;                       /* mv copies across mounts by itself */
    if (flags & ~RENAME_NOREPLACE) return -EINVAL;    /* RENAME_EXCHANGE, RENAME_WHITEOUT */
    return rename_entry(m, from, to, flags);
}

int fs_truncate(struct mount *m, const char *rel, uint64_t len)
{
    struct fs_attr a;
    int fd = fs_open_write(m, rel, O_WRONLY, &a), rc = 0;
    if (fd < 0) return fd;
    if (ftruncate(fd, (off_t)len) != 0) rc = -errno;
    close(fd);
    if (rc == 0) rc = fs_write_closed(m, rel);
    return rc;
}

int fs_utimens(struct mount *m, const char *rel, const struct timespec times[2])
{
    struct fs_attr a;
    struct object_info info;
    char path[PATH_MAX];
    uint64_t token;
    int rc = writable(m, rel, &a);
    if (rc) return rc;
    if (a.is_dir) return 0;                 /* directories have no times in a store */
    if (!(token = fs_write_lock(m, rel))) return -EIO;
    if ((rc = fs_stat(m, rel, &a)) == 0 && a.staged) {
        overlay_path(m->id, rel, path, sizeof path);
        rc = utimensat(AT_FDCWD, path, times, 0) == 0 ? 0 : -errno;
    } else if (rc == 0 && (!times || times[1].tv_nsec != UTIME_OMIT)) {
        /* a published object keeps the store's time; the node remembers the one asked for */
        info = (struct object_info){.size = a.size, .mtime = times && times[1].tv_nsec != UTIME_NOW ? times[1].tv_sec : time(NULL)};
        snprintf(info.etag, sizeof info.etag, "%s", a.etag);
        rc = overlay_set(m->id, rel, &info);
    }
    lock_release(token);
    return rc;
}

int fs_check_owner_mode(struct mount *m, const char *rel, int mode, int uid, int gid)
{
    struct fs_attr a;
    int rc = writable(m, rel, &a);
    if (rc) return rc;
    if (mode >= 0 && (mode & 07777) != (a.is_dir ? 0755 : 0644)) return -EPERM;
    if ((uid >= 0 && (uid_t)uid != getuid()) || (gid >= 0 && (gid_t)gid != getgid())) return -EPERM;
    return 0;
}
