/* shim/start.c — start-up and shut-down of the shim in a process: reads the configuration on
 * first use (a constructor, or the first hook called before it), finds a current directory
 * inherited inside a mount, installs the fork handlers, prints the report at exit. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "../common/counters.h"
#include "../common/log.h"
#include "../common/workpool.h"
#include "../fs/write.h"
#include "fdtable.h"
#include "process.h"
#include "resolve.h"
#include "shim.h"
#include "write.h"

__thread int shim_busy;
int shim_started;
int shim_active;
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;

/* Locks are taken before fork and released (parent) or re-made (child) after it, so a child
 * never inherits a lock held by a thread that does not exist in it. */
static void before_fork(void)
{
    workpool_before_fork();
    meta_before_fork();
    fdt_before_fork();
}

static void parent_after_fork(void)
{
    fdt_after_fork_parent();
    meta_after_fork_parent();
    workpool_after_fork_parent();
}

static void child_after_fork(void)
{
    fdt_after_fork_child();
    meta_after_fork_child();
    workpool_after_fork_child();
    SHIM_ENTER();
    fs_after_fork();
    SHIM_LEAVE();
}

/* Pool threads run only shim code: every libc call they make is the shim's own. */
static void own_thread(void)
{
    shim_busy = 1;
}

void shim_start(void)
{
    SHIM_ENTER();
    pthread_mutex_lock(&start_lock);
    if (!shim_started) {
        int rc = fs_init();
        if (rc == 0 || rc == -EIO) {    /* -EIO: mounts exist but are broken; they answer EIO */
            cwd_init();
            shim_save_environment();
            workpool_set_thread_init(own_thread);
            pthread_atfork(before_fork, parent_after_fork, child_after_fork);
            shim_writers_inherit();
            fs_sync(0, NULL, NULL);     /* uploads left by processes that died or failed */
            __atomic_store_n(&shim_active, 1, __ATOMIC_RELEASE);
        }
        __atomic_store_n(&shim_started, 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&start_lock);
    SHIM_LEAVE();
}

__attribute__((constructor)) static void shim_constructor(void)
{
    if (!shim_started) shim_start();
}

__attribute__((destructor)) static void shim_destructor(void)
{
    if (!shim_active) return;
    shim_writers_exit();
    SHIM_ENTER();
    if (fs_settings()->report) counters_report(log_output_fd(), counters_current(), "activity of this process");
    counters_close();
    SHIM_LEAVE();
}
