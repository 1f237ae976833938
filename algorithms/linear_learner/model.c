/* The Linear Learner model: creation, prediction, and the versioned binary artifact
 * `model_algo-1` (layout in README.md): little-endian header, weights, bias, CRC32 trailer;
 * written to a temporary name, fsynced and renamed; every field checked on load. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "algorithms/linear_learner/ll.h"
#include "core/err.h"
#include "core/mem.h"
#include "io/artifact.h"

#define MAGIC       "ARLINLRN"
#define VERSION     1u
#define HEADER_SIZE 64u
#define MAX_WEIGHTS ((uint64_t)1 << 32)

int ar_ll_model_new(int predictor, int loss, size_t n_features, size_t n_out,
                    struct ar_ll_model **out)
{
    *out = NULL;
    size_t nw;
    if (n_features == 0 || n_out == 0 || ar_mul_overflow(n_features, n_out, &nw) ||
        nw >= MAX_WEIGHTS)
        return ar_err_set(AR_ERR_LIMIT, "linear model of %zu features x %zu outputs", n_features,
                          n_out);
    struct ar_ll_model *m = ar_callocn(1, sizeof *m);
    if (!m)
        return AR_ERR_NOMEM;
    m->w = ar_callocn(nw, sizeof(float));
    m->b = ar_callocn(n_out, sizeof(float));
    if (!m->w || !m->b) {
        ar_ll_model_free(m);
        return AR_ERR_NOMEM;
    }
    m->base.algo = &ar_algo_linear_learner;
    m->predictor = predictor;
    m->loss = loss;
    m->n_features = n_features;
    m->n_out = n_out;
    m->threshold = loss == AR_LL_LOSS_LOGISTIC ? 0.5f : 0.0f;
    *out = m;
    return AR_OK;
}

void ar_ll_model_free(struct ar_ll_model *m)
{
    if (!m)
        return;
    ar_free(m->w);
    ar_free(m->b);
    ar_free(m);
}

/* ---- encoding ---- */

int ar_ll_model_encode(const struct ar_ll_model *m, unsigned char **buf, size_t *len)
{
    size_t nw = m->n_features * m->n_out;
    size_t total = HEADER_SIZE + 4 * (nw + m->n_out) + 4;
    unsigned char *p = ar_callocn(total, 1);
    if (!p)
        return AR_ERR_NOMEM;
    memcpy(p, MAGIC, 8);
    ar_le_put_u32(p + 8, VERSION);
    ar_le_put_u32(p + 12, (uint32_t)m->predictor);
    ar_le_put_u32(p + 16, (uint32_t)m->loss);
    ar_le_put_u32(p + 20, 0); /* flags, reserved */
    ar_le_put_u64(p + 24, m->n_features);
    ar_le_put_u64(p + 32, m->n_out);
    ar_le_put_f32(p + 40, m->threshold);
    ar_le_put_f32(p + 44, 0.0f); /* reserved */
    ar_le_put_f64(p + 48, m->lr);
    ar_le_put_f32(p + 56, (float)m->wd);
    ar_le_put_f32(p + 60, (float)m->l1);
    unsigned char *q = p + HEADER_SIZE;
    for (size_t i = 0; i < nw; i++, q += 4)
        ar_le_put_f32(q, m->w[i]);
    for (size_t i = 0; i < m->n_out; i++, q += 4)
        ar_le_put_f32(q, m->b[i]);
    ar_le_put_u32(q, ar_artifact_crc32(p, total - 4));
    *buf = p;
    *len = total;
    return AR_OK;
}

int ar_ll_model_decode(const unsigned char *p, size_t len, const char *name,
                       struct ar_ll_model **out)
{
    *out = NULL;
    if (len < HEADER_SIZE + 4 || memcmp(p, MAGIC, 8) != 0)
        return ar_err_set(AR_ERR_FORMAT,
                          "%s: not a linear-learner model file (bad magic or %zu "
                          "bytes)",
                          name, len);
    uint32_t version = ar_le_get_u32(p + 8);
    if (version != VERSION)
        return ar_err_set(AR_ERR_FORMAT,
                          "%s: linear-learner model format version %u is not "
                          "supported (this build reads version %u)",
                          name, version, VERSION);
    uint32_t predictor = ar_le_get_u32(p + 12), loss = ar_le_get_u32(p + 16);
    uint64_t d = ar_le_get_u64(p + 24), k = ar_le_get_u64(p + 32);
    if (predictor > AR_LL_REGRESSOR || loss == AR_LL_LOSS_AUTO || loss > AR_LL_LOSS_SOFTMAX)
        return ar_err_set(AR_ERR_FORMAT, "%s: bad predictor type %u or loss %u", name, predictor,
                          loss);
    if (d == 0 || k == 0 || d >= MAX_WEIGHTS || k >= MAX_WEIGHTS || d * k >= MAX_WEIGHTS ||
        (predictor != AR_LL_MULTICLASS && k != 1) || (predictor == AR_LL_MULTICLASS && k < 3))
        return ar_err_set(AR_ERR_FORMAT, "%s: bad dimensions %llu features x %llu outputs", name,
                          (unsigned long long)d, (unsigned long long)k);
    uint64_t want = HEADER_SIZE + 4 * (d * k + k) + 4;
    if ((uint64_t)len != want)
        return ar_err_set(AR_ERR_FORMAT,
                          "%s: file is %zu bytes, expected %llu (truncated or "
                          "corrupt)",
                          name, len, (unsigned long long)want);
    uint32_t crc = ar_le_get_u32(p + len - 4);
    if (crc != ar_artifact_crc32(p, len - 4))
        return ar_err_set(AR_ERR_FORMAT, "%s: CRC32 mismatch (file is corrupt)", name);
    struct ar_ll_model *m;
    AR_TRY(ar_ll_model_new((int)predictor, (int)loss, (size_t)d, (size_t)k, &m));
    m->threshold = ar_le_get_f32(p + 40);
    m->lr = ar_le_get_f64(p + 48);
    m->wd = (double)ar_le_get_f32(p + 56);
    m->l1 = (double)ar_le_get_f32(p + 60);
    const unsigned char *q = p + HEADER_SIZE;
    bool finite = isfinite(m->threshold);
    for (size_t i = 0; i < d * k; i++, q += 4) {
        m->w[i] = ar_le_get_f32(q);
        finite &= isfinite(m->w[i]);
    }
    for (size_t i = 0; i < k; i++, q += 4) {
        m->b[i] = ar_le_get_f32(q);
        finite &= isfinite(m->b[i]);
    }
    if (!finite) {
        ar_ll_model_free(m);
        return ar_err_set(AR_ERR_FORMAT, "%s: model holds a non-finite weight", name);
    }
    *out = m;
    return AR_OK;
}

int ar_ll_model_save(const struct ar_ll_model *m, const char *dir)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, AR_LL_MODEL_FILE) >= sizeof path)
        return ar_err_set(AR_ERR_LIMIT, "model directory path is too long: %s", dir);
    unsigned char *buf;
    size_t len;
    AR_TRY(ar_ll_model_encode(m, &buf, &len));
    int rc = ar_artifact_write(path, buf, len);
    ar_free(buf);
    return rc;
}

int ar_ll_model_load(const char *dir, struct ar_ll_model **out)
{
    *out = NULL;
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, AR_LL_MODEL_FILE) >= sizeof path)
        return ar_err_set(AR_ERR_LIMIT, "model directory path is too long: %s", dir);
    unsigned char *buf;
    size_t len;
    AR_TRY(ar_artifact_read(path, HEADER_SIZE + 8 * MAX_WEIGHTS, &buf, &len));
    int rc = ar_ll_model_decode(buf, len, path, out);
    ar_free(buf);
    return rc;
}

/* ---- prediction ---- */

int ar_ll_model_predict(const struct ar_ll_model *m, const struct ar_batch *in,
                        struct ar_table *out)
{
    size_t n = in->n_rows, C = m->n_out;
    if (in->is_sparse ? in->n_cols > m->n_features : in->n_cols != m->n_features)
        return ar_err_set(AR_ERR_INVALID, "records have %zu features but the model expects %zu",
                          in->n_cols, m->n_features);
    if (out->n_cols == 0)
        out->n_rows = n;
    if (out->n_rows != n)
        return ar_err_set(AR_ERR_INTERNAL, "output table has %zu rows for %zu records", out->n_rows,
                          n);
    float *score, *label = NULL;
    AR_TRY(ar_table_add(out, "score", m->predictor == AR_LL_MULTICLASS ? C : 1, false, &score));
    /* Not marked integral: real Linear Learner responses carry the label as a float (1.0). */
    if (m->predictor != AR_LL_REGRESSOR)
        AR_TRY(ar_table_add(out, "predicted_label", 1, false, &label));
    if (n == 0)
        return AR_OK;
    for (size_t i = 0; i < n; i++) {
        const float *x = in->is_sparse ? NULL : ar_mat_row(&in->dense, i);
        if (x) {
            for (size_t j = 0; j < in->n_cols; j++)
                if (!isfinite(x[j]))
                    return ar_err_set(AR_ERR_INVALID,
                                      "feature %zu of record %zu is not a finite "
                                      "number",
                                      j, i + 1);
        } else {
            for (uint64_t p = in->csr.indptr[i]; p < in->csr.indptr[i + 1]; p++)
                if (!isfinite(in->csr.values[p]))
                    return ar_err_set(AR_ERR_INVALID,
                                      "feature %u of record %zu is not a finite "
                                      "number",
                                      in->csr.indices[p], i + 1);
        }
    }
    AR_TRY(ar_ll_forward(in, m->n_features, C, m->w, m->b, score));
    for (size_t i = 0; i < n; i++) {
        if (m->predictor == AR_LL_MULTICLASS) {
            float *z = score + i * C;
            size_t best = 0;
            double mx, s = 0;
            for (size_t o = 1; o < C; o++)
                if (z[o] > z[best])
                    best = o;
            mx = (double)z[best];
            for (size_t o = 0; o < C; o++)
                s += exp((double)z[o] - mx);
            for (size_t o = 0; o < C; o++)
                z[o] = (float)(exp((double)z[o] - mx) / s);
            label[i] = (float)best;
        } else if (m->predictor == AR_LL_BINARY) {
            double z = (double)score[i];
            if (m->loss == AR_LL_LOSS_LOGISTIC)
                z = z >= 0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z));
            score[i] = (float)z;
            label[i] = score[i] >= m->threshold ? 1.0f : 0.0f;
        }
    }
    return AR_OK;
}
