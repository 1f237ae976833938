/* algorun's entry point: global options, then dispatch to a subcommand. The only file that
 * calls exit(). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container/cli.h"
#include "container/server.h"
#include "core/blas.h"
#include "core/cpu.h"
#include "core/err.h"
#include "core/log.h"
#include "core/par.h"
#include "core/version.h"

#ifndef AR_BUILD_OPT
#define AR_BUILD_OPT "unknown"
#endif

const struct ar_cli_cmd ar_cli_cmds[] = {
    {"train", "run a training job from an /opt/ml tree (the container contract)", ar_cmd_train},
    {"run", "run a local training job: lays out the job, trains, packs the model", ar_cmd_run},
    {"serve", "serve a model: /ping, /invocations, /execution-parameters", ar_cmd_serve},
    {"transform", "batch transform: score files or directories into .out files", ar_cmd_transform},
    {"tune", "tune hyperparameters: many jobs (Random, Grid, Bayesian, Hyperband)", ar_cmd_tune},
    {"search", "search the experiments store (SageMaker Search filters)", ar_cmd_search},
    {"jobs", "list, describe and compare the jobs in the experiments store", ar_cmd_jobs},
    {"algorithms", "list the algorithm IDs and their hyperparameters", ar_cmd_algorithms},
    {"data", "decode, inspect and convert data files (cat, convert)", ar_cmd_data},
    {"version", "print version, build, BLAS and CPU information", ar_cmd_version},
    {NULL, NULL, NULL},
};

int ar_cli_fail(int status, const char *context)
{
    const char *msg = ar_err_msg();
    if (!*msg)
        msg = ar_status_str(status);
    if (context && *context)
        fprintf(stderr, "algorun: %s: %s\n", context, msg);
    else
        fprintf(stderr, "algorun: %s\n", msg);
    return AR_EXIT_FAILURE;
}

int ar_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "algorun%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nRun 'algorun %s--help' for usage.\n", cmd ? "" : "");
    if (cmd)
        fprintf(stderr, "    or 'algorun %s --help'.\n", cmd);
    return AR_EXIT_USAGE;
}

void ar_cli_print_version(FILE *out)
{
    fprintf(out, "algorun %s\n", AR_VERSION);
    fprintf(out, "build:    %s, C%ld, flags: %s\n",
#ifdef __clang__
            "clang " __clang_version__,
#else
            "gcc " __VERSION__,
#endif
            __STDC_VERSION__, AR_BUILD_OPT);
    fprintf(out, "blas:     %s\n", ar_blas_config());
    fprintf(out, "blas threading: %s, kernel: %s, threads: %d\n", ar_blas_threading(),
            ar_blas_corename(), ar_blas_threads());
    fprintf(out, "threads:  %d (cores available: %d)\n", ar_par_threads(), ar_par_cores());
    fprintf(out, "cpu:      %s\n", ar_cpu_model());
    fprintf(out, "cpu features: %s\n", ar_cpu_features());
}

int ar_cmd_version(int argc, char **argv)
{
    (void)argv;
    if (argc > 1)
        return ar_cli_usage_error("version", "unexpected argument '%s'", argv[1]);
    ar_cli_print_version(stdout);
    return AR_EXIT_OK;
}

static void print_help(FILE *out)
{
    fprintf(out, "algorun %s: built-in machine-learning algorithms (SageMaker-compatible)\n\n",
            AR_VERSION);
    fprintf(out, "usage: algorun [--threads N] [--log-level LEVEL] COMMAND [ARGS...]\n"
                 "       algorun --help | --version\n\n"
                 "commands:\n");
    for (const struct ar_cli_cmd *c = ar_cli_cmds; c->name; c++)
        fprintf(out, "  %-12s %s\n", c->name, c->summary);
    fprintf(out, "\nglobal options:\n"
                 "  --threads N        threads for every loop and BLAS call (0 or unset:\n"
                 "                     OMP_NUM_THREADS, else all cores)\n"
                 "  --log-level LEVEL  debug, info, warn, error or off (ALGORUN_LOG_LEVEL)\n"
                 "  --help, -h         this text;  COMMAND --help for a command's options\n"
                 "  --version          version, build flags, BLAS, CPU features, threads\n");
}

/* Parses a global option's integer value strictly. */
static int parse_threads(const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || v < 0 || v > 4096)
        return -1;
    *out = (int)v;
    return 0;
}

int main(int argc, char **argv)
{
    int threads = 0;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            print_help(stdout);
            return AR_EXIT_OK;
        }
        if (strcmp(a, "--version") == 0) {
            if (ar_par_init(threads) != AR_OK)
                return ar_cli_fail(AR_ERR_PARAM, "--threads");
            ar_cli_print_version(stdout);
            return AR_EXIT_OK;
        }
        if (strncmp(a, "--threads=", 10) == 0 || strncmp(a, "--log-level=", 12) == 0) {
            val = strchr(a, '=') + 1;
        } else if (strcmp(a, "--threads") == 0 || strcmp(a, "--log-level") == 0) {
            if (i + 1 >= argc)
                return ar_cli_usage_error(NULL, "option '%s' needs a value", a);
            val = argv[++i];
        } else {
            return ar_cli_usage_error(NULL, "unknown option '%s'", a);
        }
        if (strncmp(a, "--threads", 9) == 0) {
            if (parse_threads(val, &threads) != 0)
                return ar_cli_usage_error(NULL, "--threads needs an integer 0..4096, got '%s'",
                                          val);
        } else {
            enum ar_log_level lv;
            if (ar_log_level_parse(val, &lv) != AR_OK)
                return ar_cli_usage_error(NULL, "%s", ar_err_msg());
            ar_log_set_level(lv);
        }
    }
    if (i >= argc) {
        print_help(stderr);
        return AR_EXIT_USAGE;
    }
    if (ar_par_init(threads) != AR_OK)
        return ar_cli_usage_error(NULL, "%s", ar_err_msg());
    for (const struct ar_cli_cmd *c = ar_cli_cmds; c->name; c++) {
        if (strcmp(c->name, argv[i]) == 0)
            return c->run(argc - i, argv + i);
    }
    return ar_cli_usage_error(NULL, "unknown command '%s'", argv[i]);
}
