/* backends/s3_xml.c — see s3_xml.h. */
#include "s3_xml.h"

#include <errno.h>
#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TEXT_MAX 4096

struct list_parser {
    struct s3_list_page *page;
    int cap, depth, in_contents, in_prefixes, url_encoded, is_list, failed;
    char text[TEXT_MAX + 1];
    size_t text_len;
    struct s3_list_item cur;
};

long long s3_parse_iso8601(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) != 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (long long)timegm(&tm);
}

static void on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    struct list_parser *p = ud;
    (void)attrs;
    p->depth++;
    p->text_len = 0;
    if (p->depth == 1) p->is_list = !strcmp(name, "ListBucketResult");
    else if (p->depth == 2 && !strcmp(name, "Contents")) { p->in_contents = 1; memset(&p->cur, 0, sizeof p->cur); }
    else if (p->depth == 2 && !strcmp(name, "CommonPrefixes")) { p->in_prefixes = 1; memset(&p->cur, 0, sizeof p->cur); }
}

static void on_text(void *ud, const XML_Char *s, int len)
{
    struct list_parser *p = ud;
    size_t n = (size_t)len;
    if (p->text_len + n > TEXT_MAX) { p->failed = 1; n = TEXT_MAX - p->text_len; }
    memcpy(p->text + p->text_len, s, n);
    p->text_len += n;
}

static int push_item(struct list_parser *p)
{
    struct s3_list_page *pg = p->page;
    if (!p->cur.key) return 0;
    if (pg->n_items == p->cap) {
        int cap = p->cap ? p->cap * 2 : 64;
        struct s3_list_item *n = realloc(pg->items, sizeof *n * (size_t)cap);
        if (!n) return -1;
        pg->items = n;
        p->cap = cap;
    }
    pg->items[pg->n_items++] = p->cur;
    memset(&p->cur, 0, sizeof p->cur);
    return 0;
}

static void on_end(void *ud, const XML_Char *name)
{
    struct list_parser *p = ud;
    const char *t = p->text;
    p->text[p->text_len] = 0;

    if (p->depth == 2) {
        if ((p->in_contents && !strcmp(name, "Contents")) || (p->in_prefixes && !strcmp(name, "CommonPrefixes"))) {
            if (push_item(p)) p->failed = 1;
            p->in_contents = p->in_prefixes = 0;
        } else if (!strcmp(name, "IsTruncated")) {
            p->page->truncated = !strcmp(t, "true");
        } else if (!strcmp(name, "NextContinuationToken")) {
            free(p->page->next_token);
            p->page->next_token = strdup(t);
        } else if (!strcmp(name, "EncodingType")) {
            p->url_encoded = !strcmp(t, "url");
        }
    } else if (p->depth == 3 && (p->in_contents || p->in_prefixes)) {
        if ((p->in_contents && !strcmp(name, "Key")) || (p->in_prefixes && !strcmp(name, "Prefix"))) {
            free(p->cur.key);
            p->cur.key = strdup(t);
            p->cur.is_prefix = p->in_prefixes;
        } else if (!strcmp(name, "Size")) {
            p->cur.info.size = strtoull(t, NULL, 10);
        } else if (!strcmp(name, "ETag")) {
            snprintf(p->cur.info.etag, sizeof p->cur.info.etag, "%s", t);
        } else if (!strcmp(name, "LastModified")) {
            p->cur.info.mtime = s3_parse_iso8601(t);
        }
    }
    p->text_len = 0;
    p->depth--;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* In-place percent-decoding ('+' is a space in S3's url encoding of keys). */
static void url_decode(char *s)
{
    char *o = s;
    for (; *s; s++) {
        if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
            *o++ = (char)(hexval(s[1]) * 16 + hexval(s[2]));
            s += 2;
        } else if (*s == '+') {
            *o++ = ' ';
        } else {
            *o++ = *s;
        }
    }
    *o = 0;
}

int s3_xml_parse_list(const char *xml, size_t len, struct s3_list_page *out)
{
    struct list_parser p;
    XML_Parser x = XML_ParserCreate("UTF-8");
    int ok;

    memset(out, 0, sizeof *out);
    memset(&p, 0, sizeof p);
    p.page = out;
    if (!x) return -ENOMEM;
    XML_SetUserData(x, &p);
    XML_SetElementHandler(x, on_start, on_end);
    XML_SetCharacterDataHandler(x, on_text);
    ok = XML_Parse(x, xml, (int)len, 1) == XML_STATUS_OK;
    XML_ParserFree(x);
    free(p.cur.key);
    if (!ok || !p.is_list || p.failed) {
        s3_xml_free_list(out);
        return -EIO;
    }
    if (p.url_encoded)
        for (int i = 0; i < out->n_items; i++) url_decode(out->items[i].key);
    return 0;
}

void s3_xml_free_list(struct s3_list_page *page)
{
    for (int i = 0; i < page->n_items; i++) free(page->items[i].key);
    free(page->items);
    free(page->next_token);
    memset(page, 0, sizeof *page);
}

struct fields_parser {
    const char *root, *names[2];
    char *out[2];
    size_t cap[2], n;
    int depth, field, root_matched;   /* field: 1 or 2 while inside names[field-1] */
};

static void fields_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    struct fields_parser *p = ud;
    (void)attrs;
    p->depth++;
    p->n = 0;
    p->field = 0;
    if (p->depth == 1) p->root_matched = !strcmp(name, p->root);
    else if (p->depth == 2 && p->root_matched)
        for (int i = 0; i < 2; i++)
            if (p->names[i] && !strcmp(name, p->names[i])) p->field = i + 1;
}

static void fields_text(void *ud, const XML_Char *s, int len)
{
    struct fields_parser *p = ud;
    if (!p->field) return;
    char *dst = p->out[p->field - 1];
    size_t cap = p->cap[p->field - 1];
    for (int i = 0; i < len && p->n + 1 < cap; i++) dst[p->n++] = s[i];
    dst[p->n] = 0;
}

static void fields_end(void *ud, const XML_Char *name)
{
    struct fields_parser *p = ud;
    (void)name;
    p->field = 0;
    p->depth--;
}

int s3_xml_fields(const char *xml, size_t len, const char *root, const char *name1, char *out1, size_t len1,
                  const char *name2, char *out2, size_t len2)
{
    struct fields_parser p = {root, {name1, name2}, {out1, out2}, {len1, len2}, 0, 0, 0, 0};
    XML_Parser x;
    if (out1) out1[0] = 0;
    if (out2) out2[0] = 0;
    if (!xml || !len || !(x = XML_ParserCreate("UTF-8"))) return 0;
    XML_SetUserData(x, &p);
    XML_SetElementHandler(x, fields_start, fields_end);
    XML_SetCharacterDataHandler(x, fields_text);
    XML_Parse(x, xml, (int)len, 1);
    XML_ParserFree(x);
    return p.root_matched;
}

void s3_xml_parse_error(const char *xml, size_t len, char *code, size_t codelen, char *msg, size_t msglen)
{
    s3_xml_fields(xml, len, "Error", "Code", code, codelen, "Message", msg, msglen);
}
