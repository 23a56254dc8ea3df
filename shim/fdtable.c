/* shim/fdtable.c — see fdtable.h. A lazily mmap'd array of entry pointers indexed by fd. */
#include "fdtable.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

#define TABLE_MAX (1 << 20)

int fdt_any;
struct fd_entry **fdt_table;
int fdt_table_size;
#define table fdt_table
#define table_size fdt_table_size
static int max_fd = -1;         /* highest fd ever registered */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void fdt_before_fork(void) { pthread_mutex_lock(&lock); }
void fdt_after_fork_parent(void) { pthread_mutex_unlock(&lock); }
void fdt_after_fork_child(void) { pthread_mutex_init(&lock, NULL); }

static int ensure_table(void)
{
    struct rlimit rl;
    void *p;
    if (table) return 0;
    table_size = TABLE_MAX;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY && rl.rlim_max < TABLE_MAX)
        table_size = (int)rl.rlim_max;
    /* untouched pages cost nothing */
    p = mmap(NULL, sizeof *table * (size_t)table_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return -1;
    table = p;
    return 0;
}

struct fd_entry *fd_entry_new(enum fd_kind kind, struct mount *m, const char *abs, const struct fs_attr *attr)
{
    struct fd_entry *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->refs = 1;
    e->kind = kind;
    e->m = m;
    strncpy(e->abs, abs, sizeof e->abs - 1);
    e->rel = e->abs[m->prefix_len] ? e->abs + m->prefix_len + 1 : e->abs + m->prefix_len;
    e->attr = *attr;
    return e;
}

void fdt_put(struct fd_entry *e)
{
    int last;
    if (!e) return;
    pthread_mutex_lock(&lock);
    last = --e->refs == 0;
    pthread_mutex_unlock(&lock);
    if (!last) return;
    if (e->bf) blockfile_unref(e->bf);
    fs_dir_close(e->dir_stream);
    free(e);
}

void fdt_set(int fd, struct fd_entry *e)
{
    struct fd_entry *old = NULL;
    pthread_mutex_lock(&lock);
    if (fd < 0 || ensure_table() || fd >= table_size) {
        pthread_mutex_unlock(&lock);
        fdt_put(e);
        return;
    }
    old = table[fd];
    table[fd] = e;
    if (fd > max_fd) max_fd = fd;
    fdt_any = 1;
    pthread_mutex_unlock(&lock);
    fdt_put(old);
}

struct fd_entry *fdt_get(int fd)
{
    struct fd_entry *e;
    if (!fdt_any || fd < 0 || fd >= table_size || !__atomic_load_n(&table[fd], __ATOMIC_RELAXED)) return NULL;
    pthread_mutex_lock(&lock);
    if ((e = table[fd])) e->refs++;
    pthread_mutex_unlock(&lock);
    return e;
}

void fdt_clear(int fd)
{
    struct fd_entry *e;
    if (!fdt_any || fd < 0 || fd >= table_size) return;
    pthread_mutex_lock(&lock);
    e = table[fd];
    table[fd] = NULL;
    pthread_mutex_unlock(&lock);
    fdt_put(e);
}

void fdt_dup(int oldfd, int newfd)
{
    struct fd_entry *e;
    if (!fdt_any) return;
    e = fdt_get(oldfd);
    if (e) fdt_set(newfd, e);
    else fdt_clear(newfd);
}

void fdt_each(void (*fn)(int fd, struct fd_entry *e))
{
    for (int fd = 0; fdt_any && fd <= max_fd; fd++) {
        struct fd_entry *e = fdt_get(fd);
        if (e) { fn(fd, e); fdt_put(e); }
    }
}
