/* tests/sigv4_cli.c — signs requests read from stdin, one per line, for comparison with
 * botocore's signer (tests/test_sigv4_botocore.py). Line format, tab-separated:
 *   METHOD  HOST  KEY(raw)  AMZDATE  QUERY(name=value pairs joined by \x01, raw)
 * Prints the Authorization header value for each line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../backends/sigv4.h"

#define AK "AKIDEXAMPLE"
#define SK "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

int main(void)
{
    char line[16384];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = 0;
        char *f[5] = {0}, *save = NULL, *p = line;
        for (int i = 0; i < 5; i++) {
            f[i] = p;
            p = strchr(p, '\t');
            if (p) *p++ = 0;
            else { for (int j = i + 1; j < 5; j++) f[j] = ""; break; }
        }
        struct sigv4_pair q[64];
        int nq = 0;
        for (char *t = strtok_r(f[4], "\x01", &save); t && nq < 64; t = strtok_r(NULL, "\x01", &save)) {
            char *eq = strchr(t, '=');
            if (eq) *eq = 0;
            q[nq].name = t;
            q[nq++].value = eq ? eq + 1 : "";
        }
        char uri[8192] = "/", auth[1024];
        sigv4_uri_encode(f[2], 1, uri + 1, sizeof uri - 1);
        char *query = sigv4_canonical_query(q, nq);
        struct sigv4_pair h[] = {{"host", f[1]}, {"x-amz-content-sha256", SIGV4_EMPTY_SHA256}, {"x-amz-date", f[3]}};
        struct sigv4_request r = {f[0], uri, query, h, 3, SIGV4_EMPTY_SHA256, f[3], "us-east-1", "s3"};
        sigv4_authorization(&r, AK, SK, auth, sizeof auth);
        printf("%s\n", auth);
        free(query);
    }
    return 0;
}
