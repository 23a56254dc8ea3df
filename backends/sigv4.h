/* backends/sigv4.h — AWS Signature Version 4, by hand with OpenSSL (HMAC-SHA256, SHA-256).
 * Pure functions: no I/O, no clock (the caller passes the time), no globals. S3 rules: the
 * canonical URI is encoded once, never normalised. */
#ifndef UFSHIM_SIGV4_H
#define UFSHIM_SIGV4_H

#include <stddef.h>
#include <time.h>

#define SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct sigv4_pair {
    const char *name;
    const char *value;
};

struct sigv4_request {
    const char *method;
    const char *canonical_uri;      /* already encoded with sigv4_uri_encode(…, keep_slash=1) */
    const char *canonical_query;    /* from sigv4_canonical_query, "" for none */
    const struct sigv4_pair *headers; /* lowercase names, the exact values sent; include host */
    int n_headers;
    const char *payload_hash;       /* hex SHA-256 of the body, or "UNSIGNED-PAYLOAD" */
    const char *amz_date;           /* YYYYMMDDTHHMMSSZ */
    const char *region;
    const char *service;
};

/* Percent-encodes s (UTF-8 bytes) keeping A-Z a-z 0-9 - . _ ~ (and '/' if keep_slash).
 * Returns the length written, or -1 if out is too small. */
int sigv4_uri_encode(const char *s, int keep_slash, char *out, size_t outlen);
/* Encodes, sorts and joins query parameters; the result is malloc'd (NULL on ENOMEM). The same
 * string must be used in the URL that is sent. */
char *sigv4_canonical_query(const struct sigv4_pair *params, int n);
void sigv4_amz_date(time_t t, char out[17]);
/* The canonical request (malloc'd), exposed for tests and debug logs. */
char *sigv4_canonical_request(const struct sigv4_request *req);
/* Writes the Authorization header value. Returns 0, or -1 if out is too small or on ENOMEM. */
int sigv4_authorization(const struct sigv4_request *req, const char *access_key, const char *secret_key,
                        char *out, size_t outlen);
/* Lowercase hex SHA-256 of data into out[65]. */
void sigv4_sha256_hex(const void *data, size_t len, char out[65]);

#endif
