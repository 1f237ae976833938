/* The experiments store: every training job (`algorun run`, tuning trials) and tuning job in
 * one embedded SQLite database, searchable with SageMaker Search's filter vocabulary.
 *
 * Many processes write at once: the database runs in WAL mode with a busy timeout, and every
 * write is one IMMEDIATE transaction retried while the database is busy, so no record is lost
 * or half-written. A job records its host, pid and the pid's start time while InProgress;
 * ar_store_reap() (run by every reader) marks InProgress jobs whose process is gone as Failed,
 * so a killed job never stays "running". The schema is versioned with PRAGMA user_version and
 * migrated forward on open.
 *
 * Ownership: write-side structs are borrowed for the call; read-side records are owned by the
 * caller and freed with ar_store_record_free / ar_store_records_free.
 */
#ifndef AR_CONTAINER_STORE_H
#define AR_CONTAINER_STORE_H

#include <stdbool.h>
#include <stddef.h>

#define AR_STORE_SCHEMA_VERSION 1

struct ar_store;

struct ar_store_kv {
    const char *name;
    const char *value;
};

struct ar_store_channel {
    const char *name;
    const char *location;
    const char *content_type;
    const char *input_mode; /* "File" or "Pipe" */
};

struct ar_store_metric {
    const char *name; /* "validation:rmse" */
    double value;
    long step; /* round / epoch; -1 for a final value */
    double time;
};

/* A job record to write. NULL strings and zero times are stored as absent. */
struct ar_store_job {
    const char *name;
    const char *algorithm;
    const char *status; /* InProgress, Completed, Failed, Stopped */
    const char *failure;
    double creation_time, start_time, end_time;
    const char *job_dir;
    const char *model_path;
    const char *model_sha256;
    const char *tuning_job; /* the tuning job this trial belongs to, or NULL */
    long trial_index;       /* 1-based trial counter within the tuning job, 0: none */
    const char *experiment;
    const char *trial;
    const struct ar_store_kv *hp; /* resolved hyperparameters */
    size_t n_hp;
    const struct ar_store_kv *given_hp; /* as given (marks which hp entries were given) */
    size_t n_given_hp;
    const struct ar_store_channel *channels;
    size_t n_channels;
    const struct ar_store_kv *tags;
    size_t n_tags;
    const struct ar_store_metric *metrics; /* the whole history, in order */
    size_t n_metrics;
};

/* A tuning job record. */
struct ar_store_tuning {
    const char *name;
    const char *algorithm;
    const char *strategy;
    const char *objective_metric;
    const char *objective_type; /* Maximize / Minimize */
    const char *status;
    const char *failure;
    const char *config; /* JSON: everything needed to resume */
    const char *best_job;
    double creation_time, end_time;
};

/* A job as read back. Every string is owned (NULL when absent). */
struct ar_store_record_metric {
    char *name;
    double value;
    long step;
    double time;
};

struct ar_store_record_kv {
    char *name;
    char *value;
    bool given;
};

struct ar_store_record_channel {
    char *name, *location, *content_type, *input_mode;
};

struct ar_store_record {
    long id;
    char *name, *algorithm, *status, *failure;
    double creation_time, start_time, end_time, last_modified; /* 0: absent */
    char *job_dir, *model_path, *model_sha256;
    char *tuning_job;
    long trial_index;
    char *experiment, *trial;
    bool early_stopped;
    struct ar_store_record_kv *hp;
    size_t n_hp;
    struct ar_store_record_kv *tags;
    size_t n_tags;
    struct ar_store_record_channel *channels;
    size_t n_channels;
    struct ar_store_record_metric *final; /* final value of each metric, by name */
    size_t n_final;
    struct ar_store_record_metric *history; /* only when asked for */
    size_t n_history;
};

/* Writes the default store path into buf: $ALGORUN_HOME/experiments.db, else
 * ~/.algorun/experiments.db. AR_ERR_LIMIT when it does not fit. */
int ar_store_default_path(char *buf, size_t size);
/* Opens (creating it and its directory when missing) and migrates the store at `path`.
 * AR_ERR_IO naming the path; AR_ERR_UNSUPPORTED when the file has a newer schema. */
int ar_store_open(const char *path, struct ar_store **out);
void ar_store_close(struct ar_store *s);
/* The path the store was opened with. */
const char *ar_store_path(const struct ar_store *s);

/* Writes a whole job record in one transaction, replacing any previous version of the same
 * name (hyperparameters, channels, tags and metrics are replaced too). With `create`, a job of
 * that name must not exist yet (AR_ERR_EXISTS: job names are unique). An InProgress record
 * also stores this process's host, pid and pid start time; any other status clears them. */
int ar_store_job_put(struct ar_store *s, const struct ar_store_job *job, bool create);
/* Appends metric values to a job's history and updates their final values (one
 * transaction). AR_ERR_NOT_FOUND when the job is not in the store. */
int ar_store_job_add_metrics(struct ar_store *s, const char *job, const struct ar_store_metric *m,
                             size_t n);
/* Marks a job as stopped by early stopping (kept when the job later writes its record). */
int ar_store_job_mark_early_stopped(struct ar_store *s, const char *job);
/* Reads one job; `with_history` also loads every metric value. AR_ERR_NOT_FOUND. */
int ar_store_job_get(struct ar_store *s, const char *name, bool with_history,
                     struct ar_store_record **out);
/* The objective metric's history of a job (values with step >= 0, in order). The arrays are
 * owned by the caller (ar_free); *n = 0 and NULL arrays when there is none. */
int ar_store_metric_history(struct ar_store *s, const char *job, const char *metric,
                            double **values, long **steps, size_t *n);

/* Marks InProgress jobs and tuning jobs of this host whose process is gone (or was replaced
 * by another process with the same pid) as Failed. Returns the number marked in *n_marked
 * (may be NULL). */
int ar_store_reap(struct ar_store *s, size_t *n_marked);

/* Writes a tuning job record (create: AR_ERR_EXISTS when the name exists). An InProgress
 * record stores this process's host, pid and pid start time. */
int ar_store_tuning_put(struct ar_store *s, const struct ar_store_tuning *t, bool create);
/* Reads a tuning job's status and config (both owned by the caller). AR_ERR_NOT_FOUND. */
int ar_store_tuning_get(struct ar_store *s, const char *name, char **status, char **config);
/* The trials of a tuning job ordered by trial index then creation (several records can share an
 * index when an interrupted trial was run again). */
int ar_store_tuning_trials(struct ar_store *s, const char *tuning_job,
                           struct ar_store_record ***out, size_t *n);

/* ---- search (SageMaker Search vocabulary) ---- */

enum ar_store_op {
    AR_STORE_EQUALS = 0,
    AR_STORE_NOT_EQUALS,
    AR_STORE_GREATER_THAN,
    AR_STORE_GREATER_THAN_OR_EQUAL_TO,
    AR_STORE_LESS_THAN,
    AR_STORE_LESS_THAN_OR_EQUAL_TO,
    AR_STORE_CONTAINS,
    AR_STORE_EXISTS,
    AR_STORE_NOT_EXISTS,
    AR_STORE_IN
};

#define AR_STORE_NAME_MAX  256
#define AR_STORE_VALUE_MAX 1024

struct ar_store_filter {
    char name[AR_STORE_NAME_MAX + 1];
    enum ar_store_op op;
    char value[AR_STORE_VALUE_MAX + 1];
};

/* Parses "NAME OPERATOR [VALUE]" (VALUE is the rest of the text, may hold spaces; none for
 * Exists/NotExists). Checks that NAME is a searchable property and OPERATOR applies to it.
 * AR_ERR_PARAM naming the problem. */
int ar_store_filter_parse(const char *text, struct ar_store_filter *out);
/* The operator's name ("GreaterThanOrEqualTo"), and back (AR_ERR_PARAM listing them). */
const char *ar_store_op_name(enum ar_store_op op);
int ar_store_op_parse(const char *s, enum ar_store_op *out);
/* AR_OK when `name` is a searchable/sortable property: TrainingJobName, AlgorithmId,
 * TrainingJobStatus, FailureReason, TuningJobName, ExperimentName, TrialName,
 * ModelArtifacts.S3ModelArtifacts, CreationTime, TrainingStartTime, TrainingEndTime,
 * LastModifiedTime, TrainingTimeInSeconds, HyperParameters.<n>, Metrics.<n>, Tags.<k>. */
int ar_store_property_check(const char *name);

struct ar_store_query {
    const struct ar_store_filter *filters; /* AND-ed */
    size_t n_filters;
    const char *sort_by; /* NULL: CreationTime */
    bool ascending;      /* default (false): Descending, as SageMaker */
    size_t max_results;  /* 0: no limit */
};

/* Runs a search (after ar_store_reap). *out holds at most max_results records (hyperparameters,
 * tags, channels and final metrics; no history); *total counts every match. */
int ar_store_search(struct ar_store *s, const struct ar_store_query *q,
                    struct ar_store_record ***out, size_t *n, size_t *total);

/* A property's value in a record as text ("" + false when absent); numbers as %.17g and
 * times as ISO 8601. */
bool ar_store_record_property(const struct ar_store_record *r, const char *name, char *buf,
                              size_t size);

void ar_store_record_free(struct ar_store_record *r);
void ar_store_records_free(struct ar_store_record **r, size_t n);

/* Formats an epoch time as ISO 8601 UTC with milliseconds ("2024-05-01T12:00:00.123Z"). */
void ar_store_iso_time(double t, char *buf, size_t size);
/* Parses "YYYY-mm-ddTHH:MM:SS[.fff][Z]" (or a plain number of epoch seconds). AR_ERR_PARAM. */
int ar_store_parse_time(const char *s, double *out);

/* SHA-256 of a file as 64 lowercase hex digits. AR_ERR_IO. */
int ar_sha256_file(const char *path, char hex[65]);
/* SHA-256 of a buffer. */
void ar_sha256(const void *data, size_t len, unsigned char digest[32]);

#endif
