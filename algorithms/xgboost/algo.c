/* The xgboost:1.7-1 algorithm value: channels, content types, and the train hook that loads
 * the train and validation channels into memory and runs the tree learner. */
#include <string.h>

#include "algorithms/xgboost/gbt.h"
#include "core/err.h"
#include "core/log.h"

static const char *const gbt_channels[] = {"train", "validation", NULL};
/* The first entry is the default when a channel or request names no type: libsvm, as
 * SageMaker's XGBoost container assumes. */
static const char *const gbt_train_types[] = {"text/libsvm", "text/csv",
                                              "application/x-recordio-protobuf", NULL};
static const char *const gbt_infer_types[] = {"text/libsvm", "text/x-libsvm", "text/csv",
                                              "application/x-recordio-protobuf", NULL};

/* Loads a whole channel; csv_weights makes CSV column 1 the instance weight. */
static int load_channel(const struct ar_channel *ch, bool csv_weights, struct ar_batch *out)
{
    struct ar_channel c = *ch;
    if (csv_weights && c.fmt.content == AR_CONTENT_CSV)
        c.fmt.csv_weights = true;
    struct ar_batch_source *src;
    int rc = ar_channel_open(&c, &src);
    if (rc == AR_OK) {
        rc = ar_batch_source_load_all(src, out);
        ar_batch_source_close(src);
    }
    if (rc != AR_OK)
        ar_err_prefix("channel '%s': ", ch->name);
    return rc;
}

static int gbt_train(const void *params, const struct ar_channels *chs,
                     const struct ar_train_ctx *ctx, struct ar_model **out)
{
    const struct ar_gbt_params *p = params;
    *out = NULL;
    const struct ar_channel *tr = ar_channels_get(chs, "train");
    const struct ar_channel *va = ar_channels_get(chs, "validation");
    if (!tr)
        return ar_err_set(AR_ERR_INVALID, "Missing required channel: train");
    struct ar_batch train, valid;
    memset(&train, 0, sizeof train);
    memset(&valid, 0, sizeof valid);
    int rc = load_channel(tr, p->csv_weights != 0, &train);
    if (rc == AR_OK && va)
        rc = load_channel(va, p->csv_weights != 0, &valid);
    struct ar_gbt_model *m = NULL;
    if (rc == AR_OK)
        rc = ar_gbt_train_batch(p, &train, va ? &valid : NULL, ctx, &m);
    ar_batch_release(&train);
    ar_batch_release(&valid);
    if (rc == AR_OK)
        *out = &m->base;
    return rc;
}

static size_t gbt_n_features(const struct ar_model *m)
{
    return ((const struct ar_gbt_model *)m)->n_features;
}

/* Without SAGEMAKER_INFERENCE_OUTPUT the container answers the prediction value only. */
static const char *const gbt_default_outputs[] = {"score", NULL};

const struct ar_algo ar_algo_xgboost = {
    .id = "xgboost:1.7-1",
    .name = "xgboost",
    .title = "XGBoost-compatible gradient-boosted trees (XGBoost 1.7.4, tree_method=hist)",
    .hp = ar_gbt_hp,
    .params_size = sizeof(struct ar_gbt_params),
    .channels = gbt_channels,
    .train_content_types = gbt_train_types,
    .infer_content_types = gbt_infer_types,
    .default_accept = "text/csv",
    .default_outputs = gbt_default_outputs,
    .select_outputs = ar_gbt_select_outputs,
    .batch_lines = true,
    .validate = ar_gbt_params_validate,
    .train = gbt_train,
    .save = ar_gbt_model_save,
    .load = ar_gbt_model_load,
    .predict = ar_gbt_predict,
    .n_features = gbt_n_features,
    .model_free = ar_gbt_model_free,
    .params_free = NULL,
};
