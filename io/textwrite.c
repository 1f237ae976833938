/* CSV and libsvm writers. */
#include "io/textwrite.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "core/err.h"

int ar_textwrite_f32(char *buf, float v)
{
    if (isnan(v)) {
        memcpy(buf, "nan", 4);
        return 3;
    }
    if (isinf(v)) {
        if (v < 0) {
            memcpy(buf, "-inf", 5);
            return 4;
        }
        memcpy(buf, "inf", 4);
        return 3;
    }
    return snprintf(buf, 24, "%.9g", (double)v);
}

static int put(FILE *out, const char *s, size_t n)
{
    if (fwrite(s, 1, n, out) != n)
        return ar_err_set(AR_ERR_IO, "write failed: %s", strerror(errno));
    return AR_OK;
}

int ar_textwrite_csv(FILE *out, const struct ar_batch *b, bool with_weights, bool absent_as_missing)
{
    char num[32];
    for (size_t i = 0; i < b->n_rows; i++) {
        int first = 1;
        if (b->labels) {
            int n = ar_textwrite_f32(num, b->labels[i]);
            AR_TRY(put(out, num, (size_t)n));
            first = 0;
        }
        if (with_weights && b->weights) {
            if (!first)
                AR_TRY(put(out, ",", 1));
            int n = ar_textwrite_f32(num, b->weights[i]);
            AR_TRY(put(out, num, (size_t)n));
            first = 0;
        }
        if (!b->is_sparse) {
            const float *row = ar_mat_row(&b->dense, i);
            for (size_t j = 0; j < b->n_cols; j++) {
                if (!first)
                    AR_TRY(put(out, ",", 1));
                first = 0;
                int n = ar_textwrite_f32(num, row[j]);
                AR_TRY(put(out, num, (size_t)n));
            }
        } else {
            uint64_t k = b->csr.indptr[i], end = b->csr.indptr[i + 1];
            for (size_t j = 0; j < b->n_cols; j++) {
                if (!first)
                    AR_TRY(put(out, ",", 1));
                first = 0;
                if (k < end && b->csr.indices[k] == j) {
                    int n = ar_textwrite_f32(num, b->csr.values[k++]);
                    AR_TRY(put(out, num, (size_t)n));
                } else if (!absent_as_missing) {
                    AR_TRY(put(out, "0", 1));
                }
            }
        }
        AR_TRY(put(out, "\n", 1));
    }
    return AR_OK;
}

int ar_textwrite_libsvm(FILE *out, const struct ar_batch *b)
{
    char num[32];
    for (size_t i = 0; i < b->n_rows; i++) {
        int n = ar_textwrite_f32(num, b->labels ? b->labels[i] : 0.0f);
        AR_TRY(put(out, num, (size_t)n));
        if (b->weights) {
            AR_TRY(put(out, ":", 1));
            n = ar_textwrite_f32(num, b->weights[i]);
            AR_TRY(put(out, num, (size_t)n));
        }
        if (b->is_sparse) {
            for (uint64_t k = b->csr.indptr[i]; k < b->csr.indptr[i + 1]; k++) {
                char pair[48];
                int m = snprintf(pair, sizeof pair, " %u:", b->csr.indices[k]);
                AR_TRY(put(out, pair, (size_t)m));
                n = ar_textwrite_f32(num, b->csr.values[k]);
                AR_TRY(put(out, num, (size_t)n));
            }
        } else {
            const float *row = ar_mat_row(&b->dense, i);
            for (size_t j = 0; j < b->n_cols; j++) {
                if (isnan(row[j]))
                    continue;
                char pair[48];
                int m = snprintf(pair, sizeof pair, " %zu:", j);
                AR_TRY(put(out, pair, (size_t)m));
                n = ar_textwrite_f32(num, row[j]);
                AR_TRY(put(out, num, (size_t)n));
            }
        }
        AR_TRY(put(out, "\n", 1));
    }
    return AR_OK;
}
