/* Search over the experiments store in SageMaker Search's vocabulary: "Name Operator Value"
 * filters (AND-ed) compiled to SQL with bound values, a sort property and a result limit.
 *
 * Values compare as numbers when both sides are numbers (hyperparameters are stored as
 * strings: "0.1" Equals "0.10", "9" LessThan "10"), else as text. A filter on a property a job
 * does not have is false for every operator but NotExists. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "container/store.h"
#include "container/store_impl.h"
#include "core/err.h"
#include "core/mem.h"

/* ---- SQL functions ---- */

static bool text_number(const char *t, double *out)
{
    if (!t || !*t || isspace((unsigned char)*t))
        return false;
    char *end;
    double v = strtod(t, &end);
    if (end == t || *end != '\0' || !isfinite(v))
        return false;
    /* strtod accepts hex floats, "inf" and "nan": only plain decimals are numbers here. */
    for (const char *p = t; *p; p++)
        if (*p == 'x' || *p == 'X' || *p == 'n' || *p == 'N' || *p == 'i' || *p == 'I')
            return false;
    *out = v;
    return true;
}

static bool value_number(sqlite3_value *v, double *out)
{
    int type = sqlite3_value_type(v);
    if (type == SQLITE_INTEGER || type == SQLITE_FLOAT) {
        *out = sqlite3_value_double(v);
        return true;
    }
    if (type == SQLITE_TEXT)
        return text_number((const char *)sqlite3_value_text(v), out);
    return false;
}

/* -1, 0, 1; numbers numerically when both are numbers, else bytewise text. */
static int compare_values(sqlite3_value *a, sqlite3_value *b)
{
    double x, y;
    if (value_number(a, &x) && value_number(b, &y))
        return x < y ? -1 : x > y ? 1 : 0;
    const char *s = (const char *)sqlite3_value_text(a);
    const char *t = (const char *)sqlite3_value_text(b);
    int c = strcmp(s ? s : "", t ? t : "");
    return c < 0 ? -1 : c > 0 ? 1 : 0;
}

static void fn_cmp(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL || sqlite3_value_type(argv[1]) == SQLITE_NULL) {
        sqlite3_result_null(ctx);
        return;
    }
    sqlite3_result_int(ctx, compare_values(argv[0], argv[1]));
}

static void fn_num(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    double v;
    if (value_number(argv[0], &v))
        sqlite3_result_double(ctx, v);
    else
        sqlite3_result_null(ctx);
}

/* ar_in(x, "a,b,c"): x equals (as ar_cmp) one of the comma-separated, trimmed values. */
static void fn_in(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
        sqlite3_result_null(ctx);
        return;
    }
    const char *list = (const char *)sqlite3_value_text(argv[1]);
    const char *xs = (const char *)sqlite3_value_text(argv[0]);
    double xv;
    bool xnum = value_number(argv[0], &xv);
    int found = 0;
    for (const char *p = list ? list : ""; !found;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const char *a = p, *b = p + len;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        char item[AR_STORE_VALUE_MAX + 1];
        size_t il = (size_t)(b - a) < sizeof item - 1 ? (size_t)(b - a) : sizeof item - 1;
        memcpy(item, a, il);
        item[il] = '\0';
        double iv;
        if (xnum && text_number(item, &iv))
            found = xv == iv;
        else
            found = xs && strcmp(xs, item) == 0;
        if (!comma)
            break;
        p = comma + 1;
    }
    sqlite3_result_int(ctx, found);
}

int ar_store_register_functions(struct ar_store *s)
{
    int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC;
    if (sqlite3_create_function(s->db, "ar_cmp", 2, flags, NULL, fn_cmp, NULL, NULL) != SQLITE_OK ||
        sqlite3_create_function(s->db, "ar_num", 1, flags, NULL, fn_num, NULL, NULL) != SQLITE_OK ||
        sqlite3_create_function(s->db, "ar_in", 2, flags, NULL, fn_in, NULL, NULL) != SQLITE_OK)
        return ar_store_sql_fail(s, SQLITE_ERROR, "registering functions");
    return AR_OK;
}

/* ---- properties ---- */

enum prop_kind {
    PROP_TEXT,   /* names, status: Equals, NotEquals, Contains, In, Exists */
    PROP_NUMBER, /* metrics, durations: comparisons */
    PROP_TIME,   /* epoch seconds; values as ISO 8601 */
    PROP_MIXED   /* hyperparameters, tags: strings that compare as numbers when they are */
};

struct prop {
    const char *name;
    enum prop_kind kind;
    const char *sql; /* expression over jobs j; "?" is the dynamic key */
};

static const struct prop fixed_props[] = {
    {"TrainingJobName", PROP_TEXT, "j.name"},
    {"AlgorithmId", PROP_TEXT, "j.algorithm"},
    {"TrainingJobStatus", PROP_TEXT, "j.status"},
    {"FailureReason", PROP_TEXT, "j.failure"},
    {"TuningJobName", PROP_TEXT, "j.tuning_job"},
    {"ExperimentName", PROP_TEXT, "j.experiment"},
    {"TrialName", PROP_TEXT, "j.trial"},
    {"ModelArtifacts.S3ModelArtifacts", PROP_TEXT, "j.model_path"},
    {"CreationTime", PROP_TIME, "j.creation_time"},
    {"TrainingStartTime", PROP_TIME, "j.start_time"},
    {"TrainingEndTime", PROP_TIME, "j.end_time"},
    {"LastModifiedTime", PROP_TIME, "j.last_modified"},
    {"TrainingTimeInSeconds", PROP_NUMBER, "(j.end_time - j.start_time)"},
    {"TrialIndex", PROP_NUMBER, "j.trial_index"},
};

static const struct prop dyn_props[] = {
    {"HyperParameters.", PROP_MIXED,
     "(SELECT h.value FROM hyperparameters h WHERE h.job_id = j.id AND h.name = ?)"},
    {"Metrics.", PROP_NUMBER,
     "(SELECT m.value FROM final_metrics m WHERE m.job_id = j.id AND m.name = ?)"},
    {"Tags.", PROP_MIXED, "(SELECT t.value FROM tags t WHERE t.job_id = j.id AND t.key = ?)"},
};

/* Resolves a property name (case-insensitive, as SageMaker's suggestions spell
 * "hyperparameters.x"); *key is the dynamic part or NULL. */
static const struct prop *find_prop(const char *name, const char **key)
{
    *key = NULL;
    for (size_t i = 0; i < sizeof fixed_props / sizeof fixed_props[0]; i++)
        if (strcasecmp(name, fixed_props[i].name) == 0)
            return &fixed_props[i];
    for (size_t i = 0; i < sizeof dyn_props / sizeof dyn_props[0]; i++) {
        size_t pl = strlen(dyn_props[i].name);
        if (strncasecmp(name, dyn_props[i].name, pl) == 0 && name[pl]) {
            *key = name + pl;
            return &dyn_props[i];
        }
    }
    return NULL;
}

int ar_store_property_check(const char *name)
{
    const char *key;
    if (!find_prop(name, &key))
        return ar_err_set(AR_ERR_PARAM,
                          "'%s' is not a searchable property; use TrainingJobName, AlgorithmId, "
                          "TrainingJobStatus, FailureReason, TuningJobName, ExperimentName, "
                          "TrialName, ModelArtifacts.S3ModelArtifacts, CreationTime, "
                          "TrainingStartTime, TrainingEndTime, LastModifiedTime, "
                          "TrainingTimeInSeconds, TrialIndex, HyperParameters.<name>, "
                          "Metrics.<name> or Tags.<key>",
                          name);
    return AR_OK;
}

/* ---- operators and filters ---- */

static const char *const op_names[] = {"Equals",      "NotEquals",
                                       "GreaterThan", "GreaterThanOrEqualTo",
                                       "LessThan",    "LessThanOrEqualTo",
                                       "Contains",    "Exists",
                                       "NotExists",   "In"};

const char *ar_store_op_name(enum ar_store_op op)
{
    return (unsigned)op < sizeof op_names / sizeof op_names[0] ? op_names[op] : "?";
}

int ar_store_op_parse(const char *s, enum ar_store_op *out)
{
    for (size_t i = 0; i < sizeof op_names / sizeof op_names[0]; i++) {
        if (strcasecmp(s, op_names[i]) == 0) {
            *out = (enum ar_store_op)i;
            return AR_OK;
        }
    }
    return ar_err_set(AR_ERR_PARAM,
                      "unknown operator '%s'; use Equals, NotEquals, GreaterThan, "
                      "GreaterThanOrEqualTo, LessThan, LessThanOrEqualTo, Contains, Exists, "
                      "NotExists or In",
                      s);
}

static bool is_ordering(enum ar_store_op op)
{
    return op == AR_STORE_GREATER_THAN || op == AR_STORE_GREATER_THAN_OR_EQUAL_TO ||
           op == AR_STORE_LESS_THAN || op == AR_STORE_LESS_THAN_OR_EQUAL_TO;
}

int ar_store_filter_parse(const char *text, struct ar_store_filter *out)
{
    memset(out, 0, sizeof *out);
    const char *p = text;
    while (isspace((unsigned char)*p))
        p++;
    const char *name = p;
    while (*p && !isspace((unsigned char)*p))
        p++;
    size_t nl = (size_t)(p - name);
    if (nl == 0)
        return ar_err_set(AR_ERR_PARAM, "filter '%s': expected \"NAME OPERATOR VALUE\"", text);
    if (nl > AR_STORE_NAME_MAX)
        return ar_err_set(AR_ERR_PARAM, "filter '%.40s...': property name longer than %d", text,
                          AR_STORE_NAME_MAX);
    memcpy(out->name, name, nl);
    out->name[nl] = '\0';
    while (isspace((unsigned char)*p))
        p++;
    const char *op = p;
    while (*p && !isspace((unsigned char)*p))
        p++;
    char opbuf[32];
    size_t ol = (size_t)(p - op);
    if (ol == 0)
        return ar_err_set(AR_ERR_PARAM, "filter '%s': missing the operator after '%s'", text,
                          out->name);
    if (ol >= sizeof opbuf)
        ol = sizeof opbuf - 1;
    memcpy(opbuf, op, ol);
    opbuf[ol] = '\0';
    if (ar_store_op_parse(opbuf, &out->op) != AR_OK) {
        ar_err_prefix("filter '%s': ", text);
        return AR_ERR_PARAM;
    }
    if (*p)
        p++; /* the one separating space: the value keeps any further spaces */
    size_t vl = strlen(p);
    if (vl > AR_STORE_VALUE_MAX)
        return ar_err_set(AR_ERR_PARAM, "filter on %s: value longer than %d characters", out->name,
                          AR_STORE_VALUE_MAX);
    memcpy(out->value, p, vl + 1);
    bool takes_value = out->op != AR_STORE_EXISTS && out->op != AR_STORE_NOT_EXISTS;
    if (takes_value && vl == 0)
        return ar_err_set(AR_ERR_PARAM, "filter '%s': %s needs a value", text,
                          ar_store_op_name(out->op));
    if (!takes_value && vl > 0)
        return ar_err_set(AR_ERR_PARAM, "filter '%s': %s takes no value", text,
                          ar_store_op_name(out->op));
    const char *key;
    const struct prop *pr = find_prop(out->name, &key);
    if (!pr) {
        ar_store_property_check(out->name);
        ar_err_prefix("filter '%s': ", text);
        return AR_ERR_PARAM;
    }
    if (pr->kind == PROP_TEXT && is_ordering(out->op))
        return ar_err_set(AR_ERR_PARAM,
                          "filter '%s': %s compares numbers and times, and %s is text", text,
                          ar_store_op_name(out->op), pr->name);
    if ((pr->kind == PROP_NUMBER || pr->kind == PROP_TIME) &&
        (out->op == AR_STORE_CONTAINS || out->op == AR_STORE_IN))
        return ar_err_set(AR_ERR_PARAM, "filter '%s': %s applies to text, and %s is a %s", text,
                          ar_store_op_name(out->op), out->name,
                          pr->kind == PROP_TIME ? "time" : "number");
    double v;
    if (takes_value && pr->kind == PROP_NUMBER && !text_number(out->value, &v))
        return ar_err_set(AR_ERR_PARAM, "filter '%s': %s needs a number, got '%s'", text, out->name,
                          out->value);
    if (takes_value && pr->kind == PROP_TIME && ar_store_parse_time(out->value, &v) != AR_OK) {
        ar_err_prefix("filter '%s': ", text);
        return AR_ERR_PARAM;
    }
    return AR_OK;
}

/* ---- building the query ---- */

#define MAX_BINDS 256

struct bind {
    bool is_num;
    double num;
    const char *text;
};

struct sqlbuf {
    char *s;
    size_t len, cap;
    bool oom;
    struct bind binds[MAX_BINDS];
    int n_binds;
};

static void sb_add(struct sqlbuf *b, const char *t)
{
    size_t n = strlen(t);
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t nc = (b->len + n + 1) * 2;
        char *ns = ar_reallocn(b->s, b->cap, nc, 1);
        if (!ns) {
            b->oom = true;
            return;
        }
        b->s = ns;
        b->cap = nc;
    }
    memcpy(b->s + b->len, t, n + 1);
    b->len += n;
}

static void sb_bind_text(struct sqlbuf *b, const char *t)
{
    if (b->n_binds >= MAX_BINDS) {
        b->oom = true;
        return;
    }
    b->binds[b->n_binds++] = (struct bind){false, 0, t};
}

static void sb_bind_num(struct sqlbuf *b, double v)
{
    if (b->n_binds >= MAX_BINDS) {
        b->oom = true;
        return;
    }
    b->binds[b->n_binds++] = (struct bind){true, v, NULL};
}

/* Appends a property's expression (binding its key). */
static void sb_prop(struct sqlbuf *b, const struct prop *p, const char *key)
{
    sb_add(b, p->sql);
    if (key)
        sb_bind_text(b, key);
}

static int add_filter(struct sqlbuf *b, const struct ar_store_filter *f)
{
    const char *key;
    const struct prop *p = find_prop(f->name, &key);
    if (!p)
        return ar_store_property_check(f->name);
    sb_add(b, " AND ");
    switch (f->op) {
    case AR_STORE_EXISTS:
    case AR_STORE_NOT_EXISTS:
        sb_add(b, "(");
        sb_prop(b, p, key);
        sb_add(b, f->op == AR_STORE_EXISTS ? ") IS NOT NULL" : ") IS NULL");
        return AR_OK;
    case AR_STORE_CONTAINS:
        sb_add(b, "instr(");
        sb_prop(b, p, key);
        sb_add(b, ", ?) > 0");
        sb_bind_text(b, f->value);
        return AR_OK;
    case AR_STORE_IN:
        sb_add(b, "ar_in(");
        sb_prop(b, p, key);
        sb_add(b, ", ?)");
        sb_bind_text(b, f->value);
        return AR_OK;
    default:
        break;
    }
    static const char *const cmp_sql[] = {"= 0", "<> 0", "> 0", ">= 0", "< 0", "<= 0"};
    sb_add(b, "ar_cmp(");
    sb_prop(b, p, key);
    sb_add(b, ", ?) ");
    sb_add(b, cmp_sql[f->op]);
    if (p->kind == PROP_TIME) {
        double t;
        AR_TRY(ar_store_parse_time(f->value, &t));
        sb_bind_num(b, t);
    } else if (p->kind == PROP_NUMBER) {
        double v;
        if (!text_number(f->value, &v))
            return ar_err_set(AR_ERR_PARAM, "%s needs a number, got '%s'", f->name, f->value);
        sb_bind_num(b, v);
    } else {
        sb_bind_text(b, f->value);
    }
    return AR_OK;
}

static int bind_all(struct ar_store *s, sqlite3_stmt *st, const struct sqlbuf *b, int from, int to)
{
    for (int i = from; i < to; i++) {
        int rc = b->binds[i].is_num
                     ? sqlite3_bind_double(st, i - from + 1, b->binds[i].num)
                     : sqlite3_bind_text(st, i - from + 1, b->binds[i].text, -1, SQLITE_STATIC);
        if (rc != SQLITE_OK)
            return ar_store_sql_fail(s, rc, "binding a search value");
    }
    return AR_OK;
}

int ar_store_search(struct ar_store *s, const struct ar_store_query *q,
                    struct ar_store_record ***out, size_t *n, size_t *total)
{
    *out = NULL;
    *n = 0;
    *total = 0;
    AR_TRY(ar_store_reap(s, NULL));
    struct sqlbuf *b = ar_callocn(1, sizeof *b);
    if (!b)
        return AR_ERR_NOMEM;
    int rc = AR_OK;
    sb_add(b, " FROM jobs j WHERE 1");
    for (size_t i = 0; rc == AR_OK && i < q->n_filters; i++)
        rc = add_filter(b, &q->filters[i]);
    int where_binds = b->n_binds;
    size_t where_len = b->len;
    const char *sort = q->sort_by && *q->sort_by ? q->sort_by : "CreationTime";
    const char *key;
    const struct prop *sp = find_prop(sort, &key);
    if (rc == AR_OK && !sp)
        rc = ar_store_property_check(sort);
    if (rc == AR_OK) {
        const char *dir = q->ascending ? " ASC" : " DESC";
        /* Jobs without the property last; numbers before text; ties by creation. */
        sb_add(b, " ORDER BY (");
        sb_prop(b, sp, key);
        sb_add(b, ") IS NULL, ar_num(");
        sb_prop(b, sp, key);
        sb_add(b, ") IS NULL, ar_num(");
        sb_prop(b, sp, key);
        sb_add(b, ")");
        sb_add(b, dir);
        sb_add(b, ", ");
        sb_prop(b, sp, key);
        sb_add(b, dir);
        sb_add(b, ", j.creation_time");
        sb_add(b, dir);
        sb_add(b, ", j.id");
        sb_add(b, dir);
        if (q->max_results > 0) {
            char lim[48];
            snprintf(lim, sizeof lim, " LIMIT %zu", q->max_results);
            sb_add(b, lim);
        }
    }
    if (rc == AR_OK && b->oom)
        rc = ar_err_set(AR_ERR_LIMIT, "search too large (at most %d values)", MAX_BINDS);
    if (rc != AR_OK)
        goto done;
    rc = ar_store_exec(s, "BEGIN");
    if (rc != AR_OK)
        goto done;
    char *count_sql = NULL, *sel_sql = NULL;
    size_t cl = where_len + 32, sl = b->len + 512;
    count_sql = ar_allocn(cl, 1);
    sel_sql = ar_allocn(sl, 1);
    if (!count_sql || !sel_sql) {
        rc = AR_ERR_NOMEM;
    } else {
        snprintf(count_sql, cl, "SELECT count(*)%.*s", (int)where_len, b->s);
        snprintf(sel_sql, sl, "SELECT " AR_STORE_RECORD_COLS "%s", b->s);
    }
    sqlite3_stmt *st = NULL;
    if (rc == AR_OK)
        rc = ar_store_prepare(s, count_sql, &st);
    if (rc == AR_OK)
        rc = bind_all(s, st, b, 0, where_binds);
    if (rc == AR_OK && sqlite3_step(st) == SQLITE_ROW)
        *total = (size_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if (rc == AR_OK)
        rc = ar_store_prepare(s, sel_sql, &st);
    if (rc == AR_OK)
        rc = bind_all(s, st, b, 0, b->n_binds);
    if (rc == AR_OK)
        rc = ar_store_load_records(s, st, false, out, n);
    sqlite3_finalize(st);
    ar_store_rollback(s);
    ar_free(count_sql);
    ar_free(sel_sql);
done:
    ar_free(b->s);
    ar_free(b);
    return rc;
}

/* ---- property values of a record ---- */

static const char *kv_find(const struct ar_store_record_kv *kv, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(kv[i].name, name) == 0)
            return kv[i].value;
    return NULL;
}

bool ar_store_record_property(const struct ar_store_record *r, const char *name, char *buf,
                              size_t size)
{
    buf[0] = '\0';
    const char *key;
    const struct prop *p = find_prop(name, &key);
    if (!p)
        return false;
    const char *text = NULL;
    double num = (double)NAN;
    if (key) {
        if (p == &dyn_props[0])
            text = kv_find(r->hp, r->n_hp, key);
        else if (p == &dyn_props[2])
            text = kv_find(r->tags, r->n_tags, key);
        else
            for (size_t i = 0; i < r->n_final; i++)
                if (strcmp(r->final[i].name, key) == 0)
                    num = r->final[i].value;
    } else if (strcmp(p->sql, "j.name") == 0) {
        text = r->name;
    } else if (strcmp(p->sql, "j.algorithm") == 0) {
        text = r->algorithm;
    } else if (strcmp(p->sql, "j.status") == 0) {
        text = r->status;
    } else if (strcmp(p->sql, "j.failure") == 0) {
        text = r->failure;
    } else if (strcmp(p->sql, "j.tuning_job") == 0) {
        text = r->tuning_job;
    } else if (strcmp(p->sql, "j.experiment") == 0) {
        text = r->experiment;
    } else if (strcmp(p->sql, "j.trial") == 0) {
        text = r->trial;
    } else if (strcmp(p->sql, "j.model_path") == 0) {
        text = r->model_path;
    } else if (p->kind == PROP_TIME) {
        double t = strcmp(p->sql, "j.creation_time") == 0 ? r->creation_time
                   : strcmp(p->sql, "j.start_time") == 0  ? r->start_time
                   : strcmp(p->sql, "j.end_time") == 0    ? r->end_time
                                                          : r->last_modified;
        if (t <= 0)
            return false;
        ar_store_iso_time(t, buf, size);
        return true;
    } else if (strcmp(p->sql, "j.trial_index") == 0) {
        if (r->trial_index > 0)
            num = (double)r->trial_index;
    } else if (r->start_time > 0 && r->end_time > 0) {
        num = r->end_time - r->start_time;
    }
    if (text) {
        snprintf(buf, size, "%s", text);
        return true;
    }
    if (!isnan(num)) {
        snprintf(buf, size, "%.9g", num);
        return true;
    }
    return false;
}
