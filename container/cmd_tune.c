/* `algorun tune`: hyperparameter tuning with trials as concurrent `algorun run` processes.
 *
 * The tuning job and every trial are records in the experiments store; the tuner keeps no state
 * of its own. A trial is a child process `algorun --threads T run ... --tuning-job NAME
 * --trial-index N` (T = the thread budget split between --max-parallel children) whose output
 * goes to DIR/NAME/<trial>.log; it records itself, streams its metrics and dies with the tuner
 * (PR_SET_PDEATHSIG: SIGTERM, so it saves its model and ends Stopped). `--resume NAME` reloads
 * the configuration and the trials from the store: finished trials are kept, interrupted ones
 * (Stopped without early stopping, or Failed because their process vanished) run again with
 * the same hyperparameters under the same trial index. Early stopping (Auto) applies SageMaker's
 * median rule to the objective's history read from the store while the trial runs. */
#include <cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "algorithms/algo.h"
#include "container/cli.h"
#include "container/job.h"
#include "container/store.h"
#include "container/tune.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/par.h"
#include "core/rng.h"
#include "core/timer.h"

#define MAX_STATIC    100
#define MAX_CHANNELS  20
#define MAX_TRIALS    10000
#define MIN_REF       3 /* early stopping: finished trials needed at a step */
#define POLL_NS       50000000L
#define ES_EVERY_SECS 0.5

struct tune_opts {
    char *algo_id, *name, *output_dir, *store_path, *objective;
    bool maximize, have_type;
    enum ar_tune_strategy strategy;
    char *static_hp[MAX_STATIC]; /* "k=v", owned */
    size_t n_static;
    char *range_specs[AR_TUNE_MAX_PARAMS]; /* owned */
    struct ar_tune_space space;
    char *channels[MAX_CHANNELS]; /* "name=ABSPATH[;type]", owned */
    size_t n_channels;
    long max_jobs, max_parallel, min_resource, max_resource;
    uint64_t seed;
    bool early_stopping;
    enum ar_gp_kernel kernel;
    const char *resource_name; /* Hyperband */
};

enum slot_state {
    SLOT_PENDING = 0, /* to be launched (new or an interrupted trial run again) */
    SLOT_RUNNING,
    SLOT_DONE
};

struct slot {
    struct ar_tune_trial t;
    enum slot_state state;
    char name[96];
    pid_t pid;
    char status[16];
    bool early_stopped, stop_sent;
    double *hist; /* objective history (finished trials, for early stopping) */
    size_t n_hist;
    bool hist_loaded;
    char *model;
};

static volatile sig_atomic_t *stop_flag;

static void tune_help(FILE *out)
{
    fprintf(out,
            "usage: algorun tune --algorithm ID --objective METRIC --type Maximize|Minimize\n"
            "                    --range NAME=SPEC ... --channel NAME=PATH[;TYPE] ...\n"
            "                    [--name NAME] [--hp NAME=VALUE ...] [--strategy S]\n"
            "                    [--max-jobs N] [--max-parallel N] [--seed N]\n"
            "                    [--early-stopping Off|Auto] [--output-dir DIR] [--store PATH]\n"
            "       algorun tune --resume NAME [--store PATH] [--max-parallel N]\n\n"
            "Runs a hyperparameter tuning job as SageMaker's automatic model tuning does: each\n"
            "trial is a training job (an `algorun run` child process) named\n"
            "NAME-<3-digit counter>-<8 hex>, recorded in the experiments store under the tuning\n"
            "job, with _tuning_objective_metric set. At the end the best trial and its model\n"
            "are printed; search them later with `algorun search --filter \"TuningJobName\n"
            "Equals NAME\" --sort-by Metrics.METRIC`.\n\n"
            "  --range NAME=Integer:MIN:MAX[:SCALING]     SCALING: Auto, Linear, Logarithmic\n"
            "  --range NAME=Continuous:MIN:MAX[:SCALING]  (or ReverseLogarithmic, 0<=x<1)\n"
            "  --range NAME=Categorical:a,b,c\n"
            "  --hp NAME=VALUE       a static hyperparameter (repeatable)\n"
            "  --objective METRIC    e.g. validation:rmse, test:msd; --type Maximize|Minimize\n"
            "  --strategy S          Bayesian (default: GP + expected improvement), Random,\n"
            "                        Grid (Categorical/Integer ranges; every combination) or\n"
            "                        Hyperband (on the algorithm's resource: num_round for\n"
            "                        xgboost, epochs otherwise; --min-resource N\n"
            "                        --max-resource N, default 1 and the static value)\n"
            "  --max-jobs N          trials in total (Grid: the grid size)\n"
            "  --max-parallel N      concurrent trials (default 1); the threads are split\n"
            "  --seed N              same seed, same configurations (Random, Grid, Hyperband)\n"
            "  --early-stopping M    Off (default) or Auto: stop a trial whose objective is worse\n"
            "                        than the median of finished trials at the same step\n"
            "  --kernel K            Bayesian surrogate kernel: Matern52 (default) or RBF\n"
            "  --name NAME           1-32 letters, digits, hyphens (default tune-YYYYMMDD-HHMMSS)\n"
            "  --output-dir DIR      trials go to DIR/NAME/<trial>/ (default ./jobs)\n"
            "  --store PATH          experiments store (default $ALGORUN_HOME/experiments.db)\n"
            "  --resume NAME         continue an interrupted tuning job; finished trials are kept\n"
            "Exit status: 0 completed, 1 failed or stopped, 2 usage.\n");
}

static bool valid_tuning_name(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 32)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && !(c == '-' && i > 0 && i + 1 < n))
            return false;
    }
    return true;
}

static int parse_long(const char *opt, const char *v, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (end == v || *end || errno || x < lo || x > hi)
        return ar_err_set(AR_ERR_PARAM, "%s needs an integer %ld..%ld, got '%s'", opt, lo, hi, v);
    *out = x;
    return AR_OK;
}

static void opts_release(struct tune_opts *o)
{
    char **strs[] = {&o->algo_id, &o->name, &o->output_dir, &o->store_path, &o->objective};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        ar_free(*strs[i]);
    for (size_t i = 0; i < o->n_static; i++)
        ar_free(o->static_hp[i]);
    for (size_t i = 0; i < o->space.n; i++)
        ar_free(o->range_specs[i]);
    ar_tune_space_release(&o->space);
    for (size_t i = 0; i < o->n_channels; i++)
        ar_free(o->channels[i]);
}

static int set_str(char **dst, const char *v)
{
    ar_free(*dst);
    *dst = ar_strdup(v);
    return *dst ? AR_OK : AR_ERR_NOMEM;
}

static int add_static(struct tune_opts *o, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
        return ar_err_set(AR_ERR_PARAM, "--hp needs NAME=VALUE, got '%s'", kv);
    for (size_t i = 0; i < o->n_static; i++)
        if (strncmp(o->static_hp[i], kv, (size_t)(eq - kv) + 1) == 0)
            return ar_err_set(AR_ERR_PARAM, "--hp %.*s given twice", (int)(eq - kv), kv);
    if (o->n_static >= MAX_STATIC)
        return ar_err_set(AR_ERR_LIMIT, "more than %d static hyperparameters", MAX_STATIC);
    return set_str(&o->static_hp[o->n_static++], kv);
}

static int add_range(struct tune_opts *o, const char *spec)
{
    size_t before = o->space.n;
    AR_TRY(ar_tune_space_add(&o->space, spec));
    if (o->space.n == before)
        return AR_OK;
    return set_str(&o->range_specs[before], spec);
}

/* Stores the channel with an absolute path, so a resumed job finds it from anywhere. */
static int add_channel(struct tune_opts *o, const char *spec, bool absolute)
{
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec)
        return ar_err_set(AR_ERR_PARAM, "--channel '%s': expected NAME=PATH[;CONTENT-TYPE]", spec);
    if (o->n_channels >= MAX_CHANNELS)
        return ar_err_set(AR_ERR_LIMIT, "more than %d channels", MAX_CHANNELS);
    if (absolute)
        return set_str(&o->channels[o->n_channels++], spec);
    const char *path = eq + 1;
    const char *semi = strchr(path, ';');
    char rel[PATH_MAX], abs[PATH_MAX];
    size_t pl = semi ? (size_t)(semi - path) : strlen(path);
    if (pl == 0 || pl >= sizeof rel)
        return ar_err_set(AR_ERR_PARAM, "--channel '%s': bad path", spec);
    memcpy(rel, path, pl);
    rel[pl] = '\0';
    if (!realpath(rel, abs))
        return ar_err_set(AR_ERR_NOT_FOUND, "--channel %.*s: %s: %s", (int)(eq - spec), spec, rel,
                          strerror(errno));
    size_t len = (size_t)(eq - spec) + strlen(abs) + (semi ? strlen(semi) : 0) + 2;
    char *s = ar_alloc(len);
    if (!s)
        return AR_ERR_NOMEM;
    snprintf(s, len, "%.*s=%s%s", (int)(eq - spec), spec, abs, semi ? semi : "");
    o->channels[o->n_channels++] = s;
    return AR_OK;
}

/* ---- the configuration as JSON (the tuning job's record, read back by --resume) ---- */

static char *config_json(const struct tune_opts *o)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "AlgorithmId", o->algo_id);
    cJSON_AddStringToObject(j, "Strategy", ar_tune_strategy_name(o->strategy));
    cJSON_AddStringToObject(j, "ObjectiveMetric", o->objective);
    cJSON_AddStringToObject(j, "ObjectiveType", o->maximize ? "Maximize" : "Minimize");
    cJSON *a = cJSON_AddArrayToObject(j, "StaticHyperParameters");
    for (size_t i = 0; i < o->n_static; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(o->static_hp[i]));
    a = cJSON_AddArrayToObject(j, "ParameterRanges");
    for (size_t i = 0; i < o->space.n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(o->range_specs[i]));
    a = cJSON_AddArrayToObject(j, "Channels");
    for (size_t i = 0; i < o->n_channels; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(o->channels[i]));
    cJSON_AddStringToObject(j, "OutputDir", o->output_dir);
    cJSON_AddNumberToObject(j, "MaxNumberOfTrainingJobs", (double)o->max_jobs);
    cJSON_AddNumberToObject(j, "MaxParallelTrainingJobs", (double)o->max_parallel);
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)o->seed);
    cJSON_AddStringToObject(j, "RandomSeed", seed);
    cJSON_AddStringToObject(j, "TrainingJobEarlyStoppingType", o->early_stopping ? "Auto" : "Off");
    cJSON_AddStringToObject(j, "Kernel", o->kernel == AR_GP_RBF ? "RBF" : "Matern52");
    cJSON_AddNumberToObject(j, "MinResource", (double)o->min_resource);
    cJSON_AddNumberToObject(j, "MaxResource", (double)o->max_resource);
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    char *copy = text ? ar_strdup(text) : NULL;
    cJSON_free(text);
    return copy;
}

static const char *jstr(const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double jnum(const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static int config_load(struct tune_opts *o, const char *text)
{
    cJSON *j = cJSON_Parse(text);
    if (!j)
        return ar_err_set(AR_ERR_FORMAT, "the tuning job's stored configuration is not JSON");
    int rc = AR_OK;
    const char *algo = jstr(j, "AlgorithmId"), *strat = jstr(j, "Strategy"),
               *obj = jstr(j, "ObjectiveMetric"), *type = jstr(j, "ObjectiveType"),
               *out = jstr(j, "OutputDir"), *seed = jstr(j, "RandomSeed"),
               *es = jstr(j, "TrainingJobEarlyStoppingType"), *kern = jstr(j, "Kernel");
    if (!algo || !strat || !obj || !type || !out || !seed || !es || !kern) {
        cJSON_Delete(j);
        return ar_err_set(AR_ERR_FORMAT, "the tuning job's stored configuration is incomplete");
    }
    rc = set_str(&o->algo_id, algo);
    if (rc == AR_OK)
        rc = ar_tune_strategy_parse(strat, &o->strategy);
    if (rc == AR_OK)
        rc = set_str(&o->objective, obj);
    if (rc == AR_OK)
        rc = set_str(&o->output_dir, out);
    o->maximize = strcmp(type, "Maximize") == 0;
    o->have_type = true;
    o->seed = strtoull(seed, NULL, 10);
    o->early_stopping = strcmp(es, "Auto") == 0;
    o->kernel = strcmp(kern, "RBF") == 0 ? AR_GP_RBF : AR_GP_MATERN52;
    o->max_jobs = (long)jnum(j, "MaxNumberOfTrainingJobs");
    if (o->max_parallel == 0)
        o->max_parallel = (long)jnum(j, "MaxParallelTrainingJobs");
    o->min_resource = (long)jnum(j, "MinResource");
    o->max_resource = (long)jnum(j, "MaxResource");
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "StaticHyperParameters"))
    {
        if (rc == AR_OK && cJSON_IsString(it))
            rc = add_static(o, it->valuestring);
    }
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "ParameterRanges"))
    {
        if (rc == AR_OK && cJSON_IsString(it))
            rc = add_range(o, it->valuestring);
    }
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "Channels"))
    {
        if (rc == AR_OK && cJSON_IsString(it))
            rc = add_channel(o, it->valuestring, true);
    }
    cJSON_Delete(j);
    return rc;
}

/* ---- validation ---- */

static const char *static_value(const struct tune_opts *o, const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < o->n_static; i++)
        if (strncmp(o->static_hp[i], name, nl) == 0 && o->static_hp[i][nl] == '=')
            return o->static_hp[i] + nl + 1;
    return NULL;
}

static int validate(struct tune_opts *o, const struct ar_algo *algo)
{
    if (!o->objective)
        return ar_err_set(AR_ERR_PARAM, "--objective METRIC is required (e.g. validation:rmse)");
    if (!o->have_type)
        return ar_err_set(AR_ERR_PARAM, "--type Maximize|Minimize is required");
    if (o->n_channels == 0)
        return ar_err_set(AR_ERR_PARAM, "at least one --channel is required");
    if (o->space.n == 0)
        return ar_err_set(AR_ERR_PARAM, "at least one --range is required");
    AR_TRY(ar_tune_space_check(&o->space, algo));
    for (size_t i = 0; i < o->n_static; i++) {
        char name[160];
        const char *eq = strchr(o->static_hp[i], '=');
        snprintf(name, sizeof name, "%.*s", (int)(eq - o->static_hp[i]), o->static_hp[i]);
        if (name[0] != '_' && !ar_hp_find(algo->hp, name))
            return ar_err_set(AR_ERR_PARAM, "--hp %s: %s has no hyperparameter %s", name, algo->id,
                              name);
        for (size_t r = 0; r < o->space.n; r++)
            if (strcmp(o->space.ranges[r].name, name) == 0)
                return ar_err_set(AR_ERR_PARAM, "%s is both a static --hp and a --range", name);
    }
    if (o->max_parallel < 1)
        o->max_parallel = 1;
    if (o->strategy == AR_TUNE_GRID) {
        size_t g = ar_tune_grid_size(&o->space);
        if (g == 0)
            return ar_err_set(AR_ERR_PARAM,
                              "Grid needs Categorical or Integer ranges only (and at most 100000 "
                              "combinations)");
        if (o->max_jobs && (size_t)o->max_jobs != g)
            return ar_err_set(AR_ERR_PARAM,
                              "--max-jobs %ld: with Grid it must equal the number of "
                              "combinations, %zu (or be left out)",
                              o->max_jobs, g);
        o->max_jobs = (long)g;
    }
    if (o->max_jobs < 1)
        return ar_err_set(AR_ERR_PARAM, "--max-jobs N is required");
    if (o->strategy == AR_TUNE_HYPERBAND) {
        if (o->early_stopping)
            return ar_err_set(AR_ERR_PARAM, "--early-stopping must be Off with Hyperband");
        o->resource_name = strcmp(algo->name, "xgboost") == 0 ? "num_round" : "epochs";
        if (!ar_hp_find(algo->hp, o->resource_name))
            return ar_err_set(AR_ERR_PARAM, "Hyperband: %s has no resource hyperparameter %s",
                              algo->id, o->resource_name);
        for (size_t r = 0; r < o->space.n; r++)
            if (strcmp(o->space.ranges[r].name, o->resource_name) == 0)
                return ar_err_set(AR_ERR_PARAM,
                                  "Hyperband sets %s itself (the resource); remove its --range",
                                  o->resource_name);
        const char *sv = static_value(o, o->resource_name);
        if (o->max_resource == 0 && sv &&
            parse_long(o->resource_name, sv, 1, 20000, &o->max_resource) != AR_OK)
            return AR_ERR_PARAM;
        if (o->max_resource == 0)
            return ar_err_set(AR_ERR_PARAM,
                              "Hyperband needs --max-resource N or a static --hp %s=N",
                              o->resource_name);
        if (o->min_resource == 0)
            o->min_resource = 1;
        if (o->min_resource > o->max_resource)
            return ar_err_set(AR_ERR_PARAM, "--min-resource %ld is above --max-resource %ld",
                              o->min_resource, o->max_resource);
    }
    return AR_OK;
}

/* ---- trials ---- */

static void trial_outcome(struct slot *s, const struct ar_store_record *r, const char *objective)
{
    snprintf(s->status, sizeof s->status, "%s", r ? r->status : "Failed");
    s->early_stopped = r && r->early_stopped;
    s->t.has_objective = false;
    for (size_t i = 0; r && i < r->n_final; i++)
        if (strcmp(r->final[i].name, objective) == 0 && !isnan(r->final[i].value)) {
            s->t.has_objective = true;
            s->t.objective = r->final[i].value;
        }
    ar_free(s->model);
    s->model = r && r->model_path ? ar_strdup(r->model_path) : NULL;
}

/* A record ended by the tuner's own death: it runs again on resume. */
static bool interrupted(const struct ar_store_record *r)
{
    if (strcmp(r->status, "Stopped") == 0)
        return !r->early_stopped;
    if (strcmp(r->status, "InProgress") == 0)
        return true;
    return strcmp(r->status, "Failed") == 0 && r->failure &&
           strstr(r->failure, "ended without recording a result");
}

static int launch(const struct tune_opts *o, const struct ar_algo *algo, struct slot *s,
                  size_t index, const char *store_path, const char *tune_dir, int threads,
                  struct ar_rng *rng)
{
    snprintf(s->name, sizeof s->name, "%s-%03zu-%08x", o->name, index + 1,
             (unsigned)(ar_rng_u64(rng) & 0xffffffffu));
    char exe[PATH_MAX];
    ssize_t el = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (el <= 0)
        return ar_err_set(AR_ERR_IO, "cannot find the algorun executable: %s", strerror(errno));
    exe[el] = '\0';
    /* argv: every string lives in `pool`. */
    enum {
        MAX_ARGS = 2 * (MAX_STATIC + AR_TUNE_MAX_PARAMS + MAX_CHANNELS) + 40
    };
    char *argv[MAX_ARGS];
    size_t na = 0, pool_len = 0;
    static char pool[1 << 17];
    char tmp[4200];
#define ARG(str)                                                                                   \
    do {                                                                                           \
        size_t l_ = strlen(str) + 1;                                                               \
        if (na + 1 >= MAX_ARGS || pool_len + l_ > sizeof pool)                                     \
            return ar_err_set(AR_ERR_LIMIT, "trial command line too long");                        \
        memcpy(pool + pool_len, str, l_);                                                          \
        argv[na++] = pool + pool_len;                                                              \
        pool_len += l_;                                                                            \
    } while (0)
    ARG("algorun");
    snprintf(tmp, sizeof tmp, "%d", threads);
    ARG("--threads");
    ARG(tmp);
    ARG("run");
    ARG("--algorithm");
    ARG(algo->id);
    ARG("--name");
    ARG(s->name);
    ARG("--output-dir");
    ARG(tune_dir);
    ARG("--store");
    ARG(store_path);
    ARG("--tuning-job");
    ARG(o->name);
    snprintf(tmp, sizeof tmp, "%zu", index + 1);
    ARG("--trial-index");
    ARG(tmp);
    for (size_t i = 0; i < o->n_static; i++) {
        if (o->resource_name && s->t.resource > 0 &&
            strncmp(o->static_hp[i], o->resource_name, strlen(o->resource_name)) == 0 &&
            o->static_hp[i][strlen(o->resource_name)] == '=')
            continue; /* Hyperband sets the resource */
        ARG("--hp");
        ARG(o->static_hp[i]);
    }
    for (size_t i = 0; i < o->space.n; i++) {
        char v[300];
        ar_tune_format(&o->space, i, s->t.x, v, sizeof v);
        snprintf(tmp, sizeof tmp, "%s=%s", o->space.ranges[i].name, v);
        ARG("--hp");
        ARG(tmp);
    }
    if (o->resource_name && s->t.resource > 0) {
        snprintf(tmp, sizeof tmp, "%s=%ld", o->resource_name, s->t.resource);
        ARG("--hp");
        ARG(tmp);
    }
    snprintf(tmp, sizeof tmp, "_tuning_objective_metric=%s", o->objective);
    ARG("--hp");
    ARG(tmp);
    for (size_t i = 0; i < o->n_channels; i++) {
        ARG("--channel");
        ARG(o->channels[i]);
    }
    argv[na] = NULL;
#undef ARG
    char log_path[PATH_MAX + 256];
    if (snprintf(log_path, sizeof log_path, "%s/%s.log", tune_dir, s->name) >= (int)sizeof log_path)
        return ar_err_set(AR_ERR_LIMIT, "trial log path too long under %s", tune_dir);
    FILE *lf = fopen(log_path, "w");
    if (!lf)
        return ar_err_set(AR_ERR_IO, "%s: %s", log_path, strerror(errno));
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        fclose(lf);
        return ar_err_set(AR_ERR_IO, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        /* The child stops (SIGTERM: saves its model, ends Stopped) when the tuner dies. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(1);
        signal(SIGINT, SIG_IGN); /* Ctrl-C reaches the tuner, which stops its trials */
        int fd = fileno(lf);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(exe, argv);
        _exit(127);
    }
    fclose(lf);
    s->pid = pid;
    s->state = SLOT_RUNNING;
    s->t.state = AR_TRIAL_RUNNING;
    s->stop_sent = false;
    AR_INFO("trial %s started (pid %ld)", s->name, (long)pid);
    return AR_OK;
}

static void load_history(struct ar_store *st, struct slot *s, const char *objective)
{
    if (s->hist_loaded)
        return;
    long *steps = NULL;
    if (ar_store_metric_history(st, s->name, objective, &s->hist, &steps, &s->n_hist) == AR_OK)
        s->hist_loaded = true;
    ar_free(steps);
}

/* Checks the running trials against the median rule; sends SIGTERM to those to stop. */
static void early_stop(struct ar_store *st, const struct tune_opts *o, struct slot *slots, size_t n)
{
    const double *refs[MAX_TRIALS > 4096 ? 4096 : MAX_TRIALS];
    size_t nrefs[sizeof refs / sizeof refs[0]];
    size_t k = 0;
    for (size_t i = 0; i < n && k < sizeof refs / sizeof refs[0]; i++) {
        if (slots[i].state != SLOT_DONE || strcmp(slots[i].status, "Completed") != 0)
            continue;
        load_history(st, &slots[i], o->objective);
        if (slots[i].n_hist) {
            refs[k] = slots[i].hist;
            nrefs[k++] = slots[i].n_hist;
        }
    }
    if (k < MIN_REF)
        return;
    for (size_t i = 0; i < n; i++) {
        struct slot *s = &slots[i];
        if (s->state != SLOT_RUNNING || s->stop_sent)
            continue;
        double *v;
        long *steps;
        size_t nv;
        if (ar_store_metric_history(st, s->name, o->objective, &v, &steps, &nv) != AR_OK)
            continue;
        if (nv > 0 && ar_tune_should_stop(o->maximize, v, nv, refs, nrefs, k, MIN_REF)) {
            AR_INFO("early stopping trial %s at step %ld: %s = %g is worse than the median",
                    s->name, steps[nv - 1], o->objective, v[nv - 1]);
            if (ar_store_job_mark_early_stopped(st, s->name) == AR_OK)
                kill(s->pid, SIGTERM);
            s->stop_sent = true;
        }
        ar_free(v);
        ar_free(steps);
    }
}

static void reap_finished(struct ar_store *st, const struct tune_opts *o, struct slot *slots,
                          size_t n, bool block, size_t *n_running)
{
    for (size_t i = 0; i < n; i++) {
        struct slot *s = &slots[i];
        if (s->state != SLOT_RUNNING)
            continue;
        int ws;
        pid_t r = waitpid(s->pid, &ws, block ? 0 : WNOHANG);
        if (r == 0 || (r < 0 && errno == EINTR))
            continue;
        struct ar_store_record *rec = NULL;
        if (ar_store_job_get(st, s->name, false, &rec) != AR_OK)
            AR_WARN("trial %s left no record (exit status %d); see its log", s->name,
                    WIFEXITED(ws) ? WEXITSTATUS(ws) : -1);
        trial_outcome(s, rec, o->objective);
        ar_store_record_free(rec);
        s->state = SLOT_DONE;
        s->t.state = AR_TRIAL_DONE;
        (*n_running)--;
        if (s->t.has_objective)
            AR_INFO("trial %s %s%s: %s = %.9g", s->name, s->status,
                    s->early_stopped ? " (early stopping)" : "", o->objective, s->t.objective);
        else
            AR_INFO("trial %s %s without a value of %s", s->name, s->status, o->objective);
    }
}

static void nap(void)
{
    struct timespec ts = {0, POLL_NS};
    nanosleep(&ts, NULL);
}

/* Best trial: Completed ones first, then any with an objective. Returns its index or -1. */
static long best_trial(const struct tune_opts *o, const struct slot *slots, size_t n)
{
    long best = -1;
    for (int pass = 0; pass < 2 && best < 0; pass++)
        for (size_t i = 0; i < n; i++) {
            const struct slot *s = &slots[i];
            if (s->state != SLOT_DONE || !s->t.has_objective)
                continue;
            if (pass == 0 && strcmp(s->status, "Completed") != 0)
                continue;
            if (best < 0 || (o->maximize ? s->t.objective > slots[best].t.objective
                                         : s->t.objective < slots[best].t.objective))
                best = (long)i;
        }
    return best;
}

static int run_tuning(struct tune_opts *o, const struct ar_algo *algo, struct ar_store *st,
                      bool resume, double created)
{
    char tune_dir[PATH_MAX + 64];
    snprintf(tune_dir, sizeof tune_dir, "%s/%s", o->output_dir, o->name);
    AR_TRY(ar_mkdirs(tune_dir));
    struct slot *slots = ar_callocn((size_t)o->max_jobs, sizeof *slots);
    if (!slots)
        return AR_ERR_NOMEM;
    size_t n = 0, n_running = 0;
    int rc = AR_OK;
    if (resume) {
        /* Wait for trials still finishing from the interrupted run, then load them all. */
        struct ar_store_record **recs = NULL;
        size_t nr = 0;
        for (double t0 = ar_time_now();;) {
            rc = ar_store_tuning_trials(st, o->name, &recs, &nr);
            if (rc != AR_OK)
                goto out;
            bool busy = false;
            for (size_t i = 0; i < nr; i++)
                busy |= strcmp(recs[i]->status, "InProgress") == 0;
            if (!busy || ar_time_now() - t0 > 120)
                break;
            ar_store_records_free(recs, nr);
            recs = NULL;
            nap();
        }
        for (size_t i = 0; i < nr; i++) {
            const struct ar_store_record *r = recs[i];
            if (r->trial_index < 1 || r->trial_index > o->max_jobs)
                continue;
            size_t idx = (size_t)r->trial_index - 1;
            struct slot *s = &slots[idx];
            /* Records are in index then creation order: the last one of an index counts. */
            memset(&s->t, 0, sizeof s->t);
            snprintf(s->name, sizeof s->name, "%s", r->name);
            for (size_t p = 0; p < o->space.n; p++) {
                const char *v = NULL;
                for (size_t h = 0; h < r->n_hp; h++)
                    if (strcmp(r->hp[h].name, o->space.ranges[p].name) == 0)
                        v = r->hp[h].value;
                if (!v || ar_tune_parse_value(&o->space, p, v, s->t.x) != AR_OK) {
                    rc = ar_err_set(AR_ERR_FORMAT, "trial %s: no usable value of %s to resume",
                                    r->name, o->space.ranges[p].name);
                    ar_store_records_free(recs, nr);
                    goto out;
                }
            }
            if (o->resource_name)
                for (size_t h = 0; h < r->n_hp; h++)
                    if (strcmp(r->hp[h].name, o->resource_name) == 0)
                        s->t.resource = strtol(r->hp[h].value, NULL, 10);
            if (interrupted(r)) {
                s->state = SLOT_PENDING;
                s->t.state = AR_TRIAL_RUNNING;
            } else {
                s->state = SLOT_DONE;
                s->t.state = AR_TRIAL_DONE;
                trial_outcome(s, r, o->objective);
            }
            if (idx + 1 > n)
                n = idx + 1;
        }
        ar_store_records_free(recs, nr);
        /* Indices below n without any record (launch failed) run again too. */
        for (size_t i = 0; i < n; i++)
            if (!slots[i].name[0])
                rc = ar_err_set(AR_ERR_FORMAT, "trial %zu of %s has no record to resume", i + 1,
                                o->name);
        if (rc != AR_OK)
            goto out;
        size_t done = 0;
        for (size_t i = 0; i < n; i++)
            done += slots[i].state == SLOT_DONE;
        fprintf(stderr, "resuming %s: %zu trial(s) finished, %zu to run again, %ld to go\n",
                o->name, done, n - done, o->max_jobs - (long)n);
    }
    int threads = ar_par_threads() / (int)o->max_parallel;
    if (threads < 1)
        threads = 1;
    struct ar_rng rng;
    ar_rng_init(&rng, (uint64_t)(ar_time_now() * 1e9), (uint64_t)getpid());
    struct ar_tune_config cfg = {o->strategy,     &o->space,       o->maximize,
                                 o->seed,         o->max_jobs,     o->kernel,
                                 o->min_resource, o->max_resource, 0};
    struct ar_tune_trial *hist = ar_callocn((size_t)o->max_jobs + 1, sizeof *hist);
    if (!hist) {
        rc = AR_ERR_NOMEM;
        goto out;
    }
    double last_es = 0;
    bool exhausted = false;
    while (rc == AR_OK) {
        reap_finished(st, o, slots, n, false, &n_running);
        if (*stop_flag)
            break;
        if (o->early_stopping && ar_time_now() - last_es > ES_EVERY_SECS) {
            early_stop(st, o, slots, n);
            last_es = ar_time_now();
        }
        bool waiting = false;
        while (rc == AR_OK && n_running < (size_t)o->max_parallel) {
            size_t pend = SIZE_MAX;
            for (size_t i = 0; i < n && pend == SIZE_MAX; i++)
                if (slots[i].state == SLOT_PENDING)
                    pend = i;
            if (pend == SIZE_MAX) {
                if (exhausted || (long)n >= o->max_jobs) {
                    exhausted = true;
                    break;
                }
                for (size_t i = 0; i < n; i++)
                    hist[i] = slots[i].t;
                enum ar_tune_next what;
                rc = ar_tune_propose(&cfg, hist, n, &slots[n].t, &what);
                if (rc != AR_OK)
                    break;
                if (what == AR_TUNE_DONE) {
                    exhausted = true;
                    break;
                }
                if (what == AR_TUNE_WAIT) {
                    waiting = true;
                    break;
                }
                slots[n].state = SLOT_PENDING;
                pend = n++;
            }
            rc = launch(o, algo, &slots[pend], pend, ar_store_path(st), tune_dir, threads, &rng);
            if (rc == AR_OK)
                n_running++;
        }
        if (rc != AR_OK)
            break;
        if (n_running == 0) {
            if (waiting)
                rc = ar_err_set(AR_ERR_INTERNAL, "strategy waits with no trial running");
            break;
        }
        nap();
    }
    if (n_running > 0) {
        /* Stopping (signal or error): the trials save their models and end Stopped. */
        for (size_t i = 0; i < n; i++)
            if (slots[i].state == SLOT_RUNNING)
                kill(slots[i].pid, SIGTERM);
        reap_finished(st, o, slots, n, true, &n_running);
    }
    /* The summary and the tuning job's final record. */
    size_t counts[4] = {0}; /* completed, stopped, failed, not run */
    for (size_t i = 0; i < n; i++) {
        if (slots[i].state != SLOT_DONE)
            counts[3]++;
        else if (strcmp(slots[i].status, "Completed") == 0)
            counts[0]++;
        else if (strcmp(slots[i].status, "Stopped") == 0)
            counts[1]++;
        else
            counts[2]++;
    }
    long best = best_trial(o, slots, n);
    bool stopped = *stop_flag != 0;
    const char *status = rc != AR_OK ? "Failed"
                         : stopped   ? "Stopped"
                         : best >= 0 ? "Completed"
                                     : "Failed";
    char failure[512] = "";
    if (rc != AR_OK)
        snprintf(failure, sizeof failure, "%s", ar_err_msg());
    else if (!stopped && best < 0)
        snprintf(failure, sizeof failure, "no trial reported the objective metric %s",
                 o->objective);
    char *config = config_json(o);
    struct ar_store_tuning t = {o->name,
                                o->algo_id,
                                ar_tune_strategy_name(o->strategy),
                                o->objective,
                                o->maximize ? "Maximize" : "Minimize",
                                status,
                                failure[0] ? failure : NULL,
                                config,
                                best >= 0 ? slots[best].name : NULL,
                                created,
                                ar_time_epoch()};
    int wrc = ar_store_tuning_put(st, &t, false);
    ar_free(config);
    if (wrc != AR_OK)
        AR_WARN("cannot record tuning job %s: %s", o->name, ar_err_msg());
    printf("tuning job %s %s: %zu trial(s): %zu completed, %zu stopped, %zu failed\n", o->name,
           status, n, counts[0], counts[1], counts[2] + counts[3]);
    if (best >= 0) {
        printf("best trial: %s  %s = %.9g\n", slots[best].name, o->objective,
               slots[best].t.objective);
        for (size_t p = 0; p < o->space.n; p++) {
            char v[300];
            ar_tune_format(&o->space, p, slots[best].t.x, v, sizeof v);
            printf("  %s = %s\n", o->space.ranges[p].name, v);
        }
        printf("model: %s\n", slots[best].model ? slots[best].model : "(none)");
    }
    if (stopped)
        printf("resume with: algorun tune --resume %s --store %s\n", o->name, ar_store_path(st));
    if (rc == AR_OK && (stopped || best < 0))
        rc = ar_err_set(stopped ? AR_ERR_INTERRUPTED : AR_ERR_INVALID, "%s",
                        stopped ? "tuning job stopped" : failure);
    ar_free(hist);
out:
    for (size_t i = 0; i < (size_t)o->max_jobs; i++) {
        ar_free(slots[i].hist);
        ar_free(slots[i].model);
    }
    ar_free(slots);
    return rc;
}

/* Prints the summary of a tuning job that already completed. */
static int report_completed(struct tune_opts *o, struct ar_store *st)
{
    struct ar_store_record **recs;
    size_t n;
    AR_TRY(ar_store_tuning_trials(st, o->name, &recs, &n));
    long best = -1;
    double bv = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(recs[i]->status, "Completed") != 0)
            continue;
        for (size_t m = 0; m < recs[i]->n_final; m++)
            if (strcmp(recs[i]->final[m].name, o->objective) == 0 &&
                (best < 0 ||
                 (o->maximize ? recs[i]->final[m].value > bv : recs[i]->final[m].value < bv))) {
                best = (long)i;
                bv = recs[i]->final[m].value;
            }
    }
    printf("tuning job %s already Completed: %zu trial record(s)\n", o->name, n);
    if (best >= 0)
        printf("best trial: %s  %s = %.9g\nmodel: %s\n", recs[best]->name, o->objective, bv,
               recs[best]->model_path ? recs[best]->model_path : "(none)");
    ar_store_records_free(recs, n);
    return AR_OK;
}

int ar_cmd_tune(int argc, char **argv)
{
    static const char *const with_value[] = {
        "--algorithm",    "--name",           "--hp",       "--range",
        "--channel",      "--output-dir",     "--store",    "--objective",
        "--type",         "--strategy",       "--max-jobs", "--max-parallel",
        "--seed",         "--early-stopping", "--resume",   "--kernel",
        "--min-resource", "--max-resource",   NULL};
    static const char *const flags[] = {"--help", NULL};
    struct tune_opts *o = ar_callocn(1, sizeof *o);
    if (!o)
        return ar_cli_fail(AR_ERR_NOMEM, NULL);
    o->strategy = AR_TUNE_BAYESIAN;
    const char *resume = NULL;
    bool other_opts = false;
    int exit_code = AR_EXIT_USAGE;
    struct ar_args a;
    ar_args_init(&a, argc, argv);
    int r, rc = AR_OK;
    while (rc == AR_OK && (r = ar_args_next(&a, with_value, flags)) != 0) {
        if (r < 0)
            goto done;
        const char *opt = a.opt, *v = a.value;
        if (strcmp(opt, "--help") == 0) {
            tune_help(stdout);
            exit_code = AR_EXIT_OK;
            goto done;
        }
        if (strcmp(opt, "--resume") == 0) {
            resume = v;
            continue;
        }
        if (strcmp(opt, "--store") == 0) {
            rc = set_str(&o->store_path, v);
            continue;
        }
        if (strcmp(opt, "--max-parallel") == 0) {
            rc = parse_long(opt, v, 1, 100, &o->max_parallel);
            continue;
        }
        other_opts = true;
        if (strcmp(opt, "--algorithm") == 0)
            rc = set_str(&o->algo_id, v);
        else if (strcmp(opt, "--name") == 0)
            rc = set_str(&o->name, v);
        else if (strcmp(opt, "--hp") == 0)
            rc = add_static(o, v);
        else if (strcmp(opt, "--range") == 0)
            rc = add_range(o, v);
        else if (strcmp(opt, "--channel") == 0)
            rc = add_channel(o, v, false);
        else if (strcmp(opt, "--output-dir") == 0)
            rc = set_str(&o->output_dir, v);
        else if (strcmp(opt, "--objective") == 0)
            rc = set_str(&o->objective, v);
        else if (strcmp(opt, "--type") == 0) {
            if (strcmp(v, "Maximize") != 0 && strcmp(v, "Minimize") != 0)
                rc = ar_err_set(AR_ERR_PARAM, "--type must be Maximize or Minimize, got '%s'", v);
            o->maximize = strcmp(v, "Maximize") == 0;
            o->have_type = true;
        } else if (strcmp(opt, "--strategy") == 0)
            rc = ar_tune_strategy_parse(v, &o->strategy);
        else if (strcmp(opt, "--max-jobs") == 0)
            rc = parse_long(opt, v, 1, MAX_TRIALS, &o->max_jobs);
        else if (strcmp(opt, "--seed") == 0) {
            long s;
            rc = parse_long(opt, v, 0, LONG_MAX, &s);
            o->seed = (uint64_t)s;
        } else if (strcmp(opt, "--early-stopping") == 0) {
            if (strcmp(v, "Auto") != 0 && strcmp(v, "Off") != 0)
                rc = ar_err_set(AR_ERR_PARAM, "--early-stopping must be Off or Auto, got '%s'", v);
            o->early_stopping = strcmp(v, "Auto") == 0;
        } else if (strcmp(opt, "--kernel") == 0) {
            if (strcmp(v, "Matern52") != 0 && strcmp(v, "RBF") != 0)
                rc = ar_err_set(AR_ERR_PARAM, "--kernel must be Matern52 or RBF, got '%s'", v);
            o->kernel = strcmp(v, "RBF") == 0 ? AR_GP_RBF : AR_GP_MATERN52;
        } else if (strcmp(opt, "--min-resource") == 0)
            rc = parse_long(opt, v, 1, 20000, &o->min_resource);
        else if (strcmp(opt, "--max-resource") == 0)
            rc = parse_long(opt, v, 1, 20000, &o->max_resource);
    }
    if (rc != AR_OK) {
        ar_cli_usage_error("tune", "%s", ar_err_msg());
        goto done;
    }
    if (a.i < argc) {
        ar_cli_usage_error("tune", "unexpected argument '%s'", argv[a.i]);
        goto done;
    }
    if (resume && other_opts) {
        ar_cli_usage_error("tune", "--resume takes only --store and --max-parallel: the rest "
                                   "comes from the stored tuning job");
        goto done;
    }
    if (!resume && !o->algo_id) {
        ar_cli_usage_error("tune", "--algorithm is required");
        goto done;
    }
    exit_code = AR_EXIT_FAILURE;
    char store_path[PATH_MAX];
    if (o->store_path) {
        snprintf(store_path, sizeof store_path, "%s", o->store_path);
    } else if (ar_store_default_path(store_path, sizeof store_path) != AR_OK) {
        ar_cli_fail(AR_ERR_LIMIT, NULL);
        goto done;
    }
    struct ar_store *st;
    if (ar_store_open(store_path, &st) != AR_OK) {
        ar_cli_fail(AR_ERR_IO, NULL);
        goto done;
    }
    /* Children get the store by absolute path. */
    char abs_store[PATH_MAX];
    if (realpath(store_path, abs_store)) {
        ar_store_close(st);
        if (ar_store_open(abs_store, &st) != AR_OK) {
            ar_cli_fail(AR_ERR_IO, NULL);
            goto done;
        }
    }
    double created = ar_time_epoch();
    if (resume) {
        char *status = NULL, *config = NULL;
        rc = ar_store_tuning_get(st, resume, &status, &config);
        if (rc == AR_OK && strcmp(status, "InProgress") == 0)
            rc = ar_err_set(AR_ERR_EXISTS, "tuning job %s is still running", resume);
        bool completed = rc == AR_OK && strcmp(status, "Completed") == 0;
        if (rc == AR_OK)
            rc = set_str(&o->name, resume);
        if (rc == AR_OK)
            rc = config_load(o, config);
        ar_free(status);
        ar_free(config);
        if (rc == AR_OK && completed) {
            rc = report_completed(o, st);
            ar_store_close(st);
            exit_code = rc == AR_OK ? AR_EXIT_OK : ar_cli_fail(rc, "tune");
            goto done;
        }
    } else {
        if (!o->name) {
            time_t now = time(NULL);
            struct tm tm;
            gmtime_r(&now, &tm);
            char nb[40];
            strftime(nb, sizeof nb, "tune-%Y%m%d-%H%M%S", &tm);
            rc = set_str(&o->name, nb);
        } else if (!valid_tuning_name(o->name)) {
            rc = ar_err_set(AR_ERR_PARAM,
                            "tuning job name '%s' must be 1-32 letters, digits or inner hyphens",
                            o->name);
        }
        char abs_out[PATH_MAX];
        const char *out = o->output_dir ? o->output_dir : "jobs";
        if (rc == AR_OK && ar_mkdirs(out) == AR_OK && realpath(out, abs_out))
            rc = set_str(&o->output_dir, abs_out);
        else if (rc == AR_OK)
            rc = ar_err_set(AR_ERR_IO, "--output-dir %s: %s", out, strerror(errno));
    }
    const struct ar_algo *algo = NULL;
    if (rc == AR_OK)
        rc = ar_algo_find(o->algo_id, &algo);
    if (rc == AR_OK)
        rc = validate(o, algo);
    if (rc != AR_OK) {
        ar_store_close(st);
        if (rc == AR_ERR_PARAM || rc == AR_ERR_NOT_FOUND)
            exit_code = ar_cli_usage_error("tune", "%s", ar_err_msg());
        else
            ar_cli_fail(rc, "tune");
        goto done;
    }
    char *config = config_json(o);
    struct ar_store_tuning t = {o->name,
                                o->algo_id,
                                ar_tune_strategy_name(o->strategy),
                                o->objective,
                                o->maximize ? "Maximize" : "Minimize",
                                "InProgress",
                                NULL,
                                config,
                                NULL,
                                created,
                                0};
    rc = config ? ar_store_tuning_put(st, &t, !resume) : AR_ERR_NOMEM;
    ar_free(config);
    if (rc != AR_OK) {
        ar_store_close(st);
        ar_cli_fail(rc, "tune");
        goto done;
    }
    stop_flag = ar_cli_install_stop_handler();
    fprintf(stderr,
            "tuning job %s: %s, %s %s, %ld trial(s), %ld in parallel, store %s, trials in %s/%s\n",
            o->name, ar_tune_strategy_name(o->strategy), o->maximize ? "maximize" : "minimize",
            o->objective, o->max_jobs, o->max_parallel, ar_store_path(st), o->output_dir, o->name);
    rc = run_tuning(o, algo, st, resume != NULL, created);
    ar_store_close(st);
    exit_code = rc == AR_OK ? AR_EXIT_OK : ar_cli_fail(rc, "tune");
done:
    opts_release(o);
    ar_free(o);
    return exit_code;
}
