/* backends/http.c — see http.h. Owns the process's pool of curl easy handles. */
#include "http.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "../common/counters.h"
#include "../common/log.h"

#define POOL_MAX 64
#define BODY_CAP (8u << 20)

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static CURL *pool[POOL_MAX];
static int pool_count;
static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
}

static CURL *handle_take(void)
{
    CURL *h = NULL;
    pthread_once(&global_once, global_init);
    pthread_mutex_lock(&pool_lock);
    if (pool_count > 0) h = pool[--pool_count];
    pthread_mutex_unlock(&pool_lock);
    return h ? h : curl_easy_init();
}

static void handle_give(CURL *h)
{
    pthread_mutex_lock(&pool_lock);
    if (pool_count < POOL_MAX) { pool[pool_count++] = h; h = NULL; }
    pthread_mutex_unlock(&pool_lock);
    if (h) curl_easy_cleanup(h);
}

void http_after_fork(void)
{
    /* The parent's handles share sockets (and TLS state) with the parent: cleaning them up
     * could send a TLS close_notify on the parent's connection. Leak them instead. */
    pthread_mutex_init(&pool_lock, NULL);
    pool_count = 0;
}

struct transfer {
    CURL *h;
    const struct http_request *req;
    struct http_response *resp;
    uint64_t pos;
    int sink_failed;
    size_t sent;                    /* request body bytes handed to curl */
};

static size_t on_upload(char *buf, size_t size, size_t nmemb, void *userdata)
{
    struct transfer *t = userdata;
    size_t n = t->req->body_len - t->sent;
    if (n > size * nmemb) n = size * nmemb;
    memcpy(buf, (const char *)t->req->body + t->sent, n);
    t->sent += n;
    return n;
}

static int is_2xx(CURL *h)
{
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    return code >= 200 && code < 300;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct transfer *t = userdata;
    size_t len = size * nmemb;

    if (t->req->sink && is_2xx(t->h)) {
        if (t->req->sink(t->req->sink_ctx, t->pos, data, len) != 0) { t->sink_failed = 1; return 0; }
        t->pos += len;
        return len;
    }
    if (t->resp->body_len + len > BODY_CAP) return 0;
    char *nb = realloc(t->resp->body, t->resp->body_len + len + 1);
    if (!nb) return 0;
    memcpy(nb + t->resp->body_len, data, len);
    t->resp->body = nb;
    t->resp->body_len += len;
    nb[t->resp->body_len] = 0;
    return len;
}

/* Copies a header value (without surrounding blanks) if the line is "name: value". */
static int header_value(const char *line, size_t len, const char *name, char *out, size_t outlen)
{
    size_t n = strlen(name), v;
    if (len <= n || strncasecmp(line, name, n) || line[n] != ':') return 0;
    line += n + 1; len -= n + 1;
    while (len && (*line == ' ' || *line == '\t')) { line++; len--; }
    while (len && (line[len - 1] == '\r' || line[len - 1] == '\n' || line[len - 1] == ' ')) len--;
    v = len < outlen - 1 ? len : outlen - 1;
    memcpy(out, line, v);
    out[v] = 0;
    return 1;
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *userdata)
{
    struct transfer *t = userdata;
    size_t len = size * nmemb;
    char v[256];

    if (len > 5 && !strncmp(line, "HTTP/", 5)) {   /* a new response (after 100-continue) */
        t->resp->etag[0] = 0;
        t->resp->content_length = t->resp->total_size = t->resp->last_modified = -1;
    } else if (header_value(line, len, "ETag", v, sizeof v)) {
        snprintf(t->resp->etag, sizeof t->resp->etag, "%s", v);
    } else if (header_value(line, len, "Content-Length", v, sizeof v)) {
        t->resp->content_length = strtoll(v, NULL, 10);
        if (t->resp->total_size < 0) t->resp->total_size = t->resp->content_length;
    } else if (header_value(line, len, "Content-Range", v, sizeof v)) {
        const char *slash = strchr(v, '/');
        if (slash && slash[1] != '*') t->resp->total_size = strtoll(slash + 1, NULL, 10);
    } else if (header_value(line, len, "Last-Modified", v, sizeof v)) {
        t->resp->last_modified = (int64_t)curl_getdate(v, NULL);
    }
    return len;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int retryable_status(long s)
{
    return s == 429 || s == 500 || s == 502 || s == 503 || s == 504;
}

static void sleep_backoff(int attempt, int64_t deadline)
{
    static __thread unsigned seed;
    int64_t cap = 100LL << (attempt < 6 ? attempt : 6), ms, left = deadline - now_ms();
    if (!seed) seed = (unsigned)getpid() ^ (unsigned)now_ms();
    ms = (int64_t)(rand_r(&seed) % (unsigned)(cap + 1));   /* full jitter */
    if (ms > left) ms = left > 0 ? left : 0;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static void setup(CURL *h, const struct http_request *req, struct transfer *t, struct curl_slist *hdrs,
                  long connect_ms, long stall_s, char *errbuf)
{
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, stall_s);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 256L * 1024);
    if (req->ca_bundle) curl_easy_setopt(h, CURLOPT_CAINFO, req->ca_bundle);
    if (req->insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (!strcmp(req->method, "HEAD")) curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    else if (!strcmp(req->method, "PUT")) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_upload);
        curl_easy_setopt(h, CURLOPT_READDATA, t);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->body_len);
    } else if (!strcmp(req->method, "POST")) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? req->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    } else if (strcmp(req->method, "GET")) curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
}

int http_execute(const struct http_request *req, struct http_response *resp)
{
    int64_t deadline = now_ms() + req->timeout_ms;
    char errbuf[CURL_ERROR_SIZE];
    CURLcode rc = CURLE_OK;
    CURL *h = handle_take();

    memset(resp, 0, sizeof *resp);
    if (!h) return -ENOMEM;
    for (int attempt = 0;; attempt++) {
        struct transfer t = {h, req, resp, 0, 0, 0};
        struct curl_slist *hdrs = req->prepare ? req->prepare(req->prepare_ctx) : NULL;
        int64_t left = deadline - now_ms();
        long connect_ms = req->connect_timeout_ms < left ? req->connect_timeout_ms : (long)(left > 1 ? left : 1);

        free(resp->body);
        memset(resp, 0, sizeof *resp);
        resp->content_length = resp->total_size = resp->last_modified = -1;
        errbuf[0] = 0;
        setup(h, req, &t, hdrs, connect_ms, req->timeout_ms / 1000 > 1 ? req->timeout_ms / 1000 : 1, errbuf);
        rc = curl_easy_perform(h);
        curl_slist_free_all(hdrs);
        if (rc == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
        if (t.sink_failed) {
            handle_give(h);
            return -EIO;
        }
        if (rc == CURLE_OK && !retryable_status(resp->status)) break;
        if (attempt >= req->max_retries || now_ms() >= deadline) break;
        counters_add(CTR_RETRIES, 1);
        if (rc != CURLE_OK)
            log_info("%s: %s; retrying", req->what, errbuf[0] ? errbuf : curl_easy_strerror(rc));
        else
            log_info("%s: HTTP %ld; retrying", req->what, resp->status);
        sleep_backoff(attempt, deadline);
    }
    if (rc != CURLE_OK) {
        /* A failed transfer may leave the connection in any state: do not reuse the handle. */
        curl_easy_cleanup(h);
        counters_add(CTR_ERRORS, 1);
        const char *host = strstr(req->url, "://");
        int origin_len = host ? (int)(host + 3 - req->url + (long)strcspn(host + 3, "/")) : (int)strlen(req->url);
        log_error("%s failed: %s; check that the endpoint %.*s is right and reachable", req->what,
                  errbuf[0] ? errbuf : curl_easy_strerror(rc), origin_len, req->url);
        return -EIO;
    }
    handle_give(h);
    return 0;
}

void http_response_free(struct http_response *resp)
{
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
}
