/* A small JSONPath evaluator for batch-transform filters. */
#include "container/jsonpath.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"

#define MAX_STEPS 16
#define MAX_SEL   32

enum step_kind {
    STEP_KEYS,  /* .name or ['a','b'] */
    STEP_IDX,   /* [i] or [i,j] */
    STEP_SLICE, /* [a:b] inclusive */
    STEP_ALL    /* * or [*] */
};

struct step {
    enum step_kind kind;
    int n;               /* keys / indices */
    char *keys[MAX_SEL]; /* owned */
    long idx[MAX_SEL];
    bool has_lo, has_hi;
    long lo, hi;
    bool single; /* one key or one index: yields the element itself, not a list of it */
};

struct ar_jsonpath {
    int n_steps;
    struct step steps[MAX_STEPS];
};

void ar_jsonpath_free(struct ar_jsonpath *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n_steps; i++)
        for (int k = 0; k < p->steps[i].n; k++)
            if (p->steps[i].kind == STEP_KEYS)
                ar_free(p->steps[i].keys[k]);
    ar_free(p);
}

static int bad(const char *path, const char *at, const char *why)
{
    return ar_err_set(AR_ERR_PARAM, "JSONPath '%s': %s at character %d", path, why,
                      (int)(at - path) + 1);
}

static int parse_int(const char **s, long *out)
{
    char *end;
    long v = strtol(*s, &end, 10);
    if (end == *s)
        return -1;
    *out = v;
    *s = end;
    return 0;
}

int ar_jsonpath_compile(const char *path, struct ar_jsonpath **out)
{
    *out = NULL;
    if (strlen(path) > 63)
        return ar_err_set(AR_ERR_PARAM, "JSONPath '%s' is longer than 63 characters", path);
    const char *s = path;
    while (*s == ' ')
        s++;
    if (*s != '$')
        return bad(path, s, "must start with '$'");
    s++;
    struct ar_jsonpath *p = ar_callocn(1, sizeof *p);
    if (!p)
        return AR_ERR_NOMEM;
    int rc = AR_OK;
    while (*s && *s != ' ' && rc == AR_OK) {
        if (p->n_steps >= MAX_STEPS) {
            rc = bad(path, s, "too many steps");
            break;
        }
        struct step *st = &p->steps[p->n_steps];
        if (*s == '.') {
            s++;
            if (*s == '[')
                continue; /* "$.f.['a','b']" is allowed */
            if (*s == '*') {
                st->kind = STEP_ALL;
                s++;
                p->n_steps++;
                continue;
            }
            const char *b = s;
            while (*s && *s != '.' && *s != '[' && *s != ' ')
                s++;
            if (s == b) {
                rc = bad(path, s, "empty name");
                break;
            }
            st->kind = STEP_KEYS;
            st->single = true;
            st->keys[0] = ar_alloc((size_t)(s - b) + 1);
            if (!st->keys[0]) {
                rc = AR_ERR_NOMEM;
                break;
            }
            memcpy(st->keys[0], b, (size_t)(s - b));
            st->keys[0][s - b] = '\0';
            st->n = 1;
            p->n_steps++;
            continue;
        }
        if (*s != '[') {
            rc = bad(path, s, "expected '.' or '['");
            break;
        }
        s++;
        if (*s == '*' && s[1] == ']') {
            st->kind = STEP_ALL;
            s += 2;
            p->n_steps++;
            continue;
        }
        if (*s == '\'' || *s == '"') {
            st->kind = STEP_KEYS;
            for (;;) {
                char q = *s;
                if (q != '\'' && q != '"') {
                    rc = bad(path, s, "expected a quoted name");
                    break;
                }
                const char *b = ++s;
                while (*s && *s != q)
                    s++;
                if (!*s) {
                    rc = bad(path, s, "unterminated name");
                    break;
                }
                if (memchr(b, '.', (size_t)(s - b))) {
                    rc = bad(path, b, "nested paths inside brackets are not supported");
                    break;
                }
                if (st->n >= MAX_SEL) {
                    rc = bad(path, s, "too many names");
                    break;
                }
                char *k = ar_alloc((size_t)(s - b) + 1);
                if (!k) {
                    rc = AR_ERR_NOMEM;
                    break;
                }
                memcpy(k, b, (size_t)(s - b));
                k[s - b] = '\0';
                st->keys[st->n++] = k;
                s++;
                while (*s == ' ')
                    s++;
                if (*s == ',') {
                    s++;
                    while (*s == ' ')
                        s++;
                    continue;
                }
                if (*s == ']') {
                    s++;
                    break;
                }
                rc = bad(path, s, "expected ',' or ']'");
                break;
            }
            st->single = st->n == 1;
            if (rc == AR_OK)
                p->n_steps++;
            continue;
        }
        /* indices or a slice */
        long a = 0;
        bool has_a = parse_int(&s, &a) == 0;
        if (*s == ':') {
            s++;
            long b = 0;
            bool has_b = parse_int(&s, &b) == 0;
            if (*s != ']') {
                rc = bad(path, s, "expected ']' after a slice");
                break;
            }
            s++;
            st->kind = STEP_SLICE;
            st->has_lo = has_a;
            st->lo = a;
            st->has_hi = has_b;
            st->hi = b;
            p->n_steps++;
            continue;
        }
        if (!has_a) {
            rc = bad(path, s, "expected an index, a slice or a quoted name");
            break;
        }
        st->kind = STEP_IDX;
        st->idx[st->n++] = a;
        while (*s == ',') {
            s++;
            while (*s == ' ')
                s++;
            if (st->n >= MAX_SEL || parse_int(&s, &st->idx[st->n]) != 0) {
                rc = bad(path, s, "expected an index");
                break;
            }
            st->n++;
        }
        if (rc != AR_OK)
            break;
        if (*s != ']') {
            rc = bad(path, s, "expected ']'");
            break;
        }
        s++;
        st->single = st->n == 1;
        p->n_steps++;
    }
    while (rc == AR_OK && *s == ' ')
        s++;
    if (rc == AR_OK && *s)
        rc = bad(path, s, "unexpected character");
    if (rc != AR_OK) {
        ar_jsonpath_free(p);
        return rc;
    }
    *out = p;
    return AR_OK;
}

bool ar_jsonpath_is_root(const struct ar_jsonpath *p)
{
    return p->n_steps == 0;
}

bool ar_jsonpath_index_only(const struct ar_jsonpath *p)
{
    for (int i = 0; i < p->n_steps; i++)
        if (p->steps[i].kind == STEP_KEYS)
            return false;
    return true;
}

static int apply_step(const struct step *st, const cJSON *v, cJSON **out)
{
    *out = NULL;
    if (st->kind == STEP_KEYS) {
        if (!cJSON_IsObject(v))
            return ar_err_set(AR_ERR_INVALID, "'%s' is asked of a value that is not an object",
                              st->keys[0]);
        cJSON *res = st->single ? NULL : cJSON_CreateObject();
        for (int k = 0; k < st->n; k++) {
            const cJSON *e = cJSON_GetObjectItemCaseSensitive(v, st->keys[k]);
            if (!e) {
                cJSON_Delete(res);
                return ar_err_set(AR_ERR_INVALID, "the record has no key '%s'", st->keys[k]);
            }
            if (st->single) {
                *out = cJSON_Duplicate(e, 1);
                return *out ? AR_OK : AR_ERR_NOMEM;
            }
            cJSON_AddItemToObject(res, st->keys[k], cJSON_Duplicate(e, 1));
        }
        *out = res;
        return AR_OK;
    }
    if (st->kind == STEP_ALL) {
        cJSON *res = cJSON_CreateArray();
        const cJSON *e;
        cJSON_ArrayForEach(e, v) cJSON_AddItemToArray(res, cJSON_Duplicate(e, 1));
        *out = res;
        return AR_OK;
    }
    if (!cJSON_IsArray(v))
        return ar_err_set(AR_ERR_INVALID, "an index is asked of a value that is not an array");
    long n = cJSON_GetArraySize(v);
    if (st->kind == STEP_IDX) {
        cJSON *res = st->single ? NULL : cJSON_CreateArray();
        for (int k = 0; k < st->n; k++) {
            long i = st->idx[k] < 0 ? n + st->idx[k] : st->idx[k];
            if (i < 0 || i >= n) {
                cJSON_Delete(res);
                return ar_err_set(AR_ERR_INVALID, "index %ld is beyond the %ld elements",
                                  st->idx[k], n);
            }
            cJSON *e = cJSON_Duplicate(cJSON_GetArrayItem(v, (int)i), 1);
            if (st->single) {
                *out = e;
                return e ? AR_OK : AR_ERR_NOMEM;
            }
            cJSON_AddItemToArray(res, e);
        }
        *out = res;
        return AR_OK;
    }
    long lo = st->has_lo ? st->lo : 0, hi = st->has_hi ? st->hi : n - 1;
    if (lo < 0)
        lo += n;
    if (hi < 0)
        hi += n;
    if (lo < 0)
        lo = 0;
    if (hi >= n) {
        if (st->has_hi)
            return ar_err_set(AR_ERR_INVALID, "slice end %ld is beyond the %ld elements", st->hi,
                              n);
        hi = n - 1;
    }
    cJSON *res = cJSON_CreateArray();
    for (long i = lo; i <= hi; i++)
        cJSON_AddItemToArray(res, cJSON_Duplicate(cJSON_GetArrayItem(v, (int)i), 1));
    *out = res;
    return AR_OK;
}

int ar_jsonpath_apply(const struct ar_jsonpath *p, const cJSON *v, cJSON **out)
{
    cJSON *cur = cJSON_Duplicate(v, 1);
    if (!cur)
        return AR_ERR_NOMEM;
    for (int i = 0; i < p->n_steps; i++) {
        cJSON *next;
        int rc = apply_step(&p->steps[i], cur, &next);
        cJSON_Delete(cur);
        if (rc != AR_OK)
            return rc;
        cur = next;
    }
    *out = cur;
    return AR_OK;
}
