/* The algorithm interface: every algorithm is one `struct ar_algo` value registered under its
 * fixed ID in algorithms/registry.c. The CLI, server, batch transform, tuning and distributed
 * training are written once against this interface; no algorithm knows about HTTP or /opt/ml.
 *
 * Lifecycle: the caller zero-allocates params_size bytes, fills them with ar_hp_parse(hp, ...),
 * calls validate(), then train(). A model is immutable after train() or load(): predict() takes
 * a const model and writes into a table, so server threads share one model without locks.
 */
#ifndef AR_ALGORITHMS_ALGO_H
#define AR_ALGORITHMS_ALGO_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "algorithms/hp.h"
#include "io/batch.h"
#include "io/format.h"

/* ---- channels ---- */

enum ar_input_mode {
    AR_INPUT_FILE = 0,
    AR_INPUT_PIPE = 1 /* location is "<dir>/<channel>": FIFOs <channel>_0, _1, ... per epoch */
};

struct ar_channel {
    const char *name;     /* "train", "validation", "test" */
    const char *location; /* file, directory, or for Pipe mode the FIFO path prefix */
    struct ar_data_format fmt;
    enum ar_input_mode mode;
    /* When non-NULL, the channel's data already in memory (benchmarks, tuning): the source
     * hands out views of it and location is only used in messages. Borrowed. */
    const struct ar_batch *preloaded;
};

struct ar_channels {
    size_t n;
    const struct ar_channel *items;
};

/* The channel called `name`, or NULL. */
const struct ar_channel *ar_channels_get(const struct ar_channels *chs, const char *name);
/* Opens a batch source over a channel. In Pipe mode, reset() opens the next FIFO
 * (<location>_<epoch>, waiting for it to appear). */
int ar_channel_open(const struct ar_channel *ch, struct ar_batch_source **out);

/* ---- training context ---- */

struct ar_train_ctx {
    const char *model_dir;       /* where the model will be saved (for checkpoints) */
    const char *output_data_dir; /* extra outputs (may be NULL) */
    volatile sig_atomic_t *stop; /* non-zero: stop at the next round/epoch boundary */
    /* Records one metric value (e.g. set "validation", name "rmse", step = round/epoch, -1 for
     * final) for job.json and the experiments store. May be NULL. The algorithm prints its
     * own log line in its own format as well. */
    void (*on_metric)(void *user, const char *set, const char *name, double value, long step);
    void *user;
};

/* Calls ctx->on_metric when set. */
void ar_train_ctx_metric(const struct ar_train_ctx *ctx, const char *set, const char *name,
                         double value, long step);
/* True when the job was asked to stop. */
bool ar_train_ctx_stopping(const struct ar_train_ctx *ctx);

/* ---- prediction output ---- */

#define AR_TABLE_MAX_COLS 8

/* One named output: n_rows x width floats (width 1 for scalars, k for per-class vectors). */
struct ar_table_col {
    const char *name; /* static string: "score", "predicted_label", "closest_cluster", ... */
    size_t width;
    bool integral; /* values are whole numbers (labels, cluster ids) */
    float *data;
};

struct ar_table {
    size_t n_rows;
    size_t n_cols;
    struct ar_table_col cols[AR_TABLE_MAX_COLS];
};

/* Adds a column of n_rows x width floats (zeroed), returning its data. AR_ERR_NOMEM. */
int ar_table_add(struct ar_table *t, const char *name, size_t width, bool integral, float **data);
const struct ar_table_col *ar_table_find(const struct ar_table *t, const char *name);
/* A view of src holding only the named columns, in that order (NULL-terminated list; NULL
 * list: all of src). The view borrows src's data: never release it. */
struct ar_table ar_table_pick(const struct ar_table *src, const char *const *names);
void ar_table_release(struct ar_table *t);

/* ---- models and algorithms ---- */

struct ar_algo;

/* Every algorithm's model struct begins with this header (container_of style). */
struct ar_model {
    const struct ar_algo *algo;
};

struct ar_algo {
    const char *id;    /* "xgboost:1.7-1" */
    const char *name;  /* "xgboost" (the ID without its tag) */
    const char *title; /* "XGBoost-compatible gradient-boosted trees" */
    const struct ar_hp_spec *hp;
    size_t params_size;
    /* Channel names this algorithm accepts, NULL-terminated; the first is required. */
    const char *const *channels;
    /* Content types accepted for training channels and for inference requests; the first
     * training type is the default for a channel that names none. */
    const char *const *train_content_types;
    const char *const *infer_content_types;
    const char *default_accept; /* inference response type when the request names none */
    /* Response columns when nothing else is asked for (NULL: every column predict() adds). */
    const char *const *default_outputs;
    /* Selectable inference output (XGBoost's SAGEMAKER_INFERENCE_OUTPUT): fills `out` with the
     * comma-separated keys of `spec`, derived from predict()'s table `pred`; `json_order` puts
     * them in the fixed JSON order instead of the order given. NULL when not supported. */
    int (*select_outputs)(const struct ar_model *m, const char *spec, const struct ar_table *pred,
                          bool json_order, struct ar_table *out);
    /* Under batch transform (SAGEMAKER_BATCH=true) answer one str(value) line per record
     * whatever the Accept, as SageMaker's XGBoost container does. */
    bool batch_lines;

    /* Cross-field rules after ar_hp_parse (ranges are checked by the schema). */
    int (*validate)(const void *params);
    int (*train)(const void *params, const struct ar_channels *chs, const struct ar_train_ctx *ctx,
                 struct ar_model **out);
    /* Writes the model's files into the existing directory `dir`, atomically per file. */
    int (*save)(const struct ar_model *m, const char *dir);
    int (*load)(const char *dir, struct ar_model **out);
    /* Predicts every row of `in`, adding the algorithm's output columns to `out`. */
    int (*predict)(const struct ar_model *m, const struct ar_batch *in, struct ar_table *out);
    /* Number of input features the model expects (0: any). */
    size_t (*n_features)(const struct ar_model *m);
    void (*model_free)(struct ar_model *m);
    void (*params_free)(void *params); /* frees owned fields; NULL: ar_hp_free(hp, params) */
};

/* All registered algorithms, NULL-terminated (algorithms/registry.c). */
extern const struct ar_algo *const ar_algos[];
/* Finds an algorithm by "name:tag" or "name" (newest tag). AR_ERR_NOT_FOUND listing the IDs. */
int ar_algo_find(const char *id, const struct ar_algo **out);

#endif
