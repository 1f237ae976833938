/* The command-line interface: subcommands and the mapping from status codes to exit codes.
 * Only container/ knows about exit codes; library code returns enum ar_status. */
#ifndef AR_CONTAINER_CLI_H
#define AR_CONTAINER_CLI_H

#include <stdio.h>

enum ar_exit {
    AR_EXIT_OK = 0,
    AR_EXIT_FAILURE = 1, /* the job, the data or a file was bad */
    AR_EXIT_USAGE = 2    /* the command line was bad */
};

/* A subcommand: argv[0] is its name; returns an enum ar_exit value. */
struct ar_cli_cmd {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
};

/* The table of subcommands, ending with an all-zero entry (container/main.c). */
extern const struct ar_cli_cmd ar_cli_cmds[];

/* Prints "algorun: <context>: <thread's error message>" to stderr; returns AR_EXIT_FAILURE
 * (or AR_EXIT_USAGE for AR_ERR_PARAM when `usage_on_param`). */
int ar_cli_fail(int status, const char *context);
/* Prints "algorun <cmd>: <message>" and a hint to run --help; returns AR_EXIT_USAGE. */
int ar_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints the --version report (version, build, BLAS, threads, CPU) to `out`. */
void ar_cli_print_version(FILE *out);

int ar_cmd_version(int argc, char **argv);

#endif
