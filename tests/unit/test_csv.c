/* Unit tests for io/numparse and io/csv: every vector in tests/data/csv (verdict, error line,
 * values against the sidecar), the batch source, prefixes, byte flips, thread-count
 * independence, and float32 parsing against strtof. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/mem.h"
#include "core/rng.h"
#include "io/csv.h"
#include "io/numparse.h"
#include "io/stream.h"
#include "tests/unit/testhelp.h"

/* ---- helpers ---- */

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        if (got == 0)
            break;
        n += got;
    }
    fclose(f);
    *len = n;
    return buf;
}

static bool same_float(float a, float b)
{
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

/* The message names line n exactly ("line 3:" or "line 3,"). */
static bool names_line(const char *msg, size_t n)
{
    char a[48], b[48];
    snprintf(a, sizeof a, "line %zu:", n);
    snprintf(b, sizeof b, "line %zu,", n);
    return strstr(msg, a) || strstr(msg, b);
}

/* Reads "accept..." (returns 0) or "reject at line N..." (returns N). */
static size_t read_verdict(const char *path)
{
    size_t len;
    char *t = read_file(path, &len);
    CHECK(t != NULL);
    if (!t)
        return 0;
    size_t n = 0;
    if (len > 15 && strncmp(t, "reject at line ", 15) == 0)
        n = strtoul(t + 15, NULL, 10);
    else
        CHECK(len >= 6 && strncmp(t, "accept", 6) == 0);
    free(t);
    return n;
}

/* The sidecar: rows of comma-separated %.9g values. */
struct table {
    size_t n_rows, n_fields;
    float *v;
};

static void read_table(const char *path, struct table *t)
{
    size_t len;
    char *s = read_file(path, &len);
    memset(t, 0, sizeof *t);
    CHECK(s != NULL);
    if (!s)
        return;
    size_t cap = 1024;
    t->v = malloc(cap * sizeof(float));
    size_t n = 0;
    const char *p = s, *e = s + len;
    while (p < e) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        const char *le = nl ? nl : e;
        size_t fields = 0;
        while (p < le) {
            const char *c = memchr(p, ',', (size_t)(le - p));
            const char *fe = c ? c : le;
            char tok[64];
            size_t k = (size_t)(fe - p) < 63 ? (size_t)(fe - p) : 63;
            memcpy(tok, p, k);
            tok[k] = '\0';
            if (n == cap) {
                cap *= 2;
                t->v = realloc(t->v, cap * sizeof(float));
            }
            t->v[n++] = strtof(tok, NULL);
            fields++;
            p = c ? c + 1 : le;
        }
        if (fields) {
            if (t->n_rows == 0)
                t->n_fields = fields;
            CHECK_INT(fields, t->n_fields);
            t->n_rows++;
        }
        p = nl ? nl + 1 : e;
    }
    free(s);
}

static void check_rows_vs_table(const struct ar_csv_rows *r, const struct table *t,
                                const char *what)
{
    CHECK_INT(r->n_rows, t->n_rows);
    if (r->n_rows != t->n_rows || t->n_rows == 0)
        return;
    CHECK_INT(r->n_cols + 1, t->n_fields);
    if (r->n_cols + 1 != t->n_fields)
        return;
    size_t bad = 0;
    for (size_t i = 0; i < r->n_rows; i++) {
        bad += !same_float(r->labels[i], t->v[i * t->n_fields]);
        for (size_t j = 0; j < r->n_cols; j++)
            bad += !same_float(r->x[i * r->n_cols + j], t->v[i * t->n_fields + 1 + j]);
    }
    if (bad)
        fprintf(stderr, "  %s: %zu values differ from the sidecar\n", what, bad);
    CHECK_INT(bad, 0);
}

static bool rows_equal(const struct ar_csv_rows *a, const struct ar_csv_rows *b)
{
    if (a->n_rows != b->n_rows || a->n_cols != b->n_cols || a->n_lines != b->n_lines)
        return false;
    size_t n = a->n_rows * a->n_cols;
    if (n && memcmp(a->x, b->x, n * sizeof(float)) != 0)
        return false;
    if ((a->labels == NULL) != (b->labels == NULL))
        return false;
    return !a->labels || !a->n_rows || memcmp(a->labels, b->labels, a->n_rows * 4) == 0;
}

static int parse_buf(const char *buf, size_t len, int threads, const char *name,
                     struct ar_csv_rows *r)
{
    struct ar_csv_opts o = {.label_size = 1, .n_threads = threads, .name = name, .first_line = 1};
    memset(r, 0, sizeof *r);
    return ar_csv_parse(buf, len, &o, r);
}

/* ---- the vectors ---- */

/* Reads a file through the batch source (tiny blocks, odd batch size) into one table. */
static int read_via_source(const char *path, size_t block, size_t batch, struct table *t)
{
    memset(t, 0, sizeof *t);
    struct ar_input *in;
    int rc = ar_input_open(path, &in);
    if (rc)
        return rc;
    struct ar_data_format fmt = {.content = AR_CONTENT_CSV, .label_size = 1};
    struct ar_batch_source *src;
    rc = ar_csv_source_open_ex(in, &fmt, block, &src);
    if (rc)
        return rc;
    size_t cap = 0;
    for (;;) {
        struct ar_batch b;
        rc = ar_batch_source_next(src, batch, &b);
        if (rc || b.n_rows == 0)
            break;
        CHECK(b.n_rows == batch || b.n_rows < batch);
        t->n_fields = b.n_cols + 1;
        size_t need = (t->n_rows + b.n_rows) * t->n_fields;
        if (need > cap) {
            cap = need * 2;
            t->v = realloc(t->v, cap * sizeof(float));
        }
        for (size_t i = 0; i < b.n_rows; i++) {
            float *dst = t->v + (t->n_rows + i) * t->n_fields;
            dst[0] = b.labels[i];
            memcpy(dst + 1, ar_mat_row(&b.dense, i), b.n_cols * sizeof(float));
        }
        t->n_rows += b.n_rows;
    }
    ar_batch_source_close(src);
    return rc;
}

static void test_vectors(void)
{
    size_t mlen;
    char *man = read_file(TEST_DATA("csv/MANIFEST.tsv"), &mlen);
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
        snprintf(path, sizeof path, "tests/data/csv/%s", line);
        snprintf(exp, sizeof exp, "%s.expect", path);
        snprintf(side, sizeof side, "%s.expected.csv", path);
        size_t want_line = read_verdict(exp);
        CHECK((want_line == 0) == (strncmp(tab + 1, "accept", 6) == 0));
        size_t len;
        char *buf = read_file(path, &len);
        CHECK(buf != NULL);
        if (!buf)
            continue;
        n_vectors++;
        struct table t = {0};
        if (!want_line)
            read_table(side, &t);
        struct ar_csv_rows r1;
        int rc = parse_buf(buf, len, 1, line, &r1);
        char msg1[AR_ERR_MSG_SIZE];
        snprintf(msg1, sizeof msg1, "%s", ar_err_msg());
        if (want_line) {
            CHECK_INT(rc, AR_ERR_FORMAT);
            if (!names_line(msg1, want_line) || !strstr(msg1, line))
                fprintf(stderr, "  %s: want line %zu, got \"%s\"\n", line, want_line, msg1);
            CHECK(names_line(msg1, want_line) && strstr(msg1, line));
        } else {
            CHECK_OK(rc);
            check_rows_vs_table(&r1, &t, line);
        }
        /* Any chunking gives the same rows or the same message. */
        static const int threads[] = {2, 3, 7};
        for (size_t k = 0; k < 3; k++) {
            struct ar_csv_rows rk;
            int rck = parse_buf(buf, len, threads[k], line, &rk);
            CHECK_INT(rck, rc);
            if (rc == AR_OK && rck == AR_OK)
                CHECK(rows_equal(&r1, &rk));
            else
                CHECK_STR(ar_err_msg(), msg1);
            ar_csv_rows_release(&rk);
        }
        /* The streaming source: 64-byte blocks (lines get carried and blocks grow). */
        struct table s;
        rc = read_via_source(path, 64, 3, &s);
        if (want_line) {
            CHECK_INT(rc, AR_ERR_FORMAT);
            CHECK(names_line(ar_err_msg(), want_line) && strstr(ar_err_msg(), line));
        } else {
            CHECK_OK(rc);
            CHECK_INT(s.n_rows, t.n_rows);
            if (s.n_rows == t.n_rows && s.n_rows) {
                CHECK_INT(s.n_fields, t.n_fields);
                size_t bad = 0;
                for (size_t i = 0; i < s.n_rows * s.n_fields && s.n_fields == t.n_fields; i++)
                    bad += !same_float(s.v[i], t.v[i]);
                CHECK_INT(bad, 0);
            }
        }
        free(s.v);
        free(t.v);
        ar_csv_rows_release(&r1);
        free(buf);
    }
    CHECK_INT(n_vectors, 33);
    free(man);
}

/* Every prefix of each valid vector (a stride of them for big ones) parses or fails cleanly;
 * so do a few hundred seeded random byte flips. */
static void test_prefixes_and_flips(void)
{
    static const char *valid[] = {"basic",
                                  "crlf",
                                  "utf8_bom",
                                  "blank_lines",
                                  "scientific_notation",
                                  "nan_inf_spellings",
                                  "empty_fields_missing",
                                  "whitespace_around_fields",
                                  "wide_10000_columns"};
    struct ar_rng rng;
    ar_rng_init(&rng, 42, 0);
    long ok = 0, failed = 0, other = 0;
    for (size_t v = 0; v < sizeof valid / sizeof valid[0]; v++) {
        char path[256];
        snprintf(path, sizeof path, "tests/data/csv/%s.csv", valid[v]);
        size_t len;
        char *buf = read_file(path, &len);
        CHECK(buf != NULL);
        if (!buf)
            continue;
        size_t step = len > 4096 ? len / 509 : 1;
        for (size_t n = 0; n <= len; n += (n + 64 >= len ? 1 : step)) {
            char *copy = malloc(n ? n : 1); /* exact size: ASan catches any overread */
            memcpy(copy, buf, n);
            struct ar_csv_rows r;
            int rc = parse_buf(copy, n, (int)(n % 3) + 1, "prefix", &r);
            ok += rc == AR_OK;
            failed += rc == AR_ERR_FORMAT;
            other += rc != AR_OK && rc != AR_ERR_FORMAT;
            ar_csv_rows_release(&r);
            free(copy);
        }
        int flips = len > 4096 ? 20 : 60;
        for (int f = 0; f < flips; f++) {
            char *copy = malloc(len ? len : 1);
            memcpy(copy, buf, len);
            int nflip = 1 + (int)ar_rng_below(&rng, 4);
            for (int k = 0; k < nflip && len; k++) {
                size_t at = ar_rng_below(&rng, len);
                static const char pool[] = ",.\n\r \t0-+eEnaix\0\xEF\xBB\xBF";
                copy[at] = ar_rng_below(&rng, 2) ? (char)ar_rng_below(&rng, 256)
                                                 : pool[ar_rng_below(&rng, sizeof pool - 1)];
            }
            struct ar_csv_rows r;
            int rc = parse_buf(copy, len, 2, "flip", &r);
            ok += rc == AR_OK;
            failed += rc == AR_ERR_FORMAT;
            other += rc != AR_OK && rc != AR_ERR_FORMAT;
            if (rc == AR_ERR_FORMAT)
                CHECK(strstr(ar_err_msg(), "flip: line ") != NULL);
            ar_csv_rows_release(&r);
            free(copy);
        }
        free(buf);
    }
    CHECK(ok > 0 && failed > 0);
    CHECK_INT(other, 0);
}

/* A generated file: random values, blank and CRLF lines, empty fields. */
static char *generate(struct ar_rng *rng, size_t n_rows, size_t n_cols, size_t *len)
{
    size_t cap = n_rows * (n_cols + 1) * 24 + 64, n = 0;
    char *s = malloc(cap);
    for (size_t i = 0; i < n_rows; i++) {
        if (ar_rng_below(rng, 50) == 0)
            n += (size_t)snprintf(s + n, cap - n, " \t\n");
        n += (size_t)snprintf(s + n, cap - n, "%d", (int)ar_rng_below(rng, 3));
        for (size_t j = 0; j < n_cols; j++) {
            uint64_t kind = ar_rng_below(rng, 20);
            double v = ar_rng_normal(rng) * pow(10.0, (double)ar_rng_below(rng, 9) - 4.0);
            if (kind == 0)
                n += (size_t)snprintf(s + n, cap - n, ",");
            else if (kind == 1)
                n += (size_t)snprintf(s + n, cap - n, ", %.17g ", v);
            else
                n += (size_t)snprintf(s + n, cap - n, ",%.9g", v);
        }
        n += (size_t)snprintf(s + n, cap - n, ar_rng_below(rng, 4) ? "\n" : "\r\n");
    }
    *len = n;
    return s;
}

static void test_threads(void)
{
    struct ar_rng rng;
    ar_rng_init(&rng, 7, 0);
    size_t len;
    char *buf = generate(&rng, 5000, 9, &len);
    struct ar_csv_rows r1, rk;
    CHECK_OK(parse_buf(buf, len, 1, "gen", &r1));
    CHECK_INT(r1.n_cols, 9);
    CHECK_INT(r1.n_rows, 5000);
    static const int threads[] = {2, 3, 7, 64};
    for (size_t k = 0; k < 4; k++) {
        CHECK_OK(parse_buf(buf, len, threads[k], "gen", &rk));
        CHECK(rows_equal(&r1, &rk));
        ar_csv_rows_release(&rk);
    }
    /* Default threading equals the serial parse too. */
    CHECK_OK(parse_buf(buf, len, 0, "gen", &rk));
    CHECK(rows_equal(&r1, &rk));
    ar_csv_rows_release(&rk);
    /* Values agree with strtof token by token (spot check row 0). */
    ar_csv_rows_release(&r1);

    /* Two bad lines: every thread count reports the earlier one. */
    size_t at1 = len / 3, at2 = 2 * len / 3;
    while (buf[at1] != ',')
        at1++;
    while (buf[at2] != ',')
        at2++;
    buf[at1 + 1] = 'x';
    buf[at2 + 1] = 'y';
    size_t line1 = 1;
    for (size_t i = 0; i < at1; i++)
        line1 += buf[i] == '\n';
    for (int t = 1; t <= 8; t++) {
        CHECK_ERR(parse_buf(buf, len, t, "gen", &rk), AR_ERR_FORMAT, "gen: line ");
        CHECK(names_line(ar_err_msg(), line1));
        ar_csv_rows_release(&rk);
    }
    free(buf);
}

/* Messages, options, label_size=0, weights. */
static void test_rules(void)
{
    struct ar_csv_rows r;
    memset(&r, 0, sizeof r);
    struct ar_csv_opts o = {.label_size = 0, .first_line = 1, .name = "f.csv"};
    const char *a = "1,,3\n\n4,5,\n";
    CHECK_OK(ar_csv_parse(a, strlen(a), &o, &r));
    CHECK_INT(r.n_rows, 2);
    CHECK_INT(r.n_cols, 3);
    CHECK(r.labels == NULL);
    CHECK(r.x[0] == 1.0f && isnan(r.x[1]) && r.x[2] == 3.0f && isnan(r.x[5]));
    CHECK_INT(r.n_lines, 3);
    /* A single column is fine without a label. */
    ar_csv_rows_release(&r);
    CHECK_OK(ar_csv_parse("7\n8", 3, &o, &r));
    CHECK_INT(r.n_rows, 2);
    CHECK_INT(r.n_cols, 1);
    ar_csv_rows_release(&r);

    struct ar_csv_opts w = {.label_size = 1, .weights = true, .first_line = 1, .name = "w.csv"};
    const char *b = "1,0.5,3,4\n0,2,5,6\n";
    CHECK_OK(ar_csv_parse(b, strlen(b), &w, &r));
    CHECK_INT(r.n_cols, 2);
    CHECK(r.weights && r.weights[0] == 0.5f && r.weights[1] == 2.0f);
    CHECK(r.labels[1] == 0.0f && r.x[3] == 6.0f);
    ar_csv_rows_release(&r);
    CHECK_ERR(ar_csv_parse("1,,3,4\n", 7, &w, &r), AR_ERR_FORMAT,
              "line 1, column 2: the weight is empty");
    ar_csv_rows_release(&r);
    CHECK_ERR(ar_csv_parse("1,-1,3,4\n", 9, &w, &r), AR_ERR_FORMAT, "weight '-1'");
    ar_csv_rows_release(&r);
    CHECK_ERR(ar_csv_parse("1,1,3\n1,2\n", 10, &w, &r), AR_ERR_FORMAT,
              "line 2: 2 fields, expected 3");
    ar_csv_rows_release(&r);
    CHECK_ERR(ar_csv_parse("1,2\n", 4, &w, &r), AR_ERR_FORMAT, "need a label, a weight");
    ar_csv_rows_release(&r);

    struct ar_csv_opts l = {.label_size = 1, .first_line = 10, .first_offset = 100, .name = "x"};
    CHECK_ERR(ar_csv_parse("1,2\n3,abc\n", 10, &l, &r), AR_ERR_FORMAT,
              "x: line 11, column 2: 'abc' is not a number");
    ar_csv_rows_release(&r);
    CHECK_ERR(ar_csv_parse("1,2\n3,4,\n", 9, &l, &r), AR_ERR_FORMAT,
              "x: line 11: 3 fields, expected 2 (as on line 10)");
    ar_csv_rows_release(&r);
    CHECK_ERR(ar_csv_parse("1,2\n3,4\0\n", 9, &l, &r), AR_ERR_FORMAT,
              "x: line 11: NUL byte at byte offset 107");
    ar_csv_rows_release(&r);
    CHECK_ERR(ar_csv_parse("1,2\n inf ,4\n", 12, &l, &r), AR_ERR_FORMAT,
              "line 11, column 1: label 'inf' is not finite");
    ar_csv_rows_release(&r);
    CHECK_ERR(ar_csv_parse("1,2\r3\n", 6, &l, &r), AR_ERR_FORMAT, "line 10, column 2");
    ar_csv_rows_release(&r);
    /* A BOM only counts at the start of a file. */
    CHECK_ERR(ar_csv_parse("\xEF\xBB\xBF"
                           "1,2\n",
                           7, &l, &r),
              AR_ERR_FORMAT, "line 10, column 1");
    ar_csv_rows_release(&r);
    /* The field count carries over from call to call. */
    CHECK_OK(ar_csv_parse("1,2,3\n", 6, &l, &r));
    CHECK_ERR(ar_csv_parse("1,2\n", 4, &l, &r), AR_ERR_FORMAT, "2 fields, expected 3");
    ar_csv_rows_release(&r);
    struct ar_csv_opts bad = {.label_size = 0, .weights = true, .first_line = 1};
    CHECK_ERR(ar_csv_parse("1\n", 2, &bad, &r), AR_ERR_INVALID, NULL);
    ar_csv_rows_release(&r);
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

/* The source over a directory: field count fixed across files, reset, batch sizes. */
static void test_source(void)
{
    char dir[] = "/tmp/ar_csv_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char p1[300], p2[300];
    snprintf(p1, sizeof p1, "%s/a.csv", dir);
    snprintf(p2, sizeof p2, "%s/b.csv", dir);
    write_file(p1, "1,1,2\n0,3,4\n1,5,6\n");
    write_file(p2, "\xEF\xBB\xBF"
                   "0,7,8\r\n1,9,10");
    struct ar_input *in;
    CHECK_OK(ar_input_open(dir, &in));
    struct ar_data_format fmt = {.content = AR_CONTENT_CSV, .label_size = 1};
    struct ar_batch_source *src = NULL;
    CHECK_OK(ar_csv_source_open_ex(in, &fmt, 8, &src));
    if (!src)
        return;
    for (int epoch = 0; epoch < 2; epoch++) {
        struct ar_batch b;
        float want = 1.0f;
        size_t total = 0, sizes[8], nb = 0;
        for (;;) {
            CHECK_OK(ar_batch_source_next(src, 2, &b));
            if (b.n_rows == 0)
                break;
            sizes[nb++ % 8] = b.n_rows;
            CHECK_INT(b.n_cols, 2);
            for (size_t i = 0; i < b.n_rows; i++) {
                CHECK(ar_mat_row(&b.dense, i)[0] == want);
                want += 2.0f;
            }
            total += b.n_rows;
        }
        CHECK_INT(total, 5);
        CHECK_INT(nb, 3);
        CHECK(sizes[0] == 2 && sizes[1] == 2 && sizes[2] == 1);
        CHECK_INT(src->n_cols, 2);
        CHECK(src->has_labels);
        CHECK_OK(ar_batch_source_reset(src));
    }
    ar_batch_source_close(src);

    write_file(p2, "0,7\n");
    CHECK_OK(ar_input_open(dir, &in));
    CHECK_OK(ar_csv_source_open(in, &fmt, &src));
    struct ar_batch b;
    int rc;
    do
        rc = ar_batch_source_next(src, 100, &b);
    while (rc == AR_OK && b.n_rows);
    CHECK_INT(rc, AR_ERR_FORMAT);
    CHECK(strstr(ar_err_msg(), "b.csv: line 1: 2 fields, expected 3 (as in the first file)"));
    /* The error sticks until reset. */
    CHECK_ERR(ar_batch_source_next(src, 100, &b), AR_ERR_FORMAT, "b.csv: line 1");
    ar_batch_source_close(src);
    unlink(p1);
    unlink(p2);
    rmdir(dir);
}

/* ---- numbers ---- */

static void test_grammar(void)
{
    static const char *good[] = {
        "0",    "-0",       "+1",        "1.",    ".5",    "-.5",
        "1e5",  "1E+05",    "1e-5",      "nan",   "-NaN",  "inf",
        "+Inf", "infinity", "-INFINITY", "00012", "1.5e0", "123456789012345678901234567890"};
    static const char *bad[] = {"",
                                "+",
                                "-",
                                ".",
                                "e5",
                                "1e",
                                "1e+",
                                "0x10",
                                "1.2.3",
                                "1,000",
                                "nan(1)",
                                "infx",
                                "in",
                                "1 2",
                                "--1",
                                "+-1",
                                "1e5.5",
                                ".e1",
                                "1f",
                                "nana",
                                "inff",
                                "1ee2",
                                ("\xEF\xBB\xBF"
                                 "1")};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        float v;
        bool ok = ar_numparse_f32_full(good[i], good[i] + strlen(good[i]), &v);
        float ref = strtof(good[i], NULL);
        if (!ok || !same_float(v, ref))
            fprintf(stderr, "  good '%s'\n", good[i]);
        CHECK(ok && same_float(v, ref));
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        float v;
        bool ok = ar_numparse_f32_full(bad[i], bad[i] + strlen(bad[i]), &v);
        if (ok)
            fprintf(stderr, "  bad '%s' accepted\n", bad[i]);
        CHECK(!ok);
    }
    /* Signs survive on zero and infinity; NaN sign follows strtof. */
    float v;
    const char *z = "-0.000", *u = "-1e-60", *o = "-1e60";
    CHECK(ar_numparse_f32_full(z, z + 6, &v) && signbit(v) && v == 0.0f);
    CHECK(ar_numparse_f32_full(u, u + 6, &v) && signbit(v) && v == 0.0f);
    CHECK(ar_numparse_f32_full(o, o + 5, &v) && v == -INFINITY);
    /* A huge exponent does not overflow the exponent arithmetic. */
    const char *h = "1e99999999999999999999";
    CHECK(ar_numparse_f32_full(h, h + strlen(h), &v) && v == INFINITY);
    h = "0.0000000000000000000000000000000000000000000000000000000001e99999999999999";
    CHECK(ar_numparse_f32_full(h, h + strlen(h), &v) && v == INFINITY);
    /* The scanner stops before what is not part of a number. */
    const char *s = "2.5abc";
    CHECK(ar_numparse_f32(s, s + 6, &v) == s + 3 && v == 2.5f);
    s = "1e+x";
    CHECK(ar_numparse_f32(s, s + 4, &v) == s + 1 && v == 1.0f);
}

/* Random decimal strings against glibc strtof. */
static void test_vs_strtof(void)
{
    struct ar_rng rng;
    ar_rng_init(&rng, 2024, 0);
    long bad = 0, n = 0;
    char buf[400];
    for (int i = 0; i < 300000; i++) {
        size_t k = 0;
        uint64_t kind = ar_rng_below(&rng, 8);
        if (ar_rng_below(&rng, 2))
            buf[k++] = '-';
        if (kind <= 2) {
            /* Random digits, random point, exponent anywhere near the float range. */
            size_t nd = 1 + ar_rng_below(&rng, kind == 0 ? 30 : 12);
            size_t point = ar_rng_below(&rng, nd + 2);
            for (size_t d = 0; d < nd; d++) {
                if (d == point)
                    buf[k++] = '.';
                buf[k++] = (char)('0' + ar_rng_below(&rng, 10));
            }
            int ex = (int)ar_rng_below(&rng, 100) - 60;
            if (kind != 2)
                k += (size_t)snprintf(buf + k, sizeof buf - k, "e%d", ex);
        } else if (kind == 3) {
            /* Halfway cases: exactly between two floats, and a hair either side. */
            float f =
                (float)(ar_rng_uniform(&rng) * pow(2.0, (double)ar_rng_below(&rng, 200) - 100));
            double mid = ((double)f + (double)nextafterf(f, INFINITY)) / 2;
            k += (size_t)snprintf(buf + k, sizeof buf - k, "%.*g", 25 + (int)ar_rng_below(&rng, 20),
                                  mid);
            if (ar_rng_below(&rng, 2))
                k += (size_t)snprintf(buf + k - 0, sizeof buf - k, "%s",
                                      ar_rng_below(&rng, 2) ? "0000000001" : "");
            if (ar_rng_below(&rng, 3) == 0 && k > 4 && strchr(buf, 'e') == NULL)
                buf[k - 1] = (char)(buf[k - 1] == '0' ? '0' : buf[k - 1] - 1);
        } else if (kind == 4) {
            /* Subnormals and the bottom of the range. */
            double v = ar_rng_uniform(&rng) * pow(2.0, -126.0 - (double)ar_rng_below(&rng, 26));
            k += (size_t)snprintf(buf + k, sizeof buf - k, "%.*e", (int)ar_rng_below(&rng, 20), v);
        } else if (kind == 5) {
            /* The top of the range, around FLT_MAX and the overflow threshold. */
            double v = 3.4028234e38 * (1.0 + (ar_rng_uniform(&rng) - 0.5) * 1e-7);
            k += (size_t)snprintf(buf + k, sizeof buf - k, "%.*g", 7 + (int)ar_rng_below(&rng, 14),
                                  v);
        } else if (kind == 6) {
            /* Shortest round-trip texts of random floats and doubles. */
            uint32_t bits = (uint32_t)ar_rng_u64(&rng);
            float f;
            memcpy(&f, &bits, 4);
            if (!isfinite(f))
                f = 1.5f;
            k += (size_t)snprintf(buf + k, sizeof buf - k, "%.*g", 6 + (int)ar_rng_below(&rng, 12),
                                  (double)fabsf(f));
        } else {
            /* Long digit strings (beyond 19 digits, and beyond the slow path's 128). */
            size_t nd = 20 + ar_rng_below(&rng, 300);
            buf[k++] = (char)('1' + ar_rng_below(&rng, 9));
            for (size_t d = 1; d < nd && k < 350; d++) {
                if (d == 1 && ar_rng_below(&rng, 2))
                    buf[k++] = '.';
                buf[k++] = ar_rng_below(&rng, 4) ? '0' : (char)('0' + ar_rng_below(&rng, 10));
            }
            k += (size_t)snprintf(buf + k, sizeof buf - k, "e%d", (int)ar_rng_below(&rng, 80) - 70);
        }
        buf[k] = '\0';
        float v, ref = strtof(buf, NULL);
        bool ok = ar_numparse_f32_full(buf, buf + k, &v);
        n++;
        if (!ok || !same_float(v, ref)) {
            if (bad < 5)
                fprintf(stderr, "  '%s': %.9g vs strtof %.9g (ok %d)\n", buf, (double)v,
                        (double)ref, ok);
            bad++;
        }
    }
    CHECK_INT(bad, 0);
    CHECK_INT(n, 300000);
}

void test_suite_csv(void)
{
    test_grammar();
    test_vs_strtof();
    test_vectors();
    test_rules();
    test_threads();
    test_source();
    test_prefixes_and_flips();
}
