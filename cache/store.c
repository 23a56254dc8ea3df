/* cache/store.c — see store.h. Owns the cache root, object naming, usage accounting and
 * eviction. Eviction is random replacement over the cached objects: with cyclic epoch-sized
 * scans larger than the cache, LRU and FIFO evict every object just before it is needed again
 * (hit rate zero), while random replacement keeps a hit rate near capacity/dataset. */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "../common/counters.h"
#include "../common/log.h"

static char root[PATH_MAX - 200];
static uint64_t capacity;
static uint64_t *usage;             /* shared, in the mapped "usage" file */
static uint64_t usage_fallback;

static int mkdir_p(const char *path)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(tmp, 0700) && errno != EEXIST) return -errno;
        *p = '/';
    }
    if (mkdir(tmp, 0700) && errno != EEXIST) return -errno;
    return 0;
}

static uint64_t scan_usage(void);

int store_open(const char *dir, uint64_t cap, char *err, size_t errlen)
{
    static const char *subdirs[] = {"objects", "tmp", "ns", "stats", "index", "overlay", "journal"};
    char p[PATH_MAX];
    struct statvfs vfs;
    int fd, rc, fresh;

    if (strlen(dir) >= sizeof root) { snprintf(err, errlen, "cache directory path is too long"); return -ENAMETOOLONG; }
    snprintf(root, sizeof root, "%s", dir);
    for (size_t i = 0; i < sizeof subdirs / sizeof subdirs[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", root, subdirs[i]);
        if ((rc = mkdir_p(p))) {
            snprintf(err, errlen, "cannot create cache directory %s: %s", p, strerror(-rc));
            return rc;
        }
    }
    for (int i = 0; i < 256; i++) {
        snprintf(p, sizeof p, "%s/objects/%02x", root, i);
        if (mkdir(p, 0700) && errno != EEXIST) { snprintf(err, errlen, "cannot create %s: %s", p, strerror(errno)); return -errno; }
    }
    capacity = cap;
    if (!capacity && statvfs(root, &vfs) == 0) capacity = (uint64_t)vfs.f_blocks * vfs.f_frsize / 2;
    snprintf(p, sizeof p, "%s/usage", root);
    fresh = access(p, F_OK) != 0;
    fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0 && ftruncate(fd, sizeof(uint64_t)) == 0) {
        void *m = mmap(NULL, sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (m != MAP_FAILED) usage = m;
    }
    if (fd >= 0) close(fd);
    if (!usage) usage = &usage_fallback;
    if (fresh) __atomic_store_n(usage, scan_usage(), __ATOMIC_RELAXED);
    return 0;
}

const char *store_root(void) { return root; }
uint64_t store_capacity(void) { return capacity; }
uint64_t store_usage(void) { return usage ? __atomic_load_n(usage, __ATOMIC_RELAXED) : 0; }

void store_object_name(const char *store_url, const char *key, const char *etag, uint64_t size,
                       char name[STORE_NAME_LEN + 1])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    size_t cap = strlen(store_url) + strlen(key) + strlen(etag) + 32;
    char *buf = malloc(cap);
    /* NUL separators: no two different (url, key, etag, size) give the same bytes */
    int n = buf ? snprintf(buf, cap, "%s%c%s%c%s%c%llu", store_url, 0, key, 0, etag, 0, (unsigned long long)size) : 0;
    SHA256((const unsigned char *)(buf ? buf : ""), (size_t)n, md);
    free(buf);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) sprintf(name + 2 * i, "%02x", md[i]);
}

void store_object_path(const char *name, const char *suffix, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/objects/%.2s/%s%s", root, name, name, suffix ? suffix : "");
}

int store_tmp_file(char *out, size_t outlen)
{
    static unsigned long seq;
    for (int tries = 0; tries < 100; tries++) {
        snprintf(out, outlen, "%s/tmp/%d.%lu.%lx", root, (int)getpid(),
                 __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED), (unsigned long)time(NULL));
        int fd = open(out, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0 || errno != EEXIST) return fd >= 0 ? fd : -errno;
    }
    return -EEXIST;
}

int store_publish(const char *tmp_path, const char *name, const char *suffix)
{
    char dst[PATH_MAX];
    store_object_path(name, suffix, dst, sizeof dst);
    return rename(tmp_path, dst) ? -errno : 0;
}

int store_adopt(const char *path, const char *name, const char *suffix)
{
    char dst[PATH_MAX];
    store_object_path(name, suffix, dst, sizeof dst);
    return link(path, dst) == 0 || errno == EEXIST ? 0 : -errno;
}

struct victim {
    char path[PATH_MAX];
    uint64_t bytes;
};

/* Every data file under objects/ (with their .map companions counted in). */
static struct victim *list_objects(size_t *count, uint64_t *total)
{
    struct victim *v = NULL;
    size_t n = 0, cap = 0;
    char dir[PATH_MAX];
    *total = 0;
    for (int i = 0; i < 256; i++) {
        snprintf(dir, sizeof dir, "%s/objects/%02x", root, i);
        DIR *d = opendir(dir);
        struct dirent *e;
        if (!d) continue;
        while ((e = readdir(d))) {
            struct stat st;
            if (e->d_name[0] == '.') continue;
            if (n == cap) {
                struct victim *nv = realloc(v, sizeof *v * (cap = cap ? cap * 2 : 256));
                if (!nv) break;
                v = nv;
            }
            snprintf(v[n].path, sizeof v[n].path, "%s/%s", dir, e->d_name);
            if (stat(v[n].path, &st)) continue;
            v[n].bytes = (uint64_t)st.st_blocks * 512;
            *total += v[n].bytes;
            if (strlen(e->d_name) == STORE_NAME_LEN) n++;   /* data files are the victims */
        }
        closedir(d);
    }
    *count = n;
    return v;
}

static uint64_t scan_usage(void)
{
    size_t n;
    uint64_t total;
    free(list_objects(&n, &total));
    return total;
}

/* Downloads left by processes that died more than 10 minutes ago. */
static void clean_tmp(void)
{
    char dir[PATH_MAX], p[PATH_MAX];
    DIR *d;
    struct dirent *e;
    struct stat st;
    snprintf(dir, sizeof dir, "%s/tmp", root);
    if (!(d = opendir(dir))) return;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (stat(p, &st) == 0 && st.st_mtime < time(NULL) - 600) unlink(p);
    }
    closedir(d);
}

uint64_t store_evict(uint64_t target)
{
    char lock_path[PATH_MAX], map[PATH_MAX + 8];
    size_t n;
    uint64_t total, freed = 0;
    unsigned seed = (unsigned)getpid() ^ (unsigned)time(NULL);
    int lk;

    snprintf(lock_path, sizeof lock_path, "%s/evict.lock", root);
    lk = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lk < 0) return 0;
    if (flock(lk, target ? LOCK_EX | LOCK_NB : LOCK_EX)) { close(lk); return 0; }   /* someone else evicts */
    struct victim *v = list_objects(&n, &total);
    for (size_t i = n; i > 1; i--) {    /* random order */
        size_t j = (size_t)rand_r(&seed) % i;
        struct victim t = v[i - 1]; v[i - 1] = v[j]; v[j] = t;
    }
    for (size_t i = 0; i < n && total > target; i++) {
        struct stat st;
        snprintf(map, sizeof map, "%s.map", v[i].path);
        uint64_t bytes = v[i].bytes + (stat(map, &st) == 0 ? (uint64_t)st.st_blocks * 512 : 0);
        if (unlink(v[i].path) == 0) {
            unlink(map);
            total -= bytes < total ? bytes : total;
            freed += bytes;
        }
    }
    free(v);
    clean_tmp();
    __atomic_store_n(usage, total, __ATOMIC_RELAXED);
    counters_add(CTR_EVICTED_BYTES, freed);
    if (freed) log_info("cache: evicted %llu MiB to stay under %llu MiB", (unsigned long long)(freed >> 20),
                        (unsigned long long)(capacity >> 20));
    flock(lk, LOCK_UN);
    close(lk);
    return freed;
}

void store_charge(uint64_t bytes)
{
    uint64_t now = __atomic_add_fetch(usage, bytes, __ATOMIC_RELAXED);
    if (capacity && now > capacity) store_evict(capacity / 10 * 9);
}
