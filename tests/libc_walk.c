/* tests/libc_walk.c — walks a tree with libc's own walkers (glob, nftw, ftw, scandir, readdir_r,
 * telldir/seekdir, realpath) and prints what they report, paths relative to the root, so that
 * tests/test_libc.py can compare a mount with the same tree on local disk. */
#include <dirent.h>
#include <ftw.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static size_t root_len;

static int show(const char *path, const struct stat *st, int type, struct FTW *f)
{
    printf("nftw %d %d %s %lld\n", type, f->level, path + root_len, S_ISREG(st->st_mode) ? (long long)st->st_size : -1LL);
    return 0;
}

static int show_ftw(const char *path, const struct stat *st, int type)
{
    printf("ftw %d %s %lld\n", type, path + root_len, S_ISREG(st->st_mode) ? (long long)st->st_size : -1LL);
    return 0;
}

static int no_dots(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

int main(int argc, char **argv)
{
    char pattern[PATH_MAX], path[PATH_MAX], resolved[PATH_MAX];
    const char *root = argv[1];
    glob_t g;
    struct dirent **list;
    int n;

    if (argc < 2) return 2;
    root_len = strlen(root);
    snprintf(pattern, sizeof pattern, "%s/images/class_0[12]/img_00[0-4].JPEG", root);
    if (glob(pattern, 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++) printf("glob %s\n", g.gl_pathv[i] + root_len);
        globfree(&g);
    }
    snprintf(pattern, sizeof pattern, "%s/special/*", root);
    if (glob(pattern, GLOB_MARK, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++) printf("glob %s\n", g.gl_pathv[i] + root_len);
        globfree(&g);
    }
    snprintf(path, sizeof path, "%s/nested", root);
    nftw(path, show, 8, FTW_PHYS);
    nftw(path, show, 8, FTW_PHYS | FTW_DEPTH);
    ftw(path, show_ftw, 8);
    snprintf(path, sizeof path, "%s/special", root);
    n = scandir(path, &list, no_dots, alphasort);
    for (int i = 0; i < n; i++) { printf("scandir %s %d\n", list[i]->d_name, list[i]->d_type); free(list[i]); }
    free(list);
    DIR *d = opendir(path);
    struct dirent entry, *e;
    long second = -1;
    int count = 0;
    char first[256] = "";
    while (d && readdir_r(d, &entry, &e) == 0 && e) {
        if (count == 0) snprintf(first, sizeof first, "%s", e->d_name);
        if (count++ == 1) second = telldir(d);
    }
    if (d && second >= 0) {
        seekdir(d, second);
        e = readdir(d);
        printf("seekdir-count %d found-after-seek %d\n", count, e != NULL);
        rewinddir(d);
        e = readdir(d);
        printf("rewind-gives-first-again %d\n", e && !strcmp(e->d_name, first));
    }
    if (d) closedir(d);
    snprintf(path, sizeof path, "%s/nested/a/../a/./b", root);
    if (realpath(path, resolved)) printf("realpath %s\n", resolved + root_len);
    snprintf(path, sizeof path, "%s/nested/missing", root);
    printf("realpath-missing %s\n", realpath(path, resolved) ? "found" : "ENOENT");
    return 0;
}
