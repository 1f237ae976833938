/* `algorun train`: the SageMaker training contract against an /opt/ml tree. */
#include <cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container/cli.h"
#include "container/job.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "io/artifact.h"
#include "io/stream.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

volatile sig_atomic_t *ar_cli_install_stop_handler(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    return &stop_requested;
}

/* Reads resourceconfig.json's current_host for the metric lines ("host=algo-1"). */
static void read_host(const char *ml_root)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/input/config/resourceconfig.json", ml_root) >=
        (int)sizeof path)
        return;
    struct ar_stream *s;
    if (ar_stream_open_file(path, false, &s) != AR_OK)
        return;
    char *text;
    size_t len;
    if (ar_stream_slurp(s, 1 << 20, &text, &len) == AR_OK) {
        cJSON *j = cJSON_Parse(text);
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(j, "current_host");
        if (cJSON_IsString(h) && *h->valuestring)
            ar_log_set_host(h->valuestring);
        cJSON_Delete(j);
        ar_free(text);
    }
    ar_stream_close(s);
}

int ar_train_in_root(const char *ml_root, const struct ar_algo *algo, volatile sig_atomic_t *stop,
                     struct ar_job *job)
{
    memset(job, 0, sizeof *job);
    job->ml_root = ml_root;
    job->algo = algo;
    job->stop = stop;
    read_host(ml_root);
    int rc = ar_job_read_config(job);
    if (rc != AR_OK) {
        /* Config errors are job failures too: they go to output/failure (1024 characters
         * surface as FailureReason). */
        char dir[4096], path[4200];
        snprintf(dir, sizeof dir, "%s/output", ml_root);
        snprintf(path, sizeof path, "%s/failure", dir);
        int n = snprintf(job->failure, sizeof job->failure, "UserError: ");
        snprintf(job->failure + n, sizeof job->failure - (size_t)n, "%.1000s", ar_err_msg());
        const char *msg = job->failure;
        if (ar_mkdirs(dir) == AR_OK)
            ar_artifact_write(path, msg, strlen(msg));
        job->status = AR_JOB_FAILED;
        AR_ERROR("%s", msg);
        return rc;
    }
    return ar_job_execute(job);
}

static void train_help(FILE *out)
{
    fprintf(out, "usage: algorun train [--ml-root DIR] [--algorithm ID]\n\n"
                 "Runs a training job as SageMaker runs a built-in algorithm's container: reads\n"
                 "DIR/input/config/{hyperparameters,inputdataconfig,resourceconfig}.json and the\n"
                 "channels under DIR/input/data/ (File or Pipe mode), writes the model to\n"
                 "DIR/model/ and, on failure, the reason to DIR/output/failure (exit 1).\n"
                 "SIGTERM stops at the next round or epoch and saves the model so far.\n\n"
                 "  --ml-root DIR     default $ALGORUN_ML_ROOT, else /opt/ml\n"
                 "  --algorithm ID    default $ALGORUN_ALGORITHM (set in the images)\n");
}

int ar_cmd_train(int argc, char **argv)
{
    static const char *const with_value[] = {"--ml-root", "--algorithm", NULL};
    static const char *const flags[] = {"--help", NULL};
    const char *root = getenv("ALGORUN_ML_ROOT");
    const char *algo_id = getenv("ALGORUN_ALGORITHM");
    struct ar_args a;
    ar_args_init(&a, argc, argv);
    int r;
    while ((r = ar_args_next(&a, with_value, flags)) != 0) {
        if (r < 0)
            return AR_EXIT_USAGE;
        if (strcmp(a.opt, "--help") == 0) {
            train_help(stdout);
            return AR_EXIT_OK;
        }
        if (strcmp(a.opt, "--ml-root") == 0)
            root = a.value;
        else
            algo_id = a.value;
    }
    if (a.i < argc)
        return ar_cli_usage_error("train", "unexpected argument '%s'", argv[a.i]);
    if (!root || !*root)
        root = "/opt/ml";
    if (!algo_id || !*algo_id)
        return ar_cli_usage_error("train", "no algorithm: give --algorithm ID or set "
                                           "ALGORUN_ALGORITHM");
    const struct ar_algo *algo;
    if (ar_algo_find(algo_id, &algo) != AR_OK)
        return ar_cli_usage_error("train", "%s", ar_err_msg());
    struct ar_job job;
    int rc = ar_train_in_root(root, algo, ar_cli_install_stop_handler(), &job);
    if (rc == AR_OK)
        AR_INFO("training job %s: model written to %s/model", ar_job_status_str(job.status), root);
    ar_job_release(&job);
    return rc == AR_OK ? AR_EXIT_OK : AR_EXIT_FAILURE;
}
