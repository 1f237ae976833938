/* Unit tests for io/libsvm: every vector in tests/data/libsvm (verdict, error line, values
 * against the JSON sidecar), thread-count independence, prefixes, byte flips, the source. */
#include <cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/mem.h"
#include "core/rng.h"
#include "io/batch.h"
#include "io/libsvm.h"
#include "tests/unit/testhelp.h"

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        if (got == 0)
            break;
        n += got;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static bool same_float(float a, float b)
{
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

static bool names_line(const char *msg, size_t n)
{
    char a[48], b[48];
    snprintf(a, sizeof a, "line %zu:", n);
    snprintf(b, sizeof b, "line %zu,", n);
    return strstr(msg, a) || strstr(msg, b);
}

static float json_float(const cJSON *j)
{
    if (cJSON_IsString(j)) {
        const char *s = j->valuestring;
        return strcmp(s, "nan") == 0 ? NAN : strcmp(s, "inf") == 0 ? INFINITY : -INFINITY;
    }
    return (float)j->valuedouble;
}

/* Compares a parse with the sidecar; returns the number of differences. */
static size_t compare_json(const struct ar_libsvm_data *d, const char *json_path)
{
    size_t len, bad = 0;
    char *text = read_file(json_path, &len);
    cJSON *root = text ? cJSON_Parse(text) : NULL;
    free(text);
    CHECK(root != NULL);
    if (!root)
        return 1;
    const cJSON *rows = cJSON_GetObjectItem(root, "rows");
    size_t n_rows = (size_t)cJSON_GetArraySize(rows);
    CHECK_INT(d->csr.n_cols, cJSON_GetObjectItem(root, "n_cols")->valueint);
    CHECK_INT(d->csr.n_rows, n_rows);
    bool any_w = false, any_q = false;
    for (size_t i = 0; i < n_rows && i < d->csr.n_rows; i++) {
        const cJSON *r = cJSON_GetArrayItem(rows, (int)i);
        bad += !same_float(d->labels[i], json_float(cJSON_GetObjectItem(r, "label")));
        const cJSON *w = cJSON_GetObjectItem(r, "weight"), *q = cJSON_GetObjectItem(r, "qid");
        any_w |= w != NULL;
        any_q |= q != NULL;
        if (d->weights)
            bad += !same_float(d->weights[i], w ? json_float(w) : 1.0f);
        if (d->qids)
            bad += d->qids[i] != (q ? (int64_t)q->valuedouble : -1);
        const cJSON *keys = cJSON_GetObjectItem(r, "keys"),
                    *vals = cJSON_GetObjectItem(r, "values");
        size_t nk = (size_t)cJSON_GetArraySize(keys);
        uint64_t b = d->csr.indptr[i], e = d->csr.indptr[i + 1];
        if (e - b != nk) {
            bad++;
            continue;
        }
        for (size_t k = 0; k < nk; k++) {
            bad += d->csr.indices[b + k] != (uint32_t)cJSON_GetArrayItem(keys, (int)k)->valuedouble;
            bad += !same_float(d->csr.values[b + k], json_float(cJSON_GetArrayItem(vals, (int)k)));
        }
    }
    CHECK(any_w == (d->weights != NULL));
    CHECK(any_q == (d->qids != NULL));
    cJSON_Delete(root);
    return bad;
}

static bool data_equal(const struct ar_libsvm_data *a, const struct ar_libsvm_data *b)
{
    size_t n = a->csr.n_rows;
    if (n != b->csr.n_rows || a->csr.n_cols != b->csr.n_cols)
        return false;
    if (memcmp(a->csr.indptr, b->csr.indptr, (n + 1) * sizeof(uint64_t)) != 0)
        return false;
    size_t nnz = ar_csr_nnz(&a->csr);
    if (nnz && (memcmp(a->csr.indices, b->csr.indices, nnz * 4) != 0 ||
                memcmp(a->csr.values, b->csr.values, nnz * 4) != 0))
        return false;
    if ((a->weights == NULL) != (b->weights == NULL) || (a->qids == NULL) != (b->qids == NULL))
        return false;
    return !n || (memcmp(a->labels, b->labels, n * 4) == 0 &&
                  (!a->weights || memcmp(a->weights, b->weights, n * 4) == 0) &&
                  (!a->qids || memcmp(a->qids, b->qids, n * 8) == 0));
}

static int parse(const char *buf, size_t len, int threads, const char *name,
                 struct ar_libsvm_data *d)
{
    struct ar_libsvm_opts o = {.n_threads = threads, .name = name, .first_line = 1};
    return ar_libsvm_parse(buf, len, &o, d);
}

static void test_vectors(void)
{
    size_t mlen;
    char *man = read_file(TEST_DATA("libsvm/MANIFEST.tsv"), &mlen);
    CHECK(man != NULL);
    if (!man)
        return;
    size_t n_vectors = 0;
    char *save = NULL;
    for (char *line = strtok_r(man, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *tab = strchr(line, '\t');
        if (!tab || strncmp(line, "file\t", 5) == 0)
            continue;
        *tab = '\0';
        char path[512], exp[600], side[600];
        snprintf(path, sizeof path, "tests/data/libsvm/%s", line);
        snprintf(exp, sizeof exp, "%s.expect", path);
        snprintf(side, sizeof side, "%s.expected.json", path);
        size_t elen;
        char *ex = read_file(exp, &elen);
        CHECK(ex != NULL);
        size_t want_line = 0;
        if (ex && strncmp(ex, "reject at line ", 15) == 0)
            want_line = strtoul(ex + 15, NULL, 10);
        CHECK((want_line == 0) == (strncmp(tab + 1, "accept", 6) == 0));
        free(ex);
        size_t len;
        char *buf = read_file(path, &len);
        CHECK(buf != NULL);
        if (!buf)
            continue;
        n_vectors++;
        struct ar_libsvm_data d1;
        int rc = parse(buf, len, 1, line, &d1);
        char msg1[AR_ERR_MSG_SIZE];
        snprintf(msg1, sizeof msg1, "%s", ar_err_msg());
        if (want_line) {
            CHECK_INT(rc, AR_ERR_FORMAT);
            if (!names_line(msg1, want_line) || !strstr(msg1, line))
                fprintf(stderr, "  %s: want line %zu, got \"%s\"\n", line, want_line, msg1);
            CHECK(names_line(msg1, want_line) && strstr(msg1, line));
        } else {
            CHECK_OK(rc);
            if (rc == AR_OK) {
                size_t bad = compare_json(&d1, side);
                if (bad)
                    fprintf(stderr, "  %s: %zu differences from the sidecar\n", line, bad);
                CHECK_INT(bad, 0);
                CHECK_OK(ar_csr_check(&d1.csr));
            }
        }
        static const int threads[] = {2, 3, 7};
        for (size_t k = 0; k < 3; k++) {
            struct ar_libsvm_data dk;
            int rck = parse(buf, len, threads[k], line, &dk);
            CHECK_INT(rck, rc);
            if (rc == AR_OK && rck == AR_OK)
                CHECK(data_equal(&d1, &dk));
            else
                CHECK_STR(ar_err_msg(), msg1);
            ar_libsvm_data_release(&dk);
        }
        /* Through the batch source: batches of 3 rows reassemble to the same CSR. */
        struct ar_input *in;
        CHECK_OK(ar_input_open(path, &in));
        struct ar_data_format fmt = {.content = AR_CONTENT_LIBSVM, .label_size = 1};
        struct ar_batch_source *src = NULL;
        int rcs = ar_libsvm_source_open(in, &fmt, &src);
        CHECK_INT(rcs, rc);
        if (rcs == AR_OK) {
            size_t row = 0, bad = 0;
            for (int epoch = 0; epoch < 2; epoch++) {
                struct ar_batch b;
                row = 0;
                while (ar_batch_source_next(src, 3, &b) == AR_OK && b.n_rows) {
                    CHECK(b.is_sparse);
                    CHECK_INT(b.n_cols, d1.csr.n_cols);
                    for (size_t i = 0; i < b.n_rows; i++, row++) {
                        bad += b.labels[i] != d1.labels[row];
                        bad += (b.csr.indptr[i + 1] - b.csr.indptr[i]) !=
                               (d1.csr.indptr[row + 1] - d1.csr.indptr[row]);
                        bad +=
                            b.csr.indices[b.csr.indptr[i]] != d1.csr.indices[d1.csr.indptr[row]] &&
                            b.csr.indptr[i + 1] > b.csr.indptr[i];
                    }
                }
                CHECK_INT(row, d1.csr.n_rows);
                CHECK_OK(ar_batch_source_reset(src));
            }
            CHECK_INT(bad, 0);
            ar_batch_source_close(src);
        } else {
            CHECK(names_line(ar_err_msg(), want_line) && strstr(ar_err_msg(), line));
        }
        ar_libsvm_data_release(&d1);
        free(buf);
    }
    CHECK_INT(n_vectors, 27);
    free(man);
}

static void test_rules(void)
{
    struct ar_libsvm_data d;
    const char *a = "1 5:1 2:2 9:0 0:3\n\n-1\t qid:7 \t1:nan  \n";
    CHECK_OK(parse(a, strlen(a), 1, "a", &d));
    CHECK_INT(d.csr.n_rows, 2);
    CHECK_INT(d.csr.n_cols, 10);
    CHECK_INT(ar_csr_nnz(&d.csr), 5);
    CHECK(d.csr.indices[0] == 0 && d.csr.indices[3] == 9 && d.csr.values[3] == 0.0f);
    CHECK(d.csr.values[0] == 3.0f && d.csr.values[1] == 2.0f);
    CHECK(d.qids && d.qids[0] == -1 && d.qids[1] == 7);
    CHECK(d.weights == NULL);
    CHECK(isnan(d.csr.values[4]));
    ar_libsvm_data_release(&d);

    CHECK_ERR(parse("1 3:1 1:2 3:4\n", 14, 1, "x", &d), AR_ERR_FORMAT,
              "x: line 1, token 4: index 3 repeats in this row");
    CHECK_ERR(parse("1 qid:-1 1:2\n", 13, 1, "x", &d), AR_ERR_FORMAT, "line 1, token 2");
    CHECK_ERR(parse("1 1:2 qid:1\n", 12, 1, "x", &d), AR_ERR_FORMAT,
              "token 3: index 'qid' is not a non-negative integer");
    CHECK_ERR(parse("1:-2 1:2\n", 9, 1, "x", &d), AR_ERR_FORMAT, "weight '-2'");
    CHECK_ERR(parse("1: 1:2\n", 7, 1, "x", &d), AR_ERR_FORMAT, "weight after '1:' is empty");
    CHECK_ERR(parse("1 :2\n", 5, 1, "x", &d), AR_ERR_FORMAT, "index '' is not");
    CHECK_ERR(parse("1 1:2\r3:4\n", 10, 1, "x", &d), AR_ERR_FORMAT, "line 1, token 2");
    CHECK_ERR(parse("0 1:1\n1 2:2\0\n", 13, 1, "x", &d), AR_ERR_FORMAT,
              "x: line 2: NUL byte at byte offset 11");

    /* Weighted rows: rows without a weight get 1. */
    const char *w = "1:0.5 1:2\n0 2:1\r\n";
    CHECK_OK(parse(w, strlen(w), 2, "w", &d));
    CHECK(d.weights && d.weights[0] == 0.5f && d.weights[1] == 1.0f);
    ar_libsvm_data_release(&d);
}

/* Generated data: unsorted indices, blank lines, qids; any thread count gives the same. */
static void test_threads(void)
{
    struct ar_rng rng;
    ar_rng_init(&rng, 11, 0);
    size_t cap = 4 << 20, n = 0;
    char *s = malloc(cap);
    for (int i = 0; i < 6000; i++) {
        n += (size_t)snprintf(s + n, cap - n, "%d%s", (int)ar_rng_below(&rng, 2),
                              i % 7 == 0 ? ":0.25" : "");
        if (i % 5 == 0)
            n += (size_t)snprintf(s + n, cap - n, " qid:%d", i / 10);
        uint32_t used[40];
        int k = (int)ar_rng_below(&rng, 12);
        for (int j = 0; j < k; j++) {
            uint32_t ix;
            bool dup;
            do {
                ix = (uint32_t)ar_rng_below(&rng, 40);
                dup = false;
                for (int m = 0; m < j; m++)
                    dup |= used[m] == ix;
            } while (dup);
            used[j] = ix;
            n += (size_t)snprintf(s + n, cap - n, " %u:%.9g", ix, ar_rng_normal(&rng));
        }
        n += (size_t)snprintf(s + n, cap - n, i % 13 == 0 ? "\n \n" : "\n");
    }
    struct ar_libsvm_data d1, dk;
    CHECK_OK(parse(s, n, 1, "gen", &d1));
    CHECK_INT(d1.csr.n_rows, 6000);
    CHECK_OK(ar_csr_check(&d1.csr));
    static const int threads[] = {2, 3, 7, 0};
    for (size_t t = 0; t < 4; t++) {
        CHECK_OK(parse(s, n, threads[t], "gen", &dk));
        CHECK(data_equal(&d1, &dk));
        ar_libsvm_data_release(&dk);
    }
    ar_libsvm_data_release(&d1);

    /* Prefixes (a stride of them) and byte flips fail cleanly or parse. */
    long other = 0;
    for (size_t len = 0; len < 4000; len += 7) {
        char *c = malloc(len ? len : 1);
        memcpy(c, s, len);
        int rc = parse(c, len, (int)(len % 4) + 1, "p", &dk);
        other += rc != AR_OK && rc != AR_ERR_FORMAT;
        ar_libsvm_data_release(&dk);
        free(c);
    }
    for (int f = 0; f < 300; f++) {
        size_t len = 3000;
        char *c = malloc(len);
        memcpy(c, s, len);
        static const char pool[] = ": \t\n\r-+.e0123qid\0";
        for (int k = 0; k < 3; k++) {
            size_t at = ar_rng_below(&rng, len);
            c[at] = ar_rng_below(&rng, 2) ? (char)ar_rng_below(&rng, 256)
                                          : pool[ar_rng_below(&rng, sizeof pool - 1)];
        }
        int rc = parse(c, len, 1 + f % 3, "p", &dk);
        other += rc != AR_OK && rc != AR_ERR_FORMAT;
        if (rc == AR_OK)
            CHECK_OK(ar_csr_check(&dk.csr));
        ar_libsvm_data_release(&dk);
        free(c);
    }
    CHECK_INT(other, 0);
    free(s);
}

static void write_file(const char *path, const char *s)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs(s, f);
    fclose(f);
}

/* Several files: one data set, n_cols the largest, weights filled with 1. */
static void test_load_dir(void)
{
    char dir[] = "/tmp/ar_svm_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char p1[300], p2[300];
    snprintf(p1, sizeof p1, "%s/a.libsvm", dir);
    snprintf(p2, sizeof p2, "%s/b.libsvm", dir);
    write_file(p1, "1 1:1\n0 2:2\n");
    write_file(p2, "1:3 7:1\n");
    struct ar_input *in;
    CHECK_OK(ar_input_open(dir, &in));
    struct ar_libsvm_data d;
    CHECK_OK(ar_libsvm_load(in, &d));
    CHECK_INT(d.csr.n_rows, 3);
    CHECK_INT(d.csr.n_cols, 8);
    CHECK(d.weights && d.weights[0] == 1.0f && d.weights[2] == 3.0f);
    CHECK(d.csr.indptr[3] == 3 && d.csr.indices[2] == 7);
    CHECK_OK(ar_csr_check(&d.csr));
    ar_libsvm_data_release(&d);
    ar_input_close(in);

    write_file(p2, "1 1:1\n1 x:1\n");
    CHECK_OK(ar_input_open(dir, &in));
    struct ar_data_format fmt = {.content = AR_CONTENT_LIBSVM, .label_size = 1};
    struct ar_batch_source *src;
    CHECK_ERR(ar_libsvm_source_open(in, &fmt, &src), AR_ERR_FORMAT, "b.libsvm: line 2, token 2");
    unlink(p1);
    unlink(p2);
    rmdir(dir);
}

void test_suite_libsvm(void)
{
    test_vectors();
    test_rules();
    test_threads();
    test_load_dir();
}
