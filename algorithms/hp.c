/* Generic hyperparameter parsing and validation against a schema table. */
#include "algorithms/hp.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"

static const char *skip_ws(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    return s;
}

/* True when s[0..] up to its end is only whitespace. */
static int only_ws(const char *s)
{
    return *skip_ws(s) == '\0';
}

int ar_hp_parse_int(const char *what, const char *s, int64_t *out)
{
    const char *p = skip_ws(s);
    char *end;
    errno = 0;
    long long v = strtoll(p, &end, 10);
    if (end == p || !only_ws(end))
        return ar_err_set(AR_ERR_PARAM, "%s: '%s' is not an integer", what, s);
    if (errno == ERANGE)
        return ar_err_set(AR_ERR_PARAM, "%s: '%s' is out of the integer range", what, s);
    *out = (int64_t)v;
    return AR_OK;
}

int ar_hp_parse_float(const char *what, const char *s, double *out)
{
    const char *p = skip_ws(s);
    char *end;
    errno = 0;
    double v = strtod(p, &end);
    if (end == p || !only_ws(end))
        return ar_err_set(AR_ERR_PARAM, "%s: '%s' is not a number", what, s);
    if (!isfinite(v))
        return ar_err_set(AR_ERR_PARAM, "%s: '%s' is not a finite number", what, s);
    *out = v;
    return AR_OK;
}

int ar_hp_parse_bool(const char *what, const char *s, bool *out)
{
    const char *p = skip_ws(s);
    size_t n = strlen(p);
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    if ((n == 4 && strncasecmp(p, "true", 4) == 0) || (n == 1 && p[0] == '1')) {
        *out = true;
        return AR_OK;
    }
    if ((n == 5 && strncasecmp(p, "false", 5) == 0) || (n == 1 && p[0] == '0')) {
        *out = false;
        return AR_OK;
    }
    return ar_err_set(AR_ERR_PARAM, "%s: '%s' is not a boolean (true or false)", what, s);
}

const struct ar_hp_spec *ar_hp_find(const struct ar_hp_spec *spec, const char *name)
{
    for (const struct ar_hp_spec *e = spec; e->name; e++)
        if (strcmp(e->name, name) == 0 || (e->alias && strcmp(e->alias, name) == 0))
            return e;
    return NULL;
}

/* Describes the allowed range of e, e.g. "(0, 1]" or ">= 1". */
static void range_text(const struct ar_hp_spec *e, char *buf, size_t size)
{
    int lo = (e->flags & AR_HP_HAS_MIN) != 0, hi = (e->flags & AR_HP_HAS_MAX) != 0;
    if (lo && hi)
        snprintf(buf, size, "%s%g, %g%s", (e->flags & AR_HP_MIN_OPEN) ? "(" : "[", e->min, e->max,
                 (e->flags & AR_HP_MAX_OPEN) ? ")" : "]");
    else if (lo)
        snprintf(buf, size, "%s %g", (e->flags & AR_HP_MIN_OPEN) ? ">" : ">=", e->min);
    else if (hi)
        snprintf(buf, size, "%s %g", (e->flags & AR_HP_MAX_OPEN) ? "<" : "<=", e->max);
    else
        snprintf(buf, size, "any value");
}

static int check_range(const struct ar_hp_spec *e, const char *given, double v)
{
    int bad = 0;
    if (e->flags & AR_HP_HAS_MIN)
        bad |= (e->flags & AR_HP_MIN_OPEN) ? !(v > e->min) : !(v >= e->min);
    if (e->flags & AR_HP_HAS_MAX)
        bad |= (e->flags & AR_HP_MAX_OPEN) ? !(v < e->max) : !(v <= e->max);
    if (bad) {
        char r[96];
        range_text(e, r, sizeof r);
        return ar_err_set(AR_ERR_PARAM, "Hyperparameter %s: value %s is out of range; allowed: %s",
                          e->name, given, r);
    }
    return AR_OK;
}

static void choices_text(const struct ar_hp_spec *e, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (const char *const *c = e->choices; c && *c && n < size; c++)
        n += (size_t)snprintf(buf + n, size - n, "%s%s", c == e->choices ? "" : ", ", *c);
}

static int set_value(const struct ar_hp_spec *e, const char *value, void *params)
{
    char *base = params;
    char what[160];
    snprintf(what, sizeof what, "Hyperparameter %s", e->name);
    if (e->flags & AR_HP_AUTO) {
        bool is_auto = strcasecmp(skip_ws(value), "auto") == 0;
        *(bool *)(void *)(base + e->auto_offset) = is_auto;
        if (is_auto)
            return AR_OK;
    }
    switch (e->type) {
    case AR_HP_INT: {
        int64_t v;
        AR_TRY(ar_hp_parse_int(what, value, &v));
        AR_TRY(check_range(e, value, (double)v));
        *(int64_t *)(void *)(base + e->offset) = v;
        return AR_OK;
    }
    case AR_HP_FLOAT: {
        double v;
        AR_TRY(ar_hp_parse_float(what, value, &v));
        AR_TRY(check_range(e, value, v));
        *(double *)(void *)(base + e->offset) = v;
        return AR_OK;
    }
    case AR_HP_BOOL:
        return ar_hp_parse_bool(what, value, (bool *)(void *)(base + e->offset));
    case AR_HP_ENUM: {
        const char *p = skip_ws(value);
        size_t n = strlen(p);
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        for (int i = 0; e->choices && e->choices[i]; i++) {
            if (strlen(e->choices[i]) == n && strncmp(e->choices[i], p, n) == 0) {
                *(int *)(void *)(base + e->offset) = i;
                return AR_OK;
            }
        }
        char c[512];
        choices_text(e, c, sizeof c);
        return ar_err_set(AR_ERR_PARAM, "Hyperparameter %s: '%s' is not one of: %s", e->name, value,
                          c);
    }
    case AR_HP_STRING: {
        char **slot = (char **)(void *)(base + e->offset);
        char *d = ar_strdup(value);
        if (!d)
            return AR_ERR_NOMEM;
        ar_free(*slot);
        *slot = d;
        return AR_OK;
    }
    }
    return ar_err_set(AR_ERR_INTERNAL, "hyperparameter %s has an unknown type", e->name);
}

int ar_hp_parse(const struct ar_hp_spec *spec, const struct ar_hp_kv *kv, size_t n,
                bool allow_internal, void *params)
{
    for (const struct ar_hp_spec *e = spec; e->name; e++) {
        if (e->def) {
            int rc = set_value(e, e->def, params);
            if (rc != AR_OK) {
                ar_err_prefix("default of ");
                return AR_ERR_INTERNAL;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        const struct ar_hp_spec *e = ar_hp_find(spec, kv[i].name);
        if (!e) {
            if (allow_internal && kv[i].name[0] == '_')
                continue;
            return ar_err_set(AR_ERR_PARAM, "Extraneous hyperparameter found: %s", kv[i].name);
        }
        for (size_t j = 0; j < i; j++) {
            if (ar_hp_find(spec, kv[j].name) == e)
                return ar_err_set(AR_ERR_PARAM, "Hyperparameter %s given twice (as %s and %s)",
                                  e->name, kv[j].name, kv[i].name);
        }
        if (kv[i].value == NULL)
            return ar_err_set(AR_ERR_PARAM, "Hyperparameter %s has no value", e->name);
        AR_TRY(set_value(e, kv[i].value, params));
        if (e->flags & AR_HP_IGNORED)
            AR_WARN("hyperparameter %s is accepted for compatibility and has no effect", e->name);
    }
    for (const struct ar_hp_spec *e = spec; e->name; e++) {
        if (!(e->flags & AR_HP_REQUIRED))
            continue;
        int given = 0;
        for (size_t i = 0; i < n && !given; i++)
            given = ar_hp_find(spec, kv[i].name) == e;
        if (!given)
            return ar_err_set(AR_ERR_PARAM, "Missing required hyperparameter: %s", e->name);
    }
    return AR_OK;
}

void ar_hp_free(const struct ar_hp_spec *spec, void *params)
{
    char *base = params;
    for (const struct ar_hp_spec *e = spec; e->name; e++) {
        if (e->type == AR_HP_STRING) {
            char **slot = (char **)(void *)(base + e->offset);
            ar_free(*slot);
            *slot = NULL;
        }
    }
}

int ar_hp_format(const struct ar_hp_spec *e, const void *params, char *buf, size_t size)
{
    const char *base = params;
    int n = 0;
    if ((e->flags & AR_HP_AUTO) && *(const bool *)(const void *)(base + e->auto_offset)) {
        n = snprintf(buf, size, "auto");
    } else {
        switch (e->type) {
        case AR_HP_INT:
            n = snprintf(buf, size, "%lld",
                         (long long)*(const int64_t *)(const void *)(base + e->offset));
            break;
        case AR_HP_FLOAT: {
            /* Shortest text that reads back to the same double. */
            double v = *(const double *)(const void *)(base + e->offset);
            for (int prec = 15; prec <= 17; prec++) {
                n = snprintf(buf, size, "%.*g", prec, v);
                if (n < 0 || (size_t)n >= size || strtod(buf, NULL) == v)
                    break;
            }
            break;
        }
        case AR_HP_BOOL:
            n = snprintf(buf, size, "%s",
                         *(const bool *)(const void *)(base + e->offset) ? "true" : "false");
            break;
        case AR_HP_ENUM:
            n = snprintf(buf, size, "%s",
                         e->choices[*(const int *)(const void *)(base + e->offset)]);
            break;
        case AR_HP_STRING: {
            const char *s = *(char *const *)(const void *)(base + e->offset);
            n = snprintf(buf, size, "%s", s ? s : "");
            break;
        }
        }
    }
    if (n < 0 || (size_t)n >= size)
        return ar_err_set(AR_ERR_LIMIT, "value of %s does not fit %zu bytes", e->name, size);
    return AR_OK;
}
