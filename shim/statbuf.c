/* shim/statbuf.c — see statbuf.h. */
#include "statbuf.h"

#include <string.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

/* Directories have no time in an object store: they report when this process started. */
static time_t dir_time(void)
{
    static time_t t;
    if (!t) t = time(NULL);
    return t;
}

static unsigned mount_minor(const struct mount *m)
{
    unsigned h = 0;
    for (const char *p = m->id; *p; p++) h = h * 31 + (unsigned char)*p;
    return h & 0xfffff;
}

void statbuf_fill(const struct mount *m, const struct fs_attr *a, struct stat *st)
{
    time_t t = a->is_dir ? dir_time() : (time_t)a->mtime;
    memset(st, 0, sizeof *st);
    st->st_dev = makedev(0x55, mount_minor(m));
    st->st_ino = a->ino;
    st->st_mode = a->is_dir ? (S_IFDIR | 0755) : (S_IFREG | 0644);
    st->st_nlink = a->is_dir ? 2 : 1;
    st->st_uid = getuid();
    st->st_gid = getgid();
    st->st_size = a->is_dir ? 4096 : (off_t)a->size;
    st->st_blksize = 4096;
    st->st_blocks = a->is_dir ? 8 : (blkcnt_t)((a->size + 4095) / 4096 * 8);
    st->st_atim.tv_sec = st->st_mtim.tv_sec = st->st_ctim.tv_sec = t;
}

void statbuf_fill_statx(const struct mount *m, const struct fs_attr *a, struct statx *stx)
{
    struct stat st;
    statbuf_fill(m, a, &st);
    memset(stx, 0, sizeof *stx);
    stx->stx_mask = STATX_BASIC_STATS;
    stx->stx_blksize = (__u32)st.st_blksize;
    stx->stx_nlink = (__u32)st.st_nlink;
    stx->stx_uid = st.st_uid;
    stx->stx_gid = st.st_gid;
    stx->stx_mode = (__u16)st.st_mode;
    stx->stx_ino = st.st_ino;
    stx->stx_size = (__u64)st.st_size;
    stx->stx_blocks = (__u64)st.st_blocks;
    stx->stx_atime.tv_sec = stx->stx_mtime.tv_sec = stx->stx_ctime.tv_sec = st.st_mtim.tv_sec;
    stx->stx_dev_major = major(st.st_dev);
    stx->stx_dev_minor = minor(st.st_dev);
}
