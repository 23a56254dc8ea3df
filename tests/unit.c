/* tests/unit.c — C unit tests of the pure pieces: SigV4 against AWS's published examples, path
 * normalisation, ListObjectsV2/error XML parsing, sizes, mount lookup, and the listing index
 * (built in a scratch cache directory). Prints one line per
 * failed check and exits non-zero if any failed. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../backends/s3_xml.h"
#include "../backends/sigv4.h"
#include "../cache/index.h"
#include "../cache/journal.h"
#include "../cache/overlay.h"
#include "../cache/store.h"
#include "../fs/mount.h"
#include "../fs/path.h"

static int failures, checks;

#define CHECK(cond, ...) do { checks++; if (!(cond)) { failures++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)
#define CHECK_STR(got, want) CHECK(!strcmp((got), (want)), "got '%s', want '%s'", (got), (want))

#define AK "AKIAIOSFODNN7EXAMPLE"
#define SK "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define HOST "examplebucket.s3.amazonaws.com"

/* docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html, "GET Object" */
static void test_sigv4_aws_get_object_example(void)
{
    struct sigv4_pair h[] = {{"host", HOST}, {"range", "bytes=0-9"}, {"x-amz-content-sha256", SIGV4_EMPTY_SHA256},
                             {"x-amz-date", "20130524T000000Z"}};
    struct sigv4_request r = {"GET", "/test.txt", "", h, 4, SIGV4_EMPTY_SHA256, "20130524T000000Z", "us-east-1", "s3"};
    char auth[512];
    CHECK(sigv4_authorization(&r, AK, SK, auth, sizeof auth) == 0, "authorization fits");
    CHECK_STR(auth, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                    "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                    "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

/* Same page, "GET Bucket (List Objects)" and "GET Bucket Lifecycle": query parameters are
 * sorted and encoded; one without a value is "name=". */
static void test_sigv4_aws_bucket_examples(void)
{
    static const struct {
        struct sigv4_pair q[2];
        int n;
        const char *canonical, *signature;
    } cases[] = {
        {{{"prefix", "J"}, {"max-keys", "2"}}, 2, "max-keys=2&prefix=J",
         "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"},
        {{{"lifecycle", ""}}, 1, "lifecycle=",
         "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"},
    };
    struct sigv4_pair h[] = {{"host", HOST}, {"x-amz-content-sha256", SIGV4_EMPTY_SHA256}, {"x-amz-date", "20130524T000000Z"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *query = sigv4_canonical_query(cases[i].q, cases[i].n), auth[512];
        CHECK_STR(query, cases[i].canonical);
        struct sigv4_request r = {"GET", "/", query, h, 3, SIGV4_EMPTY_SHA256, "20130524T000000Z", "us-east-1", "s3"};
        sigv4_authorization(&r, AK, SK, auth, sizeof auth);
        CHECK(strstr(auth, cases[i].signature) != NULL, "%s", auth);
        free(query);
    }
}

static void test_sigv4_uri_encoding(void)
{
    char out[256];
    sigv4_uri_encode("a b+c%d/é~_-.", 1, out, sizeof out);
    CHECK_STR(out, "a%20b%2Bc%25d/%C3%A9~_-.");
    sigv4_uri_encode("x/y=z&", 0, out, sizeof out);
    CHECK_STR(out, "x%2Fy%3Dz%26");
    CHECK(sigv4_uri_encode("abcdef", 0, out, 4) == -1, "too small is refused");
}

static void test_path_normalize(void)
{
    static const char *cases[][2] = {
        {"/", "/"}, {"//", "/"}, {"/a/b/", "/a/b"}, {"/a//b", "/a/b"}, {"/a/./b/.", "/a/b"}, {"/a/b/..", "/a"},
        {"/a/b/../../..", "/"}, {"/../a", "/a"}, {"/a/..b/c", "/a/..b/c"}, {"/a/.../c", "/a/.../c"},
        {"/data/set/../set/x", "/data/set/x"},
    };
    char out[256];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        path_normalize(cases[i][0], out, sizeof out);
        CHECK_STR(out, cases[i][1]);
    }
    CHECK(path_normalize("relative", out, sizeof out) == -1, "relative paths are refused");
    CHECK(path_normalize("/abcdef", out, 4) == -1, "too long is refused");
    path_join("/data/set/train", "../val/./x.jpg", out, sizeof out);
    CHECK_STR(out, "/data/set/val/x.jpg");
    path_join("/data/set", "/etc/passwd", out, sizeof out);
    CHECK_STR(out, "/etc/passwd");
    path_join("/data/set", "", out, sizeof out);
    CHECK_STR(out, "/data/set");
}

static void test_list_xml_entities_and_unicode(void)
{
    const char *xml =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
        "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>b</Name><Prefix>p/</Prefix>"
        "<IsTruncated>true</IsTruncated><NextContinuationToken>tok&amp;1</NextContinuationToken>"
        "<Contents><Key>p/a &amp; b &lt;c&gt;.txt</Key><LastModified>2024-05-01T12:34:56.000Z</LastModified>"
        "<ETag>&quot;abc&quot;</ETag><Size>42</Size></Contents>"
        "<Contents><Key>p/caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac.jpg</Key><Size>7</Size><ETag>\"e\"</ETag></Contents>"
        "<CommonPrefixes><Prefix>p/sub dir/</Prefix></CommonPrefixes></ListBucketResult>";
    struct s3_list_page pg;
    CHECK(s3_xml_parse_list(xml, strlen(xml), &pg) == 0, "parses");
    CHECK(pg.n_items == 3, "3 items, got %d", pg.n_items);
    CHECK(pg.truncated == 1, "truncated");
    CHECK_STR(pg.next_token, "tok&1");
    CHECK_STR(pg.items[0].key, "p/a & b <c>.txt");
    CHECK(pg.items[0].info.size == 42, "size");
    CHECK_STR(pg.items[0].info.etag, "\"abc\"");
    CHECK(pg.items[0].info.mtime == 1714566896, "mtime %lld", (long long)pg.items[0].info.mtime);
    CHECK_STR(pg.items[1].key, "p/caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac.jpg");
    CHECK(pg.items[2].is_prefix && !strcmp(pg.items[2].key, "p/sub dir/"), "common prefix");
    s3_xml_free_list(&pg);
}

static void test_list_xml_url_encoded_keys(void)
{
    const char *xml = "<ListBucketResult><EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>"
                      "<Contents><Key>p/100%25+sure%2B%E2%9C%93</Key><Size>1</Size></Contents></ListBucketResult>";
    const char *plain = "<ListBucketResult><Contents><Key>p/100%25</Key></Contents></ListBucketResult>";
    struct s3_list_page pg;
    CHECK(s3_xml_parse_list(xml, strlen(xml), &pg) == 0, "parses");
    CHECK_STR(pg.items[0].key, "p/100% sure+\xe2\x9c\x93");
    s3_xml_free_list(&pg);
    CHECK(s3_xml_parse_list(plain, strlen(plain), &pg) == 0, "parses");
    CHECK_STR(pg.items[0].key, "p/100%25");   /* not decoded: the response did not say it encoded */
    s3_xml_free_list(&pg);
}

static void test_list_xml_rejects_other_documents(void)
{
    const char *err = "<Error><Code>AccessDenied</Code><Message></Message></Error>";
    struct s3_list_page pg;
    char code[64], msg[64];
    CHECK(s3_xml_parse_list(err, strlen(err), &pg) != 0, "an Error document is not a listing");
    CHECK(s3_xml_parse_list("<ListBucketResult><Contents>", 28, &pg) != 0, "truncated XML is an error");
    s3_xml_parse_error(err, strlen(err), code, sizeof code, msg, sizeof msg);
    CHECK_STR(code, "AccessDenied");
    CHECK_STR(msg, "");             /* radosgw sends an empty Message */
}

static void test_parse_size(void)
{
    CHECK(parse_size("4M") == 4 << 20, "4M");
    CHECK(parse_size("64MiB") == 64 << 20, "64MiB");
    CHECK(parse_size("1.5G") == 3LL << 29, "1.5G");
    CHECK(parse_size("1000") == 1000, "1000");
    CHECK(parse_size("12Q") == -1, "12Q is malformed");
    CHECK(parse_size("") == -1, "empty is malformed");
}

static void test_mount_lookup(void)
{
    const char *rel;
    mount_add("/data/set=s3://bucket/prefix?endpoint=http://127.0.0.1:1&anonymous=1", "test");
    mount_add("/data/set/inner=s3://bucket/other?endpoint=http://127.0.0.1:1&anonymous=1", "test");
    mount_add("/bad=s3://bucket/p?no_such_option=1&anonymous=1", "test");
    mount_add("relative=s3://bucket", "test");
    CHECK(mount_count() == 3, "relative prefix rejected, bad option kept as broken: %d", mount_count());
    struct mount *m = mount_lookup("/data/set/a/b.jpg", &rel);
    CHECK(m && !strcmp(m->prefix, "/data/set") && !strcmp(rel, "a/b.jpg"), "file in mount");
    CHECK_STR(m->key_prefix, "prefix/");
    m = mount_lookup("/data/set", &rel);
    CHECK(m && !strcmp(rel, ""), "mount root");
    m = mount_lookup("/data/set/inner/x", &rel);
    CHECK(m && !strcmp(m->prefix, "/data/set/inner") && !strcmp(rel, "x"), "longest prefix wins");
    CHECK(mount_lookup("/data/settings", &rel) == NULL, "prefix must end at a component");
    CHECK(mount_lookup("/data", &rel) == NULL && mount_is_ancestor("/data"), "ancestor");
    CHECK(mount_maybe("/data/x") && !mount_maybe("/usr/lib") && !mount_maybe("/dat"), "quick filter");
    m = mount_lookup("/bad/x", &rel);
    CHECK(m && m->broken, "a bad option makes the mount broken");
}

static void children(const struct index *ix, const char *dir, char *out)
{
    struct index_cursor c;
    struct index_entry e;
    const char *name;
    size_t len;
    int is_dir;
    out[0] = 0;
    index_children_start(ix, dir, &c);
    while (index_children_next(ix, &c, &name, &len, &is_dir, &e))
        snprintf(out + strlen(out), 512 - strlen(out), "%.*s%s ", (int)len, name, is_dir ? "/" : "");
}

static int collect_file(void *ctx, const struct index_entry *e)
{
    char *out = ctx;
    snprintf(out + strlen(out), 512 - strlen(out), "%.*s ", (int)e->key_len, e->key);
    return 0;
}

/* Segments that interleave (the root's files among the directories' subtrees, as the builder
 * makes them) merge into one sorted index; markers, "x" next to "x/", "x.y" sorting before
 * "x/" and missing paths all answer as a file system would. */
static void test_index(void)
{
    char dir[] = "/tmp/ufshim-unit-XXXXXX", err[256], out[512] = "";
    struct index_segment *seg[3];
    struct index_entry e;
    struct index *ix;
    CHECK(mkdtemp(dir) != NULL, "scratch directory");
    CHECK(store_open(dir, 1 << 30, err, sizeof err) == 0, "store_open: %s", err);
    for (int i = 0; i < 3; i++) seg[i] = index_segment_new();
    /* the root's files */
    index_segment_add(seg[0], "a.txt", 5, 100, "etag-a");
    index_segment_add(seg[0], "b", 7, 100, "etag-b");
    index_segment_add(seg[0], "z.txt", 1, 100, "etag-z");
    CHECK(index_segment_add(seg[0], "c", 1, 1, "") == -EINVAL, "keys out of order are refused");
    /* directory "b/" (next to the file "b") and directory "a/" with an empty marker subdirectory */
    index_segment_add(seg[1], "b/", 0, 0, "");
    index_segment_add(seg[1], "b/one", 1, 0, "e1");
    index_segment_add(seg[2], "a/", 0, 0, "");
    index_segment_add(seg[2], "a/deep/x/y.bin", 9, 0, "e2");
    index_segment_add(seg[2], "a/empty/", 0, 0, "");
    index_segment_add(seg[2], "a/f", 3, 0, "e3");
    CHECK(index_publish("s3://bucket/prefix/", seg, 3, 1234) == 0, "publish");
    for (int i = 0; i < 3; i++) index_segment_free(seg[i]);
    ix = index_open("s3://bucket/prefix/");
    CHECK(ix != NULL, "the index maps");
    CHECK(index_open("s3://bucket/other/") == NULL, "an index is only opened for its own location");
    if (!ix) return;
    CHECK(index_count(ix) == 9 && index_built_at(ix) == 1234, "count %llu", (unsigned long long)index_count(ix));
    CHECK(index_lookup(ix, "a.txt", &e) == INDEX_FILE && e.size == 5 && e.etag_len == 6 && !memcmp(e.etag, "etag-a", 6),
          "a file with its metadata");
    CHECK(index_lookup(ix, "b", NULL) == INDEX_DIR, "a directory wins over a file of the same name");
    CHECK(index_lookup(ix, "a/empty", NULL) == INDEX_DIR, "an empty directory marker");
    CHECK(index_lookup(ix, "a/deep/x", NULL) == INDEX_DIR, "an implied directory");
    CHECK(index_lookup(ix, "a/nope", NULL) == INDEX_MISSING && index_lookup(ix, "a/dee", NULL) == INDEX_MISSING,
          "missing paths, including a prefix of a name");
    CHECK(index_lookup(ix, "", NULL) == INDEX_DIR, "the root");
    children(ix, "", out);
    CHECK_STR(out, "a.txt a/ b/ z.txt ");
    children(ix, "a", out);
    CHECK_STR(out, "deep/ empty/ f ");
    out[0] = 0;
    index_files_under(ix, "a", collect_file, out);
    CHECK_STR(out, "a/deep/x/y.bin a/f ");
    index_close(ix);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "cleanup");
}

static int note_child(void *ctx, const char *name, enum overlay_kind kind)
{
    char *out = ctx;
    snprintf(out + strlen(out), 256 - strlen(out), "%s:%d ", name, (int)kind);
    return 0;
}

static int count_entry(void *ctx, const struct journal_entry *e)
{
    (*(int *)ctx)++;
    return strcmp(e->mount_id, "m1") != 0;
}

/* The node's own namespace entries answer as overlay.h says, and journal entries round-trip. */
static void test_overlay_and_journal(void)
{
    char dir[] = "/tmp/ufshim-unit-XXXXXX", err[256], path[PATH_MAX], out[256] = "";
    struct object_info info = {.size = 42, .mtime = 1700000000, .etag = "\"abc\""}, got;
    struct journal_entry e, back;
    int n = 0;
    CHECK(mkdtemp(dir) != NULL, "scratch directory");
    CHECK(store_open(dir, 1 << 30, err, sizeof err) == 0, "store_open: %s", err);
    CHECK(overlay_lookup("m1", "a/b.txt", -1, &got) == OV_NONE, "nothing yet");
    CHECK(overlay_set("m1", "a/b.txt", &info) == 0, "record");
    CHECK(overlay_lookup("m1", "a/b.txt", -1, &got) == OV_RECORD && got.size == 42 && got.mtime == 1700000000 &&
          !strcmp(got.etag, "\"abc\""), "the record reads back");
    CHECK(overlay_lookup("m1", "a", -1, NULL) == OV_DIR, "its parent exists");
    CHECK(overlay_lookup("m1", "a/b.txt/x", -1, NULL) == OV_BELOW_FILE, "below a file");
    CHECK(overlay_set("m1", "a/b.txt", NULL) == 0 && overlay_lookup("m1", "a/b.txt", -1, NULL) == OV_DELETED, "whiteout");
    CHECK(overlay_lookup("m1", "a/b.txt/x", -1, NULL) == OV_DELETED, "below a whiteout");
    overlay_path("m1", "a/data.bin", path, sizeof path);
    FILE *f = fopen(path, "w");
    CHECK(f && fwrite("12345", 1, 5, f) == 5 && fclose(f) == 0, "a staged file");
    CHECK(overlay_lookup("m1", "a/data.bin", -1, &got) == OV_DATA && got.size == 5, "staged bytes");
    CHECK(overlay_set_dir("m1", "a/gone", 1) == 0 && overlay_lookup("m1", "a/gone", -1, NULL) == OV_DELETED, "deleted dir");
    overlay_children("m1", "a", -1, note_child, out);
    CHECK(strstr(out, "b.txt:4 ") && strstr(out, "data.bin:1 ") && strstr(out, "gone:4 "), "children: %s", out);
    CHECK(overlay_set_dir("m1", "a/gone", 0) == 0 && overlay_lookup("m1", "a/gone", -1, NULL) == OV_DIR, "revived");
    overlay_path("m1", "a/b.txt", path, sizeof path);
    struct timespec old[2] = {{1000, 0}, {1000, 0}};
    CHECK(utimensat(AT_FDCWD, path, old, AT_SYMLINK_NOFOLLOW) == 0, "age the whiteout");
    CHECK(overlay_lookup("m1", "a/b.txt", 3600, NULL) == OV_NONE && overlay_lookup("m1", "a/b.txt/x", 3600, NULL) == OV_NONE,
          "an old whiteout gives way to the store's view");
    CHECK(overlay_lookup("m1", "a/b.txt", -1, NULL) == OV_DELETED, "unless records never expire (write=cache)");
    memset(&e, 0, sizeof e);
    snprintf(e.mount_id, sizeof e.mount_id, "m1");
    snprintf(e.rel, sizeof e.rel, "dir/with space/ckpt.pt");
    snprintf(e.upload_id, sizeof e.upload_id, "2~upload-id");
    CHECK(journal_put(&e) == 0 && journal_get("m1", "dir/with space/ckpt.pt", &back) == 0, "journal round trip");
    CHECK(!strcmp(back.upload_id, "2~upload-id") && back.published[0] == 0, "upload id kept");
    CHECK(journal_get("m2", "dir/with space/ckpt.pt", &back) == -ENOENT, "another mount's path is another entry");
    CHECK(journal_each(count_entry, &n) == 0 && n == 1, "one entry walked");
    CHECK(journal_remove("m1", "dir/with space/ckpt.pt") == 0 && journal_get("m1", e.rel, &back) == -ENOENT, "removed");
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "cleanup");
}

/* Late failures of CopyObject/CompleteMultipartUpload come as a 200 with an <Error> document. */
static void test_xml_fields(void)
{
    const char *ok = "<?xml version=\"1.0\"?><CopyObjectResult><LastModified>2024-05-01T12:34:56.000Z</LastModified>"
                     "<ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag></CopyObjectResult>";
    const char *bad = "<Error><Code>InternalError</Code><Message>try again</Message></Error>";
    char etag[80], when[64];
    CHECK(s3_xml_fields(ok, strlen(ok), "CopyObjectResult", "ETag", etag, sizeof etag, "LastModified", when, sizeof when),
          "root matched");
    CHECK_STR(etag, "\"9b2cf535f27731c974343645a3985328\"");
    CHECK_STR(when, "2024-05-01T12:34:56.000Z");
    CHECK(!s3_xml_fields(bad, strlen(bad), "CopyObjectResult", "ETag", etag, sizeof etag, NULL, NULL, 0) && !etag[0],
          "an error document is not a result");
}

int main(void)
{
    test_sigv4_aws_get_object_example();
    test_sigv4_aws_bucket_examples();
    test_sigv4_uri_encoding();
    test_path_normalize();
    test_list_xml_entities_and_unicode();
    test_list_xml_url_encoded_keys();
    test_list_xml_rejects_other_documents();
    test_parse_size();
    test_mount_lookup();
    test_index();
    test_overlay_and_journal();
    test_xml_fields();
    printf("unit: %d checks, %d failed\n", checks, failures);
    return failures != 0;
}
