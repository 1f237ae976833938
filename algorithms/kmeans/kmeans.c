/* The `kmeans:1` algorithm value: the interface functions that glue channels, the model file
 * and prediction to the k-means implementation. */
#include "algorithms/kmeans/kmeans.h"

#include "core/err.h"

static int km_train(const void *params, const struct ar_channels *chs,
                    const struct ar_train_ctx *ctx, struct ar_model **out)
{
    *out = NULL;
    const struct ar_channel *train_ch = ar_channels_get(chs, "train");
    const struct ar_channel *test_ch = ar_channels_get(chs, "test");
    if (!train_ch)
        return ar_err_set(AR_ERR_INVALID, "k-means needs a 'train' channel");
    struct ar_batch_source *train = NULL, *test = NULL;
    int rc = ar_channel_open(train_ch, &train);
    if (rc != AR_OK) {
        ar_err_prefix("channel 'train': ");
        return rc;
    }
    if (test_ch && (rc = ar_channel_open(test_ch, &test)) != AR_OK) {
        ar_err_prefix("channel 'test': ");
        ar_batch_source_close(train);
        return rc;
    }
    struct ar_km_model *m = NULL;
    rc = ar_km_train_sources(params, train, train_ch->mode == AR_INPUT_FILE, test, ctx, &m);
    ar_batch_source_close(train);
    ar_batch_source_close(test);
    if (rc == AR_OK)
        *out = &m->base;
    return rc;
}

static size_t km_n_features(const struct ar_model *m)
{
    return ((const struct ar_km_model *)m)->dim;
}

static void km_model_free(struct ar_model *m)
{
    ar_km_model_free((struct ar_km_model *)m);
}

static const char *const km_channels[] = {"train", "test", NULL};
static const char *const km_train_types[] = {"text/csv", "application/x-recordio-protobuf", NULL};
static const char *const km_infer_types[] = {"text/csv", "application/json",
                                             "application/jsonlines",
                                             "application/x-recordio-protobuf", NULL};

const struct ar_algo ar_algo_kmeans = {
    .id = "kmeans:1",
    .name = "kmeans",
    .title = "SageMaker-compatible web-scale k-means (mini-batch with local Lloyd reduction)",
    .hp = ar_km_hp,
    .params_size = sizeof(struct ar_km_params),
    .channels = km_channels,
    .train_content_types = km_train_types,
    .infer_content_types = km_infer_types,
    .default_accept = "application/json",
    .validate = ar_km_params_validate,
    .train = km_train,
    .save = ar_km_model_save,
    .load = ar_km_model_load,
    .predict = ar_km_predict,
    .n_features = km_n_features,
    .model_free = km_model_free,
    .params_free = NULL,
};
