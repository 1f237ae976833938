/* The experiments store: schema and migrations, concurrent-safe writes, record reads and the
 * reaping of records whose process died. Search lives in store_search.c. */
#include "container/store.h"

#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "container/job.h"
#include "container/store_impl.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/rng.h"
#include "core/timer.h"

/* Writers wait this long in total for the database lock before giving up. */
#define BUSY_TOTAL_SECONDS 300.0

/* ---- schema ---- */

/* Migration N takes user_version N-1 to N. Append only. */
static const char *const migrations[] = {
    /* 1: jobs, their hyperparameters, channels, tags, metric histories and final values;
     *    tuning jobs. */
    "CREATE TABLE jobs ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " algorithm TEXT NOT NULL,"
    " status TEXT NOT NULL,"
    " failure TEXT,"
    " creation_time REAL NOT NULL,"
    " start_time REAL,"
    " end_time REAL,"
    " last_modified REAL NOT NULL,"
    " job_dir TEXT,"
    " model_path TEXT,"
    " model_sha256 TEXT,"
    " tuning_job TEXT,"
    " trial_index INTEGER,"
    " experiment TEXT,"
    " trial TEXT,"
    " early_stopped INTEGER NOT NULL DEFAULT 0,"
    " host TEXT,"
    " pid INTEGER,"
    " pid_start INTEGER);"
    "CREATE INDEX jobs_tuning ON jobs(tuning_job, trial_index);"
    "CREATE INDEX jobs_status ON jobs(status);"
    "CREATE INDEX jobs_created ON jobs(creation_time);"
    "CREATE TABLE hyperparameters ("
    " job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
    " name TEXT NOT NULL, value TEXT NOT NULL, given INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (job_id, name)) WITHOUT ROWID;"
    "CREATE TABLE channels ("
    " job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
    " name TEXT NOT NULL, location TEXT, content_type TEXT, input_mode TEXT,"
    " PRIMARY KEY (job_id, name)) WITHOUT ROWID;"
    "CREATE TABLE tags ("
    " job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
    " key TEXT NOT NULL, value TEXT NOT NULL,"
    " PRIMARY KEY (job_id, key)) WITHOUT ROWID;"
    "CREATE TABLE metrics ("
    " job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
    " seq INTEGER NOT NULL, name TEXT NOT NULL, step INTEGER NOT NULL, value REAL,"
    " time REAL, PRIMARY KEY (job_id, seq)) WITHOUT ROWID;"
    "CREATE TABLE final_metrics ("
    " job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
    " name TEXT NOT NULL, value REAL, step INTEGER NOT NULL, time REAL,"
    " PRIMARY KEY (job_id, name)) WITHOUT ROWID;"
    "CREATE TABLE tuning_jobs ("
    " name TEXT PRIMARY KEY,"
    " algorithm TEXT NOT NULL,"
    " strategy TEXT NOT NULL,"
    " objective_metric TEXT NOT NULL,"
    " objective_type TEXT NOT NULL,"
    " status TEXT NOT NULL,"
    " failure TEXT,"
    " config TEXT NOT NULL,"
    " best_job TEXT,"
    " creation_time REAL NOT NULL,"
    " end_time REAL,"
    " last_modified REAL NOT NULL,"
    " host TEXT, pid INTEGER, pid_start INTEGER);",
};

#define N_MIGRATIONS (sizeof migrations / sizeof migrations[0])

/* ---- helpers ---- */

int ar_store_sql_fail(struct ar_store *s, int code, const char *what)
{
    return ar_err_set(code == SQLITE_BUSY ? AR_ERR_IO : AR_ERR_IO, "store %s: %s: %s", s->path,
                      what, sqlite3_errmsg(s->db));
}

static void nap(struct ar_store *s)
{
    /* 2..20 ms, jittered so that waiting writers do not retry in lockstep. */
    long us = 2000 + (long)ar_rng_below(&s->rng, 18000);
    struct timespec ts = {0, us * 1000};
    nanosleep(&ts, NULL);
}

int ar_store_exec(struct ar_store *s, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        int r = ar_err_set(AR_ERR_IO, "store %s: %s", s->path, msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return r;
    }
    return AR_OK;
}

/* BEGIN IMMEDIATE, retried while another writer holds the lock (the busy handler waits too). */
int ar_store_begin_write(struct ar_store *s)
{
    double t0 = ar_time_now();
    for (;;) {
        int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            return AR_OK;
        if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)
            return ar_store_sql_fail(s, rc, "begin");
        if (ar_time_now() - t0 > BUSY_TOTAL_SECONDS)
            return ar_err_set(AR_ERR_IO, "store %s: database busy for %.0f s", s->path,
                              BUSY_TOTAL_SECONDS);
        nap(s);
    }
}

int ar_store_commit(struct ar_store *s)
{
    double t0 = ar_time_now();
    for (;;) {
        int rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            return AR_OK;
        if ((rc & 0xff) != SQLITE_BUSY || ar_time_now() - t0 > BUSY_TOTAL_SECONDS) {
            int r = ar_store_sql_fail(s, rc, "commit");
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return r;
        }
        nap(s);
    }
}

void ar_store_rollback(struct ar_store *s)
{
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

int ar_store_prepare(struct ar_store *s, const char *sql, sqlite3_stmt **st)
{
    int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
    if (rc != SQLITE_OK)
        return ar_store_sql_fail(s, rc, "prepare");
    return AR_OK;
}

/* Steps a statement that returns no rows. */
static int step_done(struct ar_store *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return ar_store_sql_fail(s, rc, what);
    return AR_OK;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static void bind_time(sqlite3_stmt *st, int i, double t)
{
    if (t > 0)
        sqlite3_bind_double(st, i, t);
    else
        sqlite3_bind_null(st, i);
}

static char *col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? ar_strdup((const char *)t) : NULL;
}

static double col_double(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? 0.0 : sqlite3_column_double(st, i);
}

/* Start time of a process in clock ticks after boot (field 22 of /proc/PID/stat), -1 when the
 * process does not exist or is a zombie. */
long long ar_store_proc_start(long pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ')
        return -1;
    p += 2;
    if (*p == 'Z' || *p == 'X')
        return -1;
    /* p is field 3 (state); field 22 is 19 fields further. */
    for (int i = 0; i < 19 && p; i++) {
        p = strchr(p, ' ');
        if (p)
            p++;
    }
    if (!p)
        return -1;
    char *end;
    long long v = strtoll(p, &end, 10);
    return end == p ? -1 : v;
}

static void host_name(char *buf, size_t size)
{
    if (gethostname(buf, size) != 0)
        snprintf(buf, size, "localhost");
    buf[size - 1] = '\0';
}

/* ---- open / close ---- */

int ar_store_default_path(char *buf, size_t size)
{
    const char *home = getenv("ALGORUN_HOME");
    int n;
    if (home && *home) {
        n = snprintf(buf, size, "%s/experiments.db", home);
    } else {
        const char *h = getenv("HOME");
        if (!h || !*h)
            h = "/tmp";
        n = snprintf(buf, size, "%s/.algorun/experiments.db", h);
    }
    if (n < 0 || (size_t)n >= size)
        return ar_err_set(AR_ERR_LIMIT, "store path too long");
    return AR_OK;
}

static int migrate(struct ar_store *s)
{
    AR_TRY(ar_store_begin_write(s));
    sqlite3_stmt *st;
    int rc = ar_store_prepare(s, "PRAGMA user_version", &st);
    if (rc != AR_OK) {
        ar_store_rollback(s);
        return rc;
    }
    int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    if (version > (int)N_MIGRATIONS) {
        ar_store_rollback(s);
        return ar_err_set(AR_ERR_UNSUPPORTED,
                          "store %s has schema version %d; this algorun knows up to %d "
                          "(upgrade algorun)",
                          s->path, version, (int)N_MIGRATIONS);
    }
    for (int v = version; v < (int)N_MIGRATIONS; v++) {
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v + 1);
        if ((rc = ar_store_exec(s, migrations[v])) != AR_OK ||
            (rc = ar_store_exec(s, pragma)) != AR_OK) {
            ar_err_prefix("migrating to schema version %d: ", v + 1);
            ar_store_rollback(s);
            return rc;
        }
    }
    return ar_store_commit(s);
}

/* PRAGMA journal_mode=WAL needs a moment alone with the file; retry while others hold it. */
static int enable_wal(struct ar_store *s)
{
    double t0 = ar_time_now();
    for (;;) {
        int rc = sqlite3_exec(s->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            return AR_OK;
        if ((rc & 0xff) != SQLITE_BUSY || ar_time_now() - t0 > BUSY_TOTAL_SECONDS)
            return ar_store_sql_fail(s, rc, "enabling WAL");
        nap(s);
    }
}

int ar_store_open(const char *path, struct ar_store **out)
{
    *out = NULL;
    if (!path || !*path)
        return ar_err_set(AR_ERR_INVALID, "empty store path");
    /* Create the directory the database lives in. */
    char dir[4096];
    int n = snprintf(dir, sizeof dir, "%s", path);
    if (n < 0 || (size_t)n >= sizeof dir)
        return ar_err_set(AR_ERR_LIMIT, "store path too long: %.200s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (ar_mkdirs(dir) != AR_OK) {
            ar_err_prefix("store %s: ", path);
            return AR_ERR_IO;
        }
    }
    struct ar_store *s = ar_callocn(1, sizeof *s);
    if (!s)
        return AR_ERR_NOMEM;
    s->path = ar_strdup(path);
    if (!s->path) {
        ar_free(s);
        return AR_ERR_NOMEM;
    }
    ar_rng_init(&s->rng, (uint64_t)(ar_time_now() * 1e9), (uint64_t)getpid());
    int rc = sqlite3_open_v2(
        path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
    if (rc != SQLITE_OK) {
        rc = ar_err_set(AR_ERR_IO, "store %s: cannot open: %s", path,
                        s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        ar_store_close(s);
        return rc;
    }
    sqlite3_busy_timeout(s->db, 10000);
    sqlite3_extended_result_codes(s->db, 1);
    rc = enable_wal(s);
    if (rc == AR_OK)
        rc = ar_store_exec(s, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;");
    if (rc == AR_OK)
        rc = migrate(s);
    if (rc == AR_OK)
        rc = ar_store_register_functions(s);
    if (rc != AR_OK) {
        ar_store_close(s);
        return rc;
    }
    host_name(s->host, sizeof s->host);
    *out = s;
    return AR_OK;
}

void ar_store_close(struct ar_store *s)
{
    if (!s)
        return;
    if (s->db)
        sqlite3_close_v2(s->db);
    ar_free(s->path);
    ar_free(s);
}

const char *ar_store_path(const struct ar_store *s)
{
    return s->path;
}

/* ---- writing jobs ---- */

static int insert_kvs(struct ar_store *s, const char *sql, long id, const struct ar_store_kv *kv,
                      size_t n, int given)
{
    sqlite3_stmt *st;
    AR_TRY(ar_store_prepare(s, sql, &st));
    int rc = AR_OK;
    for (size_t i = 0; i < n && rc == AR_OK; i++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, id);
        bind_text(st, 2, kv[i].name);
        bind_text(st, 3, kv[i].value ? kv[i].value : "");
        if (given >= 0)
            sqlite3_bind_int(st, 4, given);
        rc = step_done(s, st, "writing a record");
    }
    sqlite3_finalize(st);
    return rc;
}

static int mark_given(struct ar_store *s, long id, const struct ar_store_kv *given, size_t n)
{
    sqlite3_stmt *st;
    AR_TRY(ar_store_prepare(s,
                            "INSERT INTO hyperparameters(job_id, name, value, given) "
                            "VALUES (?, ?, ?, 1) "
                            "ON CONFLICT(job_id, name) DO UPDATE SET given = 1",
                            &st));
    int rc = AR_OK;
    for (size_t i = 0; i < n && rc == AR_OK; i++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, id);
        bind_text(st, 2, given[i].name);
        bind_text(st, 3, given[i].value ? given[i].value : "");
        rc = step_done(s, st, "writing hyperparameters");
    }
    sqlite3_finalize(st);
    return rc;
}

static int insert_metrics(struct ar_store *s, long id, long seq0, const struct ar_store_metric *m,
                          size_t n)
{
    sqlite3_stmt *hist, *fin;
    AR_TRY(ar_store_prepare(
        s, "INSERT INTO metrics(job_id, seq, name, step, value, time) VALUES (?, ?, ?, ?, ?, ?)",
        &hist));
    int rc = ar_store_prepare(s,
                              "INSERT OR REPLACE INTO final_metrics(job_id, name, value, step, "
                              "time) VALUES (?, ?, ?, ?, ?)",
                              &fin);
    if (rc != AR_OK) {
        sqlite3_finalize(hist);
        return rc;
    }
    for (size_t i = 0; i < n && rc == AR_OK; i++) {
        sqlite3_stmt *sts[2] = {hist, fin};
        for (int k = 0; k < 2 && rc == AR_OK; k++) {
            sqlite3_stmt *st = sts[k];
            int c = 1;
            sqlite3_reset(st);
            sqlite3_bind_int64(st, c++, id);
            if (k == 0)
                sqlite3_bind_int64(st, c++, seq0 + (long)i);
            bind_text(st, c++, m[i].name);
            if (k == 0)
                sqlite3_bind_int64(st, c++, m[i].step);
            if (isfinite(m[i].value))
                sqlite3_bind_double(st, c++, m[i].value);
            else
                sqlite3_bind_null(st, c++); /* SQLite has no NaN; absent value */
            if (k == 1)
                sqlite3_bind_int64(st, c++, m[i].step);
            bind_time(st, c++, m[i].time);
            rc = step_done(s, st, "writing metrics");
        }
    }
    sqlite3_finalize(hist);
    sqlite3_finalize(fin);
    return rc;
}

static int job_id(struct ar_store *s, const char *name, long *id)
{
    sqlite3_stmt *st;
    AR_TRY(ar_store_prepare(s, "SELECT id FROM jobs WHERE name = ?", &st));
    bind_text(st, 1, name);
    int rc = sqlite3_step(st);
    *id = rc == SQLITE_ROW ? (long)sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return ar_store_sql_fail(s, rc, "looking up a job");
    return AR_OK;
}

static int job_put_tx(struct ar_store *s, const struct ar_store_job *j, bool create)
{
    long id;
    AR_TRY(job_id(s, j->name, &id));
    if (id && create)
        return ar_err_set(AR_ERR_EXISTS, "a job named '%s' is already in the store %s", j->name,
                          s->path);
    bool running = strcmp(j->status, "InProgress") == 0;
    double now = ar_time_epoch();
    sqlite3_stmt *st;
    const char *sql =
        id ? "UPDATE jobs SET algorithm=?1, status=?2, failure=?3, creation_time=?4, "
             "start_time=?5, end_time=?6, last_modified=?7, job_dir=?8, model_path=?9, "
             "model_sha256=?10, tuning_job=?11, trial_index=?12, experiment=?13, trial=?14, "
             "host=?15, pid=?16, pid_start=?17 WHERE id=?18"
           : "INSERT INTO jobs(algorithm, status, failure, creation_time, start_time, end_time, "
             "last_modified, job_dir, model_path, model_sha256, tuning_job, trial_index, "
             "experiment, trial, host, pid, pid_start, name) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
             "?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)";
    AR_TRY(ar_store_prepare(s, sql, &st));
    bind_text(st, 1, j->algorithm);
    bind_text(st, 2, j->status);
    bind_text(st, 3, j->failure && *j->failure ? j->failure : NULL);
    sqlite3_bind_double(st, 4, j->creation_time > 0 ? j->creation_time : now);
    bind_time(st, 5, j->start_time);
    bind_time(st, 6, j->end_time);
    sqlite3_bind_double(st, 7, now);
    bind_text(st, 8, j->job_dir);
    bind_text(st, 9, j->model_path);
    bind_text(st, 10, j->model_sha256);
    bind_text(st, 11, j->tuning_job);
    if (j->trial_index > 0)
        sqlite3_bind_int64(st, 12, j->trial_index);
    else
        sqlite3_bind_null(st, 12);
    bind_text(st, 13, j->experiment);
    bind_text(st, 14, j->trial);
    if (running) {
        bind_text(st, 15, s->host);
        sqlite3_bind_int64(st, 16, (long)getpid());
        sqlite3_bind_int64(st, 17, ar_store_proc_start((long)getpid()));
    } else {
        sqlite3_bind_null(st, 15);
        sqlite3_bind_null(st, 16);
        sqlite3_bind_null(st, 17);
    }
    if (id)
        sqlite3_bind_int64(st, 18, id);
    else
        bind_text(st, 18, j->name);
    int rc = step_done(s, st, "writing a job");
    sqlite3_finalize(st);
    AR_TRY(rc);
    if (!id)
        id = (long)sqlite3_last_insert_rowid(s->db);
    static const char *const clear[] = {
        "DELETE FROM hyperparameters WHERE job_id = ?", "DELETE FROM channels WHERE job_id = ?",
        "DELETE FROM tags WHERE job_id = ?", "DELETE FROM metrics WHERE job_id = ?",
        "DELETE FROM final_metrics WHERE job_id = ?"};
    for (size_t k = 0; k < sizeof clear / sizeof clear[0]; k++) {
        AR_TRY(ar_store_prepare(s, clear[k], &st));
        sqlite3_bind_int64(st, 1, id);
        rc = step_done(s, st, "replacing a job");
        sqlite3_finalize(st);
        AR_TRY(rc);
    }
    AR_TRY(insert_kvs(s, "INSERT INTO hyperparameters(job_id, name, value, given) VALUES (?,?,?,?)",
                      id, j->hp, j->n_hp, 0));
    AR_TRY(mark_given(s, id, j->given_hp, j->n_given_hp));
    AR_TRY(insert_kvs(s, "INSERT OR REPLACE INTO tags(job_id, key, value) VALUES (?,?,?)", id,
                      j->tags, j->n_tags, -1));
    AR_TRY(ar_store_prepare(s,
                            "INSERT OR REPLACE INTO channels(job_id, name, location, "
                            "content_type, input_mode) VALUES (?,?,?,?,?)",
                            &st));
    for (size_t i = 0; i < j->n_channels && rc == AR_OK; i++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, id);
        bind_text(st, 2, j->channels[i].name);
        bind_text(st, 3, j->channels[i].location);
        bind_text(st, 4, j->channels[i].content_type);
        bind_text(st, 5, j->channels[i].input_mode);
        rc = step_done(s, st, "writing channels");
    }
    sqlite3_finalize(st);
    AR_TRY(rc);
    return insert_metrics(s, id, 0, j->metrics, j->n_metrics);
}

int ar_store_job_put(struct ar_store *s, const struct ar_store_job *j, bool create)
{
    if (!j->name || !*j->name || !j->algorithm || !j->status)
        return ar_err_set(AR_ERR_INVALID, "job record needs a name, an algorithm and a status");
    AR_TRY(ar_store_begin_write(s));
    int rc = job_put_tx(s, j, create);
    if (rc != AR_OK) {
        ar_store_rollback(s);
        return rc;
    }
    return ar_store_commit(s);
}

static int add_metrics_tx(struct ar_store *s, const char *job, const struct ar_store_metric *m,
                          size_t n)
{
    long id;
    AR_TRY(job_id(s, job, &id));
    if (!id)
        return ar_err_set(AR_ERR_NOT_FOUND, "no job named '%s' in the store %s", job, s->path);
    sqlite3_stmt *st;
    AR_TRY(
        ar_store_prepare(s, "SELECT coalesce(max(seq) + 1, 0) FROM metrics WHERE job_id = ?", &st));
    sqlite3_bind_int64(st, 1, id);
    long seq0 = sqlite3_step(st) == SQLITE_ROW ? (long)sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    AR_TRY(insert_metrics(s, id, seq0, m, n));
    AR_TRY(ar_store_prepare(s, "UPDATE jobs SET last_modified = ? WHERE id = ?", &st));
    sqlite3_bind_double(st, 1, ar_time_epoch());
    sqlite3_bind_int64(st, 2, id);
    int rc = step_done(s, st, "writing metrics");
    sqlite3_finalize(st);
    return rc;
}

int ar_store_job_add_metrics(struct ar_store *s, const char *job, const struct ar_store_metric *m,
                             size_t n)
{
    if (n == 0)
        return AR_OK;
    AR_TRY(ar_store_begin_write(s));
    int rc = add_metrics_tx(s, job, m, n);
    if (rc != AR_OK) {
        ar_store_rollback(s);
        return rc;
    }
    return ar_store_commit(s);
}

int ar_store_job_mark_early_stopped(struct ar_store *s, const char *job)
{
    AR_TRY(ar_store_begin_write(s));
    sqlite3_stmt *st;
    int rc = ar_store_prepare(s, "UPDATE jobs SET early_stopped = 1 WHERE name = ?", &st);
    if (rc == AR_OK) {
        bind_text(st, 1, job);
        rc = step_done(s, st, "marking early stopping");
        sqlite3_finalize(st);
    }
    if (rc != AR_OK) {
        ar_store_rollback(s);
        return rc;
    }
    return ar_store_commit(s);
}

/* ---- reading jobs ---- */

void ar_store_record_free(struct ar_store_record *r)
{
    if (!r)
        return;
    char **strs[] = {&r->name,       &r->algorithm,    &r->status,     &r->failure,    &r->job_dir,
                     &r->model_path, &r->model_sha256, &r->tuning_job, &r->experiment, &r->trial};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        ar_free(*strs[i]);
    for (size_t i = 0; i < r->n_hp; i++) {
        ar_free(r->hp[i].name);
        ar_free(r->hp[i].value);
    }
    ar_free(r->hp);
    for (size_t i = 0; i < r->n_tags; i++) {
        ar_free(r->tags[i].name);
        ar_free(r->tags[i].value);
    }
    ar_free(r->tags);
    for (size_t i = 0; i < r->n_channels; i++) {
        ar_free(r->channels[i].name);
        ar_free(r->channels[i].location);
        ar_free(r->channels[i].content_type);
        ar_free(r->channels[i].input_mode);
    }
    ar_free(r->channels);
    for (size_t i = 0; i < r->n_final; i++)
        ar_free(r->final[i].name);
    ar_free(r->final);
    for (size_t i = 0; i < r->n_history; i++)
        ar_free(r->history[i].name);
    ar_free(r->history);
    ar_free(r);
}

void ar_store_records_free(struct ar_store_record **r, size_t n)
{
    if (!r)
        return;
    for (size_t i = 0; i < n; i++)
        ar_store_record_free(r[i]);
    ar_free(r);
}

/* Grows *arr (of `size`-byte items) to hold one more; returns the new item or NULL. */
static void *grow(void **arr, size_t *n, size_t size)
{
    if ((*n & (*n - 1)) == 0) { /* n is 0 or a power of two: double */
        size_t cap = *n ? *n * 2 : 4;
        void *na = ar_reallocn(*arr, *n * size, cap, size);
        if (!na)
            return NULL;
        *arr = na;
    }
    char *item = (char *)*arr + *n * size;
    memset(item, 0, size);
    (*n)++;
    return item;
}

static int load_children(struct ar_store *s, struct ar_store_record *r, bool with_history)
{
    sqlite3_stmt *st;
    int rc = AR_OK;
    AR_TRY(ar_store_prepare(
        s, "SELECT name, value, given FROM hyperparameters WHERE job_id = ? ORDER BY name", &st));
    sqlite3_bind_int64(st, 1, r->id);
    while (rc == AR_OK && sqlite3_step(st) == SQLITE_ROW) {
        struct ar_store_record_kv *kv = grow((void **)&r->hp, &r->n_hp, sizeof *kv);
        if (!kv || !(kv->name = col_text(st, 0)) || !(kv->value = col_text(st, 1)))
            rc = AR_ERR_NOMEM;
        else
            kv->given = sqlite3_column_int(st, 2) != 0;
    }
    sqlite3_finalize(st);
    AR_TRY(rc);
    AR_TRY(ar_store_prepare(s, "SELECT key, value FROM tags WHERE job_id = ? ORDER BY key", &st));
    sqlite3_bind_int64(st, 1, r->id);
    while (rc == AR_OK && sqlite3_step(st) == SQLITE_ROW) {
        struct ar_store_record_kv *kv = grow((void **)&r->tags, &r->n_tags, sizeof *kv);
        if (!kv || !(kv->name = col_text(st, 0)) || !(kv->value = col_text(st, 1)))
            rc = AR_ERR_NOMEM;
    }
    sqlite3_finalize(st);
    AR_TRY(rc);
    AR_TRY(ar_store_prepare(s,
                            "SELECT name, location, content_type, input_mode FROM channels "
                            "WHERE job_id = ? ORDER BY name",
                            &st));
    sqlite3_bind_int64(st, 1, r->id);
    while (rc == AR_OK && sqlite3_step(st) == SQLITE_ROW) {
        struct ar_store_record_channel *c = grow((void **)&r->channels, &r->n_channels, sizeof *c);
        if (!c || !(c->name = col_text(st, 0)))
            rc = AR_ERR_NOMEM;
        else {
            c->location = col_text(st, 1);
            c->content_type = col_text(st, 2);
            c->input_mode = col_text(st, 3);
        }
    }
    sqlite3_finalize(st);
    AR_TRY(rc);
    for (int pass = 0; pass < (with_history ? 2 : 1); pass++) {
        const char *sql = pass == 0 ? "SELECT name, value, step, time FROM final_metrics WHERE "
                                      "job_id = ? ORDER BY name"
                                    : "SELECT name, value, step, time FROM metrics WHERE job_id "
                                      "= ? ORDER BY seq";
        AR_TRY(ar_store_prepare(s, sql, &st));
        sqlite3_bind_int64(st, 1, r->id);
        while (rc == AR_OK && sqlite3_step(st) == SQLITE_ROW) {
            struct ar_store_record_metric *m =
                pass == 0 ? grow((void **)&r->final, &r->n_final, sizeof *m)
                          : grow((void **)&r->history, &r->n_history, sizeof *m);
            if (!m || !(m->name = col_text(st, 0))) {
                rc = AR_ERR_NOMEM;
                break;
            }
            m->value = sqlite3_column_type(st, 1) == SQLITE_NULL ? (double)NAN
                                                                 : sqlite3_column_double(st, 1);
            m->step = (long)sqlite3_column_int64(st, 2);
            m->time = col_double(st, 3);
        }
        sqlite3_finalize(st);
        AR_TRY(rc);
    }
    return AR_OK;
}

static int record_from_row(sqlite3_stmt *st, struct ar_store_record **out)
{
    struct ar_store_record *r = ar_callocn(1, sizeof *r);
    if (!r)
        return AR_ERR_NOMEM;
    r->id = (long)sqlite3_column_int64(st, 0);
    r->name = col_text(st, 1);
    r->algorithm = col_text(st, 2);
    r->status = col_text(st, 3);
    r->failure = col_text(st, 4);
    r->creation_time = col_double(st, 5);
    r->start_time = col_double(st, 6);
    r->end_time = col_double(st, 7);
    r->last_modified = col_double(st, 8);
    r->job_dir = col_text(st, 9);
    r->model_path = col_text(st, 10);
    r->model_sha256 = col_text(st, 11);
    r->tuning_job = col_text(st, 12);
    r->trial_index = (long)sqlite3_column_int64(st, 13);
    r->experiment = col_text(st, 14);
    r->trial = col_text(st, 15);
    r->early_stopped = sqlite3_column_int(st, 16) != 0;
    if (!r->name || !r->algorithm || !r->status) {
        ar_store_record_free(r);
        return AR_ERR_NOMEM;
    }
    *out = r;
    return AR_OK;
}

int ar_store_load_records(struct ar_store *s, sqlite3_stmt *st, bool with_history,
                          struct ar_store_record ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    struct ar_store_record **recs = NULL;
    size_t cnt = 0;
    int rc = AR_OK, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct ar_store_record **slot = grow((void **)&recs, &cnt, sizeof *slot);
        if (!slot) {
            rc = AR_ERR_NOMEM;
            break;
        }
        if ((rc = record_from_row(st, slot)) != AR_OK) {
            cnt--;
            break;
        }
    }
    if (rc == AR_OK && step != SQLITE_DONE)
        rc = ar_store_sql_fail(s, step, "reading jobs");
    for (size_t i = 0; rc == AR_OK && i < cnt; i++)
        rc = load_children(s, recs[i], with_history);
    if (rc != AR_OK) {
        ar_store_records_free(recs, cnt);
        return rc;
    }
    *out = recs;
    *n = cnt;
    return AR_OK;
}

/* Reads in one snapshot: a deferred transaction around the statements. */
static int begin_read(struct ar_store *s)
{
    return ar_store_exec(s, "BEGIN");
}

int ar_store_job_get(struct ar_store *s, const char *name, bool with_history,
                     struct ar_store_record **out)
{
    *out = NULL;
    AR_TRY(ar_store_reap(s, NULL));
    sqlite3_stmt *st;
    AR_TRY(begin_read(s));
    int rc =
        ar_store_prepare(s, "SELECT " AR_STORE_RECORD_COLS " FROM jobs j WHERE j.name = ?", &st);
    struct ar_store_record **recs = NULL;
    size_t n = 0;
    if (rc == AR_OK) {
        bind_text(st, 1, name);
        rc = ar_store_load_records(s, st, with_history, &recs, &n);
        sqlite3_finalize(st);
    }
    ar_store_rollback(s);
    AR_TRY(rc);
    if (n == 0) {
        ar_free(recs);
        return ar_err_set(AR_ERR_NOT_FOUND, "no job named '%s' in the store %s", name, s->path);
    }
    *out = recs[0];
    ar_free(recs);
    return AR_OK;
}

int ar_store_metric_history(struct ar_store *s, const char *job, const char *metric,
                            double **values, long **steps, size_t *n)
{
    *values = NULL;
    *steps = NULL;
    *n = 0;
    sqlite3_stmt *st;
    AR_TRY(ar_store_prepare(s,
                            "SELECT m.value, m.step FROM metrics m JOIN jobs j ON j.id = m.job_id "
                            "WHERE j.name = ? AND m.name = ? AND m.step >= 0 AND m.value IS NOT "
                            "NULL ORDER BY m.seq",
                            &st));
    bind_text(st, 1, job);
    bind_text(st, 2, metric);
    size_t cnt = 0, cnt2 = 0;
    double *v = NULL;
    long *sp = NULL;
    int rc = AR_OK;
    while (sqlite3_step(st) == SQLITE_ROW) {
        double *pv = grow((void **)&v, &cnt, sizeof *v);
        long *ps = grow((void **)&sp, &cnt2, sizeof *sp);
        if (!pv || !ps) {
            rc = AR_ERR_NOMEM;
            break;
        }
        *pv = sqlite3_column_double(st, 0);
        *ps = (long)sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    if (rc != AR_OK || cnt != cnt2) {
        ar_free(v);
        ar_free(sp);
        return rc != AR_OK ? rc : AR_ERR_NOMEM;
    }
    *values = v;
    *steps = sp;
    *n = cnt;
    return AR_OK;
}

/* ---- reaping dead processes ---- */

struct dead {
    char table[16];
    long long key;
    char name[300];
    long pid;
};

static int reap_table(struct ar_store *s, const char *table, struct dead **dead, size_t *n_dead)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT rowid, pid, pid_start FROM %s WHERE status = 'InProgress' AND host = ?",
             table);
    sqlite3_stmt *st;
    AR_TRY(ar_store_prepare(s, sql, &st));
    bind_text(st, 1, s->host);
    int rc = AR_OK;
    while (sqlite3_step(st) == SQLITE_ROW) {
        long pid = (long)sqlite3_column_int64(st, 1);
        long long start =
            sqlite3_column_type(st, 2) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 2);
        long long now = pid > 0 ? ar_store_proc_start(pid) : -1;
        bool alive = pid > 0 && now >= 0 && (start < 0 || now == start);
        if (alive)
            continue;
        struct dead *d = grow((void **)dead, n_dead, sizeof *d);
        if (!d) {
            rc = AR_ERR_NOMEM;
            break;
        }
        snprintf(d->table, sizeof d->table, "%s", table);
        d->key = sqlite3_column_int64(st, 0);
        d->pid = pid;
    }
    sqlite3_finalize(st);
    return rc;
}

int ar_store_reap(struct ar_store *s, size_t *n_marked)
{
    if (n_marked)
        *n_marked = 0;
    struct dead *dead = NULL;
    size_t n = 0;
    int rc = reap_table(s, "jobs", &dead, &n);
    if (rc == AR_OK)
        rc = reap_table(s, "tuning_jobs", &dead, &n);
    if (rc != AR_OK || n == 0) {
        ar_free(dead);
        return rc;
    }
    rc = ar_store_begin_write(s);
    size_t marked = 0;
    double now = ar_time_epoch();
    for (size_t i = 0; rc == AR_OK && i < n; i++) {
        char sql[256], msg[512];
        snprintf(sql, sizeof sql,
                 "UPDATE %s SET status = 'Failed', failure = ?, end_time = coalesce(end_time, ?), "
                 "last_modified = ?, pid = NULL WHERE rowid = ? AND status = 'InProgress' AND "
                 "pid IS ?",
                 dead[i].table);
        snprintf(msg, sizeof msg,
                 "InternalServerError: the process running it (pid %ld on %s) ended without "
                 "recording a result",
                 dead[i].pid, s->host);
        sqlite3_stmt *st;
        rc = ar_store_prepare(s, sql, &st);
        if (rc != AR_OK)
            break;
        bind_text(st, 1, msg);
        sqlite3_bind_double(st, 2, now);
        sqlite3_bind_double(st, 3, now);
        sqlite3_bind_int64(st, 4, dead[i].key);
        if (dead[i].pid > 0)
            sqlite3_bind_int64(st, 5, dead[i].pid);
        else
            sqlite3_bind_null(st, 5);
        rc = step_done(s, st, "marking dead jobs");
        if (rc == AR_OK)
            marked += (size_t)sqlite3_changes(s->db);
        sqlite3_finalize(st);
    }
    ar_free(dead);
    if (rc != AR_OK) {
        ar_store_rollback(s);
        return rc;
    }
    AR_TRY(ar_store_commit(s));
    if (n_marked)
        *n_marked = marked;
    return AR_OK;
}

/* ---- tuning jobs ---- */

static int tuning_put_tx(struct ar_store *s, const struct ar_store_tuning *t, bool create)
{
    sqlite3_stmt *st;
    AR_TRY(ar_store_prepare(s, "SELECT 1 FROM tuning_jobs WHERE name = ?", &st));
    bind_text(st, 1, t->name);
    bool exists = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    if (exists && create)
        return ar_err_set(AR_ERR_EXISTS,
                          "a tuning job named '%s' is already in the store %s (use --resume "
                          "to continue it)",
                          t->name, s->path);
    const char *sql =
        exists ? "UPDATE tuning_jobs SET algorithm=?1, strategy=?2, objective_metric=?3, "
                 "objective_type=?4, status=?5, failure=?6, config=?7, best_job=?8, "
                 "creation_time=?9, end_time=?10, last_modified=?11, host=?12, pid=?13, "
                 "pid_start=?14 WHERE name=?15"
               : "INSERT INTO tuning_jobs(algorithm, strategy, objective_metric, objective_type, "
                 "status, failure, config, best_job, creation_time, end_time, last_modified, "
                 "host, pid, pid_start, name) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
                 "?11, ?12, ?13, ?14, ?15)";
    AR_TRY(ar_store_prepare(s, sql, &st));
    double now = ar_time_epoch();
    bind_text(st, 1, t->algorithm);
    bind_text(st, 2, t->strategy);
    bind_text(st, 3, t->objective_metric);
    bind_text(st, 4, t->objective_type);
    bind_text(st, 5, t->status);
    bind_text(st, 6, t->failure);
    bind_text(st, 7, t->config ? t->config : "{}");
    bind_text(st, 8, t->best_job);
    sqlite3_bind_double(st, 9, t->creation_time > 0 ? t->creation_time : now);
    bind_time(st, 10, t->end_time);
    sqlite3_bind_double(st, 11, now);
    if (strcmp(t->status, "InProgress") == 0) {
        bind_text(st, 12, s->host);
        sqlite3_bind_int64(st, 13, (long)getpid());
        sqlite3_bind_int64(st, 14, ar_store_proc_start((long)getpid()));
    } else {
        sqlite3_bind_null(st, 12);
        sqlite3_bind_null(st, 13);
        sqlite3_bind_null(st, 14);
    }
    bind_text(st, 15, t->name);
    int rc = step_done(s, st, "writing a tuning job");
    sqlite3_finalize(st);
    return rc;
}

int ar_store_tuning_put(struct ar_store *s, const struct ar_store_tuning *t, bool create)
{
    if (!t->name || !t->algorithm || !t->strategy || !t->objective_metric || !t->objective_type ||
        !t->status)
        return ar_err_set(AR_ERR_INVALID, "incomplete tuning job record");
    AR_TRY(ar_store_begin_write(s));
    int rc = tuning_put_tx(s, t, create);
    if (rc != AR_OK) {
        ar_store_rollback(s);
        return rc;
    }
    return ar_store_commit(s);
}

int ar_store_tuning_get(struct ar_store *s, const char *name, char **status, char **config)
{
    *status = NULL;
    *config = NULL;
    AR_TRY(ar_store_reap(s, NULL));
    sqlite3_stmt *st;
    AR_TRY(ar_store_prepare(s, "SELECT status, config FROM tuning_jobs WHERE name = ?", &st));
    bind_text(st, 1, name);
    int rc = AR_OK;
    if (sqlite3_step(st) == SQLITE_ROW) {
        *status = col_text(st, 0);
        *config = col_text(st, 1);
        if (!*status || !*config) {
            ar_free(*status);
            ar_free(*config);
            *status = *config = NULL;
            rc = AR_ERR_NOMEM;
        }
    } else {
        rc =
            ar_err_set(AR_ERR_NOT_FOUND, "no tuning job named '%s' in the store %s", name, s->path);
    }
    sqlite3_finalize(st);
    return rc;
}

int ar_store_tuning_trials(struct ar_store *s, const char *tuning_job,
                           struct ar_store_record ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    AR_TRY(ar_store_reap(s, NULL));
    AR_TRY(begin_read(s));
    sqlite3_stmt *st;
    int rc = ar_store_prepare(s,
                              "SELECT " AR_STORE_RECORD_COLS " FROM jobs j WHERE j.tuning_job = ? "
                              "ORDER BY j.trial_index, j.creation_time, j.id",
                              &st);
    if (rc == AR_OK) {
        bind_text(st, 1, tuning_job);
        rc = ar_store_load_records(s, st, false, out, n);
        sqlite3_finalize(st);
    }
    ar_store_rollback(s);
    return rc;
}

/* ---- times ---- */

void ar_store_iso_time(double t, char *buf, size_t size)
{
    time_t sec = (time_t)floor(t);
    struct tm tm;
    gmtime_r(&sec, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    int ms = (int)((t - (double)sec) * 1000.0);
    if (ms > 999)
        ms = 999;
    snprintf(buf, size, "%s.%03dZ", base, ms);
}

int ar_store_parse_time(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end != s && *end == '\0' && isfinite(v)) {
        *out = v;
        return AR_OK;
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p) {
        memset(&tm, 0, sizeof tm);
        p = strptime(s, "%Y-%m-%d", &tm);
        if (!p || *p)
            return ar_err_set(AR_ERR_PARAM,
                              "'%s' is not a time: expected YYYY-mm-ddTHH:MM:SS (UTC) or epoch "
                              "seconds",
                              s);
    }
    double frac = 0;
    if (*p == '.') {
        frac = strtod(p, &end);
        p = end;
    }
    if (*p == 'Z')
        p++;
    if (*p)
        return ar_err_set(AR_ERR_PARAM, "'%s' is not a time: unexpected '%s'", s, p);
    *out = (double)timegm(&tm) + frac;
    return AR_OK;
}
