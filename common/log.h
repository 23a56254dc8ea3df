/* common/log.h — ufshim's one logging facility.
 *
 * Lines go to stderr, or to UFSHIM_LOG_FILE, prefixed "ufshim[pid]: level:". The level comes from
 * UFSHIM_LOG (error, warn, info, debug; default warn). Callers must never pass secrets. Writing
 * uses write(2) directly so logging never re-enters stdio or the interposed open family. */
#ifndef UFSHIM_LOG_H
#define UFSHIM_LOG_H

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* Reads UFSHIM_LOG and UFSHIM_LOG_FILE. Safe to call again (after fork, or to re-read). */
void log_init(void);
int log_enabled(enum log_level level);
/* Where log lines go (a private copy of stderr, or UFSHIM_LOG_FILE): also for reports. */
int log_output_fd(void);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) do { if (log_enabled(LOG_LEVEL_DEBUG)) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__); } while (0)

#endif
