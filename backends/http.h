/* backends/http.h — HTTP requests over libcurl for the backends: one pool of reusable
 * connections per process, a time budget per request, and retries with exponential backoff and
 * full jitter on connection errors, 5xx and 429. Knows nothing of any store's API: a backend
 * signs each attempt through the prepare callback and interprets the final response. */
#ifndef UFSHIM_HTTP_H
#define UFSHIM_HTTP_H

#include <curl/curl.h>
#include <stdint.h>

#include "backend.h"

struct http_response {
    long status;                    /* final HTTP status, 0 if none was received */
    char etag[BACKEND_ETAG_MAX];
    int64_t last_modified;          /* -1 if absent */
    int64_t content_length;         /* -1 if absent */
    int64_t total_size;             /* object size from Content-Range, else Content-Length */
    char *body;                     /* captured body (error bodies, listings), NUL-terminated */
    size_t body_len;
};

/* Builds the headers of one attempt (called again for every retry: a signature carries a time). */
typedef struct curl_slist *(*http_prepare_fn)(void *ctx);

struct http_request {
    const char *method;
    const char *url;
    http_prepare_fn prepare;
    void *prepare_ctx;
    data_sink_fn sink;              /* receives a 2xx body; NULL: the body is captured */
    void *sink_ctx;
    const void *body;               /* request body of a PUT or POST (sent again on a retry) */
    size_t body_len;
    long timeout_ms;                /* budget for all attempts together */
    long connect_timeout_ms;
    int max_retries;
    const char *ca_bundle;          /* NULL: the system's */
    int insecure;                   /* skip certificate verification (explicit opt-in only) */
    const char *what;               /* e.g. "GET s3://bucket/key", for log lines */
};

/* Returns 0 once a final response arrived (any status: retryable statuses are retried first),
 * -EIO when no response could be had within the budget, -ENOMEM. Counts retries and errors. */
int http_execute(const struct http_request *req, struct http_response *resp);
void http_response_free(struct http_response *resp);
/* In a forked child: forget the parent's connections without touching them. */
void http_after_fork(void);

#endif
