/* tools/ufs_load.c — see ufs_load.h. The tree's objects come from the listing index (two passes:
 * one to count files and bytes for the ETA, one to fetch). Small objects are fetched whole,
 * large ones as BLOCKFILE_PART_SIZE parts, all on the work pool; progress is a redrawn bar on a
 * terminal and a plain line every few seconds otherwise. */
#include "ufs_load.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/workpool.h"
#include "../fs/fs.h"
#include "../fs/mount_index.h"

struct load {
    struct mount *m;
    int jobs, active, tty;
    uint64_t files, bytes;                      /* in the tree */
    uint64_t files_done, bytes_done, fetched_bytes, failed, cached;
    double started, last_print;
    pthread_mutex_t lock;
    pthread_cond_t changed;
};

struct load_job {
    struct load *ld;
    struct fs_attr attr;
    struct blockfile *bf;           /* a part of a large file, or NULL */
    uint64_t off;
    int last_part;
    char rel[];
};

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static void print_progress(struct load *ld, int final)
{
    double t = now(), el = t - ld->started, rate = el > 0 ? (double)ld->fetched_bytes / el : 0;
    double left = rate > 0 ? (double)(ld->bytes - ld->bytes_done) / rate : 0;
    char eta[32];
    if (!final && t - ld->last_print < (ld->tty ? 0.2 : 5.0)) return;
    ld->last_print = t;
    snprintf(eta, sizeof eta, final ? "%.1f s" : "ETA %.0f s", final ? el : left);
    if (ld->tty) {
        int width = 30, fill = ld->bytes ? (int)((double)ld->bytes_done * width / (double)ld->bytes) : width;
        char bar[64];
        for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
        bar[width] = 0;
        fprintf(stderr, "\r[%s] %llu/%llu files  %.1f/%.1f MiB  %.1f MiB/s  %s  ", bar,
                (unsigned long long)ld->files_done, (unsigned long long)ld->files, ld->bytes_done / 1048576.0,
                ld->bytes / 1048576.0, rate / 1048576.0, eta);
        if (final) fputc('\n', stderr);
    } else {
        fprintf(stderr, "load: %llu/%llu files, %.1f/%.1f MiB, %.1f MiB/s, %s\n", (unsigned long long)ld->files_done,
                (unsigned long long)ld->files, ld->bytes_done / 1048576.0, ld->bytes / 1048576.0, rate / 1048576.0, eta);
    }
}

static void job_done(struct load *ld, uint64_t bytes, int fetched, int failed, int file_done)
{
    pthread_mutex_lock(&ld->lock);
    ld->bytes_done += bytes;
    if (fetched) ld->fetched_bytes += bytes;
    if (failed) ld->failed++;
    if (file_done) ld->files_done++;
    ld->active--;
    pthread_cond_broadcast(&ld->changed);
    pthread_mutex_unlock(&ld->lock);
}

static void run_job(void *arg)
{
    struct load_job *j = arg;
    int rc;
    if (j->bf) {
        uint64_t len = j->attr.size - j->off < BLOCKFILE_PART_SIZE ? j->attr.size - j->off : BLOCKFILE_PART_SIZE;
        rc = blockfile_ensure(j->bf, j->off, len);
        blockfile_unref(j->bf);
        job_done(j->ld, len, rc == 0, rc != 0, j->last_part);
    } else {
        rc = fs_prefetch_file(j->ld->m, j->rel, &j->attr);
        job_done(j->ld, j->attr.size, rc == 1, rc < 0, 1);
    }
    free(j);
}

/* Queues one job, waiting (and printing progress) while `jobs` are running. */
static int submit(struct load *ld, struct load_job *j, uint64_t bytes)
{
    pthread_mutex_lock(&ld->lock);
    while (ld->active >= ld->jobs) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_nsec += 200000000;
        if (t.tv_nsec >= 1000000000) { t.tv_sec++; t.tv_nsec -= 1000000000; }
        pthread_cond_timedwait(&ld->changed, &ld->lock, &t);
        print_progress(ld, 0);
    }
    ld->active++;
    pthread_mutex_unlock(&ld->lock);
    if (workpool_submit(run_job, j, 0, bytes, 1) == 0) return 0;
    job_done(ld, 0, 0, 1, !j->bf || j->last_part);
    if (j->bf) blockfile_unref(j->bf);
    free(j);
    return -EAGAIN;
}

/* A file found complete in the cache. */
static void count_cached(struct load *ld, uint64_t size)
{
    pthread_mutex_lock(&ld->lock);
    ld->files_done++;
    ld->cached++;
    ld->bytes_done += size;
    pthread_mutex_unlock(&ld->lock);
}

static int count_file(void *ctx, const struct index_entry *e)
{
    struct load *ld = ctx;
    ld->files++;
    ld->bytes += e->size;
    return 0;
}

/* Queues the parts of a large file; 1 if it is complete already. */
static int load_large(struct load *ld, struct load_job *proto)
{
    struct fs_file f;
    int rc = fs_open_file(ld->m, proto->rel, &proto->attr, O_RDONLY | O_CLOEXEC, &f);
    if (rc) return rc;
    close(f.fd);
    if (blockfile_is_complete(f.bf)) {
        blockfile_unref(f.bf);
        return 1;
    }
    for (uint64_t off = 0; off < proto->attr.size; off += BLOCKFILE_PART_SIZE) {
        struct load_job *j = malloc(sizeof *j);
        if (!j) { rc = -ENOMEM; break; }
        *j = *proto;
        j->bf = f.bf;
        j->off = off;
        j->last_part = off + BLOCKFILE_PART_SIZE >= proto->attr.size;
        blockfile_ref(f.bf);
        submit(ld, j, BLOCKFILE_PART_SIZE);
    }
    blockfile_unref(f.bf);
    return rc;
}

static int load_file(void *ctx, const struct index_entry *e)
{
    struct load *ld = ctx;
    struct load_job *j = calloc(1, sizeof *j + e->key_len + 1);
    if (!j) return -ENOMEM;
    memcpy(j->rel, e->key, e->key_len);
    j->ld = ld;
    j->attr.size = e->size;
    j->attr.mtime = e->mtime;
    snprintf(j->attr.etag, sizeof j->attr.etag, "%.*s", (int)e->etag_len, e->etag);
    if (e->size <= ld->m->whole_max) {
        if (fs_is_cached(ld->m, j->rel, &j->attr)) {
            free(j);
            count_cached(ld, e->size);
            return 0;
        }
        submit(ld, j, e->size);
        return 0;
    }
    int rc = load_large(ld, j);
    if (rc == 1) {
        count_cached(ld, e->size);
    } else if (rc) {
        fprintf(stderr, "ufs: load: %s/%s: %s\n", ld->m->prefix, j->rel, strerror(-rc));
        pthread_mutex_lock(&ld->lock);
        ld->failed++;
        ld->files_done++;
        pthread_mutex_unlock(&ld->lock);
    }
    free(j);
    return 0;
}

int ufs_load(struct mount *m, const char *rel, const char *abs, int metadata_only, int jobs)
{
    struct load ld = {.m = m, .jobs = jobs > 0 ? jobs : 1, .tty = isatty(2)};
    struct index_entry e;
    struct index *ix;
    double t0 = now();
    int rc;

    m->index = 1;                   /* load works from the index even where a mount turned it off */
    if ((rc = mount_index_refresh(m)) || !(ix = mount_index(m))) {
        fprintf(stderr, "ufs: load: listing %s failed: %s\n", abs, strerror(rc ? -rc : EIO));
        return 1;
    }
    fprintf(stderr, "load: %s: index of %s has %llu objects (%.2f s)\n", abs, m->url,
            (unsigned long long)index_count(ix), now() - t0);
    if (metadata_only) return 0;
    pthread_mutex_init(&ld.lock, NULL);
    pthread_cond_init(&ld.changed, NULL);
    switch (index_lookup(ix, rel, &e)) {
    case INDEX_MISSING:
        fprintf(stderr, "ufs: load: %s: no such file or directory\n", abs);
        return 1;
    case INDEX_FILE:
        count_file(&ld, &e);
        ld.started = now();
        load_file(&ld, &e);
        break;
    case INDEX_DIR:
        index_files_under(ix, rel, count_file, &ld);
        ld.started = now();
        index_files_under(ix, rel, load_file, &ld);
        break;
    }
    pthread_mutex_lock(&ld.lock);
    while (ld.active) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_sec++;
        pthread_cond_timedwait(&ld.changed, &ld.lock, &t);
        print_progress(&ld, 0);
    }
    pthread_mutex_unlock(&ld.lock);
    print_progress(&ld, 1);
    fprintf(stderr, "load: %s: %llu files (%llu already cached), %.1f MiB fetched%s\n", abs,
            (unsigned long long)ld.files, (unsigned long long)ld.cached, ld.fetched_bytes / 1048576.0,
            ld.failed ? "; some failed (see above), run again to retry them" : "");
    return ld.failed ? 1 : 0;
}
