/* Internals shared by store.c and store_search.c (not for other modules). */
#ifndef AR_CONTAINER_STORE_IMPL_H
#define AR_CONTAINER_STORE_IMPL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "container/store.h"
#include "core/rng.h"

struct ar_store {
    sqlite3 *db;
    char *path;
    char host[256];
    struct ar_rng rng; /* retry jitter */
};

/* Sets an AR_ERR_IO message naming the store, `what` and SQLite's message. */
int ar_store_sql_fail(struct ar_store *s, int code, const char *what);
int ar_store_exec(struct ar_store *s, const char *sql);
int ar_store_prepare(struct ar_store *s, const char *sql, sqlite3_stmt **st);
int ar_store_begin_write(struct ar_store *s);
int ar_store_commit(struct ar_store *s);
void ar_store_rollback(struct ar_store *s);
/* Loads every record a statement selecting RECORD_COLS returns, with their children. */
int ar_store_load_records(struct ar_store *s, sqlite3_stmt *st, bool with_history,
                          struct ar_store_record ***out, size_t *n);
/* Registers ar_cmp, ar_num and ar_in (store_search.c). */
int ar_store_register_functions(struct ar_store *s);
/* A process's start time in clock ticks since boot, -1 when gone or a zombie. */
long long ar_store_proc_start(long pid);

#define AR_STORE_RECORD_COLS                                                                       \
    "j.id, j.name, j.algorithm, j.status, j.failure, j.creation_time, j.start_time, "              \
    "j.end_time, j.last_modified, j.job_dir, j.model_path, j.model_sha256, j.tuning_job, "         \
    "j.trial_index, j.experiment, j.trial, j.early_stopped"

#endif
