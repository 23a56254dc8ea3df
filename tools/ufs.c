/* tools/ufs.c — the `ufs` command: run a program under the shim, look at mounts through the same
 * fs/ code the shim uses, and manage the node's cache.
 *
 *   ufs run [-m PREFIX=URL]... [--] CMD [ARG]...   run CMD with libufshim preloaded (the one next
 *                                                  to ufs, or UFSHIM_LIBRARY)
 *   ufs ls PATH | ufs stat PATH | ufs cat PATH...  through the mounts of UFSHIM_MOUNTS (and -m)
 *   ufs load [--metadata-only] [-j N] PATH...      warm the cache (or just the listing index)
 *   ufs index export PATH FILE | ufs index import FILE PATH
 *   ufs cache info | ufs cache clear
 *   ufs stats [DIR]                                sum the counters of processes (default: live ones)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../cache/store.h"
#include "../common/counters.h"
#include "../fs/fs.h"
#include "../fs/mount_index.h"
#include "../fs/path.h"
#include "../fs/write.h"
#include "ufs_load.h"

static int usage(void)
{
    fprintf(stderr,
            "usage: ufs run [-m PREFIX=URL]... [--] CMD [ARG]...\n"
            "       ufs ls PATH      list a mount directory\n"
            "       ufs stat PATH    show a mount path's metadata\n"
            "       ufs cat PATH...  print mount files\n"
            "       ufs load [--metadata-only] [-j N] PATH...\n"
            "                        fetch a tree into the cache ahead of use (default 32 requests at a\n"
            "                        time); --metadata-only builds just the listing index\n"
            "       ufs index export PATH FILE   save a mount's listing index to FILE\n"
            "       ufs index import FILE PATH   use FILE as the listing index of PATH's mount\n"
            "       ufs sync         upload every write still owed to the store (failed, interrupted or\n"
            "                        queued async uploads), waiting, and report each\n"
            "       ufs cache info   cache directory, size, capacity\n"
            "       ufs cache clear  remove every cached object and listing index\n"
            "       ufs stats [DIR]  sum per-process counters (default: the cache's stats/)\n"
            "Mounts come from UFSHIM_MOUNTS (PREFIX=URL,...) and UFSHIM_CONFIG; see README.md.\n");
    return 2;
}

/* Appends -m specs to UFSHIM_MOUNTS; returns the index of the first non-option argument. */
static int take_mounts(int argc, char **argv, int i)
{
    for (; i < argc; i++) {
        const char *spec = NULL;
        if (!strcmp(argv[i], "--")) return i + 1;
        if (!strcmp(argv[i], "-m") && i + 1 < argc) spec = argv[++i];
        else if (!strncmp(argv[i], "--mount=", 8)) spec = argv[i] + 8;
        else return i;
        const char *old = getenv("UFSHIM_MOUNTS");
        size_t len = strlen(spec) + (old ? strlen(old) : 0) + 2;
        char *v = malloc(len);
        if (!v) return -1;
        snprintf(v, len, "%s%s%s", old && *old ? old : "", old && *old ? "," : "", spec);
        setenv("UFSHIM_MOUNTS", v, 1);
        free(v);
    }
    return i;
}

static int cmd_run(int argc, char **argv)
{
    char self[PATH_MAX], lib[PATH_MAX + 32];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    int first = take_mounts(argc, argv, 2);
    if (first < 0 || first >= argc) return usage();
    if (n <= 0) { perror("ufs: /proc/self/exe"); return 1; }
    self[n] = 0;
    *strrchr(self, '/') = 0;
    if (getenv("UFSHIM_LIBRARY") && *getenv("UFSHIM_LIBRARY")) {
        snprintf(lib, sizeof lib, "%s", getenv("UFSHIM_LIBRARY"));
    } else {
        snprintf(lib, sizeof lib, "%s/libufshim.so", self);
        if (access(lib, R_OK)) snprintf(lib, sizeof lib, "%s/../lib/ufshim/libufshim.so", self);
        if (access(lib, R_OK)) {
            fprintf(stderr, "ufs: libufshim.so not found next to %s; set UFSHIM_LIBRARY to its path\n", self);
            return 1;
        }
    }
    const char *old = getenv("LD_PRELOAD");
    if (old && *old) {
        size_t len = strlen(lib) + strlen(old) + 2;
        char *v = malloc(len);
        snprintf(v, len, "%s:%s", lib, old);
        setenv("LD_PRELOAD", v, 1);
    } else {
        setenv("LD_PRELOAD", lib, 1);
    }
    execvp(argv[first], argv + first);
    fprintf(stderr, "ufs: cannot run %s: %s\n", argv[first], strerror(errno));
    return 127;
}

/* Resolves a mount path for the commands that act on one. */
static struct mount *lookup(const char *arg, const char **rel, char *abs, size_t len)
{
    char cwd[PATH_MAX];
    struct mount *m;
    if (!getcwd(cwd, sizeof cwd) || path_join(cwd, arg, abs, len) < 0) {
        fprintf(stderr, "ufs: %s: path too long\n", arg);
        return NULL;
    }
    if (!(m = mount_lookup(abs, rel))) fprintf(stderr, "ufs: %s is not inside a mount (UFSHIM_MOUNTS)\n", abs);
    return m;
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "ufs: %s: %s\n", what, strerror(-rc));
    return 1;
}

static void print_time(int64_t t)
{
    char buf[64];
    time_t tt = (time_t)t;
    struct tm tm;
    strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", localtime_r(&tt, &tm));
    fputs(buf, stdout);
}

static int cmd_ls(const char *arg)
{
    char abs[PATH_MAX];
    const char *rel;
    struct meta_listing *l;
    struct mount *m = lookup(arg, &rel, abs, sizeof abs);
    int rc;
    if (!m) return 1;
    if ((rc = fs_list(m, rel, &l))) return fail(abs, rc);
    for (int i = 0; i < l->n; i++) {
        struct meta_child *c = &l->children[i];
        if (c->is_dir) printf("%12s  %19s  %s/\n", "DIR", "", c->name);
        else { printf("%12llu  ", (unsigned long long)c->info.size); print_time(c->info.mtime); printf("  %s\n", c->name); }
    }
    meta_listing_unref(l);
    return 0;
}

static int cmd_stat(const char *arg)
{
    char abs[PATH_MAX];
    const char *rel;
    struct fs_attr a;
    struct mount *m = lookup(arg, &rel, abs, sizeof abs);
    int rc;
    if (!m) return 1;
    if ((rc = fs_stat(m, rel, &a))) return fail(abs, rc);
    printf("path:   %s\nstore:  %s%s\ntype:   %s\n", abs, m->url, rel, a.is_dir ? "directory" : "file");
    if (!a.is_dir) {
        printf("size:   %llu\netag:   %s\nmtime:  ", (unsigned long long)a.size, a.etag);
        print_time(a.mtime);
        putchar('\n');
    }
    return 0;
}

static int cmd_cat(const char *arg)
{
    char abs[PATH_MAX], buf[1 << 16];
    const char *rel;
    struct fs_file f;
    struct fs_attr a;
    struct mount *m = lookup(arg, &rel, abs, sizeof abs);
    uint64_t off = 0;
    int rc;
    if (!m) return 1;
    if ((rc = fs_stat(m, rel, &a)) || (rc = fs_open_file(m, rel, &a, O_RDONLY | O_CLOEXEC, &f))) return fail(abs, rc);
    for (;;) {
        if (f.bf && (rc = blockfile_ensure(f.bf, off, sizeof buf))) { close(f.fd); return fail(abs, rc); }
        ssize_t n = pread(f.fd, buf, sizeof buf, (off_t)off);
        if (n <= 0) break;
        if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n) break;
        off += (uint64_t)n;
    }
    close(f.fd);
    if (f.bf) blockfile_unref(f.bf);
    return 0;
}

static int cmd_load(const char *arg, int metadata_only, int jobs)
{
    char abs[PATH_MAX];
    const char *rel;
    struct mount *m = lookup(arg, &rel, abs, sizeof abs);
    return m ? ufs_load(m, rel, abs, metadata_only, jobs) : 1;
}

/* index export PATH FILE | index import FILE PATH */
static int cmd_index(int argc, char **argv)
{
    char abs[PATH_MAX], err[600];
    const char *rel;
    struct mount *m;
    int export;
    if (argc != 3 || (strcmp(argv[0], "export") && strcmp(argv[0], "import"))) return usage();
    export = !strcmp(argv[0], "export");
    if (!(m = lookup(argv[export ? 1 : 2], &rel, abs, sizeof abs))) return 1;
    if (export ? index_export(m->url, argv[2], err, sizeof err) : index_import(argv[1], m->url, err, sizeof err)) {
        fprintf(stderr, "ufs: index %s: %s\n", argv[0], err);
        return 1;
    }
    return 0;
}

static int cmd_cache(const char *what)
{
    if (!strcmp(what, "info")) {
        printf("cache dir: %s\nused:      %.1f MiB\ncapacity:  %.1f MiB\n", store_root(), store_usage() / 1048576.0,
               store_capacity() / 1048576.0);
        return 0;
    }
    if (!strcmp(what, "clear")) {
        uint64_t freed = store_evict(0);
        index_remove_all();
        printf("removed %.1f MiB from %s\n", freed / 1048576.0, store_root());
        return 0;
    }
    return usage();
}

static int cmd_stats(const char *dir)
{
    struct counters_file total = {COUNTERS_MAGIC, 0, {0}};
    char path[PATH_MAX];
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (!d) { fprintf(stderr, "ufs: %s: %s\n", dir, strerror(errno)); return 1; }
    while ((e = readdir(d))) {
        struct counters_file c;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        int fd = open(path, O_RDONLY);
        if (fd < 0) continue;
        if (read(fd, &c, sizeof c) == (ssize_t)sizeof c && c.magic == COUNTERS_MAGIC) {
            for (int i = 0; i < CTR_COUNT; i++) total.value[i] += c.value[i];
            n++;
        }
        close(fd);
    }
    closedir(d);
    char title[PATH_MAX + 64];
    snprintf(title, sizeof title, "%d process(es) in %s", n, dir);
    counters_report(1, &total, title);
    return 0;
}

struct sync_report {
    int uploaded, failed;
};

static void report_sync(void *ctx, const char *prefix, const char *rel, int result)
{
    struct sync_report *r = ctx;
    if (result == 0) {
        printf("uploaded %s/%s\n", prefix, rel);
        r->uploaded++;
        return;
    }
    r->failed++;
    if (result == -EBUSY)
        printf("busy     %s/%s: still open for writing; its writer uploads it at close\n", prefix, rel);
    else if (result == -ENODEV)
        printf("skipped  %s: journaled for mount id %s, which is not configured here (or not uploading): set the "
               "same UFSHIM_MOUNTS as the writer\n", rel, prefix);
    else
        printf("failed   %s/%s: %s (the bytes stay in the cache; run ufs sync again)\n", prefix, rel, strerror(-result));
}

static int cmd_sync(void)
{
    struct sync_report r = {0, 0};
    fs_sync(1, report_sync, &r);
    if (!r.uploaded && !r.failed) printf("nothing to upload\n");
    else printf("%d uploaded, %d not\n", r.uploaded, r.failed);
    return r.failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) return usage();
    if (!strcmp(argv[1], "run")) return cmd_run(argc, argv);
    int first = take_mounts(argc, argv, 2);
    if (first < 0) return 1;
    int rc = fs_init();
    if (!strcmp(argv[1], "stats")) return cmd_stats(first < argc ? argv[first] : fs_settings()->stats_dir);
    if (rc == -ENOENT && strcmp(argv[1], "cache")) {
        fprintf(stderr, "ufs: no mounts configured: set UFSHIM_MOUNTS=PREFIX=URL or pass -m PREFIX=URL\n");
        return 1;
    }
    if (!strcmp(argv[1], "cache") && first < argc) {
        if (rc == -ENOENT) {
            char err[512];
            if (store_open(fs_settings()->cache_dir, fs_settings()->cache_size, err, sizeof err)) {
                fprintf(stderr, "ufs: %s\n", err);
                return 1;
            }
        }
        return cmd_cache(argv[first]);
    }
    if (!strcmp(argv[1], "sync")) return first < argc ? usage() : cmd_sync();
    if (first >= argc) return usage();
    if (!strcmp(argv[1], "index")) return cmd_index(argc - first, argv + first);
    int status = 0, metadata_only = 0, jobs = 32;
    for (int i = first; i < argc; i++) {
        if (!strcmp(argv[1], "load") && !strcmp(argv[i], "--metadata-only")) metadata_only = 1;
        else if (!strcmp(argv[1], "load") && !strcmp(argv[i], "-j") && i + 1 < argc) jobs = atoi(argv[++i]);
        else if (!strcmp(argv[1], "load")) status |= cmd_load(argv[i], metadata_only, jobs);
        else if (!strcmp(argv[1], "ls")) status |= cmd_ls(argv[i]);
        else if (!strcmp(argv[1], "stat")) status |= cmd_stat(argv[i]);
        else if (!strcmp(argv[1], "cat")) status |= cmd_cat(argv[i]);
        else return usage();
    }
    fflush(stdout);
    counters_close();
    return status;
}
