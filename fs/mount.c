/* fs/mount.c — see mount.h. */
#include "mount.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "path.h"

static struct mount mounts[MOUNT_MAX];
static int n_mounts;
/* First components of the prefixes ("/data" for "/data/imagenet"), for mount_maybe. */
static char first_comp[MOUNT_MAX][256];
static size_t first_len[MOUNT_MAX];
static int n_first;
unsigned char mount_second_byte[256];

double mount_overlay_age(const struct mount *m)
{
    return m->write_mode == WRITE_CACHE ? -1 : m->meta_ttl;
}

void mount_key(const struct mount *m, const char *rel, const char *suffix, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s%s%s", m->key_prefix, rel, suffix);
}

int64_t parse_size(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    int64_t mult = 1;
    if (end == s || v < 0) return -1;
    switch (toupper((unsigned char)*end)) {
    case 0: break;
    case 'K': mult = 1LL << 10; end++; break;
    case 'M': mult = 1LL << 20; end++; break;
    case 'G': mult = 1LL << 30; end++; break;
    case 'T': mult = 1LL << 40; end++; break;
    default: return -1;
    }
    if (*end == 'i' || *end == 'I') end++;
    if (*end == 'B' || *end == 'b') end++;
    return *end ? -1 : (int64_t)(v * (double)mult);
}

static int hexval(int c)
{
    return isdigit(c) ? c - '0' : isxdigit(c) ? tolower(c) - 'a' + 10 : -1;
}

static void percent_decode(char *s)
{
    char *o = s;
    for (; *s; s++) {
        if (*s == '%' && hexval((unsigned char)s[1]) >= 0 && hexval((unsigned char)s[2]) >= 0) {
            *o++ = (char)(hexval((unsigned char)s[1]) * 16 + hexval((unsigned char)s[2]));
            s += 2;
        } else {
            *o++ = *s;
        }
    }
    *o = 0;
}

static void remember_first_component(const char *prefix)
{
    const char *slash = strchr(prefix + 1, '/');
    size_t len = slash ? (size_t)(slash - prefix) : strlen(prefix);
    if (len >= sizeof first_comp[0]) len = sizeof first_comp[0] - 1;
    for (int i = 0; i < n_first; i++)
        if (first_len[i] == len && !memcmp(first_comp[i], prefix, len)) return;
    mount_second_byte[(unsigned char)prefix[1]] = 1;
    mount_second_byte['/'] = mount_second_byte['.'] = 1;    /* "//x", "/./x" need normalising */
    memcpy(first_comp[n_first], prefix, len);
    first_comp[n_first][len] = 0;
    first_len[n_first++] = len;
}

#define MAX_OPTIONS 32

/* Fills m from URL; on failure writes why to err and returns -1. */
static int parse_url(struct mount *m, const char *url_in, char *err, size_t errlen)
{
    char url[4096], *query, *bucket, *prefix, *sep;
    const char *names[MAX_OPTIONS], *values[MAX_OPTIONS];
    int used[MAX_OPTIONS] = {0}, n = 0, rc;

    snprintf(url, sizeof url, "%s", url_in);
    if ((query = strchr(url, '?'))) *query++ = 0;
    if (!(sep = strstr(url, "://"))) { snprintf(err, errlen, "'%s' is not a URL (expected SCHEME://BUCKET/PREFIX)", url); return -1; }
    *sep = 0;
    bucket = sep + 3;
    prefix = strchr(bucket, '/');
    if (prefix) *prefix++ = 0;
    else prefix = "";
    if (!(m->ops = backend_find(url))) {
        snprintf(err, errlen, "unknown store scheme '%s://' (supported: s3://)", url);
        return -1;
    }
    while (*prefix == '/') prefix++;
    snprintf(m->key_prefix, sizeof m->key_prefix, "%s", prefix);
    size_t kl = strlen(m->key_prefix);
    if (kl && m->key_prefix[kl - 1] != '/' && kl + 1 < sizeof m->key_prefix) strcat(m->key_prefix, "/");
    snprintf(m->url, sizeof m->url, "%s://%s/%s", url, bucket, prefix);
    if (kl && prefix[kl - 1] != '/') strncat(m->url, "/", sizeof m->url - strlen(m->url) - 1);
    m->meta_ttl = 3600;   /* datasets are read-mostly: see docs/CONFIGURATION.md */
    m->whole_max = 4u << 20;
    m->readahead_max = 64u << 20;
    m->index = 1;
    m->prefetch = 32;
    m->write_mode = WRITE_THROUGH;

    for (char *tok = query ? strtok(query, "&") : NULL; tok; tok = strtok(NULL, "&")) {
        char *eq = strchr(tok, '=');
        if (n == MAX_OPTIONS) { snprintf(err, errlen, "too many options"); return -1; }
        if (eq) *eq = 0;
        percent_decode(tok);
        if (eq) percent_decode(eq + 1);
        names[n] = tok;
        values[n++] = eq ? eq + 1 : "1";
    }
    for (int i = 0; i < n; i++) {
        int64_t v = parse_size(values[i]);
        char *end;
        used[i] = 1;
        if (!strcmp(names[i], "meta_ttl")) {
            m->meta_ttl = strtod(values[i], &end);
            if (end == values[i] || *end || m->meta_ttl < 0) { snprintf(err, errlen, "meta_ttl=%s is not a number of seconds", values[i]); return -1; }
        } else if (!strcmp(names[i], "whole_max") || !strcmp(names[i], "readahead")) {
            if (v < 0) { snprintf(err, errlen, "%s=%s is not a size (e.g. 4M)", names[i], values[i]); return -1; }
            *(names[i][0] == 'w' ? &m->whole_max : &m->readahead_max) = (uint64_t)v;
        } else if (!strcmp(names[i], "index") || !strcmp(names[i], "prefetch")) {
            if (v < 0 || v > (names[i][0] == 'i' ? 1 : 256)) {
                snprintf(err, errlen, "%s=%s: expected %s", names[i], values[i],
                         names[i][0] == 'i' ? "0 or 1" : "a number of parallel fetches from 0 (off) to 256");
                return -1;
            }
            *(names[i][0] == 'i' ? &m->index : &m->prefetch) = (int)v;
        } else if (!strcmp(names[i], "write")) {
            static const char *const modes[] = {"through", "cache", "async", "ro"};
            int k = 0;
            while (k < 4 && strcmp(values[i], modes[k])) k++;
            if (k == 4) { snprintf(err, errlen, "write=%s: expected through, cache, async or ro", values[i]); return -1; }
            m->write_mode = (enum write_mode)k;
        } else {
            used[i] = 0;
        }
    }
    struct backend_url bu = {url, bucket, m->key_prefix, n, names, values};
    char berr[512] = "";
    if ((rc = m->ops->open(&bu, used, &m->backend, berr, sizeof berr))) {
        snprintf(err, errlen, "%s", berr);
        return -1;
    }
    for (int i = 0; i < n; i++)
        if (!used[i]) {
            snprintf(err, errlen, "unknown option '%s' (known: endpoint, region, path_style, anonymous, profile, "
                     "timeout, connect_timeout, retries, meta_ttl, whole_max, index, prefetch, readahead, write)", names[i]);
            m->ops->close(m->backend);
            m->backend = NULL;
            return -1;
        }
    return 0;
}

void mount_add(const char *spec, const char *origin)
{
    const char *eq = strchr(spec, '=');
    char raw[PATH_MAX], err[600];
    struct mount *m;

    while (isspace((unsigned char)*spec)) spec++;
    if (!*spec) return;
    if (!eq || eq == spec || (size_t)(eq - spec) >= sizeof raw) {
        log_error("%s: '%s' is not PREFIX=URL (e.g. /data/set=s3://bucket/set); ignored", origin, spec);
        return;
    }
    snprintf(raw, sizeof raw, "%.*s", (int)(eq - spec), spec);
    if (raw[0] != '/') {
        log_error("%s: mount prefix '%s' must be an absolute path; ignored", origin, raw);
        return;
    }
    if (n_mounts == MOUNT_MAX) {
        log_error("%s: more than %d mounts; '%s' ignored", origin, MOUNT_MAX, raw);
        return;
    }
    m = &mounts[n_mounts];
    memset(m, 0, sizeof *m);
    if (path_normalize(raw, m->prefix, sizeof m->prefix) <= 1) {
        log_error("%s: mount prefix '%s' cannot be '/' or too long; ignored", origin, raw);
        return;
    }
    for (int i = 0; i < n_mounts; i++)
        if (!strcmp(mounts[i].prefix, m->prefix)) {
            log_warn("%s: %s is already mounted; '%s' ignored", origin, m->prefix, spec);
            return;
        }
    m->prefix_len = strlen(m->prefix);
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = m->prefix; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    snprintf(m->id, sizeof m->id, "%016llx", (unsigned long long)h);
    if (parse_url(m, eq + 1, err, sizeof err)) {
        m->broken = 1;
        log_error("%s: mount %s is unusable: %s. Its paths fail with EIO until this is fixed", origin, m->prefix, err);
    }
    remember_first_component(m->prefix);
    n_mounts++;
}

int mount_count(void) { return n_mounts; }
struct mount *mount_at(int i) { return &mounts[i]; }

struct mount *mount_lookup(const char *abs, const char **rel)
{
    struct mount *best = NULL;
    for (int i = 0; i < n_mounts; i++) {
        struct mount *m = &mounts[i];
        if (strncmp(abs, m->prefix, m->prefix_len) || (abs[m->prefix_len] != '/' && abs[m->prefix_len]))
            continue;
        if (!best || m->prefix_len > best->prefix_len) best = m;
    }
    if (best) *rel = abs[best->prefix_len] ? abs + best->prefix_len + 1 : "";
    return best;
}

int mount_maybe_slow(const char *path)
{
    if (path[1] == '/' || path[1] == '.') return n_mounts > 0;
    for (int i = 0; i < n_first; i++)
        if (!strncmp(path, first_comp[i], first_len[i]) && (path[first_len[i]] == '/' || !path[first_len[i]]))
            return 1;
    return 0;
}

int mount_is_ancestor(const char *abs)
{
    size_t n = strlen(abs);
    for (int i = 0; i < n_mounts; i++)
        if (mounts[i].prefix_len > n && !strncmp(mounts[i].prefix, abs, n) &&
            (n == 1 || mounts[i].prefix[n] == '/'))
            return 1;
    return 0;
}

struct mount *mount_by_id(const char *id, size_t len)
{
    for (int i = 0; i < n_mounts; i++)
        if (len == 16 && !strncmp(mounts[i].id, id, 16)) return &mounts[i];
    return NULL;
}
