/* Executing a training job against an /opt/ml-shaped tree. */
#include "container/job.h"

#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/timer.h"
#include "io/artifact.h"
#include "io/stream.h"

#define CONFIG_CAP (1u << 20)

/* snprintf for paths: AR_ERR_LIMIT instead of a silently truncated path. */
__attribute__((format(printf, 3, 4))) static int pathf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= size)
        return ar_err_set(AR_ERR_LIMIT, "path too long: %.200s...", buf);
    return AR_OK;
}

int ar_mkdirs(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf)
        return ar_err_set(AR_ERR_INVALID, "bad directory path '%s'", path);
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return ar_err_set(AR_ERR_IO, "%s: cannot create directory: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return ar_err_set(AR_ERR_IO, "%s: cannot create directory: %s", buf, strerror(errno));
    return AR_OK;
}

const char *ar_job_status_str(enum ar_job_status s)
{
    switch (s) {
    case AR_JOB_INPROGRESS:
        return "InProgress";
    case AR_JOB_COMPLETED:
        return "Completed";
    case AR_JOB_FAILED:
        return "Failed";
    case AR_JOB_STOPPED:
        return "Stopped";
    }
    return "Unknown";
}

long ar_job_final_metric(const struct ar_job *job, const char *set, const char *name)
{
    for (size_t i = job->n_metrics; i-- > 0;)
        if (strcmp(job->metrics[i].set, set) == 0 && strcmp(job->metrics[i].name, name) == 0)
            return (long)i;
    return -1;
}

/* ---- reading the config files ---- */

int ar_json_read_object(const char *path, bool optional, cJSON **out)
{
    *out = NULL;
    struct ar_stream *s;
    int rc = ar_stream_open_file(path, false, &s);
    if (rc == AR_ERR_NOT_FOUND && optional)
        return AR_OK;
    if (rc != AR_OK)
        return rc;
    char *text;
    size_t len;
    rc = ar_stream_slurp(s, CONFIG_CAP, &text, &len);
    ar_stream_close(s);
    if (rc != AR_OK)
        return rc;
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithOpts(text, &end, true);
    if (!j) {
        size_t off = end ? (size_t)(end - text) : 0;
        ar_free(text);
        return ar_err_set(AR_ERR_FORMAT, "%s: invalid JSON near byte %zu", path, off);
    }
    ar_free(text);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return ar_err_set(AR_ERR_FORMAT, "%s: expected a JSON object", path);
    }
    *out = j;
    return AR_OK;
}

char *ar_hp_value_string(const cJSON *v)
{
    char buf[64];
    if (cJSON_IsString(v))
        return ar_strdup(v->valuestring);
    if (cJSON_IsBool(v))
        return ar_strdup(cJSON_IsTrue(v) ? "true" : "false");
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d == (double)(long long)d && d > -1e15 && d < 1e15)
            snprintf(buf, sizeof buf, "%lld", (long long)d);
        else
            snprintf(buf, sizeof buf, "%.17g", d);
        return ar_strdup(buf);
    }
    /* Lists and objects (e.g. eval_metrics) keep their JSON text. */
    char *printed = cJSON_PrintUnformatted(v);
    char *copy = printed ? ar_strdup(printed) : NULL;
    cJSON_free(printed);
    return copy;
}

static int read_hyperparameters(struct ar_job *job, const char *config_dir)
{
    char path[4096];
    AR_TRY(pathf(path, sizeof path, "%s/hyperparameters.json", config_dir));
    cJSON *j;
    AR_TRY(ar_json_read_object(path, true, &j));
    if (!j)
        return AR_OK;
    size_t n = (size_t)cJSON_GetArraySize(j);
    job->hp = ar_callocn(n ? n : 1, sizeof *job->hp);
    if (!job->hp) {
        cJSON_Delete(j);
        return AR_ERR_NOMEM;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, j)
    {
        if (cJSON_IsNull(it)) {
            cJSON_Delete(j);
            return ar_err_set(AR_ERR_PARAM, "%s: hyperparameter %s is null", path, it->string);
        }
        char *name = ar_strdup(it->string);
        char *value = ar_hp_value_string(it);
        if (!name || !value) {
            ar_free(name);
            ar_free(value);
            cJSON_Delete(j);
            return AR_ERR_NOMEM;
        }
        job->hp[job->n_hp].name = name;
        job->hp[job->n_hp].value = value;
        job->n_hp++;
    }
    cJSON_Delete(j);
    return AR_OK;
}

static int read_channels(struct ar_job *job, const char *config_dir)
{
    char path[4096];
    AR_TRY(pathf(path, sizeof path, "%s/inputdataconfig.json", config_dir));
    cJSON *j;
    AR_TRY(ar_json_read_object(path, true, &j));
    if (!j)
        return AR_OK;
    size_t n = (size_t)cJSON_GetArraySize(j);
    job->channels = ar_callocn(n ? n : 1, sizeof *job->channels);
    if (!job->channels) {
        cJSON_Delete(j);
        return AR_ERR_NOMEM;
    }
    int rc = AR_OK;
    const cJSON *it;
    cJSON_ArrayForEach(it, j)
    {
        struct ar_channel *ch = &job->channels[job->n_channels];
        const char *name = it->string;
        size_t nl = strlen(name);
        int ok = nl >= 1 && nl <= 64;
        for (size_t i = 0; i < nl; i++)
            ok &= (name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
                  (name[i] >= '0' && name[i] <= '9') || name[i] == '.' || name[i] == '-' ||
                  name[i] == '_';
        if (!ok || !cJSON_IsObject(it)) {
            rc = ar_err_set(AR_ERR_FORMAT, "%s: bad channel entry '%s'", path, name);
            break;
        }
        const cJSON *ct = cJSON_GetObjectItemCaseSensitive(it, "ContentType");
        const cJSON *mode = cJSON_GetObjectItemCaseSensitive(it, "TrainingInputMode");
        const char *ctype =
            cJSON_IsString(ct) ? ct->valuestring : job->algo->train_content_types[0];
        if ((rc = ar_format_parse(ctype, &ch->fmt)) != AR_OK) {
            ar_err_prefix("channel '%s': ", name);
            rc = AR_ERR_PARAM;
            break;
        }
        ch->mode = AR_INPUT_FILE;
        if (cJSON_IsString(mode)) {
            if (strcmp(mode->valuestring, "Pipe") == 0) {
                ch->mode = AR_INPUT_PIPE;
            } else if (strcmp(mode->valuestring, "File") != 0 &&
                       strcmp(mode->valuestring, "FastFile") != 0) {
                rc = ar_err_set(AR_ERR_PARAM, "channel '%s': unknown TrainingInputMode '%s'", name,
                                mode->valuestring);
                break;
            }
        }
        char loc[4096];
        if ((rc = pathf(loc, sizeof loc, "%s/input/data/%s", job->ml_root, name)) != AR_OK)
            break;
        ch->name = ar_strdup(name);
        ch->location = ar_strdup(loc);
        if (!ch->name || !ch->location) {
            rc = AR_ERR_NOMEM;
            break;
        }
        job->n_channels++;
    }
    cJSON_Delete(j);
    return rc;
}

int ar_job_read_config(struct ar_job *job)
{
    char dir[4096];
    AR_TRY(pathf(dir, sizeof dir, "%s/input/config", job->ml_root));
    AR_TRY(read_hyperparameters(job, dir));
    return read_channels(job, dir);
}

/* ---- executing ---- */

static ar_job_metric_hook_fn metric_hook;
static void *metric_hook_user;

void ar_job_set_metric_hook(ar_job_metric_hook_fn fn, void *user)
{
    metric_hook = fn;
    metric_hook_user = user;
}

static void on_metric(void *user, const char *set, const char *name, double value, long step)
{
    struct ar_job *job = user;
    if (job->n_metrics == job->cap_metrics) {
        size_t nc = job->cap_metrics ? job->cap_metrics * 2 : 64;
        struct ar_job_metric *nm =
            ar_reallocn(job->metrics, job->cap_metrics * sizeof *nm, nc, sizeof *nm);
        if (!nm)
            return; /* metrics are a record, not the job: losing one is not fatal */
        job->metrics = nm;
        job->cap_metrics = nc;
    }
    struct ar_job_metric *m = &job->metrics[job->n_metrics++];
    snprintf(m->set, sizeof m->set, "%s", set);
    snprintf(m->name, sizeof m->name, "%s", name);
    m->value = value;
    m->step = step;
    m->time = ar_time_epoch();
    if (metric_hook)
        metric_hook(metric_hook_user, job);
}

static int check_channels(const struct ar_job *job)
{
    const char *const *allowed = job->algo->channels;
    for (size_t i = 0; i < job->n_channels; i++) {
        int known = 0;
        for (const char *const *a = allowed; *a; a++)
            known |= strcmp(*a, job->channels[i].name) == 0;
        if (!known)
            return ar_err_set(AR_ERR_PARAM, "Extraneous channel found: %s", job->channels[i].name);
        int type_ok = 0;
        for (const char *const *t = job->algo->train_content_types; *t; t++) {
            struct ar_data_format f;
            if (ar_format_parse(*t, &f) == AR_OK && f.content == job->channels[i].fmt.content)
                type_ok = 1;
        }
        if (!type_ok)
            return ar_err_set(AR_ERR_PARAM, "channel '%s': content type %s is not supported by %s",
                              job->channels[i].name, ar_format_mime(job->channels[i].fmt.content),
                              job->algo->id);
        for (size_t k = 0; k < i; k++)
            if (strcmp(job->channels[k].name, job->channels[i].name) == 0)
                return ar_err_set(AR_ERR_PARAM, "channel '%s' given twice", job->channels[i].name);
    }
    int has_required = 0;
    for (size_t i = 0; i < job->n_channels; i++)
        has_required |= strcmp(job->channels[i].name, allowed[0]) == 0;
    if (!has_required)
        return ar_err_set(AR_ERR_PARAM, "Missing required channel: %s", allowed[0]);
    return AR_OK;
}

static int resolve_hp(struct ar_job *job, const void *params)
{
    size_t n = 0;
    for (const struct ar_hp_spec *e = job->algo->hp; e->name; e++)
        n++;
    job->resolved = ar_callocn(n ? n : 1, sizeof *job->resolved);
    if (!job->resolved)
        return AR_ERR_NOMEM;
    char buf[2600];
    for (const struct ar_hp_spec *e = job->algo->hp; e->name; e++) {
        int given = 0;
        for (size_t i = 0; i < job->n_hp; i++)
            given |= ar_hp_find(job->algo->hp, job->hp[i].name) == e;
        /* Optional parameters without a default and not given have no value to report. */
        if (!given && !e->def)
            continue;
        AR_TRY(ar_hp_format(e, params, buf, sizeof buf));
        job->resolved[job->n_resolved].name = e->name;
        job->resolved[job->n_resolved].value = ar_strdup(buf);
        if (!job->resolved[job->n_resolved].value)
            return AR_ERR_NOMEM;
        job->n_resolved++;
    }
    return AR_OK;
}

/* Moves every file of `from` into `to` and removes `from`. */
static int move_dir_files(const char *from, const char *to)
{
    DIR *d = opendir(from);
    if (!d)
        return ar_err_set(AR_ERR_IO, "%s: %s", from, strerror(errno));
    int rc = AR_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char a[4096], b[4096];
        if (pathf(a, sizeof a, "%s/%s", from, e->d_name) != AR_OK ||
            pathf(b, sizeof b, "%s/%s", to, e->d_name) != AR_OK) {
            rc = AR_ERR_LIMIT;
            continue;
        }
        if (rename(a, b) != 0 && rc == AR_OK)
            rc = ar_err_set(AR_ERR_IO, "%s: cannot move into %s: %s", a, to, strerror(errno));
    }
    closedir(d);
    rmdir(from);
    return rc;
}

void ar_remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[4096];
        struct stat st;
        if (pathf(p, sizeof p, "%s/%s", dir, e->d_name) != AR_OK)
            continue;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            ar_remove_tree(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static int user_error(int rc)
{
    return rc == AR_ERR_PARAM || rc == AR_ERR_FORMAT || rc == AR_ERR_INVALID ||
           rc == AR_ERR_NOT_FOUND || rc == AR_ERR_UNSUPPORTED || rc == AR_ERR_LIMIT;
}

static void write_failure(struct ar_job *job, int rc)
{
    snprintf(job->failure, sizeof job->failure, "%s: %s",
             user_error(rc) ? "UserError" : "AlgorithmError",
             *ar_err_msg() ? ar_err_msg() : ar_status_str(rc));
    char dir[4096], path[4096];
    if (pathf(dir, sizeof dir, "%s/output", job->ml_root) == AR_OK &&
        pathf(path, sizeof path, "%s/failure", dir) == AR_OK && ar_mkdirs(dir) == AR_OK)
        ar_artifact_write(path, job->failure, strlen(job->failure));
    AR_ERROR("%s", job->failure);
}

int ar_job_execute(struct ar_job *job)
{
    job->start_time = ar_time_epoch();
    job->status = AR_JOB_INPROGRESS;
    const struct ar_algo *algo = job->algo;
    void *params = ar_callocn(1, algo->params_size);
    struct ar_model *model = NULL;
    char model_dir[4096], staging[4096], out_dir[4096];
    int rc = params ? AR_OK : AR_ERR_NOMEM;
    if (rc == AR_OK)
        rc = pathf(model_dir, sizeof model_dir, "%s/model", job->ml_root);
    if (rc == AR_OK)
        rc = pathf(out_dir, sizeof out_dir, "%s/output/data", job->ml_root);
    if (rc == AR_OK)
        rc = pathf(staging, sizeof staging, "%s/.model-staging-%ld", job->ml_root, (long)getpid());
    if (rc == AR_OK)
        rc = ar_hp_parse(algo->hp, job->hp, job->n_hp, true, params);
    if (rc == AR_OK && algo->validate)
        rc = algo->validate(params);
    if (rc == AR_OK)
        rc = resolve_hp(job, params);
    if (rc == AR_OK)
        rc = check_channels(job);
    if (rc == AR_OK)
        rc = ar_mkdirs(model_dir);
    if (rc == AR_OK)
        rc = ar_mkdirs(out_dir);
    if (rc == AR_OK) {
        AR_INFO("algorithm %s: training with %zu channel(s)", algo->id, job->n_channels);
        struct ar_channels chs = {job->n_channels, job->channels};
        struct ar_train_ctx ctx = {model_dir, out_dir, job->stop, on_metric, job};
        rc = algo->train(params, &chs, &ctx, &model);
        if (rc == AR_OK && !model)
            rc = ar_err_set(AR_ERR_INTERNAL, "%s returned no model", algo->id);
    }
    /* Save into a staging directory, then move the files: a failed job leaves no model. */
    if (rc == AR_OK) {
        ar_remove_tree(staging);
        rc = ar_mkdirs(staging);
        if (rc == AR_OK)
            rc = algo->save(model, staging);
        if (rc == AR_OK)
            rc = move_dir_files(staging, model_dir);
        ar_remove_tree(staging);
    }
    if (model)
        algo->model_free(model);
    if (params) {
        if (algo->params_free)
            algo->params_free(params);
        else
            ar_hp_free(algo->hp, params);
        ar_free(params);
    }
    job->end_time = ar_time_epoch();
    if (rc != AR_OK) {
        job->status = AR_JOB_FAILED;
        write_failure(job, rc);
        return rc;
    }
    job->status = job->stop && *job->stop ? AR_JOB_STOPPED : AR_JOB_COMPLETED;
    char success[4096];
    if (pathf(success, sizeof success, "%s/output/success", job->ml_root) == AR_OK)
        ar_artifact_write(success, "", 0);
    return AR_OK;
}

void ar_job_release(struct ar_job *job)
{
    for (size_t i = 0; i < job->n_hp; i++) {
        ar_free((char *)job->hp[i].name);
        ar_free((char *)job->hp[i].value);
    }
    ar_free(job->hp);
    for (size_t i = 0; i < job->n_channels; i++) {
        ar_free((char *)job->channels[i].name);
        ar_free((char *)job->channels[i].location);
    }
    ar_free(job->channels);
    ar_free(job->metrics);
    for (size_t i = 0; i < job->n_resolved; i++)
        ar_free((char *)job->resolved[i].value);
    ar_free(job->resolved);
    job->hp = NULL;
    job->channels = NULL;
    job->metrics = NULL;
    job->resolved = NULL;
    job->n_hp = job->n_channels = job->n_metrics = job->n_resolved = 0;
}
