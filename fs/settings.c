/* fs/settings.c — see settings.h. */
#include "settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "mount.h"

void settings_load(struct settings *s)
{
    const char *v;
    memset(s, 0, sizeof *s);
    if ((v = getenv("UFSHIM_CACHE_DIR")) && *v) {
        if (v[0] != '/') log_error("UFSHIM_CACHE_DIR=%s must be an absolute path; using the default", v);
        else snprintf(s->cache_dir, sizeof s->cache_dir, "%s", v);
    }
    if (!s->cache_dir[0]) {
        if ((v = getenv("XDG_CACHE_HOME")) && v[0] == '/')
            snprintf(s->cache_dir, sizeof s->cache_dir, "%s/ufshim", v);
        else if ((v = getenv("HOME")) && v[0] == '/' && access(v, W_OK) == 0)
            snprintf(s->cache_dir, sizeof s->cache_dir, "%s/.cache/ufshim", v);
        else
            snprintf(s->cache_dir, sizeof s->cache_dir, "/tmp/ufshim-%d", (int)getuid());
    }
    if ((v = getenv("UFSHIM_CACHE_SIZE")) && *v) {
        int64_t n = parse_size(v);
        if (n <= 0) log_error("UFSHIM_CACHE_SIZE=%s is not a size (e.g. 50G); using the default", v);
        else s->cache_size = (uint64_t)n;
    }
    if ((v = getenv("UFSHIM_STATS_DIR")) && *v) {
        snprintf(s->stats_dir, sizeof s->stats_dir, "%s", v);
        s->keep_stats = 1;
    } else {
        snprintf(s->stats_dir, sizeof s->stats_dir, "%s/stats", s->cache_dir);
    }
    if ((v = getenv("UFSHIM_REPORT")) && *v) s->report = strcmp(v, "0") != 0;
    s->inflight = 256u << 20;
    if ((v = getenv("UFSHIM_INFLIGHT")) && *v) {
        int64_t n = parse_size(v);
        if (n < (8 << 20)) log_error("UFSHIM_INFLIGHT=%s is not a size of at least 8M; using 256M", v);
        else s->inflight = (uint64_t)n;
    }
}

static void add_list(const char *list, const char *origin, const char *seps)
{
    char *copy = strdup(list), *save = NULL;
    if (!copy) return;
    for (char *tok = strtok_r(copy, seps, &save); tok; tok = strtok_r(NULL, seps, &save)) {
        char *hash = strchr(tok, '#');
        if (hash && !strcmp(seps, "\n")) *hash = 0;
        mount_add(tok, origin);
    }
    free(copy);
}

void settings_load_mounts(void)
{
    const char *v = getenv("UFSHIM_MOUNTS");
    if (v && *v) add_list(v, "UFSHIM_MOUNTS", ",;\n");
    if ((v = getenv("UFSHIM_CONFIG")) && *v) {
        FILE *f = fopen(v, "re");
        char buf[65536];
        size_t n;
        if (!f) {
            log_error("UFSHIM_CONFIG=%s cannot be read; its mounts are not available", v);
            return;
        }
        n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = 0;
        fclose(f);
        add_list(buf, v, "\n");
    }
}
