/* Selectable inference output (SAGEMAKER_INFERENCE_OUTPUT), as SageMaker's XGBoost 1.7-1
 * container derives it from the prediction: predicted_label, labels, probability,
 * probabilities, raw_score, raw_scores, predicted_score. Keys not valid for the objective
 * come back as NaN (with a warning), as the container does. */
#include <math.h>
#include <string.h>
#include <strings.h>

#include "algorithms/xgboost/gbt.h"
#include "core/err.h"
#include "core/log.h"

enum key {
    K_PREDICTED_LABEL,
    K_LABELS,
    K_PROBABILITY,
    K_PROBABILITIES,
    K_RAW_SCORE,
    K_RAW_SCORES,
    K_PREDICTED_SCORE,
    K_COUNT
};

static const char *const key_names[K_COUNT] = {"predicted_label", "labels",    "probability",
                                               "probabilities",   "raw_score", "raw_scores",
                                               "predicted_score"};

enum family {
    FAM_REGRESSION, /* predicted_score */
    FAM_LOGISTIC,   /* binary:logistic */
    FAM_BINARY,     /* binary:logitraw, binary:hinge, multi:softmax */
    FAM_SOFTPROB,   /* multi:softprob */
    FAM_OTHER
};

static enum family family_of(enum ar_gbt_obj o)
{
    switch (o) {
    case AR_GBT_OBJ_SQUAREDERROR:
    case AR_GBT_OBJ_LINEAR:
    case AR_GBT_OBJ_REG_LOGISTIC:
    case AR_GBT_OBJ_GAMMA:
    case AR_GBT_OBJ_TWEEDIE:
    case AR_GBT_OBJ_ABSOLUTEERROR:
        return FAM_REGRESSION;
    case AR_GBT_OBJ_BINARY_LOGISTIC:
        return FAM_LOGISTIC;
    case AR_GBT_OBJ_BINARY_LOGITRAW:
    case AR_GBT_OBJ_BINARY_HINGE:
    case AR_GBT_OBJ_SOFTMAX:
        return FAM_BINARY;
    case AR_GBT_OBJ_SOFTPROB:
        return FAM_SOFTPROB;
    default:
        return FAM_OTHER;
    }
}

static int valid_for(enum family f, enum key k)
{
    switch (f) {
    case FAM_REGRESSION:
        return k == K_PREDICTED_SCORE;
    case FAM_LOGISTIC:
    case FAM_SOFTPROB:
        return k != K_PREDICTED_SCORE;
    case FAM_BINARY:
        return k == K_PREDICTED_LABEL || k == K_LABELS || k == K_RAW_SCORE || k == K_RAW_SCORES;
    default:
        return 0;
    }
}

/* Width of a key's value per row. */
static size_t width_of(const struct ar_gbt_model *m, enum family f, enum key k)
{
    size_t classes = f == FAM_SOFTPROB || m->obj == AR_GBT_OBJ_SOFTMAX ? (size_t)m->num_class : 2;
    switch (k) {
    case K_LABELS:
        return classes;
    case K_PROBABILITIES:
    case K_RAW_SCORES:
        return f == FAM_SOFTPROB ? (size_t)m->num_class : 2;
    default:
        return 1;
    }
}

static void fill(const struct ar_gbt_model *m, enum family f, enum key k, const float *score,
                 size_t K, size_t n, float *out, size_t w)
{
    for (size_t i = 0; i < n; i++) {
        const float *s = score + i * K;
        float *o = out + i * w;
        size_t arg = 0;
        for (size_t c = 1; c < K; c++)
            if (s[c] > s[arg])
                arg = c;
        switch (k) {
        case K_PREDICTED_LABEL:
            if (f == FAM_LOGISTIC)
                o[0] = s[0] > 0.5f ? 1.0f : 0.0f;
            else if (m->obj == AR_GBT_OBJ_BINARY_LOGITRAW)
                o[0] = s[0] > 0.0f ? 1.0f : 0.0f;
            else if (f == FAM_SOFTPROB)
                o[0] = (float)arg;
            else
                o[0] = s[0];
            break;
        case K_LABELS:
            for (size_t c = 0; c < w; c++)
                o[c] = (float)c;
            break;
        case K_PROBABILITY:
            o[0] = f == FAM_SOFTPROB ? s[arg] : s[0];
            break;
        case K_PROBABILITIES:
        case K_RAW_SCORES:
            if (f == FAM_SOFTPROB) {
                memcpy(o, s, K * sizeof *o);
            } else {
                o[0] = 1.0f - s[0];
                o[1] = s[0];
            }
            break;
        case K_RAW_SCORE:
            o[0] = f == FAM_SOFTPROB ? s[arg] : s[0];
            break;
        case K_PREDICTED_SCORE:
            o[0] = s[0];
            break;
        case K_COUNT:
            break;
        }
    }
}

int ar_gbt_select_outputs(const struct ar_model *base, const char *spec,
                          const struct ar_table *pred, bool json_order, struct ar_table *out)
{
    const struct ar_gbt_model *m = (const struct ar_gbt_model *)base;
    enum family f = family_of(m->obj);
    if (f == FAM_OTHER)
        return ar_err_set(AR_ERR_UNSUPPORTED,
                          "SAGEMAKER_INFERENCE_OUTPUT is not supported for this objective");
    const struct ar_table_col *sc = ar_table_find(pred, "score");
    if (!sc)
        return ar_err_set(AR_ERR_INTERNAL, "prediction has no score column");
    /* Parse the comma list (spaces removed, lower-cased). */
    enum key keys[AR_TABLE_MAX_COLS];
    size_t nk = 0;
    const char *p = spec;
    while (*p) {
        char one[32];
        size_t n = 0;
        while (*p && *p != ',') {
            if (*p != ' ' && n + 1 < sizeof one)
                one[n++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
            p++;
        }
        one[n] = '\0';
        if (*p == ',')
            p++;
        if (!n)
            continue;
        int found = -1;
        for (int k = 0; k < K_COUNT; k++)
            if (strcmp(one, key_names[k]) == 0)
                found = k;
        if (found < 0)
            return ar_err_set(AR_ERR_PARAM,
                              "SAGEMAKER_INFERENCE_OUTPUT: unknown key '%s' (predicted_label, "
                              "labels, probability, probabilities, raw_score, raw_scores, "
                              "predicted_score)",
                              one);
        if (nk >= AR_TABLE_MAX_COLS)
            return ar_err_set(AR_ERR_PARAM, "SAGEMAKER_INFERENCE_OUTPUT: too many keys");
        keys[nk++] = (enum key)found;
    }
    if (nk == 0)
        return ar_err_set(AR_ERR_PARAM, "SAGEMAKER_INFERENCE_OUTPUT names no key");
    if (json_order) {
        for (size_t i = 1; i < nk; i++)
            for (size_t j = i; j > 0 && keys[j] < keys[j - 1]; j--) {
                enum key t = keys[j];
                keys[j] = keys[j - 1];
                keys[j - 1] = t;
            }
    }
    memset(out, 0, sizeof *out);
    out->n_rows = pred->n_rows;
    for (size_t i = 0; i < nk; i++) {
        enum key k = keys[i];
        size_t w = width_of(m, f, k);
        int ok = valid_for(f, k);
        /* int(...) labels print as integers; the hinge/softmax label is the float value. */
        bool integral =
            k == K_LABELS || (k == K_PREDICTED_LABEL && (f == FAM_LOGISTIC || f == FAM_SOFTPROB ||
                                                         m->obj == AR_GBT_OBJ_BINARY_LOGITRAW));
        float *d;
        int rc = ar_table_add(out, key_names[k], ok ? w : 1, ok && integral, &d);
        if (rc != AR_OK) {
            ar_table_release(out);
            return rc;
        }
        if (!ok) {
            for (size_t r = 0; r < out->n_rows; r++)
                d[r] = NAN;
            continue;
        }
        fill(m, f, k, sc->data, sc->width, out->n_rows, d, w);
    }
    return AR_OK;
}
