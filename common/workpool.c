/* common/workpool.c — see workpool.h. Two FIFO lists under one mutex; a new thread is started
 * when a job is queued and no thread is idle, up to WORKPOOL_THREADS. */
#include "workpool.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

struct job {
    void (*fn)(void *);
    void *arg;
    uint64_t bytes;
    struct job *next;
};

struct queue {
    struct job *head, *tail;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_cond_t room = PTHREAD_COND_INITIALIZER;
static uint64_t budget = 256u << 20, inflight;
static struct queue urgent_jobs, other_jobs;
static int threads, idle;
static void (*thread_init)(void);

void workpool_set_thread_init(void (*fn)(void)) { thread_init = fn; }

static struct job *take(struct queue *q)
{
    struct job *j = q->head;
    if (j && !(q->head = j->next)) q->tail = NULL;
    return j;
}

static void *worker(void *unused)
{
    (void)unused;
    if (thread_init) thread_init();
    pthread_mutex_lock(&lock);
    for (;;) {
        struct job *j = take(&urgent_jobs);
        if (!j) j = take(&other_jobs);
        if (!j) {
            idle++;
            pthread_cond_wait(&wake, &lock);
            idle--;
            continue;
        }
        pthread_mutex_unlock(&lock);
        j->fn(j->arg);
        pthread_mutex_lock(&lock);
        inflight -= j->bytes;
        pthread_cond_broadcast(&room);
        free(j);
    }
    return NULL;
}

/* With lock held. Pool threads block every signal: the application's handlers run on its own
 * threads only. */
static int start_thread(void)
{
    pthread_t t;
    pthread_attr_t attr;
    sigset_t all, old;
    int rc;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 << 10);
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&t, &attr, worker, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc == 0) threads++;
    return rc;
}

void workpool_set_budget(uint64_t bytes) { budget = bytes; }

uint64_t workpool_inflight(void) { return __atomic_load_n(&inflight, __ATOMIC_RELAXED); }

int workpool_submit(void (*fn)(void *), void *arg, int urgent, uint64_t bytes, int wait)
{
    struct job *j = malloc(sizeof *j);
    struct queue *q = urgent ? &urgent_jobs : &other_jobs;
    if (!j) return -ENOMEM;
    j->fn = fn;
    j->arg = arg;
    j->bytes = bytes;
    j->next = NULL;
    pthread_mutex_lock(&lock);
    while (inflight && inflight + bytes > budget) {
        if (!wait) {
            pthread_mutex_unlock(&lock);
            free(j);
            return -EAGAIN;
        }
        pthread_cond_wait(&room, &lock);
    }
    if (idle == 0 && threads < WORKPOOL_THREADS && start_thread() && threads == 0) {
        pthread_mutex_unlock(&lock);
        free(j);
        return -EAGAIN;
    }
    inflight += bytes;
    if (q->tail) q->tail->next = j; else q->head = j;
    q->tail = j;
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&lock);
    return 0;
}

void workpool_before_fork(void) { pthread_mutex_lock(&lock); }
void workpool_after_fork_parent(void) { pthread_mutex_unlock(&lock); }

void workpool_after_fork_child(void)
{
    /* The parent's queued jobs belong to the parent (their memory is a copy here); forget them. */
    urgent_jobs.head = urgent_jobs.tail = other_jobs.head = other_jobs.tail = NULL;
    threads = idle = 0;
    inflight = 0;
    pthread_mutex_init(&lock, NULL);
    pthread_cond_init(&wake, NULL);
    pthread_cond_init(&room, NULL);
}
