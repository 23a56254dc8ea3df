/* cache/overlay.c — see overlay.h. */
#include "overlay.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

#define DIR_MODE 0755
#define FILE_MODE 0644

void overlay_path(const char *mount_id, const char *rel, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/overlay/%s%s%s", store_root(), mount_id, *rel ? "/" : "", rel);
}

static enum overlay_kind read_record(const char *path, const struct stat *st, struct object_info *info)
{
    char buf[200];
    unsigned long long size;
    long long mtime;
    ssize_t n;
    int fd;
    if (st->st_size == 0) return OV_DELETED;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) return errno == ENOENT ? OV_NONE : OV_DELETED;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    memset(info, 0, sizeof *info);
    if (sscanf(buf, "%llu %lld %79s", &size, &mtime, info->etag) < 2) return OV_NONE;
    info->size = size;
    info->mtime = mtime;
    if (!strcmp(info->etag, "-")) info->etag[0] = 0;
    return OV_RECORD;
}

static int expired(const struct stat *st, double max_age)
{
    return (st->st_mode & S_ISVTX) && max_age >= 0 && difftime(time(NULL), st->st_mtime) > max_age;
}

static enum overlay_kind kind_of(const char *path, const struct stat *st, double max_age, struct object_info *info)
{
    if (expired(st, max_age)) return OV_NONE;
    if (S_ISDIR(st->st_mode)) return (st->st_mode & S_ISVTX) ? OV_DELETED : OV_DIR;
    if (!(st->st_mode & S_ISVTX)) {
        if (info) {
            memset(info, 0, sizeof *info);
            info->size = (uint64_t)st->st_size;
            info->mtime = st->st_mtime;
        }
        return OV_DATA;
    }
    if (!info) return st->st_size ? OV_RECORD : OV_DELETED;
    return read_record(path, st, info);
}

enum overlay_kind overlay_lookup(const char *mount_id, const char *rel, double max_age, struct object_info *info)
{
    char path[PATH_MAX];
    struct stat st;
    struct object_info ignored;
    if (!*rel) return OV_NONE;
    overlay_path(mount_id, rel, path, sizeof path);
    if (lstat(path, &st) == 0) return kind_of(path, &st, max_age, info ? info : &ignored);
    if (errno != ENOTDIR) return OV_NONE;
    /* an ancestor is a file: deleted (a whiteout) or a real file */
    for (char *slash; (slash = strrchr(path, '/'));) {
        *slash = 0;
        if (lstat(path, &st) == 0 && S_ISREG(st.st_mode))
            return expired(&st, max_age) ? OV_NONE
                   : (st.st_mode & S_ISVTX) && st.st_size == 0 ? OV_DELETED : OV_BELOW_FILE;
    }
    return OV_NONE;
}

int overlay_make_parents(const char *mount_id, const char *rel)
{
    char path[PATH_MAX];
    struct stat st;
    size_t base;
    overlay_path(mount_id, "", path, sizeof path);
    if (mkdir(path, DIR_MODE) != 0 && errno != EEXIST) return -errno;
    base = strlen(path);
    overlay_path(mount_id, rel, path, sizeof path);
    for (char *p = path + base; (p = strchr(p + 1, '/'));) {
        *p = 0;
        if (mkdir(path, DIR_MODE) != 0) {
            if (errno != EEXIST || lstat(path, &st) != 0) return -errno;
            if (S_ISREG(st.st_mode)) {          /* a whiteout of a directory now re-created */
                if (unlink(path) != 0 || mkdir(path, DIR_MODE) != 0) return -errno;
            } else if (S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX) && chmod(path, DIR_MODE) != 0) {
                return -errno;
            }
        }
        *p = '/';
    }
    return 0;
}

int overlay_set(const char *mount_id, const char *rel, const struct object_info *info)
{
    char path[PATH_MAX], tmp[PATH_MAX], text[200];
    int fd, rc = overlay_make_parents(mount_id, rel), n = 0;
    if (rc) return rc;
    overlay_path(mount_id, rel, path, sizeof path);
    if ((fd = store_tmp_file(tmp, sizeof tmp)) < 0) return fd;
    if (info)
        n = snprintf(text, sizeof text, "%llu %lld %s\n", (unsigned long long)info->size, (long long)info->mtime,
                     info->etag[0] ? info->etag : "-");
    if ((n && write(fd, text, (size_t)n) != n) || fchmod(fd, FILE_MODE | S_ISVTX) != 0) rc = -errno;
    close(fd);
    if (rc == 0 && rename(tmp, path) != 0) rc = -errno;
    if (rc) unlink(tmp);
    return rc;
}

int overlay_set_dir(const char *mount_id, const char *rel, int deleted)
{
    char path[PATH_MAX];
    struct stat st;
    mode_t mode = DIR_MODE | (deleted ? S_ISVTX : 0);
    int rc = overlay_make_parents(mount_id, rel);
    if (rc) return rc;
    overlay_path(mount_id, rel, path, sizeof path);
    if (lstat(path, &st) == 0 && !S_ISDIR(st.st_mode) && unlink(path) != 0) return -errno;
    if (mkdir(path, mode) != 0 && errno != EEXIST) return -errno;
    return chmod(path, mode) != 0 ? -errno : 0;   /* mkdir applies the umask; the mode is the mark */
}

int overlay_children(const char *mount_id, const char *rel, double max_age, overlay_entry_fn fn, void *ctx)
{
    char path[PATH_MAX];
    struct dirent *de;
    struct stat st;
    int rc = 0;
    DIR *d;
    overlay_path(mount_id, rel, path, sizeof path);
    if (!(d = opendir(path))) return 0;
    while (rc == 0 && (de = readdir(d))) {
        if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2]))) continue;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        enum overlay_kind kind = kind_of(NULL, &st, max_age, NULL);
        if (kind != OV_NONE) rc = fn(ctx, de->d_name, kind);
    }
    closedir(d);
    return rc;
}

static __thread time_t forget_before;

static int forget_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)ftw;
    if (!(st->st_mode & S_ISVTX) || st->st_mtime >= forget_before) return 0;
    if (type == FTW_F) unlink(path);
    else if (type == FTW_DP) rmdir(path);   /* a deleted directory, once its entries are gone */
    return 0;
}

void overlay_forget_before(const char *mount_id, time_t t)
{
    char path[PATH_MAX];
    overlay_path(mount_id, "", path, sizeof path);
    forget_before = t;
    nftw(path, forget_entry, 16, FTW_DEPTH | FTW_PHYS);
}
