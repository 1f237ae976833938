/* How `algorun run` records its job in the experiments store: the store options, an
 * InProgress record before training (with this process's pid, so a killed job is later marked
 * Failed), metrics streamed while the job runs (at most every half second, for early stopping
 * and `algorun jobs describe`), and the final record after job.json is written. */
#ifndef AR_CONTAINER_RUN_STORE_H
#define AR_CONTAINER_RUN_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "container/store.h"

struct ar_job;

#define AR_RUN_STORE_MAX_TAGS 50

struct ar_run_store {
    /* options */
    const char *path; /* --store; NULL: the default store */
    bool disabled;    /* --no-store */
    struct ar_store_kv tags[AR_RUN_STORE_MAX_TAGS];
    size_t n_tags;
    const char *tuning_job;
    long trial_index;
    const char *experiment;
    const char *trial;

    /* while the job runs */
    struct ar_store *store;
    char name[96];
    char algorithm[64];
    char job_dir[4096];
    double created;
    struct ar_store_channel *channels; /* copies */
    size_t n_channels;
    size_t flushed; /* job metrics already in the store */
    double last_flush;
    bool warned;
};

/* Options `algorun run` passes here (all take a value), NULL-terminated, and the flag. */
extern const char *const ar_run_store_value_options[];
#define AR_RUN_STORE_FLAG "--no-store"

/* Applies one store option; AR_ERR_PARAM with a message for a bad value. */
int ar_run_store_option(struct ar_run_store *rs, const char *opt, const char *value);
/* Help text lines for the options. */
extern const char ar_run_store_help[];

/* Opens the store and writes the InProgress record. A store given with --store that cannot be
 * opened, or a job name already in the store, is an error; the default store failing to open
 * is only a warning (the job still runs and writes job.json). */
int ar_run_store_begin(struct ar_run_store *rs, const char *name, const char *algorithm,
                       const char *job_dir, const struct ar_store_channel *channels,
                       size_t n_channels, double created);
/* Writes the final record (status, failure, times, hyperparameters, channels' content types,
 * every metric, the model's path and SHA-256). Failures are warnings. */
void ar_run_store_finish(struct ar_run_store *rs, const struct ar_job *job, const char *model_path);
void ar_run_store_release(struct ar_run_store *rs);

#endif
