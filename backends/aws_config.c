/* backends/aws_config.c — see aws_config.h. */
#include "aws_config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void copy(char *dst, size_t cap, const char *src)
{
    if (src && *src && !*dst) snprintf(dst, cap, "%s", src);
}

static char *trim(char *s)
{
    char *e;
    while (isspace((unsigned char)*s)) s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = 0;
    return s;
}

/* Reads `section` of an INI file, filling fields that are still empty. Returns 1 if the
 * section supplied an access key. */
static int read_ini(const char *path, const char *section, struct aws_settings *out)
{
    char line[4096], cur[256] = "";
    int got_key = 0;
    FILE *f = fopen(path, "re");
    if (!f) return 0;
    while (fgets(line, sizeof line, f)) {
        char *s = trim(line), *eq;
        if (*s == '#' || *s == ';' || !*s) continue;
        if (*s == '[') {
            char *end = strchr(s, ']');
            if (end) *end = 0;
            snprintf(cur, sizeof cur, "%s", trim(s + 1));
            continue;
        }
        if (strcmp(cur, section) || !(eq = strchr(s, '='))) continue;
        *eq = 0;
        char *k = trim(s), *v = trim(eq + 1);
        if (!strcmp(k, "aws_access_key_id")) { copy(out->access_key, sizeof out->access_key, v); got_key = 1; }
        else if (!strcmp(k, "aws_secret_access_key")) copy(out->secret_key, sizeof out->secret_key, v);
        else if (!strcmp(k, "aws_session_token")) copy(out->session_token, sizeof out->session_token, v);
        else if (!strcmp(k, "region")) copy(out->region, sizeof out->region, v);
        else if (!strcmp(k, "endpoint_url")) copy(out->endpoint_url, sizeof out->endpoint_url, v);
        else if (!strcmp(k, "ca_bundle")) copy(out->ca_bundle, sizeof out->ca_bundle, v);
    }
    fclose(f);
    return got_key;
}

void aws_settings_load(const char *profile, struct aws_settings *out)
{
    const char *home = getenv("HOME"), *p;
    char creds_path[512], config_path[512], section[300];

    memset(out, 0, sizeof *out);
    if (!profile || !*profile) profile = getenv("AWS_PROFILE");
    if (!profile || !*profile) profile = "default";

    if (getenv("AWS_ACCESS_KEY_ID") && *getenv("AWS_ACCESS_KEY_ID")) {
        copy(out->access_key, sizeof out->access_key, getenv("AWS_ACCESS_KEY_ID"));
        copy(out->secret_key, sizeof out->secret_key, getenv("AWS_SECRET_ACCESS_KEY"));
        copy(out->session_token, sizeof out->session_token, getenv("AWS_SESSION_TOKEN"));
        snprintf(out->credentials_source, sizeof out->credentials_source, "the environment (AWS_ACCESS_KEY_ID)");
    }
    copy(out->region, sizeof out->region, getenv("AWS_REGION"));
    copy(out->region, sizeof out->region, getenv("AWS_DEFAULT_REGION"));
    copy(out->endpoint_url, sizeof out->endpoint_url, getenv("AWS_ENDPOINT_URL_S3"));
    copy(out->endpoint_url, sizeof out->endpoint_url, getenv("AWS_ENDPOINT_URL"));
    copy(out->ca_bundle, sizeof out->ca_bundle, getenv("AWS_CA_BUNDLE"));

    p = getenv("AWS_SHARED_CREDENTIALS_FILE");
    if (p && *p) snprintf(creds_path, sizeof creds_path, "%s", p);
    else snprintf(creds_path, sizeof creds_path, "%s/.aws/credentials", home ? home : "");
    p = getenv("AWS_CONFIG_FILE");
    if (p && *p) snprintf(config_path, sizeof config_path, "%s", p);
    else snprintf(config_path, sizeof config_path, "%s/.aws/config", home ? home : "");

    int had_key = out->access_key[0] != 0;
    if (read_ini(creds_path, profile, out) && !had_key)
        snprintf(out->credentials_source, sizeof out->credentials_source, "profile '%s' in %s", profile, creds_path);
    had_key = out->access_key[0] != 0;
    if (!strcmp(profile, "default")) snprintf(section, sizeof section, "default");
    else snprintf(section, sizeof section, "profile %s", profile);
    if (read_ini(config_path, section, out) && !had_key)
        snprintf(out->credentials_source, sizeof out->credentials_source, "profile '%s' in %s", profile, config_path);
}
