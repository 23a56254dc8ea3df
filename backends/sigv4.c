/* backends/sigv4.c — see sigv4.h. */
#include "sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

int sigv4_uri_encode(const char *s, int keep_slash, char *out, size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (unreserved(*p) || (keep_slash && *p == '/')) {
            if (n + 1 >= outlen) return -1;
            out[n++] = (char)*p;
        } else {
            if (n + 3 >= outlen) return -1;
            out[n++] = '%';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 15];
        }
    }
    if (n >= outlen) return -1;
    out[n] = 0;
    return (int)n;
}

struct encoded_pair {
    char *name, *value;
};

static int cmp_pair(const void *a, const void *b)
{
    const struct encoded_pair *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

static char *encode_dup(const char *s)
{
    size_t cap = strlen(s) * 3 + 1;
    char *out = malloc(cap);
    if (out) sigv4_uri_encode(s, 0, out, cap);
    return out;
}

char *sigv4_canonical_query(const struct sigv4_pair *params, int n)
{
    struct encoded_pair *e = calloc((size_t)n + 1, sizeof *e);
    size_t total = 1;
    char *out = NULL;

    if (!e) return NULL;
    for (int i = 0; i < n; i++) {
        e[i].name = encode_dup(params[i].name);
        e[i].value = encode_dup(params[i].value ? params[i].value : "");
        if (!e[i].name || !e[i].value) goto done;
        total += strlen(e[i].name) + strlen(e[i].value) + 2;
    }
    qsort(e, (size_t)n, sizeof *e, cmp_pair);
    out = malloc(total);
    if (!out) goto done;
    out[0] = 0;
    for (int i = 0, len = 0; i < n; i++)
        len += sprintf(out + len, "%s%s=%s", i ? "&" : "", e[i].name, e[i].value);
done:
    for (int i = 0; i < n; i++) { free(e[i].name); free(e[i].value); }
    free(e);
    return out;
}

void sigv4_amz_date(time_t t, char out[17])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

void sigv4_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(data, len, md);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) sprintf(out + 2 * i, "%02x", md[i]);
}

static int cmp_header(const void *a, const void *b)
{
    return strcmp(((const struct sigv4_pair *)a)->name, ((const struct sigv4_pair *)b)->name);
}

/* Sorted copy of the headers, and the "a;b;c" signed-headers list. */
static struct sigv4_pair *sorted_headers(const struct sigv4_request *r, char *signed_list, size_t cap)
{
    struct sigv4_pair *h = malloc(sizeof *h * (size_t)(r->n_headers ? r->n_headers : 1));
    size_t n = 0;
    if (!h) return NULL;
    memcpy(h, r->headers, sizeof *h * (size_t)r->n_headers);
    qsort(h, (size_t)r->n_headers, sizeof *h, cmp_header);
    signed_list[0] = 0;
    for (int i = 0; i < r->n_headers; i++)
        n += (size_t)snprintf(signed_list + n, n < cap ? cap - n : 0, "%s%s", i ? ";" : "", h[i].name);
    return h;
}

static char *canonical_request(const struct sigv4_request *r, char *signed_list, size_t cap)
{
    struct sigv4_pair *h = sorted_headers(r, signed_list, cap);
    size_t total = strlen(r->method) + strlen(r->canonical_uri) + strlen(r->canonical_query) +
                   strlen(signed_list) + strlen(r->payload_hash) + 8;
    char *out, *p;

    if (!h) return NULL;
    for (int i = 0; i < r->n_headers; i++) total += strlen(h[i].name) + strlen(h[i].value) + 2;
    out = malloc(total);
    if (out) {
        p = out + sprintf(out, "%s\n%s\n%s\n", r->method, r->canonical_uri, r->canonical_query);
        for (int i = 0; i < r->n_headers; i++) p += sprintf(p, "%s:%s\n", h[i].name, h[i].value);
        sprintf(p, "\n%s\n%s", signed_list, r->payload_hash);
    }
    free(h);
    return out;
}

char *sigv4_canonical_request(const struct sigv4_request *req)
{
    char signed_list[1024];
    return canonical_request(req, signed_list, sizeof signed_list);
}

static void hmac(const void *key, size_t keylen, const char *msg, unsigned char out[32])
{
    unsigned int len = 32;
    HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, strlen(msg), out, &len);
}

int sigv4_authorization(const struct sigv4_request *r, const char *access_key, const char *secret_key,
                        char *out, size_t outlen)
{
    char signed_list[1024], date[9], scope[128], creq_hash[65], sts[512], secret[256], sig[65];
    unsigned char k[32], s[32];
    char *creq = canonical_request(r, signed_list, sizeof signed_list);
    int n;

    if (!creq) return -1;
    sigv4_sha256_hex(creq, strlen(creq), creq_hash);
    free(creq);
    memcpy(date, r->amz_date, 8);
    date[8] = 0;
    snprintf(scope, sizeof scope, "%s/%s/%s/aws4_request", date, r->region, r->service);
    snprintf(sts, sizeof sts, "AWS4-HMAC-SHA256\n%s\n%s\n%s", r->amz_date, scope, creq_hash);
    snprintf(secret, sizeof secret, "AWS4%s", secret_key);
    hmac(secret, strlen(secret), date, k);
    hmac(k, 32, r->region, k);
    hmac(k, 32, r->service, k);
    hmac(k, 32, "aws4_request", k);
    hmac(k, 32, sts, s);
    OPENSSL_cleanse(secret, sizeof secret);
    OPENSSL_cleanse(k, sizeof k);
    for (int i = 0; i < 32; i++) sprintf(sig + 2 * i, "%02x", s[i]);
    n = snprintf(out, outlen, "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
                 access_key, scope, signed_list, sig);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}
