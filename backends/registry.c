/* backends/registry.c — the table of known backends, looked up by URL scheme. */
#include "backend.h"

#include <string.h>

static const struct backend_ops *const all_backends[] = {&s3_backend};

const struct backend_ops *backend_find(const char *scheme)
{
    for (size_t i = 0; i < sizeof all_backends / sizeof all_backends[0]; i++)
        if (!strcmp(all_backends[i]->scheme, scheme)) return all_backends[i];
    return NULL;
}
