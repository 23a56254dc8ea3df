/* common/log.c — see log.h. Owns the log level and the log file descriptor. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static enum log_level current_level = LOG_LEVEL_WARN;
static int log_fd = 2;

void log_init(void)
{
    const char *lvl = getenv("UFSHIM_LOG");
    const char *file = getenv("UFSHIM_LOG_FILE");
    int bad_level = 0;

    current_level = LOG_LEVEL_WARN;
    if (lvl && *lvl) {
        if (!strcasecmp(lvl, "error")) current_level = LOG_LEVEL_ERROR;
        else if (!strcasecmp(lvl, "warn") || !strcasecmp(lvl, "warning")) current_level = LOG_LEVEL_WARN;
        else if (!strcasecmp(lvl, "info")) current_level = LOG_LEVEL_INFO;
        else if (!strcasecmp(lvl, "debug")) current_level = LOG_LEVEL_DEBUG;
        else bad_level = 1;
    }
    if (log_fd != 2) close(log_fd);
    /* A private copy of stderr: if the program later closes fd 2 and reuses the number for a
     * file of its own, log lines must not land in that file. */
    log_fd = fcntl(2, F_DUPFD_CLOEXEC, 64);   /* above the numbers programs expect to get */
    if (log_fd < 0) log_fd = 2;
    if (file && *file) {
        int fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd >= 0) {
            if (log_fd != 2) close(log_fd);
            log_fd = fd;
        }
        else log_error("UFSHIM_LOG_FILE=%s cannot be opened (%s); logging to stderr instead", file, strerror(errno));
    }
    if (bad_level)
        log_error("UFSHIM_LOG=%s is not a log level; use one of error, warn, info, debug (using warn)", lvl);
}

int log_output_fd(void)
{
    return log_fd;
}

int log_enabled(enum log_level level)
{
    return level <= current_level;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    static const char *names[] = {"error", "warning", "info", "debug"};
    char line[1024];
    int n, saved = errno;
    va_list ap;

    if (level > current_level) return;
    n = snprintf(line, sizeof line, "ufshim[%d]: %s: ", (int)getpid(), names[level]);
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof line - 2) n = (int)sizeof line - 2;
    line[n++] = '\n';
    if (write(log_fd, line, (size_t)n) < 0) { /* nowhere left to report it */ }
    errno = saved;
}
