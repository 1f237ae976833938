/* Unit tests for container/codec: Python-repr numbers, request decoding for every content
 * type, response encoding for every Accept type. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "container/codec.h"
#include "core/mem.h"
#include "io/recordio.h"
#include "tests/unit/testhelp.h"

static void test_pyrepr(void)
{
    /* Expected strings are what CPython 3.11's repr() prints. */
    static const struct {
        double v;
        const char *s;
    } cases[] = {
        {0.43861907720565796, "0.43861907720565796"},
        {35.28992462158203, "35.28992462158203"},
        {1e-05, "1e-05"},
        {0.0001, "0.0001"},
        {1e+16, "1e+16"},
        {1.5e+16, "1.5e+16"},
        {123456789012345.0, "123456789012345.0"},
        {2.0, "2.0"},
        {-3.5, "-3.5"},
        {1e-300, "1e-300"},
        {5e-324, "5e-324"},
        {1.7976931348623157e+308, "1.7976931348623157e+308"},
        {0.1, "0.1"},
        {100.0, "100.0"},
        {1000000000000000.0, "1000000000000000.0"},
        {9999999999999998.0, "9999999999999998.0"},
        {-0.0001234, "-0.0001234"},
        {0.10000000149011612, "0.10000000149011612"},
        {1.0000000116860974e-07, "1.0000000116860974e-07"},
        {16777216.0, "16777216.0"},
        {1.0000000200408773e+20, "1.0000000200408773e+20"},
        {0.0, "0.0"},
        {-0.0, "-0.0"},
    };
    char buf[40];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int n = ar_fmt_pyrepr(cases[i].v, buf);
        CHECK_STR(buf, cases[i].s);
        CHECK_INT(n, strlen(cases[i].s));
    }
    ar_fmt_pyrepr(NAN, buf);
    CHECK_STR(buf, "nan");
    ar_fmt_pyrepr(-INFINITY, buf);
    CHECK_STR(buf, "-inf");
}

/* The float32 fast path of ar_fmt_pyrepr against its definition (the snprintf/strtod search),
 * string for string: random bit patterns, powers of two and short mantissas (exact ties, the
 * asymmetric interval below a power of two), the floats around powers of ten, and doubles that
 * are not float32 values (the search itself). tests/tools/pyrepr_check runs millions. */
static void test_pyrepr_fast(void)
{
    char a[48], b[48];
    size_t bad = 0, n = 0;
    uint64_t st = 42;
    for (int i = 0; i < 60000; i++) {
        st = st * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t bits = (uint32_t)(st >> 32);
        uint32_t special_bits[] = {bits, (bits & 0xff800000u) | ((bits & 0xff) << 15),
                                   bits & 0xff800000u};
        for (int k = 0; k < 3; k++) {
            float f;
            memcpy(&f, &special_bits[k], sizeof f);
            ar_fmt_pyrepr((double)f, a);
            ar_fmt_pyrepr_search((double)f, b);
            n++;
            if (strcmp(a, b) != 0 && bad++ < 5)
                CHECK_STR(a, b);
        }
    }
    for (int k = -45; k <= 38; k++) {
        float p = (float)pow(10.0, k);
        for (int d = -3; d <= 3; d++) {
            uint32_t bits;
            memcpy(&bits, &p, sizeof bits);
            bits = (uint32_t)((int32_t)bits + d);
            float f;
            memcpy(&f, &bits, sizeof f);
            ar_fmt_pyrepr((double)f, a);
            ar_fmt_pyrepr_search((double)f, b);
            n++;
            if (strcmp(a, b) != 0 && bad++ < 5)
                CHECK_STR(a, b);
        }
    }
    CHECK_INT(bad, 0);
    CHECK(n > 180000);
    /* Not float32 values: the search answers. */
    ar_fmt_pyrepr(0.1, a);
    CHECK_STR(a, "0.1");
    ar_fmt_pyrepr(1e300, a);
    CHECK_STR(a, "1e+300");
    /* Float32 values that print short or at the format switches. */
    ar_fmt_pyrepr((double)0.5f, a);
    CHECK_STR(a, "0.5");
    ar_fmt_pyrepr((double)0.1f, a);
    CHECK_STR(a, "0.10000000149011612");
    ar_fmt_pyrepr((double)1e16f, a);
    CHECK_STR(a, "1.0000000272564224e+16");
    ar_fmt_pyrepr((double)9.999999e15f, a);
    CHECK_STR(a, "9999999198822400.0");
    ar_fmt_pyrepr((double)-1e-5f, a);
    CHECK_STR(a, "-9.999999747378752e-06");
    ar_fmt_pyrepr((double)0x1p-149f, a);
    CHECK_STR(a, "1.401298464324817e-45");
    ar_fmt_pyrepr((double)FLT_MAX, a);
    CHECK_STR(a, "3.4028234663852886e+38");
    ar_fmt_pyrepr(-(double)(1 << 24), a);
    CHECK_STR(a, "-16777216.0");
}

static void test_decode(void)
{
    struct ar_data_format csv = {.content = AR_CONTENT_CSV}, svm = {.content = AR_CONTENT_LIBSVM},
                          js = {.content = AR_CONTENT_JSON}, jl = {.content = AR_CONTENT_JSONLINES},
                          pb = {.content = AR_CONTENT_RECORDIO_PB};
    struct ar_batch b;
    const char *body = "1.5,,3\n4,5,6\n";
    CHECK_OK(ar_codec_decode(body, strlen(body), &csv, &b));
    CHECK(b.n_rows == 2 && b.n_cols == 3 && !b.is_sparse && b.labels == NULL);
    CHECK(isnan(ar_mat_row(&b.dense, 0)[1]) && ar_mat_row(&b.dense, 1)[2] == 6.0f);
    ar_batch_release(&b);
    CHECK_ERR(ar_codec_decode("1,2\n3\n", 6, &csv, &b), AR_ERR_FORMAT, "line 2");

    body = "3:1.5 0:2\n1 2:7\n";
    CHECK_OK(ar_codec_decode(body, strlen(body), &svm, &b));
    CHECK(b.is_sparse && b.n_rows == 2 && b.n_cols == 4);
    CHECK(b.csr.indices[0] == 0 && b.csr.values[1] == 1.5f && b.csr.indices[2] == 2);
    ar_batch_release(&b);

    body = "{\"instances\": [{\"features\": [1, 2]}, {\"data\": {\"features\": {\"values\": [3, "
           "null]}}}]}";
    CHECK_OK(ar_codec_decode(body, strlen(body), &js, &b));
    CHECK(!b.is_sparse && b.n_rows == 2 && b.n_cols == 2);
    CHECK(ar_mat_row(&b.dense, 1)[0] == 3.0f && isnan(ar_mat_row(&b.dense, 1)[1]));
    ar_batch_release(&b);
    body = "{\"instances\": [{\"data\": {\"features\": {\"keys\": [7, 2], \"shape\": [10], "
           "\"values\": [1, 4]}}}]}";
    CHECK_OK(ar_codec_decode(body, strlen(body), &js, &b));
    CHECK(b.is_sparse && b.n_cols == 10 && b.csr.indices[0] == 2 && b.csr.values[0] == 4.0f);
    ar_batch_release(&b);
    body = "{\"instances\": [{\"features\": [1, 2]}, {\"features\": [1]}]}";
    CHECK_ERR(ar_codec_decode(body, strlen(body), &js, &b), AR_ERR_FORMAT, "instance 2");
    CHECK_ERR(ar_codec_decode("{\"x\": 1}", 8, &js, &b), AR_ERR_FORMAT, "instances");
    CHECK_ERR(ar_codec_decode("{nope", 5, &js, &b), AR_ERR_FORMAT, "not valid JSON");
    body = "{\"instances\": [{\"features\": [1, \"a\"]}]}";
    CHECK_ERR(ar_codec_decode(body, strlen(body), &js, &b), AR_ERR_FORMAT, "value 2");
    body = "{\"instances\": [{\"data\": {\"features\": {\"keys\": [12], \"shape\": [10], "
           "\"values\": [1]}}}]}";
    CHECK_ERR(ar_codec_decode(body, strlen(body), &js, &b), AR_ERR_FORMAT, "key 1");

    body = "{\"features\": [1, 2]}\n\n{\"features\": [3, 4]}\n";
    CHECK_OK(ar_codec_decode(body, strlen(body), &jl, &b));
    CHECK(b.n_rows == 2 && ar_mat_row(&b.dense, 1)[1] == 4.0f);
    ar_batch_release(&b);
    CHECK_ERR(ar_codec_decode("{\"features\": [1]}\n{bad\n", 22, &jl, &b), AR_ERR_FORMAT, "line 2");

    /* RecordIO: write two labelled rows, decode them back without labels. */
    struct ar_batch src;
    memset(&src, 0, sizeof src);
    float x[4] = {1, 2, 3, 4}, y[2] = {0, 1};
    src.n_rows = 2;
    src.n_cols = 2;
    src.dense = ar_mat_view(x, 2, 2, 2);
    src.labels = y;
    struct ar_recordio_buf rb = {0};
    CHECK_OK(ar_recordio_write_rows(&src, AR_RECORDIO_F32, AR_RECORDIO_F32, &rb));
    CHECK_OK(ar_codec_decode((const char *)rb.data, rb.len, &pb, &b));
    CHECK(b.n_rows == 2 && b.labels == NULL && ar_mat_row(&b.dense, 1)[0] == 3.0f);
    ar_batch_release(&b);
    CHECK_ERR(ar_codec_decode((const char *)rb.data, rb.len - 3, &pb, &b), AR_ERR_FORMAT, "byte");
    ar_recordio_buf_release(&rb);
}

static void test_encode(void)
{
    struct ar_table t;
    memset(&t, 0, sizeof t);
    t.n_rows = 2;
    float *score, *label, *probs;
    CHECK_OK(ar_table_add(&t, "score", 1, false, &score));
    CHECK_OK(ar_table_add(&t, "predicted_label", 1, false, &label));
    score[0] = 0.25f;
    score[1] = NAN;
    label[0] = 0;
    label[1] = 1;
    struct ar_buf out = {0};
    struct ar_encode_opts o = {AR_CONTENT_JSON, false, false};
    CHECK_OK(ar_codec_encode(&t, &o, &out));
    CHECK_STR(out.data, "{\"predictions\": [{\"score\": 0.25, \"predicted_label\": 0.0}, "
                        "{\"score\": NaN, \"predicted_label\": 1.0}]}");
    out.len = 0;
    o.accept = AR_CONTENT_JSONLINES;
    CHECK_OK(ar_codec_encode(&t, &o, &out));
    CHECK_STR(out.data, "{\"score\": 0.25, \"predicted_label\": 0.0}\n"
                        "{\"score\": NaN, \"predicted_label\": 1.0}\n");
    out.len = 0;
    o.accept = AR_CONTENT_CSV;
    CHECK_OK(ar_codec_encode(&t, &o, &out));
    CHECK_STR(out.data, "0.25,0.0\nnan,1.0\n");
    ar_table_release(&t);

    memset(&t, 0, sizeof t);
    t.n_rows = 1;
    CHECK_OK(ar_table_add(&t, "predicted_label", 1, true, &label));
    CHECK_OK(ar_table_add(&t, "probabilities", 3, false, &probs));
    label[0] = 2;
    probs[0] = 0.125f;
    probs[1] = 0.375f;
    probs[2] = 0.5f;
    out.len = 0;
    o.csv_quote_lists = true;
    CHECK_OK(ar_codec_encode(&t, &o, &out));
    CHECK_STR(out.data, "2,\"[0.125, 0.375, 0.5]\"\n");
    out.len = 0;
    o.csv_quote_lists = false;
    CHECK_OK(ar_codec_encode(&t, &o, &out));
    CHECK_STR(out.data, "2,0.125,0.375,0.5\n");
    out.len = 0;
    o.batch_lines = true;
    CHECK_OK(ar_codec_encode(&t, &o, &out));
    CHECK_STR(out.data, "2,[0.125, 0.375, 0.5]\n");
    out.len = 0;
    o.batch_lines = false;
    o.accept = AR_CONTENT_JSON;
    CHECK_OK(ar_codec_encode(&t, &o, &out));
    CHECK_STR(
        out.data,
        "{\"predictions\": [{\"predicted_label\": 2, \"probabilities\": [0.125, 0.375, 0.5]}]}");
    /* RecordIO: one Record per row, decodable with the record view. */
    out.len = 0;
    o.accept = AR_CONTENT_RECORDIO_PB;
    CHECK_OK(ar_codec_encode(&t, &o, &out));
    struct ar_recordio_reader *r;
    CHECK_OK(ar_recordio_reader_new_mem(out.data, out.len, "resp", &r));
    struct ar_recordio_frame f;
    bool end;
    CHECK_OK(ar_recordio_reader_next(r, &f, &end));
    struct ar_recordio_record rec;
    CHECK_OK(ar_recordio_record_decode(f.data, f.len, &rec));
    const struct ar_recordio_entry *e =
        ar_recordio_entry_find(rec.label, rec.n_label, "probabilities");
    CHECK(e && e->value.kind == AR_RECORDIO_F32 && e->value.n_values == 3);
    ar_recordio_record_release(&rec);
    CHECK_OK(ar_recordio_reader_next(r, &f, &end));
    CHECK(end);
    ar_recordio_reader_free(r);
    o.accept = AR_CONTENT_LIBSVM;
    CHECK_ERR(ar_codec_encode(&t, &o, &out), AR_ERR_UNSUPPORTED, "text/libsvm");
    ar_buf_release(&out);
    ar_table_release(&t);
}

void test_suite_codec(void)
{
    test_pyrepr();
    test_pyrepr_fast();
    test_decode();
    test_encode();
}
