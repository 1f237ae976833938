/* The `linear-learner:1` algorithm value: the interface functions over channels and models. */
#include <string.h>

#include "algorithms/linear_learner/ll.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"

static int ll_train(const void *params, const struct ar_channels *chs,
                    const struct ar_train_ctx *ctx, struct ar_model **out)
{
    *out = NULL;
    struct ar_ll_config c;
    AR_TRY(ar_ll_config_resolve(params, &c));
    const struct ar_channel *ch_train = ar_channels_get(chs, "train");
    const struct ar_channel *ch_val = ar_channels_get(chs, "validation");
    const struct ar_channel *ch_test = ar_channels_get(chs, "test");
    if (!ch_train)
        return ar_err_set(AR_ERR_INVALID, "linear-learner needs a 'train' channel");
    struct ar_batch_source *train = NULL, *val = NULL, *test = NULL;
    struct ar_ll_model *m = NULL;
    int rc = ar_channel_open(ch_train, &train);
    if (rc == AR_OK && ch_val)
        rc = ar_channel_open(ch_val, &val);
    if (rc == AR_OK && ch_test)
        rc = ar_channel_open(ch_test, &test);
    if (rc == AR_OK)
        rc = ar_ll_fit(&c, train, val, test, ctx, &m);
    ar_batch_source_close(train);
    ar_batch_source_close(val);
    ar_batch_source_close(test);
    if (rc == AR_OK)
        *out = &m->base;
    return rc;
}

static int ll_save(const struct ar_model *m, const char *dir)
{
    return ar_ll_model_save((const struct ar_ll_model *)(const void *)m, dir);
}

static int ll_load(const char *dir, struct ar_model **out)
{
    struct ar_ll_model *m;
    *out = NULL;
    AR_TRY(ar_ll_model_load(dir, &m));
    *out = &m->base;
    return AR_OK;
}

static int ll_predict(const struct ar_model *m, const struct ar_batch *in, struct ar_table *out)
{
    return ar_ll_model_predict((const struct ar_ll_model *)(const void *)m, in, out);
}

static size_t ll_n_features(const struct ar_model *m)
{
    return ((const struct ar_ll_model *)(const void *)m)->n_features;
}

static void ll_model_free(struct ar_model *m)
{
    ar_ll_model_free((struct ar_ll_model *)(void *)m);
}

static const char *const ll_channels[] = {"train", "validation", "test", NULL};
static const char *const ll_train_types[] = {"text/csv", "application/x-recordio-protobuf", NULL};
static const char *const ll_infer_types[] = {"text/csv", "application/json",
                                             "application/jsonlines",
                                             "application/x-recordio-protobuf", NULL};

const struct ar_algo ar_algo_linear_learner = {
    .id = "linear-learner:1",
    .name = "linear-learner",
    .title = "SageMaker-compatible Linear Learner (many linear models trained at once)",
    .hp = ar_ll_hp,
    .params_size = sizeof(struct ar_ll_params),
    .channels = ll_channels,
    .train_content_types = ll_train_types,
    .infer_content_types = ll_infer_types,
    .default_accept = "application/json",
    .validate = ar_ll_params_validate,
    .train = ll_train,
    .save = ll_save,
    .load = ll_load,
    .predict = ll_predict,
    .n_features = ll_n_features,
    .model_free = ll_model_free,
    .params_free = NULL,
};
