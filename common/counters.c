/* common/counters.c — see counters.h. Owns the mapped counters file of this process. */
#include "counters.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

const char *const counter_names[CTR_COUNT] = {
    "GET requests", "HEAD requests", "LIST requests",
    "bytes fetched",
    "cache hits (opens)", "cache misses (opens)",
    "metadata hits", "metadata misses",
    "retries", "errors",
    "files opened", "blocks fetched", "bytes evicted", "files prefetched",
    "PUT/POST requests", "DELETE requests", "bytes uploaded",
};

static struct counters_file in_memory = {COUNTERS_MAGIC, 0, {0}};
static struct counters_file *current = &in_memory;
static char dir_path[PATH_MAX];
static char file_path[PATH_MAX];
static int keep;

static void map_file(void)
{
    int fd;
    void *p;

    if (!dir_path[0]) return;
    snprintf(file_path, sizeof file_path, "%s/%d", dir_path, (int)getpid());
    fd = open(file_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) { file_path[0] = 0; return; }
    if (ftruncate(fd, sizeof(struct counters_file)) != 0) { close(fd); unlink(file_path); file_path[0] = 0; return; }
    p = mmap(NULL, sizeof(struct counters_file), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) { unlink(file_path); file_path[0] = 0; return; }
    current = p;
    current->magic = COUNTERS_MAGIC;
    current->pid = (uint64_t)getpid();
}

void counters_open(const char *dir, int keep_file)
{
    snprintf(dir_path, sizeof dir_path, "%s", dir);
    keep = keep_file;
    map_file();
}

void counters_reopen_after_fork(void)
{
    if (current != &in_memory) munmap(current, sizeof *current);
    memset(&in_memory, 0, sizeof in_memory);
    in_memory.magic = COUNTERS_MAGIC;
    current = &in_memory;
    map_file();
}

/* The mapping stays: background threads may still count while the process exits. */
void counters_close(void)
{
    if (current == &in_memory) return;
    if (!keep && file_path[0]) unlink(file_path);
}

void counters_add(enum counter c, uint64_t n)
{
    __atomic_fetch_add(&current->value[c], n, __ATOMIC_RELAXED);
}

uint64_t counters_get(enum counter c)
{
    return __atomic_load_n(&current->value[c], __ATOMIC_RELAXED);
}

const struct counters_file *counters_current(void)
{
    return current;
}

void counters_report(int fd, const struct counters_file *t, const char *title)
{
    char buf[2048];
    int n = snprintf(buf, sizeof buf, "ufshim: %s\n", title);
    for (int i = 0; i < CTR_COUNT && n < (int)sizeof buf - 64; i++)
        n += snprintf(buf + n, sizeof buf - (size_t)n, "  %-22s %llu\n", counter_names[i],
                      (unsigned long long)t->value[i]);
    if (write(fd, buf, (size_t)n) < 0) { /* report is best effort */ }
}
