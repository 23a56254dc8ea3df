/* backends/aws_config.h — AWS-convention settings: credentials, region, endpoint and CA bundle
 * from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE,
 * AWS_REGION / AWS_DEFAULT_REGION, AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, AWS_CA_BUNDLE) and the
 * shared files (~/.aws/credentials, ~/.aws/config, or AWS_SHARED_CREDENTIALS_FILE /
 * AWS_CONFIG_FILE), in the SDKs' order of precedence. */
#ifndef UFSHIM_AWS_CONFIG_H
#define UFSHIM_AWS_CONFIG_H

struct aws_settings {
    char access_key[128];
    char secret_key[128];
    char session_token[4096];
    char region[64];
    char endpoint_url[512];
    char ca_bundle[512];
    char credentials_source[160];   /* where the keys came from, for log lines (never the keys) */
};

/* Fills *out; fields not configured anywhere are left empty. profile NULL: AWS_PROFILE or
 * "default". */
void aws_settings_load(const char *profile, struct aws_settings *out);

#endif
