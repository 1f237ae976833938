/* The experiments store: schema version, record round trip, duplicate names, streamed metrics,
 * early-stopping marks, reaping a dead writer, filters and search, times and SHA-256. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container/store.h"
#include "core/mem.h"
#include "tests/unit/testhelp.h"

static void temp_path(char *buf, size_t size, const char *leaf)
{
    snprintf(buf, size, "/tmp/ar-store-test-%ld/%s", (long)getpid(), leaf);
}

static void put(struct ar_store *s, const char *name, const char *k, double msd, const char *team)
{
    struct ar_store_kv hp[] = {{"k", k}, {"feature_dim", "4"}};
    struct ar_store_kv given[] = {{"k", k}};
    struct ar_store_kv tags[] = {{"team", team}};
    struct ar_store_metric m[] = {{"test:msd", msd + 1, 0, 1.0}, {"test:msd", msd, -1, 2.0}};
    struct ar_store_channel ch[] = {{"train", "/d/train.csv", "text/csv", "File"}};
    struct ar_store_job j = {.name = name,
                             .algorithm = "kmeans:1",
                             .status = "Completed",
                             .creation_time = 1.7e9 + msd,
                             .start_time = 1.7e9,
                             .end_time = 1.7e9 + 2,
                             .hp = hp,
                             .n_hp = 2,
                             .given_hp = given,
                             .n_given_hp = 1,
                             .tags = tags,
                             .n_tags = 1,
                             .channels = ch,
                             .n_channels = 1,
                             .metrics = m,
                             .n_metrics = 2};
    CHECK_OK(ar_store_job_put(s, &j, true));
}

static size_t search_names(struct ar_store *s, const char *filter, const char *sort, bool asc,
                           char *out, size_t size)
{
    struct ar_store_filter f;
    struct ar_store_query q = {&f, 0, sort, asc, 0};
    if (filter) {
        CHECK_OK(ar_store_filter_parse(filter, &f));
        q.n_filters = 1;
    }
    struct ar_store_record **recs;
    size_t n, total;
    out[0] = '\0';
    if (ar_store_search(s, &q, &recs, &n, &total) != AR_OK)
        return 0;
    for (size_t i = 0; i < n; i++)
        snprintf(out + strlen(out), size - strlen(out), "%s%s", i ? "," : "", recs[i]->name);
    ar_store_records_free(recs, n);
    return total;
}

void test_suite_store(void)
{
    char path[256], dir[256];
    temp_path(path, sizeof path, "exp.db");
    temp_path(dir, sizeof dir, "");
    struct ar_store *s;
    CHECK_OK(ar_store_open(path, &s));
    if (!s)
        return;

    /* Schema version, and a newer file is refused. */
    sqlite3 *db;
    sqlite3_open(path, &db);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
    CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == AR_STORE_SCHEMA_VERSION);
    sqlite3_finalize(st);
    char future[256];
    temp_path(future, sizeof future, "future.db");
    sqlite3 *f;
    sqlite3_open(future, &f);
    sqlite3_exec(f, "PRAGMA user_version = 99", NULL, NULL, NULL);
    sqlite3_close(f);
    struct ar_store *s2;
    CHECK_ERR(ar_store_open(future, &s2), AR_ERR_UNSUPPORTED, "schema version 99");
    sqlite3_close(db);

    put(s, "a", "2", 1.0, "red");
    put(s, "b", "10", 0.5, "blue");
    put(s, "c", "3", 0.7, "red");
    CHECK_ERR(
        ar_store_job_put(
            s, &(struct ar_store_job){.name = "a", .algorithm = "x", .status = "Completed"}, true),
        AR_ERR_EXISTS, "already in the store");

    struct ar_store_record *r;
    CHECK_OK(ar_store_job_get(s, "b", true, &r));
    if (r) {
        CHECK_STR(r->status, "Completed");
        CHECK_INT(r->n_hp, 2);
        CHECK_STR(r->hp[1].name, "k");
        CHECK(r->hp[1].given && !r->hp[0].given);
        CHECK_INT(r->n_final, 1);
        CHECK(r->final[0].value == 0.5 && r->final[0].step == -1);
        CHECK_INT(r->n_history, 2);
        CHECK_STR(r->channels[0].content_type, "text/csv");
        CHECK_STR(r->tags[0].value, "blue");
        ar_store_record_free(r);
    }
    CHECK_ERR(ar_store_job_get(s, "zz", false, &r), AR_ERR_NOT_FOUND, "no job named 'zz'");

    /* Streamed metrics, and the early-stopping mark survives the final write. */
    struct ar_store_job run = {.name = "live", .algorithm = "kmeans:1", .status = "InProgress"};
    CHECK_OK(ar_store_job_put(s, &run, true));
    struct ar_store_metric m1[] = {{"validation:rmse", 3, 0, 1}, {"validation:rmse", 2, 1, 2}};
    CHECK_OK(ar_store_job_add_metrics(s, "live", m1, 2));
    CHECK_OK(ar_store_job_add_metrics(s, "live", m1 + 1, 1));
    double *v;
    long *steps;
    size_t nv;
    CHECK_OK(ar_store_metric_history(s, "live", "validation:rmse", &v, &steps, &nv));
    CHECK_INT(nv, 3);
    if (nv == 3)
        CHECK(v[0] == 3 && v[2] == 2 && steps[1] == 1);
    ar_free(v);
    ar_free(steps);
    CHECK_OK(ar_store_job_mark_early_stopped(s, "live"));
    run.status = "Stopped";
    CHECK_OK(ar_store_job_put(s, &run, false));
    CHECK_OK(ar_store_job_get(s, "live", false, &r));
    if (r) {
        CHECK(r->early_stopped);
        CHECK_STR(r->status, "Stopped");
        ar_store_record_free(r);
    }
    CHECK_ERR(ar_store_job_add_metrics(s, "nope", m1, 1), AR_ERR_NOT_FOUND, NULL);

    /* A writer that dies while InProgress is marked Failed by the next reader. */
    pid_t pid = fork();
    if (pid == 0) {
        struct ar_store *cs;
        if (ar_store_open(path, &cs) != AR_OK)
            _exit(1);
        struct ar_store_job dj = {.name = "dead", .algorithm = "kmeans:1", .status = "InProgress"};
        _exit(ar_store_job_put(cs, &dj, true) == AR_OK ? 0 : 1);
    }
    int ws;
    waitpid(pid, &ws, 0);
    CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    size_t marked;
    CHECK_OK(ar_store_reap(s, &marked));
    CHECK_INT(marked, 1);
    CHECK_OK(ar_store_job_get(s, "dead", false, &r));
    if (r) {
        CHECK_STR(r->status, "Failed");
        CHECK(r->failure && strstr(r->failure, "ended without recording a result"));
        ar_store_record_free(r);
    }
    /* This process is alive: its own InProgress record stays. */
    struct ar_store_job mine = {.name = "mine", .algorithm = "kmeans:1", .status = "InProgress"};
    CHECK_OK(ar_store_job_put(s, &mine, true));
    CHECK_OK(ar_store_reap(s, &marked));
    CHECK_INT(marked, 0);

    /* Filters: parse errors name the problem. */
    struct ar_store_filter fl;
    CHECK_ERR(ar_store_filter_parse("", &fl), AR_ERR_PARAM, "NAME OPERATOR VALUE");
    CHECK_ERR(ar_store_filter_parse("HyperParameters.k", &fl), AR_ERR_PARAM,
              "missing the operator");
    CHECK_ERR(ar_store_filter_parse("HyperParameters.k Equals", &fl), AR_ERR_PARAM,
              "needs a value");
    CHECK_ERR(ar_store_filter_parse("Foo Equals 1", &fl), AR_ERR_PARAM, "not a searchable");
    CHECK_ERR(ar_store_filter_parse("TrainingJobName LessThan b", &fl), AR_ERR_PARAM, "is text");
    CHECK_OK(ar_store_filter_parse("Tags.team In  red, blue ", &fl));
    CHECK_STR(fl.value, " red, blue ");
    CHECK_INT(fl.op, AR_STORE_IN);
    CHECK_OK(ar_store_filter_parse("hyperparameters.k greaterthan 2", &fl));
    CHECK_INT(fl.op, AR_STORE_GREATER_THAN);

    /* Search: every operator; numbers compare as numbers ("10" > "3"). */
    char names[256];
    struct {
        const char *filter, *want;
    } cases[] = {
        {"HyperParameters.k Equals 10.0", "b"},
        {"HyperParameters.k NotEquals 2", "b,c"},
        {"HyperParameters.k GreaterThan 2", "b,c"},
        {"HyperParameters.k GreaterThanOrEqualTo 3", "b,c"},
        {"HyperParameters.k LessThan 10", "a,c"},
        {"HyperParameters.k LessThanOrEqualTo 2", "a"},
        {"TrainingJobName Contains iv", "live"},
        {"Tags.team In blue, green", "b"},
        {"Metrics.test:msd Exists", "a,b,c"},
        {"Tags.team NotExists", "dead,live,mine"},
        {"Metrics.test:msd LessThan 0.75", "b,c"},
        {"TrainingJobStatus Equals InProgress", "mine"},
        {"TrainingTimeInSeconds Equals 2", "a,b,c"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        search_names(s, cases[i].filter, "TrainingJobName", true, names, sizeof names);
        if (strcmp(names, cases[i].want) != 0)
            fprintf(stderr, "filter '%s': got %s\n", cases[i].filter, names);
        CHECK_STR(names, cases[i].want);
    }
    /* Sorting: numeric hyperparameters, both orders, missing values last. */
    search_names(s, NULL, "HyperParameters.k", true, names, sizeof names);
    CHECK(strncmp(names, "a,c,b,", 6) == 0);
    search_names(s, NULL, "HyperParameters.k", false, names, sizeof names);
    CHECK(strncmp(names, "b,c,a,", 6) == 0);
    search_names(s, NULL, "Metrics.test:msd", true, names, sizeof names);
    CHECK(strncmp(names, "b,c,a,", 6) == 0);
    struct ar_store_query q = {NULL, 0, "TrainingJobName", true, 2};
    struct ar_store_record **recs;
    size_t n, total;
    CHECK_OK(ar_store_search(s, &q, &recs, &n, &total));
    CHECK_INT(n, 2);
    CHECK_INT(total, 6);
    char prop[64];
    if (n == 2) {
        CHECK(ar_store_record_property(recs[0], "CreationTime", prop, sizeof prop));
        CHECK(strncmp(prop, "2023-11-14T22:13:21", 19) == 0);
        CHECK(ar_store_record_property(recs[0], "Tags.team", prop, sizeof prop));
        CHECK_STR(prop, "red");
        CHECK(!ar_store_record_property(recs[0], "Tags.none", prop, sizeof prop));
    }
    ar_store_records_free(recs, n);

    /* Tuning jobs. */
    struct ar_store_tuning t = {"tj", "kmeans:1",  "Random", "test:msd", "Minimize", "InProgress",
                                NULL, "{\"a\":1}", NULL,     0,          0};
    CHECK_OK(ar_store_tuning_put(s, &t, true));
    CHECK_ERR(ar_store_tuning_put(s, &t, true), AR_ERR_EXISTS, "--resume");
    char *status, *config;
    CHECK_OK(ar_store_tuning_get(s, "tj", &status, &config));
    CHECK_STR(status, "InProgress"); /* this process is alive */
    CHECK_STR(config, "{\"a\":1}");
    ar_free(status);
    ar_free(config);
    ar_store_close(s);

    /* Times and checksums. */
    double tm;
    CHECK_OK(ar_store_parse_time("2024-05-01T12:00:00", &tm));
    CHECK(tm == 1714564800.0);
    CHECK_OK(ar_store_parse_time("2024-05-01T12:00:00.5Z", &tm));
    CHECK(tm == 1714564800.5);
    CHECK_OK(ar_store_parse_time("1714564800", &tm));
    CHECK_ERR(ar_store_parse_time("May 1", &tm), AR_ERR_PARAM, "not a time");
    char iso[40];
    ar_store_iso_time(1714564800.25, iso, sizeof iso);
    CHECK_STR(iso, "2024-05-01T12:00:00.250Z");
    unsigned char d[32];
    ar_sha256("abc", 3, d);
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ar_sha256("", 0, d);
    CHECK(d[0] == 0xe3 && d[31] == 0x55);
    CHECK_ERR(ar_sha256_file("/nonexistent/x", hex), AR_ERR_IO, "cannot open");

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}
