/* fs/path.c — see path.h. */
#include "path.h"

#include <stdio.h>
#include <string.h>

int path_normalize(const char *in, char *out, size_t outlen)
{
    size_t n = 0;
    const char *p = in;

    if (!in || in[0] != '/' || outlen < 2) return -1;
    out[n++] = '/';
    while (*p) {
        while (*p == '/') p++;
        const char *s = p;
        while (*p && *p != '/') p++;
        size_t len = (size_t)(p - s);
        if (len == 0 || (len == 1 && s[0] == '.')) continue;
        if (len == 2 && s[0] == '.' && s[1] == '.') {
            while (n > 1 && out[n - 1] != '/') n--;   /* drop the last component */
            if (n > 1) n--;                           /* and its slash */
            continue;
        }
        if (n > 1) {
            if (n + 1 >= outlen) return -1;
            out[n++] = '/';
        }
        if (n + len >= outlen) return -1;
        memcpy(out + n, s, len);
        n += len;
    }
    out[n] = 0;
    return (int)n;
}

int path_join(const char *base, const char *rel, char *out, size_t outlen)
{
    char tmp[8192];
    if (rel[0] == '/') return path_normalize(rel, out, outlen);
    if ((size_t)snprintf(tmp, sizeof tmp, "%s/%s", base, rel) >= sizeof tmp) return -1;
    return path_normalize(tmp, out, outlen);
}
