/* cache/journal.c — see journal.h. An entry is four lines: mount id, path, upload id, published. */
#include "journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"

static void entry_path(const char *mount_id, const char *rel, char *out, size_t outlen)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = mount_id; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    h = (h ^ '/') * 1099511628211ULL;
    for (const char *p = rel; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    snprintf(out, outlen, "%s/journal/%016llx", store_root(), (unsigned long long)h);
}

int journal_put(const struct journal_entry *e)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    int fd, rc = 0;
    FILE *f;
    entry_path(e->mount_id, e->rel, path, sizeof path);
    if ((fd = store_tmp_file(tmp, sizeof tmp)) < 0) return fd;
    if (!(f = fdopen(fd, "w"))) { rc = -errno; close(fd); unlink(tmp); return rc; }
    fprintf(f, "%s\n%s\n%s\n%s\n", e->mount_id, e->rel, e->upload_id, e->published);
    if (fflush(f) != 0) rc = -errno;   /* a killed process loses nothing without fsync */
    fclose(f);
    if (rc == 0 && rename(tmp, path) != 0) rc = -errno;
    if (rc) unlink(tmp);
    return rc;
}

static int read_entry(const char *path, struct journal_entry *out)
{
    char buf[sizeof *out + 8];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;
    char *nl1, *nl2, *nl3, *nl4;
    if (fd < 0) return -errno;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -ENOENT;
    buf[n] = 0;
    if (!(nl1 = strchr(buf, '\n')) || !(nl2 = strchr(nl1 + 1, '\n')) || !(nl3 = strchr(nl2 + 1, '\n')) ||
        !(nl4 = strchr(nl3 + 1, '\n')))
        return -ENOENT;
    *nl1 = *nl2 = *nl3 = *nl4 = 0;
    snprintf(out->mount_id, sizeof out->mount_id, "%s", buf);
    snprintf(out->rel, sizeof out->rel, "%s", nl1 + 1);
    snprintf(out->upload_id, sizeof out->upload_id, "%s", nl2 + 1);
    snprintf(out->published, sizeof out->published, "%s", nl3 + 1);
    return 0;
}

int journal_get(const char *mount_id, const char *rel, struct journal_entry *out)
{
    char path[PATH_MAX];
    entry_path(mount_id, rel, path, sizeof path);
    if (read_entry(path, out) != 0 || strcmp(out->mount_id, mount_id) || strcmp(out->rel, rel)) return -ENOENT;
    return 0;
}

int journal_remove(const char *mount_id, const char *rel)
{
    char path[PATH_MAX];
    entry_path(mount_id, rel, path, sizeof path);
    return unlink(path) == 0 || errno == ENOENT ? 0 : -errno;
}

int journal_each(int (*fn)(void *ctx, const struct journal_entry *e), void *ctx)
{
    char dir[PATH_MAX], path[PATH_MAX + 300];
    struct journal_entry *e = malloc(sizeof *e);
    struct dirent *de;
    int rc = 0;
    DIR *d;
    snprintf(dir, sizeof dir, "%s/journal", store_root());
    if (!e) return -ENOMEM;
    if (!(d = opendir(dir))) { free(e); return 0; }
    while (rc == 0 && (de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (read_entry(path, e) == 0) rc = fn(ctx, e);
    }
    closedir(d);
    free(e);
    return rc;
}
