/* backends/s3_xml.h — parsing of S3's XML responses (ListObjectsV2 results and error bodies) with
 * expat. Entity-escaped and UTF-8 keys come out as raw bytes; with encoding-type=url the keys
 * are percent-decoded here, only if the response says it encoded them. */
#ifndef UFSHIM_S3_XML_H
#define UFSHIM_S3_XML_H

#include <stddef.h>

#include "backend.h"

struct s3_list_item {
    char *key;                      /* full key, or the common prefix (ending in the delimiter) */
    int is_prefix;
    struct object_info info;
};

struct s3_list_page {
    struct s3_list_item *items;
    int n_items;
    int truncated;
    char *next_token;
};

/* Returns 0, or -EIO when the document is not a ListBucketResult, -ENOMEM. */
int s3_xml_parse_list(const char *xml, size_t len, struct s3_list_page *out);
void s3_xml_free_list(struct s3_list_page *page);
/* The text of up to two children (name2 may be NULL) of a document whose root element is root:
 * 1 if the root matched, else 0 (outputs left empty). */
int s3_xml_fields(const char *xml, size_t len, const char *root, const char *name1, char *out1, size_t len1,
                  const char *name2, char *out2, size_t len2);
/* Extracts <Code> and <Message> of an <Error> body (either may come back empty). */
void s3_xml_parse_error(const char *xml, size_t len, char *code, size_t codelen, char *msg, size_t msglen);
/* "2024-05-01T12:34:56.000Z" -> seconds since the epoch, -1 if malformed. */
long long s3_parse_iso8601(const char *s);

#endif
