/* Training jobs: a description (algorithm, hyperparameters, channels, the /opt/ml tree) and a
 * record of what happened (status, failure reason, metrics over time, times). `algorun train`
 * (the container contract), `algorun run` (local jobs) and tuning trials all execute a job
 * through ar_job_execute, so they share one code path. */
#ifndef AR_CONTAINER_JOB_H
#define AR_CONTAINER_JOB_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "algorithms/algo.h"

struct ar_job_metric {
    char set[16];  /* "train", "validation", "test" */
    char name[64]; /* "rmse", "binary_classification_accuracy", ... */
    double value;
    long step; /* round / epoch, -1 for a final value */
    double time;
};

enum ar_job_status {
    AR_JOB_INPROGRESS = 0,
    AR_JOB_COMPLETED,
    AR_JOB_FAILED,
    AR_JOB_STOPPED
};

struct ar_job {
    /* description */
    const char *ml_root; /* the tree: input/config, input/data, model, output */
    const struct ar_algo *algo;
    struct ar_hp_kv *hp; /* as given (strings) */
    size_t n_hp;
    struct ar_channel *channels;
    size_t n_channels;
    volatile sig_atomic_t *stop;

    /* record */
    enum ar_job_status status;
    char failure[1024];
    double start_time, end_time;
    struct ar_job_metric *metrics;
    size_t n_metrics, cap_metrics;
    struct ar_hp_kv *resolved; /* every hyperparameter with its value, defaults included */
    size_t n_resolved;
};

/* Reads <ml_root>/input/config/{hyperparameters,inputdataconfig}.json into job->hp and
 * job->channels (data under <ml_root>/input/data/<channel>). The algorithm must be set. */
int ar_job_read_config(struct ar_job *job);
/* Validates channels and hyperparameters, trains, saves the model into <ml_root>/model (files
 * appear only when training succeeded), and on failure writes <ml_root>/output/failure.
 * Returns the status of the failure (AR_OK when the job completed or was stopped cleanly). */
int ar_job_execute(struct ar_job *job);
/* Frees what read_config and execute allocated. */
void ar_job_release(struct ar_job *job);

/* Called after each metric any job of this process records (NULL: none); `algorun run` uses
 * it to stream metrics into the experiments store while the job runs. */
typedef void (*ar_job_metric_hook_fn)(void *user, const struct ar_job *job);
void ar_job_set_metric_hook(ar_job_metric_hook_fn fn, void *user);

/* The job's status as SageMaker spells it: "InProgress", "Completed", "Failed", "Stopped". */
const char *ar_job_status_str(enum ar_job_status s);
/* Final value of each metric (the last one recorded, as SageMaker's FinalMetricDataList).
 * Returns the index of the last entry with that set/name, or -1. */
long ar_job_final_metric(const struct ar_job *job, const char *set, const char *name);

struct cJSON;
/* Reads a JSON object from a file (at most 1 MiB). With `optional`, a missing file gives
 * AR_OK and *out = NULL. AR_ERR_FORMAT naming the file and byte for bad JSON or a non-object. */
int ar_json_read_object(const char *path, bool optional, struct cJSON **out);
/* A hyperparameter value as a string (ar_alloc'd): strings as they are, numbers and booleans as
 * text, lists and objects as their JSON (the contract says strings, but hand-written files
 * often use numbers). NULL when out of memory. */
char *ar_hp_value_string(const struct cJSON *v);

/* Removes a directory tree (files, links, subdirectories); errors are ignored. */
void ar_remove_tree(const char *dir);
/* Creates a directory and its parents (mkdir -p). */
int ar_mkdirs(const char *path);

#endif
