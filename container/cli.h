/* The command-line interface: subcommands and the mapping from status codes to exit codes.
 * Only container/ knows about exit codes; library code returns enum ar_status. */
#ifndef AR_CONTAINER_CLI_H
#define AR_CONTAINER_CLI_H

#include <signal.h>
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

/* A small argv scanner for subcommands: options "--name VALUE", "--name=VALUE" and flags
 * "--name"; everything else is positional. */
struct ar_args {
    int argc;
    char **argv;
    int i;             /* next index to look at */
    const char *cmd;   /* subcommand name for messages */
    const char *opt;   /* the option just matched */
    const char *value; /* its value */
};

void ar_args_init(struct ar_args *a, int argc, char **argv);
/* Returns 1 and sets a->opt (and a->value for options that take one) for the next option, 0
 * when the next argument is positional (left in argv[a->i]) or at the end, -1 on a usage
 * error (message printed). `with_value` lists options that take a value, NULL-terminated;
 * `flags` lists flags. Unknown options are usage errors. */
int ar_args_next(struct ar_args *a, const char *const *with_value, const char *const *flags);

int ar_cmd_data(int argc, char **argv);

struct ar_algo;
struct ar_job;
/* Installs SIGTERM/SIGINT handlers that set the returned flag (train, run, tune). */
volatile sig_atomic_t *ar_cli_install_stop_handler(void);
/* Reads the config under ml_root and executes the job (the code path of `algorun train`,
 * shared by `algorun run`). The caller releases *job. */
int ar_train_in_root(const char *ml_root, const struct ar_algo *algo, volatile sig_atomic_t *stop,
                     struct ar_job *job);

int ar_cmd_train(int argc, char **argv);
int ar_cmd_run(int argc, char **argv);
int ar_cmd_algorithms(int argc, char **argv);
int ar_cmd_transform(int argc, char **argv);
/* The experiments store's commands (cmd_search.c, cmd_tune.c). */
int ar_cmd_search(int argc, char **argv);
int ar_cmd_jobs(int argc, char **argv);
int ar_cmd_tune(int argc, char **argv);
