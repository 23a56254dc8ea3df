/* shim/fdtable.h — the descriptors the shim handed out for mount paths. Every one is a real
 * kernel fd (on a cached file, or on a stand-in directory); the table remembers which mount
 * path it stands for, so fstat, *at() calls, fchdir, getdents and the read family can serve it.
 * dup'd descriptors share one entry. A lookup of an fd that is not ours costs one load. */
#ifndef UFSHIM_FDTABLE_H
#define UFSHIM_FDTABLE_H

#include <limits.h>
#include <stdint.h>

#include "../fs/fs.h"

enum fd_kind { FD_FILE, FD_DIR };

struct fd_entry {
    int refs;
    enum fd_kind kind;
    struct mount *m;
    char abs[PATH_MAX];             /* the mount path */
    const char *rel;                /* points into abs */
    struct fs_attr attr;
    struct blockfile *bf;           /* large files: blocks still to fill */
    uint64_t next_seq;              /* read-ahead: where a sequential reader reads next */
    uint64_t window;                /* read-ahead window, grows with sequential reads */
    uint64_t ahead;                 /* read-ahead is queued up to here */
    int random_misses;              /* non-sequential reads that needed a fetch */
    uint64_t whole_queued;          /* a random reader's whole-object fetch is queued up to here */
    int writer;                     /* open for writing: a staged file (fs/write.h) */
    uint64_t unreported;            /* bytes written since the last fs_write_progress */
    struct fs_dir *dir_stream;      /* getdents64 on a directory fd */
    long dir_pos;
};

struct fd_entry *fd_entry_new(enum fd_kind kind, struct mount *m, const char *abs, const struct fs_attr *attr);
/* Takes the caller's reference. */
void fdt_set(int fd, struct fd_entry *e);
/* The entry of fd with a new reference, or NULL. */
struct fd_entry *fdt_get(int fd);
void fdt_put(struct fd_entry *e);
/* 1 if any fd was ever registered: lets hot paths skip lookups entirely. */
extern int fdt_any;

/* Lock-free test for the read hooks: does fd stand for a large (sparse) mount file? Callers
 * then take a counted reference with fdt_get. Only a program that closes an fd while another
 * of its threads reads it (a bug in that program) could race with this peek. */
extern struct fd_entry **fdt_table;
extern int fdt_table_size;
static inline int fdt_is_large(int fd)
{
    struct fd_entry *e;
    if (__builtin_expect(!fdt_any, 1) || fd < 0 || fd >= fdt_table_size) return 0;
    e = __atomic_load_n(&fdt_table[fd], __ATOMIC_ACQUIRE);
    return e && e->bf;
}
/* The same peek for the write hooks: is fd open for writing a mount file? */
static inline int fdt_is_writer(int fd)
{
    struct fd_entry *e;
    if (__builtin_expect(!fdt_any, 1) || fd < 0 || fd >= fdt_table_size) return 0;
    e = __atomic_load_n(&fdt_table[fd], __ATOMIC_ACQUIRE);
    return e && e->writer;
}
void fdt_clear(int fd);
void fdt_dup(int oldfd, int newfd);
/* Calls fn for each fd with an entry (used before exec). */
void fdt_each(void (*fn)(int fd, struct fd_entry *e));
/* Fork handlers: the table's lock is held across fork so the child gets a consistent table. */
void fdt_before_fork(void);
void fdt_after_fork_parent(void);
void fdt_after_fork_child(void);

#endif
