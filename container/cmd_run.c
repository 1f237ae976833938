/* `algorun run`: a local training job in one command. Lays out an /opt/ml tree for the job
 * under DIR/NAME, runs the same code path as `algorun train`, packs model.tar.gz and writes
 * job.json (the record of what happened). */
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "algorithms/algo.h"
#include "container/cli.h"
#include "container/job.h"
#include "container/run_store.h"
#include "container/tarball.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/rng.h"
#include "core/timer.h"
#include "io/artifact.h"
#include "io/stream.h"

#define MAX_HP       256
#define MAX_CHANNELS 20

struct run_channel {
    char name[65];
    char path[PATH_MAX];
    const char *content_type; /* NULL: the algorithm's default */
};

struct run_opts {
    const char *algo_id;
    const char *name;
    const char *output_dir;
    const char *hp_file;
    int pipe_mode;
    struct ar_hp_kv hp[MAX_HP];
    size_t n_hp;
    struct run_channel ch[MAX_CHANNELS];
    size_t n_ch;
    struct ar_run_store rs; /* the experiments store (run_store.h) */
};

static void run_help(FILE *out)
{
    fprintf(out,
            "usage: algorun run --algorithm ID --channel NAME=PATH[;CONTENT-TYPE] ...\n"
            "                   [--hp NAME=VALUE ...] [--hyperparameters FILE.json]\n"
            "                   [--name NAME] [--output-dir DIR] [--input-mode File|Pipe]\n\n"
            "Runs a training job locally: lays out DIR/NAME/ as SageMaker's /opt/ml (channels\n"
            "linked, not copied), trains exactly as `algorun train` does, packs\n"
            "DIR/NAME/model.tar.gz and writes DIR/NAME/job.json (hyperparameters with defaults,\n"
            "channels, status, failure reason, times, every metric's history and final value).\n\n"
            "  --algorithm ID        e.g. xgboost:1.7-1, linear-learner:1, kmeans:1 (see\n"
            "                        `algorun algorithms`)\n"
            "  --channel NAME=PATH   a file or directory; ';type' sets its content type\n"
            "                        (e.g. 'train=data/train.csv;text/csv')\n"
            "  --hp NAME=VALUE       a hyperparameter (repeatable); overrides --hyperparameters\n"
            "  --name NAME           job name, unique in DIR (default: ALGO-YYYYMMDD-HHMMSS-XXXX)\n"
            "  --output-dir DIR      default ./jobs\n"
            "  --input-mode MODE     File (default) or Pipe (channels streamed through FIFOs)\n"
            "%s"
            "Exit status: 0 completed, 1 the job failed (see DIR/NAME/output/failure), 2 usage.\n",
            ar_run_store_help);
}

static int valid_job_name(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 63)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && !(c == '-' && i > 0 && i + 1 < n))
            return 0;
    }
    return 1;
}

static int add_hp(struct run_opts *o, const char *name, const char *value)
{
    for (size_t i = 0; i < o->n_hp; i++) {
        if (strcmp(o->hp[i].name, name) == 0) {
            ar_free((char *)o->hp[i].value);
            o->hp[i].value = ar_strdup(value);
            return o->hp[i].value ? AR_OK : AR_ERR_NOMEM;
        }
    }
    if (o->n_hp >= MAX_HP)
        return ar_err_set(AR_ERR_LIMIT, "more than %d hyperparameters", MAX_HP);
    o->hp[o->n_hp].name = ar_strdup(name);
    o->hp[o->n_hp].value = ar_strdup(value);
    if (!o->hp[o->n_hp].name || !o->hp[o->n_hp].value)
        return AR_ERR_NOMEM;
    o->n_hp++;
    return AR_OK;
}

static int read_hp_file(struct run_opts *o, const char *path)
{
    cJSON *j;
    int rc = ar_json_read_object(path, false, &j);
    if (rc != AR_OK)
        return rc;
    const cJSON *it;
    cJSON_ArrayForEach(it, j)
    {
        if (cJSON_IsNull(it)) {
            cJSON_Delete(j);
            return ar_err_set(AR_ERR_PARAM, "%s: hyperparameter %s has no usable value", path,
                              it->string);
        }
        char *v = ar_hp_value_string(it);
        rc = v ? add_hp(o, it->string, v) : AR_ERR_NOMEM;
        ar_free(v);
        if (rc != AR_OK)
            break;
    }
    cJSON_Delete(j);
    return rc;
}

static int parse_channel(struct run_opts *o, const char *spec)
{
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec)
        return ar_err_set(AR_ERR_PARAM, "--channel '%s': expected NAME=PATH[;CONTENT-TYPE]", spec);
    if (o->n_ch >= MAX_CHANNELS)
        return ar_err_set(AR_ERR_LIMIT, "more than %d channels", MAX_CHANNELS);
    struct run_channel *c = &o->ch[o->n_ch];
    size_t nl = (size_t)(eq - spec);
    if (nl >= sizeof c->name)
        return ar_err_set(AR_ERR_PARAM, "--channel '%s': name longer than 64", spec);
    memcpy(c->name, spec, nl);
    c->name[nl] = '\0';
    for (size_t i = 0; i < nl; i++) {
        char ch = c->name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '-' || ch == '_'))
            return ar_err_set(AR_ERR_PARAM, "--channel '%s': bad channel name", spec);
    }
    const char *path = eq + 1;
    const char *semi = strchr(path, ';');
    char rel[PATH_MAX];
    size_t pl = semi ? (size_t)(semi - path) : strlen(path);
    if (pl == 0 || pl >= sizeof rel)
        return ar_err_set(AR_ERR_PARAM, "--channel '%s': bad path", spec);
    memcpy(rel, path, pl);
    rel[pl] = '\0';
    if (!realpath(rel, c->path))
        return ar_err_set(AR_ERR_NOT_FOUND, "--channel %s: %s: %s", c->name, rel, strerror(errno));
    c->content_type = semi ? semi + 1 : NULL;
    for (size_t i = 0; i < o->n_ch; i++)
        if (strcmp(o->ch[i].name, c->name) == 0)
            return ar_err_set(AR_ERR_PARAM, "channel '%s' given twice", c->name);
    o->n_ch++;
    return AR_OK;
}

static int write_json(const char *path, cJSON *j)
{
    char *text = cJSON_Print(j);
    if (!text)
        return AR_ERR_NOMEM;
    int rc = ar_artifact_write(path, text, strlen(text));
    cJSON_free(text);
    return rc;
}

/* Lays out DIR/NAME/input/{config,data}, model, output. */
static int layout(const struct run_opts *o, const char *root)
{
    char p[PATH_MAX + 64];
    snprintf(p, sizeof p, "%s/input/config", root);
    AR_TRY(ar_mkdirs(p));
    snprintf(p, sizeof p, "%s/input/data", root);
    AR_TRY(ar_mkdirs(p));
    snprintf(p, sizeof p, "%s/model", root);
    AR_TRY(ar_mkdirs(p));
    snprintf(p, sizeof p, "%s/output/data", root);
    AR_TRY(ar_mkdirs(p));

    cJSON *hp = cJSON_CreateObject();
    for (size_t i = 0; i < o->n_hp; i++)
        cJSON_AddStringToObject(hp, o->hp[i].name, o->hp[i].value);
    snprintf(p, sizeof p, "%s/input/config/hyperparameters.json", root);
    int rc = write_json(p, hp);
    cJSON_Delete(hp);
    AR_TRY(rc);

    cJSON *idc = cJSON_CreateObject();
    for (size_t i = 0; i < o->n_ch; i++) {
        cJSON *c = cJSON_CreateObject();
        if (o->ch[i].content_type)
            cJSON_AddStringToObject(c, "ContentType", o->ch[i].content_type);
        cJSON_AddStringToObject(c, "TrainingInputMode", o->pipe_mode ? "Pipe" : "File");
        cJSON_AddStringToObject(c, "S3DistributionType", "FullyReplicated");
        cJSON_AddStringToObject(c, "RecordWrapperType", "None");
        cJSON_AddItemToObject(idc, o->ch[i].name, c);
    }
    snprintf(p, sizeof p, "%s/input/config/inputdataconfig.json", root);
    rc = write_json(p, idc);
    cJSON_Delete(idc);
    AR_TRY(rc);

    cJSON *res = cJSON_CreateObject();
    cJSON_AddStringToObject(res, "current_host", "algo-1");
    const char *hosts[] = {"algo-1"};
    cJSON_AddItemToObject(res, "hosts", cJSON_CreateStringArray(hosts, 1));
    cJSON_AddStringToObject(res, "network_interface_name", "lo");
    snprintf(p, sizeof p, "%s/input/config/resourceconfig.json", root);
    rc = write_json(p, res);
    cJSON_Delete(res);
    AR_TRY(rc);

    if (!o->pipe_mode) {
        for (size_t i = 0; i < o->n_ch; i++) {
            snprintf(p, sizeof p, "%s/input/data/%s", root, o->ch[i].name);
            if (symlink(o->ch[i].path, p) != 0)
                return ar_err_set(AR_ERR_IO, "%s: cannot link to %s: %s", p, o->ch[i].path,
                                  strerror(errno));
        }
    }
    return AR_OK;
}

/* Pipe mode: a child per channel creates <channel>_<epoch> FIFOs and streams the channel's
 * files into each, one pass per epoch, as SageMaker does, until it is killed. */
static void feed_channel(const char *fifo_prefix, const char *path)
{
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_IGN);
    char buf[1 << 16];
    for (unsigned epoch = 0;; epoch++) {
        char fifo[PATH_MAX + 128];
        snprintf(fifo, sizeof fifo, "%s_%u", fifo_prefix, epoch);
        if (mkfifo(fifo, 0600) != 0 && errno != EEXIST)
            _exit(1);
        int w = open(fifo, O_WRONLY);
        if (w < 0)
            _exit(1);
        struct ar_input *in;
        if (ar_input_open(path, &in) == AR_OK) {
            struct ar_stream *s;
            int broken = 0;
            while (!broken && ar_input_next(in, &s) == AR_OK && s) {
                /* Raw bytes, as SageMaker streams S3 objects. */
                int fd = open(s->name, O_RDONLY);
                ssize_t r;
                while (fd >= 0 && (r = read(fd, buf, sizeof buf)) > 0) {
                    if (write(w, buf, (size_t)r) != r) {
                        broken = 1;
                        break;
                    }
                }
                if (fd >= 0)
                    close(fd);
                ar_stream_close(s);
            }
            ar_input_close(in);
        }
        close(w);
    }
}

static void iso_time(double t, char *buf, size_t size)
{
    time_t s = (time_t)t;
    struct tm tm;
    gmtime_r(&s, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, size, "%s.%03dZ", base, (int)((t - (double)s) * 1000.0));
}

static int write_job_json(const char *root, const char *name, const struct run_opts *o,
                          const struct ar_job *job, const char *tarball, double created)
{
    cJSON *j = cJSON_CreateObject();
    char t[64];
    cJSON_AddStringToObject(j, "TrainingJobName", name);
    cJSON_AddStringToObject(j, "AlgorithmId", job->algo->id);
    cJSON_AddStringToObject(j, "TrainingJobStatus", ar_job_status_str(job->status));
    if (job->status == AR_JOB_FAILED)
        cJSON_AddStringToObject(j, "FailureReason", job->failure);
    iso_time(created, t, sizeof t);
    cJSON_AddStringToObject(j, "CreationTime", t);
    if (job->start_time > 0) {
        iso_time(job->start_time, t, sizeof t);
        cJSON_AddStringToObject(j, "TrainingStartTime", t);
        iso_time(job->end_time, t, sizeof t);
        cJSON_AddStringToObject(j, "TrainingEndTime", t);
        cJSON_AddNumberToObject(j, "TrainingTimeInSeconds", job->end_time - job->start_time);
    }
    cJSON *hp = cJSON_AddObjectToObject(j, "HyperParameters");
    if (job->n_resolved) {
        for (size_t i = 0; i < job->n_resolved; i++)
            cJSON_AddStringToObject(hp, job->resolved[i].name, job->resolved[i].value);
    } else {
        for (size_t i = 0; i < o->n_hp; i++)
            cJSON_AddStringToObject(hp, o->hp[i].name, o->hp[i].value);
    }
    cJSON *given = cJSON_AddObjectToObject(j, "GivenHyperParameters");
    for (size_t i = 0; i < o->n_hp; i++)
        cJSON_AddStringToObject(given, o->hp[i].name, o->hp[i].value);
    cJSON *chs = cJSON_AddArrayToObject(j, "InputDataConfig");
    for (size_t i = 0; i < o->n_ch; i++) {
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "ChannelName", o->ch[i].name);
        cJSON_AddStringToObject(c, "Location", o->ch[i].path);
        const char *ct = o->ch[i].content_type;
        for (size_t k = 0; !ct && k < job->n_channels; k++)
            if (strcmp(job->channels[k].name, o->ch[i].name) == 0)
                ct = ar_format_mime(job->channels[k].fmt.content);
        cJSON_AddStringToObject(c, "ContentType", ct ? ct : job->algo->train_content_types[0]);
        cJSON_AddStringToObject(c, "TrainingInputMode", o->pipe_mode ? "Pipe" : "File");
        cJSON_AddItemToArray(chs, c);
    }
    cJSON *final = cJSON_AddArrayToObject(j, "FinalMetricDataList");
    cJSON *hist = cJSON_AddArrayToObject(j, "MetricHistory");
    for (size_t i = 0; i < job->n_metrics; i++) {
        const struct ar_job_metric *m = &job->metrics[i];
        char full[96];
        snprintf(full, sizeof full, "%s:%s", m->set, m->name);
        cJSON *h = cJSON_CreateObject();
        cJSON_AddStringToObject(h, "MetricName", full);
        cJSON_AddNumberToObject(h, "Value", m->value);
        cJSON_AddNumberToObject(h, "Step", (double)m->step);
        iso_time(m->time, t, sizeof t);
        cJSON_AddStringToObject(h, "Timestamp", t);
        cJSON_AddItemToArray(hist, h);
        if (ar_job_final_metric(job, m->set, m->name) == (long)i)
            cJSON_AddItemToArray(final, cJSON_Duplicate(h, 1));
    }
    cJSON *art = cJSON_AddObjectToObject(j, "ModelArtifacts");
    if (tarball)
        cJSON_AddStringToObject(art, "S3ModelArtifacts", tarball);
    char p[PATH_MAX + 32];
    snprintf(p, sizeof p, "%s/job.json", root);
    int rc = write_json(p, j);
    cJSON_Delete(j);
    return rc;
}

int ar_cmd_run(int argc, char **argv)
{
    static const char *const with_value[] = {"--algorithm", "--name", "--hp", "--channel",
                                             "--output-dir", "--hyperparameters", "--input-mode",
                                             /* experiments store: run_store.h */
                                             "--store", "--tag", "--experiment", "--trial",
                                             "--tuning-job", "--trial-index", NULL};
    static const char *const flags[] = {"--help", AR_RUN_STORE_FLAG, NULL};
    struct run_opts *o = ar_callocn(1, sizeof *o);
    if (!o)
        return ar_cli_fail(AR_ERR_NOMEM, NULL);
    int exit_code = AR_EXIT_USAGE;
    const char *hp_args[MAX_HP];
    size_t n_hp_args = 0;
    struct ar_args a;
    ar_args_init(&a, argc, argv);
    int r;
    while ((r = ar_args_next(&a, with_value, flags)) != 0) {
        if (r < 0)
            goto done;
        if (strcmp(a.opt, "--help") == 0) {
            run_help(stdout);
            exit_code = AR_EXIT_OK;
            goto done;
        } else if (strcmp(a.opt, "--algorithm") == 0) {
            o->algo_id = a.value;
        } else if (strcmp(a.opt, "--name") == 0) {
            o->name = a.value;
        } else if (strcmp(a.opt, "--output-dir") == 0) {
            o->output_dir = a.value;
        } else if (strcmp(a.opt, "--hyperparameters") == 0) {
            o->hp_file = a.value;
        } else if (strcmp(a.opt, "--input-mode") == 0) {
            if (strcmp(a.value, "Pipe") == 0)
                o->pipe_mode = 1;
            else if (strcmp(a.value, "File") != 0) {
                ar_cli_usage_error("run", "--input-mode must be File or Pipe, got '%s'", a.value);
                goto done;
            }
        } else if (strcmp(a.opt, "--hp") == 0) {
            if (n_hp_args >= MAX_HP || !strchr(a.value, '=') || a.value[0] == '=') {
                ar_cli_usage_error("run", "--hp needs NAME=VALUE, got '%s'", a.value);
                goto done;
            }
            hp_args[n_hp_args++] = a.value;
        } else if (strcmp(a.opt, "--channel") == 0) {
            if (parse_channel(o, a.value) != AR_OK) {
                ar_cli_usage_error("run", "%s", ar_err_msg());
                goto done;
            }
        } else if (strcmp(a.opt, AR_RUN_STORE_FLAG) == 0) {
            o->rs.disabled = true;
        } else if (ar_run_store_option(&o->rs, a.opt, a.value) != AR_OK) {
            ar_cli_usage_error("run", "%s", ar_err_msg());
            goto done;
        }
    }
    if (a.i < argc) {
        ar_cli_usage_error("run", "unexpected argument '%s'", argv[a.i]);
        goto done;
    }
    if (!o->algo_id) {
        ar_cli_usage_error("run", "--algorithm is required");
        goto done;
    }
    const struct ar_algo *algo;
    if (ar_algo_find(o->algo_id, &algo) != AR_OK) {
        ar_cli_usage_error("run", "%s", ar_err_msg());
        goto done;
    }
    if (o->n_ch == 0) {
        ar_cli_usage_error("run", "at least one --channel is required (e.g. --channel "
                                  "train=data.csv)");
        goto done;
    }
    if (o->hp_file && read_hp_file(o, o->hp_file) != AR_OK) {
        ar_cli_usage_error("run", "%s", ar_err_msg());
        goto done;
    }
    for (size_t i = 0; i < n_hp_args; i++) {
        char name[257];
        const char *eq = strchr(hp_args[i], '=');
        size_t nl = (size_t)(eq - hp_args[i]);
        if (nl >= sizeof name) {
            ar_cli_usage_error("run", "hyperparameter name longer than 256");
            goto done;
        }
        memcpy(name, hp_args[i], nl);
        name[nl] = '\0';
        if (add_hp(o, name, eq + 1) != AR_OK) {
            ar_cli_usage_error("run", "%s", ar_err_msg());
            goto done;
        }
    }
    char name[96];
    if (o->name) {
        if (!valid_job_name(o->name)) {
            ar_cli_usage_error("run",
                               "job name '%s' must be 1-63 letters, digits or inner "
                               "hyphens",
                               o->name);
            goto done;
        }
        snprintf(name, sizeof name, "%s", o->name);
    } else {
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        struct ar_rng rng;
        ar_rng_init(&rng, (uint64_t)(ar_time_now() * 1e9), (uint64_t)getpid());
        snprintf(name, sizeof name, "%.30s-%04d%02d%02d-%02d%02d%02d-%04x", algo->name,
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (unsigned)(ar_rng_u64(&rng) & 0xffff));
    }
    const char *out_dir = o->output_dir ? o->output_dir : "jobs";
    exit_code = AR_EXIT_FAILURE;
    if (ar_mkdirs(out_dir) != AR_OK) {
        ar_cli_fail(AR_ERR_IO, NULL);
        goto done;
    }
    char root[PATH_MAX];
    char abs_out[PATH_MAX];
    if (!realpath(out_dir, abs_out) ||
        snprintf(root, sizeof root, "%s/%s", abs_out, name) >= (int)sizeof root) {
        ar_cli_fail(ar_err_set(AR_ERR_IO, "%s: %s", out_dir, strerror(errno)), NULL);
        goto done;
    }
    if (mkdir(root, 0755) != 0) {
        if (errno == EEXIST)
            ar_err_set(AR_ERR_EXISTS, "job '%s' already exists in %s (job names are unique)", name,
                       abs_out);
        else
            ar_err_set(AR_ERR_IO, "%s: %s", root, strerror(errno));
        ar_cli_fail(AR_ERR_EXISTS, NULL);
        goto done;
    }
    double created = ar_time_epoch();
    if (layout(o, root) != AR_OK) {
        ar_cli_fail(AR_ERR_IO, "job layout");
        goto done;
    }
    AR_INFO("job %s: algorithm %s, directory %s", name, algo->id, root);
    { /* experiments store: the InProgress record */
        struct ar_store_channel sch[MAX_CHANNELS];
        for (size_t i = 0; i < o->n_ch; i++)
            sch[i] = (struct ar_store_channel){o->ch[i].name, o->ch[i].path, o->ch[i].content_type,
                                               o->pipe_mode ? "Pipe" : "File"};
        if (ar_run_store_begin(&o->rs, name, algo->id, root, sch, o->n_ch, created) != AR_OK) {
            ar_cli_fail(AR_ERR_IO, "experiments store");
            ar_remove_tree(root); /* laid out by this run a moment ago: leave nothing behind */
            goto done;
        }
    }

    pid_t feeders[MAX_CHANNELS];
    size_t n_feeders = 0;
    if (o->pipe_mode) {
        for (size_t i = 0; i < o->n_ch; i++) {
            char prefix[PATH_MAX + 80];
            snprintf(prefix, sizeof prefix, "%s/input/data/%s", root, o->ch[i].name);
            pid_t pid = fork();
            if (pid == 0)
                feed_channel(prefix, o->ch[i].path);
            if (pid > 0)
                feeders[n_feeders++] = pid;
        }
    }
    struct ar_job job;
    int rc = ar_train_in_root(root, algo, ar_cli_install_stop_handler(), &job);
    for (size_t i = 0; i < n_feeders; i++) {
        kill(feeders[i], SIGKILL);
        waitpid(feeders[i], NULL, 0);
    }
    if (o->pipe_mode) {
        /* The FIFOs are gone with their feeders; remove what is left of them. */
        for (size_t i = 0; i < o->n_ch; i++) {
            for (unsigned e = 0; e < 100000; e++) {
                char fifo[PATH_MAX + 96];
                snprintf(fifo, sizeof fifo, "%s/input/data/%s_%u", root, o->ch[i].name, e);
                if (unlink(fifo) != 0)
                    break;
            }
        }
    }
    char tarball[PATH_MAX + 32];
    const char *packed = NULL;
    if (rc == AR_OK) {
        char model_dir[PATH_MAX + 16];
        snprintf(model_dir, sizeof model_dir, "%s/model", root);
        snprintf(tarball, sizeof tarball, "%s/model.tar.gz", root);
        rc = ar_tarball_pack(model_dir, tarball);
        if (rc == AR_OK)
            packed = tarball;
        else
            ar_cli_fail(rc, "packing model.tar.gz");
    }
    if (write_job_json(root, name, o, &job, packed, created) != AR_OK)
        ar_cli_fail(AR_ERR_IO, "writing job.json");
    ar_run_store_finish(&o->rs, &job, packed); /* experiments store: the final record */
    if (rc == AR_OK) {
        fprintf(stderr, "job %s %s; model: %s\n", name, ar_job_status_str(job.status), packed);
        for (size_t i = 0; i < job.n_metrics; i++) {
            const struct ar_job_metric *m = &job.metrics[i];
            if (ar_job_final_metric(&job, m->set, m->name) == (long)i)
                fprintf(stderr, "  %s:%s = %.6g\n", m->set, m->name, m->value);
        }
        exit_code = AR_EXIT_OK;
    } else {
        fprintf(stderr, "job %s Failed: %s\n", name, job.failure);
    }
    ar_job_release(&job);
done:
    ar_run_store_release(&o->rs);
    for (size_t i = 0; i < o->n_hp; i++) {
        ar_free((char *)o->hp[i].name);
        ar_free((char *)o->hp[i].value);
    }
    ar_free(o);
    return exit_code;
}
