/* Unit tests for io/stream (files, gzip, directories, FIFOs, memory) and io/format. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "core/mem.h"
#include "io/format.h"
#include "io/stream.h"
#include "tests/unit/testhelp.h"

static char tmpdir[256];

static void write_file(const char *rel, const char *content, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, rel);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f)
        return;
    fwrite(content, 1, len, f);
    fclose(f);
}

static void write_gz(const char *rel, const char *content, int members)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, rel);
    FILE *f = fopen(path, "wb");
    for (int m = 0; m < members; m++) {
        /* Each member compressed separately: concatenated gzip members are one stream. */
        unsigned char out[4096];
        z_stream z;
        memset(&z, 0, sizeof z);
        deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
        z.next_in = (unsigned char *)(uintptr_t)content;
        z.avail_in = (uInt)strlen(content);
        z.next_out = out;
        z.avail_out = sizeof out;
        deflate(&z, Z_FINISH);
        fwrite(out, 1, sizeof out - z.avail_out, f);
        deflateEnd(&z);
    }
    fclose(f);
}

static char *read_all(const char *path, size_t *len)
{
    struct ar_stream *s;
    char *data = NULL;
    if (ar_stream_open_file(path, true, &s) != AR_OK)
        return NULL;
    if (ar_stream_slurp(s, 1 << 20, &data, len) != AR_OK)
        data = NULL;
    ar_stream_close(s);
    return data;
}

static void test_streams(void)
{
    char path[512];
    size_t len;
    write_file("plain.csv", "1,2\n3,4\n", 8);
    snprintf(path, sizeof path, "%s/plain.csv", tmpdir);
    char *d = read_all(path, &len);
    CHECK(d && len == 8 && memcmp(d, "1,2\n3,4\n", 8) == 0);
    ar_free(d);

    /* gzip by suffix, and by magic without the suffix; two members concatenated. */
    write_gz("z.csv.gz", "5,6\n", 2);
    snprintf(path, sizeof path, "%s/z.csv.gz", tmpdir);
    d = read_all(path, &len);
    CHECK(d && len == 8 && memcmp(d, "5,6\n5,6\n", 8) == 0);
    ar_free(d);
    write_gz("znosuffix", "7,8\n", 1);
    snprintf(path, sizeof path, "%s/znosuffix", tmpdir);
    d = read_all(path, &len);
    CHECK(d && len == 4 && memcmp(d, "7,8\n", 4) == 0);
    ar_free(d);

    /* Truncated gzip is a format error naming the file. */
    write_file("bad.gz", "\x1f\x8b\x08\x00\x00\x00", 6);
    snprintf(path, sizeof path, "%s/bad.gz", tmpdir);
    struct ar_stream *s;
    CHECK_OK(ar_stream_open_file(path, true, &s));
    char *data;
    CHECK_ERR(ar_stream_slurp(s, 1 << 20, &data, &len), AR_ERR_FORMAT, "bad.gz");
    ar_stream_close(s);

    /* A one-byte file survives gzip sniffing. */
    write_file("one", "x", 1);
    snprintf(path, sizeof path, "%s/one", tmpdir);
    d = read_all(path, &len);
    CHECK(d && len == 1 && d[0] == 'x');
    ar_free(d);

    snprintf(path, sizeof path, "%s/missing.csv", tmpdir);
    CHECK_ERR(ar_stream_open_file(path, true, &s), AR_ERR_NOT_FOUND, "missing.csv");

    /* Memory stream, short reads, slurp cap. */
    CHECK_OK(ar_stream_open_mem("abcdef", 6, "<body>", &s));
    char buf[4];
    CHECK_INT(ar_stream_read_full(s, buf, 4), 4);
    CHECK(memcmp(buf, "abcd", 4) == 0 && s->pos == 4);
    CHECK_INT(ar_stream_read_full(s, buf, 4), 2);
    CHECK_INT(ar_stream_read_full(s, buf, 4), 0);
    ar_stream_close(s);
    char big[300000];
    memset(big, 'a', sizeof big);
    CHECK_OK(ar_stream_open_mem(big, sizeof big, "<body>", &s));
    CHECK_ERR(ar_stream_slurp(s, 1000, &data, &len), AR_ERR_LIMIT, "limit of 1000");
    ar_stream_close(s);
    ar_stream_close(NULL);
}

static void test_inputs(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/dir", tmpdir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/dir/sub", tmpdir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/dir/.hidden", tmpdir);
    mkdir(path, 0755);
    write_file("dir/b.csv", "b", 1);
    write_file("dir/a.csv", "a", 1);
    write_file("dir/sub/c.csv", "c", 1);
    write_file("dir/.skip.csv", "x", 1);
    write_file("dir/.hidden/d.csv", "x", 1);
    snprintf(path, sizeof path, "%s/dir", tmpdir);
    struct ar_input *in;
    CHECK_OK(ar_input_open(path, &in));
    CHECK_INT(ar_input_n_files(in), 3);
    char order[8] = {0};
    for (int pass = 0; pass < 2; pass++) {
        size_t k = 0;
        struct ar_stream *s;
        while (ar_input_next(in, &s) == AR_OK && s) {
            char c;
            if (ar_stream_read_full(s, &c, 1) == 1 && k < 7)
                order[k++] = c;
            ar_stream_close(s);
        }
        order[k] = '\0';
        CHECK_STR(order, "abc"); /* sorted paths; hidden files and folders skipped */
        CHECK_OK(ar_input_rewind(in));
    }
    ar_input_close(in);

    snprintf(path, sizeof path, "%s/empty", tmpdir);
    mkdir(path, 0755);
    CHECK_OK(ar_input_open(path, &in));
    struct ar_stream *s;
    CHECK_OK(ar_input_next(in, &s));
    CHECK(s == NULL);
    ar_input_close(in);

    snprintf(path, sizeof path, "%s/nope", tmpdir);
    CHECK_ERR(ar_input_open(path, &in), AR_ERR_NOT_FOUND, "nope");

    /* A FIFO is one stream, read once. */
    snprintf(path, sizeof path, "%s/fifo_0", tmpdir);
    CHECK(mkfifo(path, 0600) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        FILE *f = fopen(path, "w");
        if (f) {
            fputs("1,2\n", f);
            fclose(f);
        }
        _exit(0);
    }
    CHECK_OK(ar_input_open(path, &in));
    CHECK_OK(ar_input_next(in, &s));
    char *data = NULL;
    size_t len = 0;
    CHECK(s != NULL);
    if (s) {
        CHECK_OK(ar_stream_slurp(s, 100, &data, &len));
        CHECK(len == 4 && data && memcmp(data, "1,2\n", 4) == 0);
        ar_free(data);
        ar_stream_close(s);
    }
    CHECK_ERR(ar_input_rewind(in), AR_ERR_UNSUPPORTED, "FIFO");
    ar_input_close(in);
    int st;
    waitpid(pid, &st, 0);

    CHECK_OK(ar_input_open_mem("xyz", 3, "<request body>", &in));
    CHECK_STR(ar_input_location(in), "<request body>");
    CHECK_OK(ar_input_next(in, &s));
    CHECK(s && strcmp(s->name, "<request body>") == 0);
    ar_stream_close(s);
    CHECK_OK(ar_input_next(in, &s));
    CHECK(s == NULL);
    ar_input_close(in);
}

static void test_formats(void)
{
    struct ar_data_format f;
    CHECK_OK(ar_format_parse("text/csv", &f));
    CHECK(f.content == AR_CONTENT_CSV && f.label_size == 1 && !f.label_size_set);
    CHECK_OK(ar_format_parse("text/csv; label_size=0", &f));
    CHECK(f.content == AR_CONTENT_CSV && f.label_size == 0 && f.label_size_set);
    CHECK_OK(ar_format_parse("TEXT/CSV;charset=utf-8", &f));
    CHECK_OK(ar_format_parse("csv", &f));
    CHECK_OK(ar_format_parse("text/x-libsvm", &f));
    CHECK(f.content == AR_CONTENT_LIBSVM);
    CHECK_OK(ar_format_parse("application/x-recordio-protobuf", &f));
    CHECK(f.content == AR_CONTENT_RECORDIO_PB);
    CHECK_OK(ar_format_parse("application/jsonlines", &f));
    CHECK(f.content == AR_CONTENT_JSONLINES);
    CHECK_ERR(ar_format_parse("text/plain", &f), AR_ERR_UNSUPPORTED, "text/plain");
    CHECK_ERR(ar_format_parse("text/csv;label_size=2", &f), AR_ERR_UNSUPPORTED, "label_size");
    CHECK_ERR(ar_format_parse("text/csv;header=present", &f), AR_ERR_UNSUPPORTED, "header");
    CHECK_ERR(ar_format_parse("text/csv;charset=latin1", &f), AR_ERR_UNSUPPORTED, "latin1");
    CHECK_STR(ar_format_mime(AR_CONTENT_RECORDIO_PB), "application/x-recordio-protobuf");
}

void test_suite_io(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/algorun-test-io-XXXXXX");
    CHECK(mkdtemp(tmpdir) != NULL);
    test_streams();
    test_inputs();
    test_formats();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    CHECK(system(cmd) == 0);
}
