/* backends/s3.c — the S3 backend (AWS S3 and compatibles: Ceph RGW, MinIO, OSS, GCS interop, R2).
 *
 * Requests are signed with SigV4 (sigv4.c) unless the mount is anonymous or no credentials are
 * configured. Addressing is virtual-hosted for AWS and path-style for endpoints that are an IP
 * address or localhost (as the AWS SDKs decide), overridable with path_style=0|1.
 * Mount options: endpoint, region, path_style, anonymous, profile, timeout (s), connect_timeout (s),
 * retries. */
#include <ctype.h>
#include <openssl/evp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/counters.h"
#include "../common/log.h"
#include "aws_config.h"
#include "backend.h"
#include "http.h"
#include "s3_xml.h"
#include "sigv4.h"

struct backend {
    char bucket[256];
    char origin[600];               /* scheme://host[:port] the requests go to */
    char host[520];                 /* Host header value as curl sends it */
    int path_style;
    int anonymous;
    int warned_no_credentials;
    int diagnosed_403;
    long timeout_ms, connect_timeout_ms;
    int retries;
    struct aws_settings aws;
};

/* ------------------------------------------------------------------ options */

static const char *option(const struct backend_url *u, int *used, const char *name)
{
    for (int i = 0; i < u->n_options; i++)
        if (!strcmp(u->option_names[i], name)) { used[i] = 1; return u->option_values[i]; }
    return NULL;
}

static int parse_bool(const char *v, int *out)
{
    if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes")) { *out = 1; return 0; }
    if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no")) { *out = 0; return 0; }
    return -1;
}

static int parse_seconds(const char *v, long *ms)
{
    char *end;
    double d = strtod(v, &end);
    if (end == v || *end || d <= 0 || d > 86400) return -1;
    *ms = (long)(d * 1000);
    return 0;
}

static int is_ip_or_localhost(const char *host)
{
    size_t n = strcspn(host, ":");
    if (host[0] == '[') return 1;
    if (n == 9 && !strncmp(host, "localhost", 9)) return 1;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)host[i]) && host[i] != '.') return 0;
    return 1;
}

/* Splits "http://host:port/..." into origin and host header value. */
static int parse_endpoint(struct backend *b, const char *url, char *err, size_t errlen)
{
    const char *p = strstr(url, "://");
    size_t n;
    int https;
    if (!p || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))) {
        snprintf(err, errlen, "endpoint '%s' must start with http:// or https://", url);
        return -1;
    }
    https = url[4] == 's';
    p += 3;
    n = strcspn(p, "/?");
    if (n == 0 || n >= sizeof b->host - 300) {
        snprintf(err, errlen, "endpoint '%s' has no host name", url);
        return -1;
    }
    snprintf(b->host, sizeof b->host, "%.*s", (int)n, p);
    /* curl leaves the default port out of the Host header; the signature must match it */
    size_t hl = strlen(b->host);
    if (!https && hl > 3 && !strcmp(b->host + hl - 3, ":80")) b->host[hl - 3] = 0;
    if (https && hl > 4 && !strcmp(b->host + hl - 4, ":443")) b->host[hl - 4] = 0;
    snprintf(b->origin, sizeof b->origin, "%s://%s", https ? "https" : "http", b->host);
    return 0;
}

static int s3_open(const struct backend_url *u, int *used, struct backend **out, char *err, size_t errlen)
{
    struct backend *b = calloc(1, sizeof *b);
    const char *v, *endpoint;
    int path_style = -1;

    if (!b) { snprintf(err, errlen, "out of memory"); return -ENOMEM; }
    if (!*u->bucket || strlen(u->bucket) >= sizeof b->bucket) {
        snprintf(err, errlen, "the URL names no bucket (expected s3://BUCKET/PREFIX)");
        goto fail;
    }
    snprintf(b->bucket, sizeof b->bucket, "%s", u->bucket);
    b->timeout_ms = 30000;
    b->connect_timeout_ms = 5000;
    b->retries = 5;
    aws_settings_load(option(u, used, "profile"), &b->aws);
    if ((v = option(u, used, "region"))) snprintf(b->aws.region, sizeof b->aws.region, "%s", v);
    if (!b->aws.region[0]) snprintf(b->aws.region, sizeof b->aws.region, "us-east-1");
    if ((v = option(u, used, "anonymous")) && parse_bool(v, &b->anonymous)) {
        snprintf(err, errlen, "anonymous=%s is not a boolean (use 0 or 1)", v);
        goto fail;
    }
    if ((v = option(u, used, "path_style")) && parse_bool(v, &path_style)) {
        snprintf(err, errlen, "path_style=%s is not a boolean (use 0 or 1)", v);
        goto fail;
    }
    if ((v = option(u, used, "timeout")) && parse_seconds(v, &b->timeout_ms)) {
        snprintf(err, errlen, "timeout=%s is not a number of seconds", v);
        goto fail;
    }
    if ((v = option(u, used, "connect_timeout")) && parse_seconds(v, &b->connect_timeout_ms)) {
        snprintf(err, errlen, "connect_timeout=%s is not a number of seconds", v);
        goto fail;
    }
    if ((v = option(u, used, "retries"))) {
        char *end;
        long r = strtol(v, &end, 10);
        if (end == v || *end || r < 0 || r > 20) {
            snprintf(err, errlen, "retries=%s is not a number from 0 to 20", v);
            goto fail;
        }
        b->retries = (int)r;
    }
    endpoint = option(u, used, "endpoint");
    if (!endpoint && b->aws.endpoint_url[0]) endpoint = b->aws.endpoint_url;
    if (endpoint) {
        if (parse_endpoint(b, endpoint, err, errlen)) goto fail;
        if (path_style < 0) path_style = is_ip_or_localhost(b->host);
    } else {
        char aws[300];
        snprintf(aws, sizeof aws, "https://s3.%s.amazonaws.com", b->aws.region);
        parse_endpoint(b, aws, err, errlen);
        /* dotted bucket names break the TLS wildcard certificate of virtual-hosted names */
        if (path_style < 0) path_style = strchr(b->bucket, '.') != NULL;
    }
    b->path_style = path_style;
    if (!b->path_style) {
        char vhost[600];
        snprintf(vhost, sizeof vhost, "%s.%s", b->bucket, b->host);
        snprintf(b->host, sizeof b->host, "%s", vhost);
        snprintf(b->origin, sizeof b->origin, "%s://%s", strncmp(b->origin, "https", 5) ? "http" : "https", vhost);
    }
    if (!b->anonymous && (!b->aws.access_key[0] || !b->aws.secret_key[0])) {
        if (b->aws.access_key[0])
            log_warn("s3://%s: an access key is configured (%s) but no secret key; sending unsigned requests. "
                     "Set AWS_SECRET_ACCESS_KEY", b->bucket, b->aws.credentials_source);
        b->anonymous = 1;
        b->warned_no_credentials = 1;
    }
    log_info("s3://%s: endpoint %s, %s addressing, region %s, %s", b->bucket, b->origin,
             b->path_style ? "path-style" : "virtual-hosted", b->aws.region,
             b->anonymous ? "anonymous" : b->aws.credentials_source);
    *out = b;
    return 0;
fail:
    free(b);
    return -EINVAL;
}

static void s3_close(struct backend *b)
{
    free(b);
}

/* ------------------------------------------------------------------ requests */

struct s3_call {
    struct backend *b;
    const char *method;
    char canonical_uri[3200];
    char *canonical_query;
    char url[4400];
    char range[64];
    char if_match[BACKEND_ETAG_MAX + 16];
    char content_md5[32];           /* base64 MD5 of the body, for the store to verify */
    char copy_source[3300];         /* x-amz-copy-source of a server-side copy */
    const void *body;
    size_t body_len;
    char what[1200];
};

static struct curl_slist *sign(void *ctx)
{
    struct s3_call *c = ctx;
    struct backend *b = c->b;
    struct curl_slist *h = NULL;
    char date[17], line[4300];
    /* bodies are verified by Content-MD5, so their SHA-256 is not computed for the signature */
    const char *payload = c->body || !strcmp(c->method, "PUT") ? "UNSIGNED-PAYLOAD" : SIGV4_EMPTY_SHA256;

    if (c->range[0]) { snprintf(line, sizeof line, "Range: %s", c->range); h = curl_slist_append(h, line); }
    if (c->if_match[0]) { snprintf(line, sizeof line, "If-Match: %s", c->if_match); h = curl_slist_append(h, line); }
    if (c->content_md5[0]) { snprintf(line, sizeof line, "Content-MD5: %s", c->content_md5); h = curl_slist_append(h, line); }
    if (c->copy_source[0]) { snprintf(line, sizeof line, "x-amz-copy-source: %s", c->copy_source); h = curl_slist_append(h, line); }
    h = curl_slist_append(h, "Accept:");
    h = curl_slist_append(h, "Expect:");            /* no 100-continue round trip before a body */
    h = curl_slist_append(h, "Content-Type:");
    if (b->anonymous) return h;

    sigv4_amz_date(time(NULL), date);
    struct sigv4_pair hdrs[8] = {{"host", b->host}, {"x-amz-content-sha256", payload}, {"x-amz-date", date}};
    int n = 3;
    if (c->range[0]) hdrs[n++] = (struct sigv4_pair){"range", c->range};
    if (c->content_md5[0]) hdrs[n++] = (struct sigv4_pair){"content-md5", c->content_md5};
    if (c->copy_source[0]) hdrs[n++] = (struct sigv4_pair){"x-amz-copy-source", c->copy_source};
    if (b->aws.session_token[0]) hdrs[n++] = (struct sigv4_pair){"x-amz-security-token", b->aws.session_token};
    struct sigv4_request r = {c->method, c->canonical_uri, c->canonical_query ? c->canonical_query : "", hdrs, n,
                              payload, date, b->aws.region, "s3"};
    char auth[1024];
    if (sigv4_authorization(&r, b->aws.access_key, b->aws.secret_key, auth, sizeof auth) == 0) {
        snprintf(line, sizeof line, "Authorization: %s", auth);
        h = curl_slist_append(h, line);
    }
    snprintf(line, sizeof line, "x-amz-date: %s", date);
    h = curl_slist_append(h, line);
    snprintf(line, sizeof line, "x-amz-content-sha256: %s", payload);
    h = curl_slist_append(h, line);
    if (b->aws.session_token[0]) {
        snprintf(line, sizeof line, "x-amz-security-token: %s", b->aws.session_token);
        h = curl_slist_append(h, line);
    }
    return h;
}

static int call_init(struct s3_call *c, struct backend *b, const char *method, const char *key,
                     const struct sigv4_pair *query, int n_query)
{
    char enc[3100];
    memset(c, 0, sizeof *c);
    c->b = b;
    c->method = method;
    if (sigv4_uri_encode(key, 1, enc, sizeof enc) < 0) return -ENAMETOOLONG;
    if (b->path_style)
        snprintf(c->canonical_uri, sizeof c->canonical_uri, "/%s%s%s", b->bucket, *key || !n_query ? "/" : "", enc);
    else
        snprintf(c->canonical_uri, sizeof c->canonical_uri, "/%s", enc);
    if (n_query && !(c->canonical_query = sigv4_canonical_query(query, n_query))) return -ENOMEM;
    snprintf(c->url, sizeof c->url, "%s%s%s%s", b->origin, c->canonical_uri, c->canonical_query ? "?" : "",
             c->canonical_query ? c->canonical_query : "");
    snprintf(c->what, sizeof c->what, "%s s3://%s/%s", method, b->bucket, key);
    return 0;
}

/* Explains a 403 whose body gave no code (HEAD responses have no body): asks once with a GET. */
static void diagnose_forbidden(struct backend *b, const char *key);

/* Maps a final non-2xx response to an errno, logging what a user can do about it. */
static int map_status(struct backend *b, struct s3_call *c, const struct http_response *r, const char *key)
{
    char code[64], msg[256];
    s3_xml_parse_error(r->body, r->body_len, code, sizeof code, msg, sizeof msg);
    switch (r->status) {
    case 304: case 412:
        return -ESTALE;
    case 404:
        if (!strcmp(code, "NoSuchBucket")) {
            log_error("%s: bucket '%s' does not exist at %s; check the mount URL", c->what, b->bucket, b->origin);
            return -ENOENT;
        }
        return -ENOENT;
    case 403:
        counters_add(CTR_ERRORS, 1);
        if (!code[0] && !strcmp(c->method, "HEAD")) { diagnose_forbidden(b, key); return -EACCES; }
        if (!strcmp(code, "SignatureDoesNotMatch"))
            log_error("%s: the store rejected the request signature (SignatureDoesNotMatch): the secret key from %s "
                      "does not match access key %s; fix AWS_SECRET_ACCESS_KEY or the profile", c->what,
                      b->aws.credentials_source, b->aws.access_key);
        else if (!strcmp(code, "InvalidAccessKeyId"))
            log_error("%s: the store does not know access key %s (InvalidAccessKeyId, from %s)", c->what,
                      b->aws.access_key, b->aws.credentials_source);
        else if (!strcmp(code, "RequestTimeTooSkewed"))
            log_error("%s: the store rejected the request time (RequestTimeTooSkewed); fix this machine's clock", c->what);
        else if (b->warned_no_credentials)
            log_error("%s: access denied (%s) and no credentials were found; set AWS_ACCESS_KEY_ID and "
                      "AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or add anonymous=1 for a public bucket", c->what,
                      code[0] ? code : "HTTP 403");
        else
            log_error("%s: access denied (%s%s%s); the credentials from %s lack permission", c->what,
                      code[0] ? code : "HTTP 403", msg[0] ? ": " : "", msg, b->aws.credentials_source);
        return -EACCES;
    case 301: case 307: case 400:
        counters_add(CTR_ERRORS, 1);
        log_error("%s: HTTP %ld %s%s%s%s", c->what, r->status, code, msg[0] ? ": " : "", msg,
                  r->status != 400 || !strcmp(code, "AuthorizationHeaderMalformed")
                      ? "; the bucket may be in another region: set region= in the mount URL" : "");
        return -EIO;
    case 416:
        return -EINVAL;
    default:
        counters_add(CTR_ERRORS, 1);
        log_error("%s: HTTP %ld%s%s%s%s (after retries): the store is failing or overloaded", c->what, r->status,
                  code[0] ? " " : "", code, msg[0] ? ": " : "", msg);
        return -EIO;
    }
}

static int run(struct s3_call *c, data_sink_fn sink, void *sink_ctx, struct http_response *resp)
{
    struct backend *b = c->b;
    struct http_request req = {
        .method = c->method, .url = c->url, .prepare = sign, .prepare_ctx = c, .sink = sink,
        .sink_ctx = sink_ctx, .body = c->body, .body_len = c->body_len, .timeout_ms = b->timeout_ms,
        .connect_timeout_ms = b->connect_timeout_ms, .max_retries = b->retries,
        .ca_bundle = b->aws.ca_bundle[0] ? b->aws.ca_bundle : NULL, .what = c->what,
    };
    return http_execute(&req, resp);
}

static void fill_info(const struct http_response *r, struct object_info *info)
{
    info->size = r->total_size >= 0 ? (uint64_t)r->total_size : 0;
    info->mtime = r->last_modified >= 0 ? r->last_modified : 0;
    snprintf(info->etag, sizeof info->etag, "%s", r->etag);
}

static int s3_head(struct backend *b, const char *key, struct object_info *out)
{
    struct s3_call c;
    struct http_response r;
    int rc = call_init(&c, b, "HEAD", key, NULL, 0);
    if (rc) return rc;
    counters_add(CTR_HEAD, 1);
    rc = run(&c, NULL, NULL, &r);
    if (rc == 0) {
        if (r.status == 200) fill_info(&r, out);
        else rc = map_status(b, &c, &r, key);
    }
    http_response_free(&r);
    return rc;
}

static int s3_get(struct backend *b, const char *key, const char *etag, uint64_t off, uint64_t len,
                  data_sink_fn sink, void *sink_ctx, struct object_info *info)
{
    struct s3_call c;
    struct http_response r;
    int rc = call_init(&c, b, "GET", key, NULL, 0);
    if (rc) return rc;
    if (len) snprintf(c.range, sizeof c.range, "bytes=%llu-%llu", (unsigned long long)off, (unsigned long long)(off + len - 1));
    else if (off) snprintf(c.range, sizeof c.range, "bytes=%llu-", (unsigned long long)off);
    if (etag && *etag) snprintf(c.if_match, sizeof c.if_match, "%s", etag);
    counters_add(CTR_GET, 1);
    rc = run(&c, sink, sink_ctx, &r);
    if (rc == 0) {
        if (r.status == 200 || r.status == 206) {
            if (info) fill_info(&r, info);
            counters_add(CTR_BYTES_FETCHED, r.content_length > 0 ? (uint64_t)r.content_length : 0);
        } else {
            rc = map_status(b, &c, &r, key);
        }
    }
    http_response_free(&r);
    return rc;
}

static void diagnose_forbidden(struct backend *b, const char *key)
{
    struct s3_call c;
    struct http_response r;
    if (__atomic_exchange_n(&b->diagnosed_403, 1, __ATOMIC_RELAXED)) return;
    if (call_init(&c, b, "GET", key, NULL, 0)) return;
    snprintf(c.range, sizeof c.range, "bytes=0-0");
    if (run(&c, NULL, NULL, &r) == 0 && r.status == 403) map_status(b, &c, &r, key);
    else log_error("HEAD s3://%s/%s: access denied (HTTP 403)", b->bucket, key);
    http_response_free(&r);
}

static int s3_list(struct backend *b, const char *prefix, int recursive, list_entry_fn fn, void *ctx)
{
    char *token = NULL;
    size_t plen = strlen(prefix);
    int rc = 0;

    do {
        struct sigv4_pair q[6] = {{"list-type", "2"}, {"prefix", prefix}, {"max-keys", "1000"}, {"encoding-type", "url"}};
        int nq = 4;
        struct s3_call c;
        struct http_response r;
        struct s3_list_page page;

        if (!recursive) q[nq++] = (struct sigv4_pair){"delimiter", "/"};
        if (token) q[nq++] = (struct sigv4_pair){"continuation-token", token};
        rc = call_init(&c, b, "GET", "", q, nq);
        snprintf(c.what, sizeof c.what, "LIST s3://%s/%s", b->bucket, prefix);
        if (rc) break;
        counters_add(CTR_LIST, 1);
        rc = run(&c, NULL, NULL, &r);
        free(c.canonical_query);
        if (rc == 0 && r.status != 200) rc = map_status(b, &c, &r, prefix);
        if (rc == 0 && s3_xml_parse_list(r.body, r.body_len, &page) != 0) {
            log_error("%s: the response is not a ListBucketResult document", c.what);
            rc = -EIO;
        }
        http_response_free(&r);
        if (rc) break;
        for (int i = 0; i < page.n_items && rc == 0; i++) {
            struct s3_list_item *it = &page.items[i];
            struct list_entry e = {0};
            size_t klen = strlen(it->key);
            if (klen <= plen || strncmp(it->key, prefix, plen)) continue;   /* the marker itself */
            e.name = it->key + plen;
            e.is_dir = it->is_prefix || it->key[klen - 1] == '/';
            if (e.is_dir) it->key[klen - 1] = it->key[klen - 1] == '/' ? 0 : it->key[klen - 1];
            e.info = it->info;
            if (*e.name) rc = fn(ctx, &e);
        }
        free(token);
        token = page.truncated && page.next_token ? strdup(page.next_token) : NULL;
        if (page.truncated && !token && rc == 0) {
            log_error("LIST s3://%s/%s: truncated page without a continuation token", b->bucket, prefix);
            rc = -EIO;
        }
        s3_xml_free_list(&page);
    } while (token && rc == 0);
    free(token);
    return rc;
}

/* ------------------------------------------------------------------ writes */

/* The body and its Content-MD5 (md5: 16 bytes from the caller, or NULL to hash here). */
static void set_body(struct s3_call *c, const void *data, size_t len, const unsigned char *md5)
{
    unsigned char own[EVP_MAX_MD_SIZE];
    unsigned int n = 16;
    if (!md5) EVP_Digest(data, len, own, &n, EVP_md5(), NULL);
    EVP_EncodeBlock((unsigned char *)c->content_md5, md5 ? md5 : own, 16);
    c->body = data ? data : "";
    c->body_len = len;
}

/* Runs a call that expects a body-less 2xx, or a 2xx whose XML document has root element
 * `root` (CopyObject and CompleteMultipartUpload answer 200 with an <Error> document when they
 * fail late); fills name1/name2 from it. */
static int run_expecting(struct s3_call *c, const char *key, const char *root, const char *name1, char *out1,
                         size_t len1, const char *name2, char *out2, size_t len2, struct http_response *r)
{
    int rc = run(c, NULL, NULL, r);
    if (rc) return rc;
    if (r->status < 200 || r->status > 299) return map_status(c->b, c, r, key);
    if (root && !s3_xml_fields(r->body, r->body_len, root, name1, out1, len1, name2, out2, len2)) {
        r->status = 500;           /* a 200 carrying an error: report it as the failure it is */
        return map_status(c->b, c, r, key);
    }
    return 0;
}

static int s3_put(struct backend *b, const char *key, const void *data, size_t len, const unsigned char *md5,
                  struct object_info *info)
{
    struct s3_call c;
    struct http_response r;
    int rc = call_init(&c, b, "PUT", key, NULL, 0);
    if (rc) return rc;
    set_body(&c, data, len, md5);
    counters_add(CTR_PUT, 1);
    rc = run_expecting(&c, key, NULL, NULL, NULL, 0, NULL, NULL, 0, &r);
    if (rc == 0) {
        info->size = len;
        info->mtime = time(NULL);
        snprintf(info->etag, sizeof info->etag, "%s", r.etag);
        counters_add(CTR_BYTES_UPLOADED, len);
    }
    http_response_free(&r);
    return rc;
}

static int s3_remove(struct backend *b, const char *key)
{
    struct s3_call c;
    struct http_response r;
    int rc = call_init(&c, b, "DELETE", key, NULL, 0);
    if (rc) return rc;
    counters_add(CTR_DELETE, 1);
    rc = run_expecting(&c, key, NULL, NULL, NULL, 0, NULL, NULL, 0, &r);
    http_response_free(&r);
    return rc == -ENOENT ? 0 : rc;
}

static int s3_copy(struct backend *b, const char *src, const char *dst, struct object_info *info)
{
    struct s3_call c;
    struct http_response r;
    char enc[3100], mtime[64];
    int rc = call_init(&c, b, "PUT", dst, NULL, 0);
    if (rc) return rc;
    if (sigv4_uri_encode(src, 1, enc, sizeof enc) < 0) return -ENAMETOOLONG;
    snprintf(c.copy_source, sizeof c.copy_source, "/%s/%s", b->bucket, enc);
    snprintf(c.what, sizeof c.what, "COPY s3://%s/%s to %s", b->bucket, src, dst);
    counters_add(CTR_PUT, 1);
    rc = run_expecting(&c, src, "CopyObjectResult", "ETag", info->etag, sizeof info->etag, "LastModified", mtime,
                       sizeof mtime, &r);
    if (rc == 0) {
        long long t = s3_parse_iso8601(mtime);
        info->mtime = t > 0 ? t : time(NULL);
    }
    http_response_free(&r);
    return rc;
}

static int s3_multipart_begin(struct backend *b, const char *key, char *upload_id, size_t idlen)
{
    struct s3_call c;
    struct http_response r;
    struct sigv4_pair q[1] = {{"uploads", ""}};
    int rc = call_init(&c, b, "POST", key, q, 1);
    if (rc) return rc;
    snprintf(c.what, sizeof c.what, "CREATE MULTIPART UPLOAD s3://%s/%s", b->bucket, key);
    counters_add(CTR_PUT, 1);
    rc = run_expecting(&c, key, "InitiateMultipartUploadResult", "UploadId", upload_id, idlen, NULL, NULL, 0, &r);
    free(c.canonical_query);
    if (rc == 0 && !upload_id[0]) {
        log_error("%s: the response carries no UploadId", c.what);
        rc = -EIO;
    }
    http_response_free(&r);
    return rc;
}

static int s3_multipart_part(struct backend *b, const char *key, const char *upload_id, int number,
                             const void *data, size_t len, const unsigned char *md5, char etag[BACKEND_ETAG_MAX])
{
    struct s3_call c;
    struct http_response r;
    char num[16];
    snprintf(num, sizeof num, "%d", number);
    struct sigv4_pair q[2] = {{"partNumber", num}, {"uploadId", upload_id}};
    int rc = call_init(&c, b, "PUT", key, q, 2);
    if (rc) return rc;
    snprintf(c.what, sizeof c.what, "UPLOAD PART %d of s3://%s/%s", number, b->bucket, key);
    set_body(&c, data, len, md5);
    counters_add(CTR_PUT, 1);
    rc = run_expecting(&c, key, NULL, NULL, NULL, 0, NULL, NULL, 0, &r);
    free(c.canonical_query);
    if (rc == 0) {
        snprintf(etag, BACKEND_ETAG_MAX, "%s", r.etag);
        counters_add(CTR_BYTES_UPLOADED, len);
    }
    http_response_free(&r);
    return rc;
}

static int s3_multipart_complete(struct backend *b, const char *key, const char *upload_id,
                                 const struct upload_part *parts, int n, struct object_info *info)
{
    struct s3_call c;
    struct http_response r;
    struct sigv4_pair q[1] = {{"uploadId", upload_id}};
    size_t cap = 64 + (size_t)n * (64 + BACKEND_ETAG_MAX), len = 0;
    char *xml = malloc(cap);
    int rc;
    if (!xml) return -ENOMEM;
    len += (size_t)snprintf(xml + len, cap - len, "<CompleteMultipartUpload>");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(xml + len, cap - len, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>",
                                parts[i].number, parts[i].etag);
    len += (size_t)snprintf(xml + len, cap - len, "</CompleteMultipartUpload>");
    if ((rc = call_init(&c, b, "POST", key, q, 1))) { free(xml); return rc; }
    snprintf(c.what, sizeof c.what, "COMPLETE MULTIPART UPLOAD s3://%s/%s", b->bucket, key);
    set_body(&c, xml, len, NULL);
    counters_add(CTR_PUT, 1);
    rc = run_expecting(&c, key, "CompleteMultipartUploadResult", "ETag", info->etag, sizeof info->etag, NULL, NULL,
                       0, &r);
    info->mtime = time(NULL);
    free(c.canonical_query);
    free(xml);
    http_response_free(&r);
    return rc;
}

static int s3_multipart_abort(struct backend *b, const char *key, const char *upload_id)
{
    struct s3_call c;
    struct http_response r;
    struct sigv4_pair q[1] = {{"uploadId", upload_id}};
    int rc = call_init(&c, b, "DELETE", key, q, 1);
    if (rc) return rc;
    snprintf(c.what, sizeof c.what, "ABORT MULTIPART UPLOAD s3://%s/%s", b->bucket, key);
    counters_add(CTR_DELETE, 1);
    rc = run_expecting(&c, key, NULL, NULL, NULL, 0, NULL, NULL, 0, &r);
    free(c.canonical_query);
    http_response_free(&r);
    return rc == -ENOENT ? 0 : rc;     /* NoSuchUpload: already gone */
}

const struct backend_ops s3_backend = {
    .version = 1,
    .scheme = "s3",
    .open = s3_open,
    .close = s3_close,
    .head = s3_head,
    .list = s3_list,
    .get = s3_get,
    .put = s3_put,
    .remove = s3_remove,
    .copy = s3_copy,
    .multipart_begin = s3_multipart_begin,
    .multipart_part = s3_multipart_part,
    .multipart_complete = s3_multipart_complete,
    .multipart_abort = s3_multipart_abort,
    .after_fork = http_after_fork,
};
