/* `algorun run`'s records in the experiments store (see run_store.h). */
#include "container/run_store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container/job.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/timer.h"

#define FLUSH_SECONDS 0.5

const char *const ar_run_store_value_options[] = {
    "--store", "--tag", "--experiment", "--trial", "--tuning-job", "--trial-index", NULL};

const char ar_run_store_help[] =
    "  --store PATH          experiments store (default $ALGORUN_HOME/experiments.db, else\n"
    "                        ~/.algorun/experiments.db); --no-store records nothing\n"
    "  --tag KEY=VALUE       a tag on the job's record (repeatable; search with Tags.KEY)\n"
    "  --experiment NAME     experiment the job belongs to; --trial NAME its trial\n"
    "  --tuning-job NAME     (set by algorun tune) the tuning job and --trial-index N\n";

static bool valid_name(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n < 1 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && !(c == '-' && i > 0 && i + 1 < n))
            return false;
    }
    return true;
}

int ar_run_store_option(struct ar_run_store *rs, const char *opt, const char *value)
{
    if (strcmp(opt, "--store") == 0) {
        if (!*value)
            return ar_err_set(AR_ERR_PARAM, "--store needs a path");
        rs->path = value;
    } else if (strcmp(opt, "--tag") == 0) {
        const char *eq = strchr(value, '=');
        if (!eq || eq == value)
            return ar_err_set(AR_ERR_PARAM, "--tag needs KEY=VALUE, got '%s'", value);
        if ((size_t)(eq - value) > 128 || strlen(eq + 1) > 256)
            return ar_err_set(AR_ERR_PARAM, "--tag '%.40s': key over 128 or value over 256 chars",
                              value);
        if (rs->n_tags >= AR_RUN_STORE_MAX_TAGS)
            return ar_err_set(AR_ERR_LIMIT, "more than %d tags", AR_RUN_STORE_MAX_TAGS);
        char *key = ar_alloc((size_t)(eq - value) + 1);
        if (!key)
            return AR_ERR_NOMEM;
        memcpy(key, value, (size_t)(eq - value));
        key[eq - value] = '\0';
        for (size_t i = 0; i < rs->n_tags; i++) {
            if (strcmp(rs->tags[i].name, key) == 0) {
                ar_free(key);
                return ar_err_set(AR_ERR_PARAM, "--tag %.*s given twice", (int)(eq - value), value);
            }
        }
        rs->tags[rs->n_tags].name = key;
        rs->tags[rs->n_tags].value = eq + 1;
        rs->n_tags++;
    } else if (strcmp(opt, "--experiment") == 0 || strcmp(opt, "--trial") == 0) {
        if (!valid_name(value, 120))
            return ar_err_set(AR_ERR_PARAM,
                              "%s '%s' must be 1-120 letters, digits or inner hyphens", opt, value);
        if (opt[3] == 'x')
            rs->experiment = value;
        else
            rs->trial = value;
    } else if (strcmp(opt, "--tuning-job") == 0) {
        if (!valid_name(value, 32))
            return ar_err_set(AR_ERR_PARAM,
                              "--tuning-job '%s' must be 1-32 letters, digits or "
                              "inner hyphens",
                              value);
        rs->tuning_job = value;
    } else if (strcmp(opt, "--trial-index") == 0) {
        char *end;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (end == value || *end || errno || v < 1 || v > 1000000)
            return ar_err_set(AR_ERR_PARAM, "--trial-index needs an integer 1..1000000, got '%s'",
                              value);
        rs->trial_index = v;
    } else {
        return ar_err_set(AR_ERR_INTERNAL, "not a store option: %s", opt);
    }
    return AR_OK;
}

/* Streams the metrics recorded since the last flush (at most every FLUSH_SECONDS). */
static int flush_metrics(struct ar_run_store *rs, const struct ar_job *job, bool force)
{
    if (!rs->store || job->n_metrics <= rs->flushed)
        return AR_OK;
    double now = ar_time_now();
    if (!force && now - rs->last_flush < FLUSH_SECONDS)
        return AR_OK;
    size_t n = job->n_metrics - rs->flushed;
    struct ar_store_metric *m = ar_callocn(n, sizeof *m);
    char(*names)[96] = ar_callocn(n, sizeof *names);
    int rc = m && names ? AR_OK : AR_ERR_NOMEM;
    for (size_t i = 0; rc == AR_OK && i < n; i++) {
        const struct ar_job_metric *jm = &job->metrics[rs->flushed + i];
        snprintf(names[i], sizeof names[i], "%s:%s", jm->set, jm->name);
        m[i] = (struct ar_store_metric){names[i], jm->value, jm->step, jm->time};
    }
    if (rc == AR_OK)
        rc = ar_store_job_add_metrics(rs->store, rs->name, m, n);
    ar_free(m);
    ar_free(names);
    if (rc == AR_OK) {
        rs->flushed = job->n_metrics;
        rs->last_flush = now;
    }
    return rc;
}

static void on_metric(void *user, const struct ar_job *job)
{
    struct ar_run_store *rs = user;
    if (flush_metrics(rs, job, false) != AR_OK && !rs->warned) {
        AR_WARN("experiments store: cannot record metrics: %s", ar_err_msg());
        rs->warned = true;
    }
}

static struct ar_store_job base_record(const struct ar_run_store *rs)
{
    struct ar_store_job r;
    memset(&r, 0, sizeof r);
    r.name = rs->name;
    r.algorithm = rs->algorithm;
    r.creation_time = rs->created;
    r.job_dir = rs->job_dir;
    r.tuning_job = rs->tuning_job;
    r.trial_index = rs->trial_index;
    r.experiment = rs->experiment;
    r.trial = rs->trial;
    r.tags = rs->tags;
    r.n_tags = rs->n_tags;
    r.channels = rs->channels;
    r.n_channels = rs->n_channels;
    return r;
}

int ar_run_store_begin(struct ar_run_store *rs, const char *name, const char *algorithm,
                       const char *job_dir, const struct ar_store_channel *channels,
                       size_t n_channels, double created)
{
    if (rs->disabled)
        return AR_OK;
    if (rs->trial_index && !rs->tuning_job)
        return ar_err_set(AR_ERR_PARAM, "--trial-index needs --tuning-job");
    snprintf(rs->name, sizeof rs->name, "%s", name);
    snprintf(rs->algorithm, sizeof rs->algorithm, "%s", algorithm);
    snprintf(rs->job_dir, sizeof rs->job_dir, "%s", job_dir);
    rs->created = created;
    rs->channels = ar_callocn(n_channels ? n_channels : 1, sizeof *rs->channels);
    if (!rs->channels)
        return AR_ERR_NOMEM;
    for (size_t i = 0; i < n_channels; i++) {
        rs->channels[i].name = ar_strdup(channels[i].name);
        rs->channels[i].location = channels[i].location ? ar_strdup(channels[i].location) : NULL;
        rs->channels[i].content_type =
            channels[i].content_type ? ar_strdup(channels[i].content_type) : NULL;
        rs->channels[i].input_mode = channels[i].input_mode;
        rs->n_channels++;
    }
    char def[4096];
    const char *path = rs->path;
    if (!path) {
        if (ar_store_default_path(def, sizeof def) != AR_OK) {
            AR_WARN("experiments store: %s; the job is not recorded", ar_err_msg());
            return AR_OK;
        }
        path = def;
    }
    int rc = ar_store_open(path, &rs->store);
    if (rc != AR_OK) {
        if (rs->path)
            return rc;
        AR_WARN("experiments store: %s; the job is not recorded (use --store PATH)", ar_err_msg());
        return AR_OK;
    }
    struct ar_store_job r = base_record(rs);
    r.status = "InProgress";
    r.start_time = created;
    rc = ar_store_job_put(rs->store, &r, true);
    if (rc != AR_OK) {
        ar_store_close(rs->store);
        rs->store = NULL;
        return rc;
    }
    rs->last_flush = ar_time_now();
    ar_job_set_metric_hook(on_metric, rs);
    return AR_OK;
}

void ar_run_store_finish(struct ar_run_store *rs, const struct ar_job *job, const char *model_path)
{
    ar_job_set_metric_hook(NULL, NULL);
    if (!rs->store)
        return;
    struct ar_store_job r = base_record(rs);
    struct ar_store_kv *hp = ar_callocn(job->n_resolved + 1, sizeof *hp);
    struct ar_store_kv *given = ar_callocn(job->n_hp + 1, sizeof *given);
    struct ar_store_metric *m = ar_callocn(job->n_metrics + 1, sizeof *m);
    char(*names)[96] = ar_callocn(job->n_metrics + 1, sizeof *names);
    char sha[65];
    int rc = hp && given && m && names ? AR_OK : AR_ERR_NOMEM;
    if (rc == AR_OK) {
        for (size_t i = 0; i < job->n_resolved; i++)
            hp[i] = (struct ar_store_kv){job->resolved[i].name, job->resolved[i].value};
        for (size_t i = 0; i < job->n_hp; i++)
            given[i] = (struct ar_store_kv){job->hp[i].name, job->hp[i].value};
        for (size_t i = 0; i < job->n_metrics; i++) {
            const struct ar_job_metric *jm = &job->metrics[i];
            snprintf(names[i], sizeof names[i], "%s:%s", jm->set, jm->name);
            m[i] = (struct ar_store_metric){names[i], jm->value, jm->step, jm->time};
        }
        /* Channels without a content type get the one the job resolved. */
        for (size_t i = 0; i < rs->n_channels; i++) {
            if (rs->channels[i].content_type)
                continue;
            const char *ct = NULL;
            for (size_t k = 0; k < job->n_channels; k++)
                if (strcmp(job->channels[k].name, rs->channels[i].name) == 0)
                    ct = ar_format_mime(job->channels[k].fmt.content);
            if (!ct && job->algo)
                ct = job->algo->train_content_types[0];
            rs->channels[i].content_type = ct ? ar_strdup(ct) : NULL;
        }
        r.status = ar_job_status_str(job->status);
        r.failure = job->status == AR_JOB_FAILED ? job->failure : NULL;
        r.start_time = job->start_time > 0 ? job->start_time : rs->created;
        r.end_time = job->end_time > 0 ? job->end_time : ar_time_epoch();
        r.hp = hp;
        r.n_hp = job->n_resolved;
        r.given_hp = given;
        r.n_given_hp = job->n_hp;
        r.metrics = m;
        r.n_metrics = job->n_metrics;
        if (model_path) {
            r.model_path = model_path;
            if (ar_sha256_file(model_path, sha) == AR_OK)
                r.model_sha256 = sha;
        }
        if (job->status == AR_JOB_INPROGRESS)
            r.status = "Failed"; /* training never started: config errors */
        /* A job asked to stop (SIGTERM) is Stopped even when the algorithm reports the stop as
         * an error; the message stays as the failure reason. */
        if (job->status == AR_JOB_FAILED && job->stop && *job->stop) {
            r.status = "Stopped";
            r.failure = job->failure;
        }
        rc = ar_store_job_put(rs->store, &r, false);
    }
    if (rc != AR_OK)
        AR_WARN("experiments store %s: cannot record job %s: %s", ar_store_path(rs->store),
                rs->name, ar_err_msg());
    ar_free(hp);
    ar_free(given);
    ar_free(m);
    ar_free(names);
}

void ar_run_store_release(struct ar_run_store *rs)
{
    ar_job_set_metric_hook(NULL, NULL);
    ar_store_close(rs->store);
    rs->store = NULL;
    for (size_t i = 0; i < rs->n_tags; i++)
        ar_free((char *)rs->tags[i].name);
    rs->n_tags = 0;
    for (size_t i = 0; i < rs->n_channels; i++) {
        ar_free((char *)rs->channels[i].name);
        ar_free((char *)rs->channels[i].location);
        ar_free((char *)rs->channels[i].content_type);
    }
    ar_free(rs->channels);
    rs->channels = NULL;
    rs->n_channels = 0;
}
