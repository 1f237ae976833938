/* Shared pieces of the algorithm interface: channel lookup, training context helpers, output
 * tables, and finding an algorithm by ID. */
#include "algorithms/algo.h"

#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"

const struct ar_channel *ar_channels_get(const struct ar_channels *chs, const char *name)
{
    for (size_t i = 0; chs && i < chs->n; i++)
        if (strcmp(chs->items[i].name, name) == 0)
            return &chs->items[i];
    return NULL;
}

void ar_train_ctx_metric(const struct ar_train_ctx *ctx, const char *set, const char *name,
                         double value, long step)
{
    if (ctx && ctx->on_metric)
        ctx->on_metric(ctx->user, set, name, value, step);
}

bool ar_train_ctx_stopping(const struct ar_train_ctx *ctx)
{
    return ctx && ctx->stop && *ctx->stop;
}

int ar_table_add(struct ar_table *t, const char *name, size_t width, bool integral, float **data)
{
    if (t->n_cols >= AR_TABLE_MAX_COLS)
        return ar_err_set(AR_ERR_INTERNAL, "output table is full (adding '%s')", name);
    size_t n;
    if (width == 0 || ar_mul_overflow(t->n_rows, width, &n))
        return ar_err_set(AR_ERR_LIMIT, "output '%s' of %zu x %zu is too large", name, t->n_rows,
                          width);
    float *d = ar_callocn(n ? n : 1, sizeof *d);
    if (!d)
        return AR_ERR_NOMEM;
    struct ar_table_col *c = &t->cols[t->n_cols++];
    c->name = name;
    c->width = width;
    c->integral = integral;
    c->data = d;
    if (data)
        *data = d;
    return AR_OK;
}

const struct ar_table_col *ar_table_find(const struct ar_table *t, const char *name)
{
    for (size_t i = 0; i < t->n_cols; i++)
        if (strcmp(t->cols[i].name, name) == 0)
            return &t->cols[i];
    return NULL;
}

struct ar_table ar_table_pick(const struct ar_table *src, const char *const *names)
{
    if (!names)
        return *src;
    struct ar_table v;
    memset(&v, 0, sizeof v);
    v.n_rows = src->n_rows;
    for (; *names && v.n_cols < AR_TABLE_MAX_COLS; names++) {
        const struct ar_table_col *c = ar_table_find(src, *names);
        if (c)
            v.cols[v.n_cols++] = *c;
    }
    return v;
}

void ar_table_release(struct ar_table *t)
{
    for (size_t i = 0; i < t->n_cols; i++)
        ar_free(t->cols[i].data);
    memset(t, 0, sizeof *t);
}

int ar_algo_find(const char *id, const struct ar_algo **out)
{
    const char *colon = strchr(id, ':');
    size_t name_len = colon ? (size_t)(colon - id) : strlen(id);
    for (const struct ar_algo *const *a = ar_algos; *a; a++) {
        if (colon ? strcmp((*a)->id, id) == 0
                  : strlen((*a)->name) == name_len && strncmp((*a)->name, id, name_len) == 0) {
            *out = *a;
            return AR_OK;
        }
    }
    char list[512];
    size_t n = 0;
    list[0] = '\0';
    for (const struct ar_algo *const *a = ar_algos; *a && n < sizeof list; a++)
        n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", n ? ", " : "", (*a)->id);
    return ar_err_set(AR_ERR_NOT_FOUND, "unknown algorithm '%s' (available: %s)", id,
                      n ? list : "none");
}
