/* The model file: XGBoost 1.7.4's JSON model format (doc/model.schema), written so that
 * xgboost.Booster(model_file=...) loads it, and read back from files written by algorun or by
 * XGBoost itself. Floats are always spelled with '.', 'e' or as NaN/Infinity (XGBoost's reader
 * types numbers by spelling); integer arrays hold integers. The file is written under a
 * temporary name, flushed and renamed into place. */
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "algorithms/xgboost/gbt.h"
#include "core/err.h"
#include "core/mem.h"
#include "io/artifact.h"

#define MODEL_FILE     "xgboost-model"
#define MODEL_MAX_SIZE ((size_t)4 << 30)
#define ROOT_PARENT    2147483647

/* ---- a growable text buffer ---- */

struct sbuf {
    char *p;
    size_t len, cap;
    int err;
};

static void sb_grow(struct sbuf *b, size_t extra)
{
    if (b->err || b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *np = ar_reallocn(b->p, b->cap, cap, 1);
    if (!np) {
        b->err = AR_ERR_NOMEM;
        return;
    }
    b->p = np;
    b->cap = cap;
}

static void sb_put(struct sbuf *b, const char *s)
{
    size_t n = strlen(s);
    sb_grow(b, n);
    if (b->err)
        return;
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        b->err = AR_ERR_INTERNAL;
        return;
    }
    sb_put(b, tmp);
}

/* A float as XGBoost reads it: always a Number literal. */
static void fmt_float(char *out, size_t cap, float v)
{
    if (isnan(v)) {
        snprintf(out, cap, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, cap, v > 0 ? "Infinity" : "-Infinity");
        return;
    }
    snprintf(out, cap, "%.9g", (double)v);
    if (!strpbrk(out, ".eE"))
        strncat(out, ".0", cap - strlen(out) - 1);
}

static void sb_float(struct sbuf *b, float v)
{
    char tmp[48];
    fmt_float(tmp, sizeof tmp, v);
    sb_put(b, tmp);
}

/* ---- writing ---- */

static void write_objective(struct sbuf *b, const struct ar_gbt_model *m)
{
    char v[48];
    sb_printf(b, "\"objective\":{\"name\":\"%s\"", ar_gbt_obj_names[m->obj]);
    switch (m->obj) {
    case AR_GBT_OBJ_SQUAREDERROR:
    case AR_GBT_OBJ_LINEAR:
    case AR_GBT_OBJ_SQUAREDLOGERROR:
    case AR_GBT_OBJ_REG_LOGISTIC:
    case AR_GBT_OBJ_BINARY_LOGISTIC:
    case AR_GBT_OBJ_BINARY_LOGITRAW:
        snprintf(v, sizeof v, "%.9g", (double)m->scale_pos_weight);
        sb_printf(b, ",\"reg_loss_param\":{\"scale_pos_weight\":\"%s\"}", v);
        break;
    case AR_GBT_OBJ_PSEUDOHUBER:
        snprintf(v, sizeof v, "%.9g", (double)m->huber_slope);
        sb_printf(b, ",\"pseudo_huber_param\":{\"huber_slope\":\"%s\"}", v);
        break;
    case AR_GBT_OBJ_POISSON:
        snprintf(v, sizeof v, "%.9g", (double)m->obj_max_delta_step);
        sb_printf(b, ",\"poisson_regression_param\":{\"max_delta_step\":\"%s\"}", v);
        break;
    case AR_GBT_OBJ_TWEEDIE:
        snprintf(v, sizeof v, "%.9g", (double)m->tweedie_rho);
        sb_printf(b, ",\"tweedie_regression_param\":{\"tweedie_variance_power\":\"%s\"}", v);
        break;
    case AR_GBT_OBJ_SOFTMAX:
    case AR_GBT_OBJ_SOFTPROB:
        sb_printf(b, ",\"softmax_multiclass_param\":{\"num_class\":\"%d\"}", m->num_class);
        break;
    default:
        break;
    }
    sb_put(b, "}");
}

static void write_tree(struct sbuf *b, const struct ar_gbt_model *m, size_t t)
{
    const struct ar_gbt_node *nd = m->nodes + m->tree_off[t];
    const size_t n = m->tree_off[t + 1] - m->tree_off[t];
    sb_put(b, "{\"base_weights\":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            sb_put(b, ",");
        sb_float(b, nd[i].base_weight);
    }
    sb_put(b, "],\"categories\":[],\"categories_nodes\":[],\"categories_segments\":[],"
              "\"categories_sizes\":[],\"default_left\":[");
    for (size_t i = 0; i < n; i++)
        sb_put(b, i ? (nd[i].default_left ? ",1" : ",0") : (nd[i].default_left ? "1" : "0"));
    sb_printf(b, "],\"id\":%zu,\"left_children\":[", t);
    for (size_t i = 0; i < n; i++)
        sb_printf(b, i ? ",%d" : "%d", (int)nd[i].left);
    sb_put(b, "],\"loss_changes\":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            sb_put(b, ",");
        sb_float(b, nd[i].loss_chg);
    }
    sb_put(b, "],\"parents\":[");
    for (size_t i = 0; i < n; i++)
        sb_printf(b, i ? ",%d" : "%d", nd[i].parent < 0 ? ROOT_PARENT : (int)nd[i].parent);
    sb_put(b, "],\"right_children\":[");
    for (size_t i = 0; i < n; i++)
        sb_printf(b, i ? ",%d" : "%d", (int)nd[i].right);
    sb_put(b, "],\"split_conditions\":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            sb_put(b, ",");
        sb_float(b, nd[i].cond);
    }
    sb_put(b, "],\"split_indices\":[");
    for (size_t i = 0; i < n; i++)
        sb_printf(b, i ? ",%u" : "%u", nd[i].left >= 0 ? (unsigned)nd[i].feature : 0u);
    sb_put(b, "],\"split_type\":[");
    for (size_t i = 0; i < n; i++)
        sb_put(b, i ? ",0" : "0");
    sb_put(b, "],\"sum_hessian\":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            sb_put(b, ",");
        sb_float(b, nd[i].sum_hess);
    }
    sb_printf(b,
              "],\"tree_param\":{\"num_deleted\":\"0\",\"num_feature\":\"%zu\","
              "\"num_nodes\":\"%zu\",\"size_leaf_vector\":\"0\"}}",
              m->n_features, n);
}

int ar_gbt_model_to_json(const struct ar_gbt_model *m, char **text, size_t *len)
{
    struct sbuf b = {0};
    char v[48];
    sb_put(&b, "{\"learner\":{\"attributes\":{");
    if (m->has_best) {
        sb_printf(&b, "\"best_iteration\":\"%ld\",\"best_ntree_limit\":\"%ld\"", m->best_iteration,
                  m->best_ntree_limit);
        if (m->has_best_score) {
            snprintf(v, sizeof v, "%.17g", m->best_score);
            sb_printf(&b, ",\"best_score\":\"%s\"", v);
        }
    }
    sb_put(&b, "},\"feature_names\":[],\"feature_types\":[],\"gradient_booster\":{\"model\":{");
    sb_printf(&b,
              "\"gbtree_model_param\":{\"num_parallel_tree\":\"%d\",\"num_trees\":\"%zu\","
              "\"size_leaf_vector\":\"0\"},\"tree_info\":[",
              m->num_parallel_tree, m->n_trees);
    for (size_t t = 0; t < m->n_trees; t++)
        sb_printf(&b, t ? ",%d" : "%d", (int)m->tree_info[t]);
    sb_put(&b, "],\"trees\":[");
    for (size_t t = 0; t < m->n_trees; t++) {
        if (t)
            sb_put(&b, ",");
        write_tree(&b, m, t);
    }
    fmt_float(v, sizeof v, m->base_score);
    sb_put(&b, "]},\"name\":\"gbtree\"},\"learner_model_param\":{\"base_score\":\"");
    sb_put(&b, v);
    sb_printf(&b,
              "\",\"boost_from_average\":\"1\",\"num_class\":\"%d\",\"num_feature\":\"%zu\","
              "\"num_target\":\"1\"},",
              m->num_class, m->n_features);
    write_objective(&b, m);
    sb_put(&b, "},\"version\":[1,7,4]}");
    if (b.err) {
        ar_free(b.p);
        return b.err == AR_ERR_NOMEM ? AR_ERR_NOMEM
                                     : ar_err_set(AR_ERR_INTERNAL, "model text formatting failed");
    }
    *text = b.p;
    *len = b.len;
    return AR_OK;
}

int ar_gbt_model_save_file(const struct ar_gbt_model *m, const char *path)
{
    char *text;
    size_t len;
    AR_TRY(ar_gbt_model_to_json(m, &text, &len));
    int rc = ar_artifact_write(path, text, len);
    ar_free(text);
    return rc;
}

int ar_gbt_model_save(const struct ar_model *m, const char *dir)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, MODEL_FILE) >= (int)sizeof path)
        return ar_err_set(AR_ERR_LIMIT, "model directory path is too long: %s", dir);
    return ar_gbt_model_save_file((const struct ar_gbt_model *)m, path);
}

/* ---- reading ---- */

static const cJSON *need(const cJSON *obj, const char *key, const char *where)
{
    const cJSON *v = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    if (!v)
        ar_err_set(AR_ERR_FORMAT, "XGBoost model: %s has no \"%s\"", where, key);
    return v;
}

/* A string-valued parameter parsed as a number. */
static int param_num(const cJSON *obj, const char *key, const char *where, bool required,
                     double def, double *out)
{
    const cJSON *v = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    if (!v) {
        if (required)
            return ar_err_set(AR_ERR_FORMAT, "XGBoost model: %s has no \"%s\"", where, key);
        *out = def;
        return AR_OK;
    }
    if (cJSON_IsNumber(v)) {
        *out = v->valuedouble;
        return AR_OK;
    }
    char *end;
    if (!cJSON_IsString(v) || !v->valuestring ||
        (*out = strtod(v->valuestring, &end), end == v->valuestring || *end != '\0'))
        return ar_err_set(AR_ERR_FORMAT, "XGBoost model: %s.%s is not a number string", where, key);
    return AR_OK;
}

static int num_array(const cJSON *tree, const char *key, size_t t, size_t n, const cJSON **out)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(tree, key);
    if (!cJSON_IsArray(a))
        return ar_err_set(AR_ERR_FORMAT, "XGBoost model: tree %zu has no array \"%s\"", t, key);
    if ((size_t)cJSON_GetArraySize(a) != n)
        return ar_err_set(AR_ERR_FORMAT,
                          "XGBoost model: tree %zu: \"%s\" has %d entries, num_nodes is %zu", t,
                          key, cJSON_GetArraySize(a), n);
    *out = a->child;
    return AR_OK;
}

static int elem_num(const cJSON *e, const char *key, size_t t, size_t i, double *out)
{
    if (cJSON_IsNumber(e)) {
        *out = e->valuedouble;
        return AR_OK;
    }
    if (cJSON_IsBool(e)) {
        *out = cJSON_IsTrue(e) ? 1.0 : 0.0;
        return AR_OK;
    }
    return ar_err_set(AR_ERR_FORMAT, "XGBoost model: tree %zu: %s[%zu] is not a number", t, key, i);
}

static int read_tree(const cJSON *tree, size_t t, size_t n_trees, struct ar_gbt_node *nd, size_t n,
                     uint8_t *seen, int32_t *stack)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(tree, "id");
    if (!cJSON_IsNumber(id) || id->valuedouble < 0 || id->valuedouble >= (double)n_trees)
        return ar_err_set(AR_ERR_FORMAT, "XGBoost model: tree %zu has no valid \"id\"", t);
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(tree, "split_type");
    if (st) {
        const cJSON *e;
        cJSON_ArrayForEach(e, st) if (cJSON_IsNumber(e) && e->valuedouble != 0.0) return ar_err_set(
            AR_ERR_UNSUPPORTED,
            "XGBoost model: tree %zu has categorical splits, which algorun "
            "does not support",
            t);
    }
    static const char *const keys[] = {"left_children", "right_children",   "parents",
                                       "split_indices", "split_conditions", "default_left",
                                       "base_weights",  "loss_changes",     "sum_hessian"};
    const cJSON *it[9];
    for (int k = 0; k < 9; k++)
        AR_TRY(num_array(tree, keys[k], t, n, &it[k]));
    for (size_t i = 0; i < n; i++) {
        double v[9];
        for (int k = 0; k < 9; k++) {
            AR_TRY(elem_num(it[k], keys[k], t, i, &v[k]));
            it[k] = it[k]->next;
        }
        if (v[0] != floor(v[0]) || v[1] != floor(v[1]) || v[0] < -1 || v[1] < -1 ||
            v[0] >= (double)n || v[1] >= (double)n || (v[0] < 0) != (v[1] < 0))
            return ar_err_set(AR_ERR_FORMAT, "XGBoost model: tree %zu node %zu has bad children", t,
                              i);
        if (v[3] < 0 || v[3] > 2147483647.0 || v[3] != floor(v[3]))
            return ar_err_set(AR_ERR_FORMAT,
                              "XGBoost model: tree %zu node %zu has a bad split index", t, i);
        nd[i].left = (int32_t)v[0];
        nd[i].right = (int32_t)v[1];
        nd[i].parent = (v[2] < 0 || v[2] >= 2147483647.0) ? -1 : (int32_t)v[2];
        nd[i].feature = (uint32_t)v[3];
        nd[i].cond = (float)v[4];
        nd[i].default_left = v[5] != 0.0;
        nd[i].base_weight = (float)v[6];
        nd[i].loss_chg = (float)v[7];
        nd[i].sum_hess = (float)v[8];
    }
    /* every node reachable from the root at most once: no cycles, prediction terminates */
    if (n == 0)
        return ar_err_set(AR_ERR_FORMAT, "XGBoost model: tree %zu has no nodes", t);
    memset(seen, 0, n);
    size_t sp = 0;
    stack[sp++] = 0;
    while (sp) {
        int32_t v = stack[--sp];
        if (seen[v])
            return ar_err_set(AR_ERR_FORMAT,
                              "XGBoost model: tree %zu reaches node %d twice (not a tree)", t,
                              (int)v);
        seen[v] = 1;
        if (nd[v].left >= 0) {
            stack[sp++] = nd[v].left;
            stack[sp++] = nd[v].right;
        }
    }
    return AR_OK;
}

static int obj_from_name(const char *name, enum ar_gbt_obj *out)
{
    for (int i = 0; ar_gbt_obj_names[i]; i++) {
        if (strcmp(ar_gbt_obj_names[i], name) == 0) {
            if (i >= AR_GBT_OBJ_COUNT)
                return ar_err_set(AR_ERR_UNSUPPORTED,
                                  "XGBoost model: objective %s is not supported by algorun", name);
            *out = (enum ar_gbt_obj)i;
            return AR_OK;
        }
    }
    return ar_err_set(AR_ERR_UNSUPPORTED, "XGBoost model: unknown objective '%s'", name);
}

static int from_json(const cJSON *root, struct ar_gbt_model *m)
{
    const cJSON *learner, *lmp, *objective, *gb, *model, *trees, *info, *gmp, *name;
    if (!cJSON_IsObject(root))
        return ar_err_set(AR_ERR_FORMAT, "XGBoost model: the top level is not a JSON object");
    if (!(learner = need(root, "learner", "the top level")) ||
        !(lmp = need(learner, "learner_model_param", "learner")) ||
        !(objective = need(learner, "objective", "learner")) ||
        !(gb = need(learner, "gradient_booster", "learner")))
        return AR_ERR_FORMAT;
    double bs, nc, nf;
    AR_TRY(param_num(lmp, "base_score", "learner_model_param", true, 0, &bs));
    AR_TRY(param_num(lmp, "num_class", "learner_model_param", true, 0, &nc));
    AR_TRY(param_num(lmp, "num_feature", "learner_model_param", true, 0, &nf));
    if (nc < 0 || nc > 100000 || nc != floor(nc) || nf < 0 || nf > 2147483647.0 || nf != floor(nf))
        return ar_err_set(AR_ERR_FORMAT, "XGBoost model: bad num_class or num_feature");
    m->base_score = (float)bs;
    m->num_class = (int)nc;
    m->n_features = (size_t)nf;
    name = need(objective, "name", "objective");
    if (!cJSON_IsString(name))
        return ar_err_set(AR_ERR_FORMAT, "XGBoost model: objective has no name");
    AR_TRY(obj_from_name(name->valuestring, &m->obj));
    double d;
    AR_TRY(param_num(cJSON_GetObjectItemCaseSensitive(objective, "reg_loss_param"),
                     "scale_pos_weight", "reg_loss_param", false, 1.0, &d));
    m->scale_pos_weight = (float)d;
    AR_TRY(param_num(cJSON_GetObjectItemCaseSensitive(objective, "poisson_regression_param"),
                     "max_delta_step", "poisson_regression_param", false, 0.7, &d));
    m->obj_max_delta_step = (float)d;
    AR_TRY(param_num(cJSON_GetObjectItemCaseSensitive(objective, "tweedie_regression_param"),
                     "tweedie_variance_power", "tweedie_regression_param", false, 1.5, &d));
    m->tweedie_rho = (float)d;
    AR_TRY(param_num(cJSON_GetObjectItemCaseSensitive(objective, "pseudo_huber_param"),
                     "huber_slope", "pseudo_huber_param", false, 1.0, &d));
    m->huber_slope = (float)d;
    bool multi = m->obj == AR_GBT_OBJ_SOFTMAX || m->obj == AR_GBT_OBJ_SOFTPROB;
    if (multi && m->num_class < 1)
        return ar_err_set(AR_ERR_FORMAT, "XGBoost model: %s with num_class %d",
                          ar_gbt_obj_names[m->obj], m->num_class);
    m->n_groups = multi ? m->num_class : 1;

    name = need(gb, "name", "gradient_booster");
    if (!cJSON_IsString(name))
        return ar_err_set(AR_ERR_FORMAT, "XGBoost model: gradient_booster has no name");
    if (strcmp(name->valuestring, "gbtree") != 0)
        return ar_err_set(AR_ERR_UNSUPPORTED,
                          "XGBoost model: booster '%s' is not supported (only gbtree)",
                          name->valuestring);
    if (!(model = need(gb, "model", "gradient_booster")) ||
        !(gmp = need(model, "gbtree_model_param", "model")) ||
        !(trees = need(model, "trees", "model")) || !(info = need(model, "tree_info", "model")))
        return AR_ERR_FORMAT;
    double nt, npt;
    AR_TRY(param_num(gmp, "num_trees", "gbtree_model_param", true, 0, &nt));
    AR_TRY(param_num(gmp, "num_parallel_tree", "gbtree_model_param", false, 1, &npt));
    if (!cJSON_IsArray(trees) || !cJSON_IsArray(info) || nt < 0 || nt != floor(nt) ||
        (double)cJSON_GetArraySize(trees) != nt || (double)cJSON_GetArraySize(info) != nt)
        return ar_err_set(AR_ERR_FORMAT,
                          "XGBoost model: num_trees (%g) does not match trees and tree_info", nt);
    m->num_parallel_tree = npt >= 1 && npt < 1e6 ? (int)npt : 1;
    m->n_trees = (size_t)nt;

    /* attributes */
    const cJSON *attrs = need(learner, "attributes", "learner");
    if (!cJSON_IsObject(attrs))
        return ar_err_set(AR_ERR_FORMAT, "XGBoost model: learner.attributes is not an object");
    const cJSON *bi = cJSON_GetObjectItemCaseSensitive(attrs, "best_iteration");
    const cJSON *bn = cJSON_GetObjectItemCaseSensitive(attrs, "best_ntree_limit");
    const cJSON *bsc = cJSON_GetObjectItemCaseSensitive(attrs, "best_score");
    if (cJSON_IsString(bi) && cJSON_IsString(bn)) {
        m->best_iteration = strtol(bi->valuestring, NULL, 10);
        m->best_ntree_limit = strtol(bn->valuestring, NULL, 10);
        m->has_best = m->best_ntree_limit > 0;
    }
    if (cJSON_IsString(bsc)) {
        m->has_best_score = true;
        m->best_score = strtod(bsc->valuestring, NULL);
    }

    m->tree_off = ar_callocn(m->n_trees + 1, sizeof *m->tree_off);
    m->tree_info = ar_allocn(m->n_trees ? m->n_trees : 1, sizeof *m->tree_info);
    if (!m->tree_off || !m->tree_info)
        return AR_ERR_NOMEM;
    size_t t = 0, total = 0, max_nodes = 1;
    const cJSON *tr, *ti = info->child;
    cJSON_ArrayForEach(tr, trees)
    {
        double nn;
        AR_TRY(param_num(cJSON_GetObjectItemCaseSensitive(tr, "tree_param"), "num_nodes",
                         "tree_param", true, 0, &nn));
        if (nn < 1 || nn > 1e9 || nn != floor(nn))
            return ar_err_set(AR_ERR_FORMAT, "XGBoost model: tree %zu has bad num_nodes", t);
        if (!cJSON_IsNumber(ti) || ti->valuedouble < 0 || ti->valuedouble >= (double)m->n_groups ||
            ti->valuedouble != floor(ti->valuedouble))
            return ar_err_set(AR_ERR_FORMAT,
                              "XGBoost model: tree_info[%zu] is not an output group in [0, %d)", t,
                              m->n_groups);
        m->tree_info[t] = (int32_t)ti->valuedouble;
        ti = ti->next;
        total += (size_t)nn;
        if ((size_t)nn > max_nodes)
            max_nodes = (size_t)nn;
        m->tree_off[++t] = total;
    }
    m->nodes = ar_allocn(total ? total : 1, sizeof *m->nodes);
    uint8_t *seen = ar_allocn(max_nodes, 1);
    int32_t *stack = ar_allocn(2 * max_nodes + 2, sizeof *stack);
    if (!m->nodes || !seen || !stack) {
        ar_free(seen);
        ar_free(stack);
        return AR_ERR_NOMEM;
    }
    t = 0;
    cJSON_ArrayForEach(tr, trees)
    {
        size_t n = m->tree_off[t + 1] - m->tree_off[t];
        int rc = read_tree(tr, t, m->n_trees, m->nodes + m->tree_off[t], n, seen, stack);
        if (rc != AR_OK) {
            ar_free(seen);
            ar_free(stack);
            return rc;
        }
        t++;
    }
    ar_free(seen);
    ar_free(stack);
    return ar_gbt_model_finish(m);
}

int ar_gbt_model_from_json(const char *text, size_t len, struct ar_gbt_model **out)
{
    *out = NULL;
    if (len == 0)
        return ar_err_set(AR_ERR_FORMAT, "XGBoost model: the file is empty");
    if (text[0] != '{') {
        if (len >= 4 && memcmp(text, "binf", 4) == 0)
            return ar_err_set(AR_ERR_UNSUPPORTED,
                              "XGBoost model: the file is in XGBoost's deprecated binary format; "
                              "algorun reads JSON models (save with a .json name)");
        return ar_err_set(AR_ERR_FORMAT,
                          "XGBoost model: the file does not start with '{' (not an XGBoost JSON "
                          "model)");
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        size_t off = end && end >= text ? (size_t)(end - text) : 0;
        return ar_err_set(AR_ERR_FORMAT,
                          "XGBoost model: invalid JSON near byte %zu (truncated or not a model)",
                          off);
    }
    struct ar_gbt_model *m = ar_callocn(1, sizeof *m);
    if (!m) {
        cJSON_Delete(root);
        return AR_ERR_NOMEM;
    }
    m->base.algo = &ar_algo_xgboost;
    int rc = from_json(root, m);
    cJSON_Delete(root);
    if (rc != AR_OK) {
        ar_gbt_model_free(&m->base);
        return rc;
    }
    *out = m;
    return AR_OK;
}

int ar_gbt_model_load_file(const char *path, struct ar_gbt_model **out)
{
    *out = NULL;
    unsigned char *data;
    size_t len;
    AR_TRY(ar_artifact_read(path, MODEL_MAX_SIZE, &data, &len));
    char *text = (char *)data;
    int rc = ar_gbt_model_from_json(text, len, out);
    ar_free(text);
    if (rc != AR_OK)
        ar_err_prefix("%s: ", path);
    return rc;
}

int ar_gbt_model_load(const char *dir, struct ar_model **out)
{
    *out = NULL;
    struct stat st;
    char path[4096];
    if (stat(dir, &st) == 0 && S_ISREG(st.st_mode))
        snprintf(path, sizeof path, "%s", dir);
    else if (snprintf(path, sizeof path, "%s/%s", dir, MODEL_FILE) >= (int)sizeof path)
        return ar_err_set(AR_ERR_LIMIT, "model directory path is too long: %s", dir);
    struct ar_gbt_model *m;
    AR_TRY(ar_gbt_model_load_file(path, &m));
    *out = &m->base;
    return AR_OK;
}
