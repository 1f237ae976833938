/* `algorun search` (SageMaker Search over the experiments store) and `algorun jobs`
 * (list, describe, compare): aligned tables or JSON in SageMaker's shapes. */
#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container/cli.h"
#include "container/store.h"
#include "core/err.h"
#include "core/mem.h"

#define MAX_FILTERS 50
#define MAX_COLS    32

/* ---- tables ---- */

struct table {
    size_t n_cols, n_rows, cap;
    const char *head[MAX_COLS];
    char **cells; /* n_rows x n_cols, owned */
};

static int table_add_row(struct table *t)
{
    if (t->n_rows == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 16;
        char **ncells = ar_reallocn(t->cells, t->cap * t->n_cols * sizeof *ncells, nc * t->n_cols,
                                    sizeof *ncells);
        if (!ncells)
            return AR_ERR_NOMEM;
        t->cells = ncells;
        t->cap = nc;
    }
    for (size_t c = 0; c < t->n_cols; c++)
        t->cells[t->n_rows * t->n_cols + c] = NULL;
    t->n_rows++;
    return AR_OK;
}

static int table_set(struct table *t, size_t c, const char *v)
{
    char **cell = &t->cells[(t->n_rows - 1) * t->n_cols + c];
    ar_free(*cell);
    *cell = ar_strdup(v ? v : "");
    return *cell ? AR_OK : AR_ERR_NOMEM;
}

static void table_print(const struct table *t, FILE *out)
{
    size_t w[MAX_COLS];
    for (size_t c = 0; c < t->n_cols; c++) {
        w[c] = strlen(t->head[c]);
        for (size_t r = 0; r < t->n_rows; r++) {
            const char *v = t->cells[r * t->n_cols + c];
            size_t l = v ? strlen(v) : 0;
            if (l > w[c])
                w[c] = l;
        }
    }
    for (size_t c = 0; c < t->n_cols; c++)
        fprintf(out, "%-*s%s", c + 1 < t->n_cols ? (int)w[c] : 0, t->head[c],
                c + 1 < t->n_cols ? "  " : "\n");
    for (size_t r = 0; r < t->n_rows; r++)
        for (size_t c = 0; c < t->n_cols; c++) {
            const char *v = t->cells[r * t->n_cols + c];
            fprintf(out, "%-*s%s", c + 1 < t->n_cols ? (int)w[c] : 0, v ? v : "",
                    c + 1 < t->n_cols ? "  " : "\n");
        }
}

static void table_release(struct table *t)
{
    for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
        ar_free(t->cells[i]);
    ar_free(t->cells);
    memset(t, 0, sizeof *t);
}

/* ---- JSON records ---- */

static void add_time(cJSON *o, const char *key, double t)
{
    if (t <= 0)
        return;
    char buf[48];
    ar_store_iso_time(t, buf, sizeof buf);
    cJSON_AddStringToObject(o, key, buf);
}

static void add_str(cJSON *o, const char *key, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, key, v);
}

static cJSON *metric_json(const struct ar_store_record_metric *m, bool with_step)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "MetricName", m->name);
    if (isnan(m->value))
        cJSON_AddNullToObject(o, "Value");
    else
        cJSON_AddNumberToObject(o, "Value", m->value);
    if (with_step)
        cJSON_AddNumberToObject(o, "Step", (double)m->step);
    add_time(o, "Timestamp", m->time);
    return o;
}

/* A job as SageMaker's DescribeTrainingJob / SearchRecord.TrainingJob spells it. */
static cJSON *record_json(const struct ar_store_record *r)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "TrainingJobName", r->name);
    cJSON_AddStringToObject(j, "AlgorithmId", r->algorithm);
    cJSON_AddStringToObject(j, "TrainingJobStatus", r->status);
    add_str(j, "FailureReason", r->failure);
    add_time(j, "CreationTime", r->creation_time);
    add_time(j, "TrainingStartTime", r->start_time);
    add_time(j, "TrainingEndTime", r->end_time);
    add_time(j, "LastModifiedTime", r->last_modified);
    if (r->start_time > 0 && r->end_time > 0)
        cJSON_AddNumberToObject(j, "TrainingTimeInSeconds", r->end_time - r->start_time);
    add_str(j, "TuningJobName", r->tuning_job);
    if (r->trial_index > 0)
        cJSON_AddNumberToObject(j, "TrialIndex", (double)r->trial_index);
    if (r->early_stopped)
        cJSON_AddBoolToObject(j, "EarlyStopped", 1);
    if (r->experiment || r->trial) {
        cJSON *e = cJSON_AddObjectToObject(j, "ExperimentConfig");
        add_str(e, "ExperimentName", r->experiment);
        add_str(e, "TrialName", r->trial);
    }
    cJSON *hp = cJSON_AddObjectToObject(j, "HyperParameters");
    for (size_t i = 0; i < r->n_hp; i++)
        cJSON_AddStringToObject(hp, r->hp[i].name, r->hp[i].value);
    cJSON *given = cJSON_AddArrayToObject(j, "GivenHyperParameters");
    for (size_t i = 0; i < r->n_hp; i++)
        if (r->hp[i].given)
            cJSON_AddItemToArray(given, cJSON_CreateString(r->hp[i].name));
    cJSON *chs = cJSON_AddArrayToObject(j, "InputDataConfig");
    for (size_t i = 0; i < r->n_channels; i++) {
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "ChannelName", r->channels[i].name);
        add_str(c, "Location", r->channels[i].location);
        add_str(c, "ContentType", r->channels[i].content_type);
        add_str(c, "TrainingInputMode", r->channels[i].input_mode);
        cJSON_AddItemToArray(chs, c);
    }
    cJSON *art = cJSON_AddObjectToObject(j, "ModelArtifacts");
    add_str(art, "S3ModelArtifacts", r->model_path);
    add_str(art, "Sha256", r->model_sha256);
    add_str(j, "JobDirectory", r->job_dir);
    cJSON *fin = cJSON_AddArrayToObject(j, "FinalMetricDataList");
    for (size_t i = 0; i < r->n_final; i++)
        cJSON_AddItemToArray(fin, metric_json(&r->final[i], false));
    if (r->history) {
        cJSON *h = cJSON_AddArrayToObject(j, "MetricHistory");
        for (size_t i = 0; i < r->n_history; i++)
            cJSON_AddItemToArray(h, metric_json(&r->history[i], true));
    }
    cJSON *tags = cJSON_AddArrayToObject(j, "Tags");
    for (size_t i = 0; i < r->n_tags; i++) {
        cJSON *t = cJSON_CreateObject();
        cJSON_AddStringToObject(t, "Key", r->tags[i].name);
        cJSON_AddStringToObject(t, "Value", r->tags[i].value);
        cJSON_AddItemToArray(tags, t);
    }
    return j;
}

static int print_json(cJSON *j)
{
    char *text = j ? cJSON_Print(j) : NULL;
    cJSON_Delete(j);
    if (!text)
        return ar_cli_fail(AR_ERR_NOMEM, NULL);
    fputs(text, stdout);
    fputc('\n', stdout);
    cJSON_free(text);
    return AR_EXIT_OK;
}

/* ---- shared options ---- */

static int open_store(const char *path, struct ar_store **s)
{
    char def[4096];
    if (!path) {
        AR_TRY(ar_store_default_path(def, sizeof def));
        path = def;
    }
    return ar_store_open(path, s);
}

static int parse_count(const char *cmd, const char *opt, const char *v, size_t max, size_t *out)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (end == v || *end || errno || n < 1 || (unsigned long long)n > max) {
        ar_cli_usage_error(cmd, "%s needs an integer 1..%zu, got '%s'", opt, max, v);
        return -1;
    }
    *out = (size_t)n;
    return 0;
}

/* Table of search/list results: fixed columns plus the properties named in filters/sort. */
static int print_results(struct ar_store_record **recs, size_t n, const char *const *extra,
                         size_t n_extra, bool metrics_column)
{
    struct table t;
    memset(&t, 0, sizeof t);
    static const char *const fixed[] = {"TrainingJobName", "TrainingJobStatus", "AlgorithmId",
                                        "CreationTime"};
    for (size_t i = 0; i < 4; i++)
        t.head[t.n_cols++] = fixed[i];
    for (size_t i = 0; i < n_extra && t.n_cols < MAX_COLS - 1; i++) {
        bool dup = false;
        for (size_t c = 0; c < t.n_cols; c++)
            dup |= strcmp(t.head[c], extra[i]) == 0;
        if (!dup)
            t.head[t.n_cols++] = extra[i];
    }
    if (metrics_column)
        t.head[t.n_cols++] = "FinalMetrics";
    int rc = AR_OK;
    char buf[2048];
    for (size_t r = 0; rc == AR_OK && r < n; r++) {
        if ((rc = table_add_row(&t)) != AR_OK)
            break;
        for (size_t c = 0; rc == AR_OK && c < t.n_cols; c++) {
            if (metrics_column && c + 1 == t.n_cols) {
                size_t len = 0;
                buf[0] = '\0';
                for (size_t m = 0; m < recs[r]->n_final && len < sizeof buf - 1; m++)
                    len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s=%.6g", m ? " " : "",
                                            recs[r]->final[m].name, recs[r]->final[m].value);
            } else {
                if (!ar_store_record_property(recs[r], t.head[c], buf, sizeof buf))
                    snprintf(buf, sizeof buf, "-");
                /* Times to the second in tables. */
                if (strstr(t.head[c], "Time") && !strstr(t.head[c], "Seconds") && strlen(buf) == 24)
                    buf[19] = '\0';
            }
            rc = table_set(&t, c, buf);
        }
    }
    if (rc == AR_OK)
        table_print(&t, stdout);
    table_release(&t);
    return rc;
}

static cJSON *results_json(struct ar_store_record **recs, size_t n, size_t total)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *res = cJSON_AddArrayToObject(root, "Results");
    for (size_t i = 0; i < n; i++) {
        cJSON *sr = cJSON_CreateObject();
        cJSON_AddItemToObject(sr, "TrainingJob", record_json(recs[i]));
        cJSON_AddItemToArray(res, sr);
    }
    cJSON *hits = cJSON_AddObjectToObject(root, "TotalHits");
    cJSON_AddNumberToObject(hits, "Value", (double)total);
    cJSON_AddStringToObject(hits, "Relation", "EqualTo");
    return root;
}

/* ---- algorun search ---- */

static void search_help(FILE *out)
{
    fprintf(
        out,
        "usage: algorun search [--filter \"NAME OPERATOR [VALUE]\" ...] [--sort-by PROPERTY]\n"
        "                      [--sort-order Ascending|Descending] [--max-results N]\n"
        "                      [--json] [--store PATH]\n\n"
        "Searches the experiments store for training jobs, as SageMaker Search does.\n"
        "Filters are AND-ed. Properties: TrainingJobName, AlgorithmId, TrainingJobStatus,\n"
        "FailureReason, TuningJobName, ExperimentName, TrialName, TrialIndex,\n"
        "ModelArtifacts.S3ModelArtifacts, CreationTime, TrainingStartTime, TrainingEndTime,\n"
        "LastModifiedTime (times as YYYY-mm-ddTHH:MM:SS UTC), TrainingTimeInSeconds,\n"
        "HyperParameters.<name>, Metrics.<name> (final value, e.g. Metrics.test:msd) and\n"
        "Tags.<key>. Operators: Equals, NotEquals, GreaterThan, GreaterThanOrEqualTo,\n"
        "LessThan, LessThanOrEqualTo, Contains, Exists, NotExists, In (comma-separated).\n"
        "Values compare as numbers when both sides are numbers, else as text; a job\n"
        "without the property matches only NotExists.\n\n"
        "  --filter F            e.g. \"Metrics.validation:rmse LessThan 0.5\" (repeatable)\n"
        "  --sort-by PROPERTY    default CreationTime; jobs without it come last\n"
        "  --sort-order ORDER    Descending (default) or Ascending\n"
        "  --max-results N       default 100\n"
        "  --json                SageMaker's Search response: Results[].TrainingJob, TotalHits\n"
        "  --store PATH          default $ALGORUN_HOME/experiments.db or "
        "~/.algorun/experiments.db\n");
}

int ar_cmd_search(int argc, char **argv)
{
    static const char *const with_value[] = {"--filter",      "--sort-by", "--sort-order",
                                             "--max-results", "--store",   NULL};
    static const char *const flags[] = {"--help", "--json", NULL};
    struct ar_store_filter *filters = ar_callocn(MAX_FILTERS, sizeof *filters);
    if (!filters)
        return ar_cli_fail(AR_ERR_NOMEM, NULL);
    struct ar_store_query q = {filters, 0, NULL, false, 100};
    const char *store_path = NULL;
    bool json = false;
    int exit_code = AR_EXIT_USAGE;
    struct ar_args a;
    ar_args_init(&a, argc, argv);
    int r;
    while ((r = ar_args_next(&a, with_value, flags)) != 0) {
        if (r < 0)
            goto done;
        if (strcmp(a.opt, "--help") == 0) {
            search_help(stdout);
            exit_code = AR_EXIT_OK;
            goto done;
        } else if (strcmp(a.opt, "--json") == 0) {
            json = true;
        } else if (strcmp(a.opt, "--store") == 0) {
            store_path = a.value;
        } else if (strcmp(a.opt, "--filter") == 0) {
            if (q.n_filters >= MAX_FILTERS) {
                ar_cli_usage_error("search", "at most %d filters", MAX_FILTERS);
                goto done;
            }
            if (ar_store_filter_parse(a.value, &filters[q.n_filters]) != AR_OK) {
                ar_cli_usage_error("search", "%s", ar_err_msg());
                goto done;
            }
            q.n_filters++;
        } else if (strcmp(a.opt, "--sort-by") == 0) {
            if (ar_store_property_check(a.value) != AR_OK) {
                ar_cli_usage_error("search", "--sort-by: %s", ar_err_msg());
                goto done;
            }
            q.sort_by = a.value;
        } else if (strcmp(a.opt, "--sort-order") == 0) {
            if (strcmp(a.value, "Ascending") == 0)
                q.ascending = true;
            else if (strcmp(a.value, "Descending") == 0)
                q.ascending = false;
            else {
                ar_cli_usage_error("search",
                                   "--sort-order must be Ascending or Descending, got "
                                   "'%s'",
                                   a.value);
                goto done;
            }
        } else if (strcmp(a.opt, "--max-results") == 0) {
            if (parse_count("search", a.opt, a.value, 1000000, &q.max_results) != 0)
                goto done;
        }
    }
    if (a.i < argc) {
        ar_cli_usage_error("search", "unexpected argument '%s' (filters go in --filter)",
                           argv[a.i]);
        goto done;
    }
    exit_code = AR_EXIT_FAILURE;
    struct ar_store *s;
    if (open_store(store_path, &s) != AR_OK) {
        ar_cli_fail(AR_ERR_IO, NULL);
        goto done;
    }
    struct ar_store_record **recs;
    size_t n, total;
    int rc = ar_store_search(s, &q, &recs, &n, &total);
    ar_store_close(s);
    if (rc != AR_OK) {
        ar_cli_fail(rc, "search");
        goto done;
    }
    if (json) {
        exit_code = print_json(results_json(recs, n, total));
    } else {
        const char *extra[MAX_FILTERS + 1];
        size_t n_extra = 0;
        for (size_t i = 0; i < q.n_filters; i++)
            extra[n_extra++] = filters[i].name;
        if (q.sort_by)
            extra[n_extra++] = q.sort_by;
        rc = print_results(recs, n, extra, n_extra, false);
        fprintf(stderr, "%zu of %zu matching job(s)\n", n, total);
        exit_code = rc == AR_OK ? AR_EXIT_OK : ar_cli_fail(rc, NULL);
    }
    ar_store_records_free(recs, n);
done:
    ar_free(filters);
    return exit_code;
}

/* ---- algorun jobs ---- */

static void jobs_help(FILE *out)
{
    fprintf(out,
            "usage: algorun jobs list [--tuning-job NAME] [--status STATUS] [--max-results N]\n"
            "                         [--json]\n"
            "       algorun jobs describe NAME\n"
            "       algorun jobs compare NAME NAME ... [--all] [--json]\n"
            "       (each also takes --store PATH)\n\n"
            "list      the newest jobs first, with their final metrics\n"
            "describe  one job as JSON: hyperparameters, channels, status, times, every\n"
            "          metric's history and final value, model path and SHA-256, tags\n"
            "compare   jobs side by side: status, time, hyperparameters that were given or\n"
            "          differ (--all: every one; '*' marks differences), final metrics\n");
}

static int jobs_list(struct ar_store *s, const char *tuning, const char *status, size_t max,
                     bool json)
{
    struct ar_store_filter f[2];
    size_t nf = 0;
    char text[AR_STORE_VALUE_MAX + 64];
    if (tuning) {
        snprintf(text, sizeof text, "TuningJobName Equals %s", tuning);
        AR_TRY(ar_store_filter_parse(text, &f[nf++]));
    }
    if (status) {
        snprintf(text, sizeof text, "TrainingJobStatus Equals %s", status);
        AR_TRY(ar_store_filter_parse(text, &f[nf++]));
    }
    struct ar_store_query q = {f, nf, tuning ? "TrialIndex" : NULL, tuning != NULL, max};
    struct ar_store_record **recs;
    size_t n, total;
    AR_TRY(ar_store_search(s, &q, &recs, &n, &total));
    int rc = AR_OK;
    if (json) {
        print_json(results_json(recs, n, total));
    } else {
        const char *extra[] = {"TuningJobName"};
        rc = print_results(recs, n, extra, tuning ? 0 : 1, true);
    }
    ar_store_records_free(recs, n);
    return rc;
}

static const char *hp_value(const struct ar_store_record *r, const char *name, bool *given)
{
    for (size_t i = 0; i < r->n_hp; i++)
        if (strcmp(r->hp[i].name, name) == 0) {
            if (given)
                *given = r->hp[i].given;
            return r->hp[i].value;
        }
    return NULL;
}

static int jobs_compare(struct ar_store *s, char **names, size_t n, bool all, bool json)
{
    if (n > MAX_COLS - 1)
        return ar_err_set(AR_ERR_PARAM, "compare at most %d jobs", MAX_COLS - 1);
    struct ar_store_record *recs[MAX_COLS];
    size_t loaded = 0;
    int rc = AR_OK;
    for (; loaded < n && rc == AR_OK; loaded++)
        if ((rc = ar_store_job_get(s, names[loaded], false, &recs[loaded])) != AR_OK)
            break;
    if (rc != AR_OK) {
        for (size_t i = 0; i < loaded; i++)
            ar_store_record_free(recs[i]);
        return rc;
    }
    if (json) {
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; i < n; i++)
            cJSON_AddItemToArray(arr, record_json(recs[i]));
        print_json(arr);
        goto out;
    }
    struct table t;
    memset(&t, 0, sizeof t);
    t.head[t.n_cols++] = "Property";
    for (size_t i = 0; i < n; i++)
        t.head[t.n_cols++] = recs[i]->name;
    char buf[2048];
    /* Rows: fixed properties, hyperparameters (union, sorted), final metrics (union). */
    static const char *const fixed[] = {"TrainingJobStatus", "AlgorithmId", "TrainingTimeInSeconds",
                                        "TuningJobName"};
    for (size_t k = 0; rc == AR_OK && k < 4; k++) {
        rc = table_add_row(&t);
        if (rc == AR_OK)
            rc = table_set(&t, 0, fixed[k]);
        for (size_t i = 0; rc == AR_OK && i < n; i++) {
            if (!ar_store_record_property(recs[i], fixed[k], buf, sizeof buf))
                snprintf(buf, sizeof buf, "-");
            rc = table_set(&t, i + 1, buf);
        }
    }
    for (int pass = 0; pass < 2 && rc == AR_OK; pass++) {
        /* Collect the union of names, in each record's (sorted) order. */
        for (size_t i = 0; rc == AR_OK && i < n; i++) {
            size_t cnt = pass == 0 ? recs[i]->n_hp : recs[i]->n_final;
            for (size_t k = 0; rc == AR_OK && k < cnt; k++) {
                const char *name = pass == 0 ? recs[i]->hp[k].name : recs[i]->final[k].name;
                bool seen = false;
                for (size_t p = 0; p < i && !seen; p++) {
                    if (pass == 0)
                        seen = hp_value(recs[p], name, NULL) != NULL;
                    else
                        for (size_t m = 0; m < recs[p]->n_final; m++)
                            seen |= strcmp(recs[p]->final[m].name, name) == 0;
                }
                if (seen)
                    continue;
                char vals[MAX_COLS][256];
                bool differ = false, any_given = false;
                for (size_t p = 0; p < n; p++) {
                    snprintf(vals[p], sizeof vals[p], "-");
                    if (pass == 0) {
                        bool g = false;
                        const char *v = hp_value(recs[p], name, &g);
                        if (v)
                            snprintf(vals[p], sizeof vals[p], "%s", v);
                        any_given |= g;
                    } else {
                        for (size_t m = 0; m < recs[p]->n_final; m++)
                            if (strcmp(recs[p]->final[m].name, name) == 0)
                                snprintf(vals[p], sizeof vals[p], "%.6g", recs[p]->final[m].value);
                    }
                    differ |= strcmp(vals[p], vals[0]) != 0;
                }
                if (pass == 0 && !all && !differ && !any_given)
                    continue;
                snprintf(buf, sizeof buf, "%s%s%s", differ ? "* " : "  ",
                         pass == 0 ? "HyperParameters." : "Metrics.", name);
                rc = table_add_row(&t);
                if (rc == AR_OK)
                    rc = table_set(&t, 0, buf);
                for (size_t p = 0; rc == AR_OK && p < n; p++)
                    rc = table_set(&t, p + 1, vals[p]);
            }
        }
    }
    if (rc == AR_OK)
        table_print(&t, stdout);
    table_release(&t);
out:
    for (size_t i = 0; i < n; i++)
        ar_store_record_free(recs[i]);
    return rc;
}

int ar_cmd_jobs(int argc, char **argv)
{
    static const char *const with_value[] = {"--store", "--tuning-job", "--status", "--max-results",
                                             NULL};
    static const char *const flags[] = {"--help", "--json", "--all", NULL};
    const char *store_path = NULL, *tuning = NULL, *status = NULL;
    size_t max = 100;
    bool json = false, all = false;
    char *pos[MAX_COLS + 2];
    size_t n_pos = 0;
    struct ar_args a;
    ar_args_init(&a, argc, argv);
    for (;;) {
        int r = ar_args_next(&a, with_value, flags);
        if (r < 0)
            return AR_EXIT_USAGE;
        if (r == 0) {
            if (a.i >= argc)
                break;
            if (n_pos >= sizeof pos / sizeof pos[0])
                return ar_cli_usage_error("jobs", "too many arguments");
            pos[n_pos++] = argv[a.i++];
            continue;
        }
        if (strcmp(a.opt, "--help") == 0) {
            jobs_help(stdout);
            return AR_EXIT_OK;
        } else if (strcmp(a.opt, "--json") == 0) {
            json = true;
        } else if (strcmp(a.opt, "--all") == 0) {
            all = true;
        } else if (strcmp(a.opt, "--store") == 0) {
            store_path = a.value;
        } else if (strcmp(a.opt, "--tuning-job") == 0) {
            tuning = a.value;
        } else if (strcmp(a.opt, "--status") == 0) {
            status = a.value;
        } else if (strcmp(a.opt, "--max-results") == 0) {
            if (parse_count("jobs", a.opt, a.value, 1000000, &max) != 0)
                return AR_EXIT_USAGE;
        }
    }
    if (n_pos == 0)
        return ar_cli_usage_error("jobs", "expected list, describe NAME or compare NAME NAME...");
    const char *verb = pos[0];
    if (strcmp(verb, "list") == 0) {
        if (n_pos != 1)
            return ar_cli_usage_error("jobs", "list takes no argument, got '%s'", pos[1]);
    } else if (strcmp(verb, "describe") == 0) {
        if (n_pos != 2)
            return ar_cli_usage_error("jobs", "describe takes one job name");
    } else if (strcmp(verb, "compare") == 0) {
        if (n_pos < 3)
            return ar_cli_usage_error("jobs", "compare takes two or more job names");
    } else {
        return ar_cli_usage_error("jobs", "unknown verb '%s': use list, describe or compare", verb);
    }
    struct ar_store *s;
    if (open_store(store_path, &s) != AR_OK)
        return ar_cli_fail(AR_ERR_IO, NULL);
    int rc;
    if (strcmp(verb, "list") == 0) {
        rc = jobs_list(s, tuning, status, max, json);
    } else if (strcmp(verb, "describe") == 0) {
        struct ar_store_record *r;
        rc = ar_store_job_get(s, pos[1], true, &r);
        if (rc == AR_OK) {
            print_json(record_json(r));
            ar_store_record_free(r);
        }
    } else {
        rc = jobs_compare(s, pos + 1, n_pos - 1, all, json);
    }
    ar_store_close(s);
    return rc == AR_OK ? AR_EXIT_OK : ar_cli_fail(rc, verb);
}
