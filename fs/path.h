/* fs/path.h — lexical path arithmetic (no file system access): normalising and joining. Object
 * stores have no symlinks, so under a mount ".." is purely lexical. */
#ifndef UFSHIM_PATH_H
#define UFSHIM_PATH_H

#include <stddef.h>

/* Normalises an absolute path: collapses "//" and ".", resolves "..", drops a trailing slash
 * ("/" stays "/"). Returns the length, or -1 if out is too small or in is not absolute. */
int path_normalize(const char *in, char *out, size_t outlen);
/* Normalises base + "/" + rel (rel if it is absolute). Same returns. */
int path_join(const char *base, const char *rel, char *out, size_t outlen);

#endif
