/* The boosting loop: per round, gradients from the current margins, then for every output
 * group num_parallel_tree trees (row subsample and column sample per tree), margins updated
 * tree by tree in float as XGBoost's prediction cache does; metrics on train and validation
 * logged in XGBoost's EvaluationMonitor format; early stopping keeps the best iteration. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "algorithms/xgboost/gbt.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/par.h"

/* XGBoost's Quantile / WeightedQuantile at 0.5 of the labels (reg:absoluteerror base_score). */
static int label_median(const float *y, const float *w, size_t n, float *out)
{
    float *v = ar_allocn(n, sizeof *v);
    float *ww = ar_allocn(n, sizeof *ww);
    uint32_t *ord = ar_allocn(n, sizeof *ord);
    int rc = AR_ERR_NOMEM;
    if (!v || !ww || !ord)
        goto done;
    /* stable order by value via a sort of (value, index) pairs */
    for (size_t i = 0; i < n; i++)
        ord[i] = (uint32_t)i;
    /* merge sort of ord by y (stable) */
    uint32_t *tmp = ar_allocn(n, sizeof *tmp);
    if (!tmp)
        goto done;
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n,
                   hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t a = lo, b = mid, k = lo;
            while (a < mid && b < hi)
                tmp[k++] = y[ord[b]] < y[ord[a]] ? ord[b++] : ord[a++];
            while (a < mid)
                tmp[k++] = ord[a++];
            while (b < hi)
                tmp[k++] = ord[b++];
        }
        memcpy(ord, tmp, n * sizeof *ord);
    }
    ar_free(tmp);
    if (!w) {
        double dn = (double)n, x = 0.5 * (dn + 1);
        if (0.5 <= 1.0 / (dn + 1))
            *out = y[ord[0]];
        else if (0.5 >= dn / (dn + 1))
            *out = y[ord[n - 1]];
        else {
            double k = floor(x) - 1, d = (x - 1) - k;
            float v0 = y[ord[(size_t)k]], v1 = y[ord[(size_t)k + 1]];
            *out = (float)((double)v0 + d * (double)(v1 - v0));
        }
    } else {
        ww[0] = w[ord[0]];
        for (size_t i = 1; i < n; i++)
            ww[i] = ww[i - 1] + w[ord[i]];
        float thresh = (float)((double)ww[n - 1] * 0.5);
        size_t idx = 0;
        while (idx < n && ww[idx] < thresh)
            idx++;
        *out = y[ord[idx < n ? idx : n - 1]];
    }
    rc = AR_OK;
done:
    ar_free(v);
    ar_free(ww);
    ar_free(ord);
    return rc;
}

static int check_set(const char *name, const struct ar_batch *b, size_t n_features)
{
    if (b->n_rows == 0)
        return ar_err_set(AR_ERR_INVALID, "%s data has no rows", name);
    if (!b->labels)
        return ar_err_set(AR_ERR_INVALID,
                          "Got input data without labels in the %s channel: the label must be "
                          "the first column",
                          name);
    if (b->n_rows > 0xffffffffu)
        return ar_err_set(AR_ERR_LIMIT, "%s data has %zu rows; at most 4294967295 are supported",
                          name, b->n_rows);
    if (n_features && !b->is_sparse && b->n_cols != n_features)
        return ar_err_set(AR_ERR_INVALID,
                          "feature_names mismatch: %s data has %zu features, training data %zu",
                          name, b->n_cols, n_features);
    if (b->weights)
        for (size_t i = 0; i < b->n_rows; i++)
            if (!(b->weights[i] >= 0.0f) || isinf(b->weights[i]))
                return ar_err_set(AR_ERR_INVALID,
                                  "%s data: weight of row %zu is %g; weights must be finite and "
                                  ">= 0",
                                  name, i + 1, (double)b->weights[i]);
    return AR_OK;
}

/* Appends metric text for one set; returns AR_OK or the metric's error. */
static int eval_set(const struct ar_gbt_config *cfg, const char *set, const struct ar_batch *b,
                    const float *margin, float *pred, long round, const struct ar_train_ctx *ctx,
                    char *line, size_t cap, size_t *len, double *last)
{
    ar_gbt_transform(cfg->obj, cfg->n_groups, margin, b->n_rows, true, pred);
    for (int k = 0; k < cfg->n_metrics; k++) {
        double v;
        int rc = ar_gbt_metric_eval(&cfg->metrics[k], cfg->obj, cfg->n_groups, b->labels,
                                    b->weights, pred, margin, b->n_rows, &v);
        if (rc != AR_OK) {
            ar_err_prefix("%s-%s: ", set, cfg->metrics[k].name);
            return rc;
        }
        int w = snprintf(line + *len, cap - *len, "\t%s-%s:%.5f", set, cfg->metrics[k].name, v);
        if (w > 0 && (size_t)w < cap - *len)
            *len += (size_t)w;
        ar_train_ctx_metric(ctx, set, cfg->metrics[k].name, v, round);
        if (k == cfg->es_metric)
            *last = v;
    }
    return AR_OK;
}

int ar_gbt_train_batch(const struct ar_gbt_params *p, const struct ar_batch *train,
                       const struct ar_batch *valid, const struct ar_train_ctx *ctx,
                       struct ar_gbt_model **out)
{
    *out = NULL;
    struct ar_gbt_config cfg;
    AR_TRY(ar_gbt_config_resolve(p, &cfg));
    struct ar_gbt_cuts cuts = {0};
    struct ar_gbt_binmat bm = {0};
    struct ar_gbt_grower *grower = NULL;
    struct ar_gbt_model *m = NULL;
    float *margin = NULL, *gh = NULL, *leaf = NULL, *vmargin = NULL, *pred = NULL, *vpred = NULL;
    uint32_t *rows = NULL, *all_feats = NULL, *tree_feats = NULL;
    size_t cap_nodes = 0, n_nodes = 0, cap_trees = 0;
    int rc;
    const size_t n = train->n_rows, nf = train->n_cols;
    const size_t K = (size_t)cfg.n_groups;
    const int nt = cfg.n_threads > 0 ? cfg.n_threads : ar_par_threads();
    cfg.n_threads = nt;

    if ((rc = check_set("train", train, 0)) != AR_OK)
        goto fail;
    if (nf == 0) {
        rc = ar_err_set(AR_ERR_INVALID, "training data has no feature columns");
        goto fail;
    }
    if (valid && (rc = check_set("validation", valid, nf)) != AR_OK)
        goto fail;
    if ((rc = ar_gbt_labels_check(cfg.obj, cfg.num_class, train->labels, n)) != AR_OK ||
        (valid && (rc = ar_gbt_labels_check(cfg.obj, cfg.num_class, valid->labels,
                                            valid->n_rows)) != AR_OK)) {
        ar_err_prefix("%s data: ", valid ? "train or validation" : "train");
        goto fail;
    }
    if (cfg.early_stopping_rounds > 0 && !valid)
        AR_WARN("early_stopping_rounds is set but there is no validation channel: training "
                "runs all %d rounds",
                cfg.num_round);
    if (cfg.obj == AR_GBT_OBJ_ABSOLUTEERROR && cfg.base_score_auto &&
        (rc = label_median(train->labels, train->weights, n, &cfg.base_score)) != AR_OK)
        goto fail;

    m = ar_callocn(1, sizeof *m);
    if (!m) {
        rc = AR_ERR_NOMEM;
        goto fail;
    }
    m->base.algo = &ar_algo_xgboost;
    m->obj = cfg.obj;
    m->num_class = cfg.num_class;
    m->n_groups = cfg.n_groups;
    m->num_parallel_tree = cfg.num_parallel_tree;
    m->n_features = nf;
    m->base_score = cfg.base_score;
    m->scale_pos_weight = cfg.scale_pos_weight;
    m->obj_max_delta_step = cfg.obj_max_delta_step;
    m->tweedie_rho = cfg.tweedie_rho;
    m->huber_slope = cfg.huber_slope;

    if ((rc = ar_gbt_quantize(train, train->weights, cfg.max_bin, nt, &cuts, &bm)) != AR_OK ||
        (rc = ar_gbt_grower_new(&cfg, &cuts, &bm, &grower)) != AR_OK)
        goto fail;

    const float base = ar_gbt_base_margin(cfg.obj, cfg.base_score);
    margin = ar_allocn(n * K, sizeof *margin);
    pred = ar_allocn(n * K, sizeof *pred);
    gh = ar_allocn(n * K * 2, sizeof *gh);
    leaf = ar_allocn(n, sizeof *leaf);
    rows = ar_allocn(n, sizeof *rows);
    all_feats = ar_allocn(nf, sizeof *all_feats);
    tree_feats = ar_allocn(nf, sizeof *tree_feats);
    if (!margin || !pred || !gh || !leaf || !rows || !all_feats || !tree_feats) {
        rc = AR_ERR_NOMEM;
        goto fail;
    }
    ar_gbt_advise_huge(margin, n * K * sizeof *margin);
    ar_gbt_advise_huge(pred, n * K * sizeof *pred);
    ar_gbt_advise_huge(gh, n * K * 2 * sizeof *gh);
    ar_gbt_advise_huge(leaf, n * sizeof *leaf);
    ar_gbt_advise_huge(rows, n * sizeof *rows);
    for (size_t i = 0; i < n * K; i++)
        margin[i] = base;
    for (size_t f = 0; f < nf; f++)
        all_feats[f] = (uint32_t)f;
    if (valid) {
        vmargin = ar_allocn(valid->n_rows * K, sizeof *vmargin);
        vpred = ar_allocn(valid->n_rows * K, sizeof *vpred);
        if (!vmargin || !vpred) {
            rc = AR_ERR_NOMEM;
            goto fail;
        }
        for (size_t i = 0; i < valid->n_rows * K; i++)
            vmargin[i] = base;
    }

    struct ar_rng rng;
    ar_rng_init(&rng, cfg.seed, 0);
    const size_t trees_per_round = K * (size_t)cfg.num_parallel_tree;
    double best_score = 0.0;
    long best_iter = -1, since_best = 0;
    int rounds_done = 0;
    m->tree_off = ar_callocn(1, sizeof *m->tree_off);
    if (!m->tree_off) {
        rc = AR_ERR_NOMEM;
        goto fail;
    }

    for (int round = 0; round < cfg.num_round; round++) {
        if (ar_train_ctx_stopping(ctx)) {
            AR_INFO("stop requested: ending training after %d rounds", rounds_done);
            break;
        }
        /* pred holds the transformed margins of the last round's train metrics */
        ar_gbt_gradients(&cfg, margin, round > 0 ? pred : NULL, train->labels, train->weights, n,
                         nt, gh);
        /* room for this round's trees */
        size_t need = m->n_trees + trees_per_round;
        if (need > cap_trees) {
            size_t cap = cap_trees ? 2 * cap_trees : 64;
            while (cap < need)
                cap *= 2;
            size_t *to =
                ar_reallocn(m->tree_off, (cap_trees + 1) * sizeof *to, cap + 1, sizeof *to);
            if (!to) {
                rc = AR_ERR_NOMEM;
                goto fail;
            }
            m->tree_off = to;
            int32_t *ti = ar_reallocn(m->tree_info, cap_trees * sizeof *ti, cap, sizeof *ti);
            if (!ti) {
                rc = AR_ERR_NOMEM;
                goto fail;
            }
            m->tree_info = ti;
            cap_trees = cap;
        }
        size_t first_tree = m->n_trees;
        for (size_t k = 0; k < K; k++) {
            for (int pt = 0; pt < cfg.num_parallel_tree; pt++) {
                size_t nr = 0;
                if (cfg.subsample < 1.0f) {
                    for (size_t i = 0; i < n; i++)
                        if (ar_rng_uniform(&rng) < (double)cfg.subsample)
                            rows[nr++] = (uint32_t)i;
                } else {
                    for (size_t i = 0; i < n; i++)
                        rows[i] = (uint32_t)i;
                    nr = n;
                }
                size_t ntf = nf;
                memcpy(tree_feats, all_feats, nf * sizeof *tree_feats);
                if (cfg.colsample_bytree < 1.0f) {
                    size_t kk = (size_t)(int)(cfg.colsample_bytree * (float)nf);
                    if (kk < 1)
                        kk = 1;
                    for (size_t i = 0; i < kk; i++) {
                        size_t j = i + (size_t)ar_rng_below(&rng, nf - i);
                        uint32_t t = tree_feats[i];
                        tree_feats[i] = tree_feats[j];
                        tree_feats[j] = t;
                    }
                    /* sorted, as XGBoost's ColumnSampler keeps feature sets */
                    for (size_t i = 1; i < kk; i++) {
                        uint32_t v = tree_feats[i];
                        size_t j = i;
                        while (j > 0 && tree_feats[j - 1] > v) {
                            tree_feats[j] = tree_feats[j - 1];
                            j--;
                        }
                        tree_feats[j] = v;
                    }
                    ntf = kk;
                }
                bool abs_err = cfg.obj == AR_GBT_OBJ_ABSOLUTEERROR;
                rc = ar_gbt_grower_grow(grower, gh, rows, nr, tree_feats, ntf, &rng,
                                        abs_err ? train->labels : NULL, train->weights, margin,
                                        (int)k, (int)K, &m->nodes, &n_nodes, &cap_nodes, leaf);
                if (rc != AR_OK)
                    goto fail;
                m->tree_info[m->n_trees] = (int32_t)k;
                m->n_trees++;
                m->tree_off[m->n_trees] = n_nodes;
                for (size_t i = 0; i < n; i++)
                    margin[i * K + k] += leaf[i];
            }
        }
        rounds_done = round + 1;
        if ((rc = ar_gbt_model_finish(m)) != AR_OK)
            goto fail;
        if (valid &&
            (rc = ar_gbt_predict_add(m, valid, first_tree, m->n_trees, nt, vmargin)) != AR_OK)
            goto fail;

        char line[4096];
        size_t len = (size_t)snprintf(line, sizeof line, "[%d]", round);
        double last_train = 0.0, last_valid = 0.0;
        if ((rc = eval_set(&cfg, "train", train, margin, pred, round, ctx, line, sizeof line, &len,
                           &last_train)) != AR_OK)
            goto fail;
        if (valid && (rc = eval_set(&cfg, "validation", valid, vmargin, vpred, round, ctx, line,
                                    sizeof line, &len, &last_valid)) != AR_OK)
            goto fail;
        ar_log_raw("%s", line);

        if (valid && cfg.early_stopping_rounds > 0) {
            bool maximize = cfg.metrics[cfg.es_metric].maximize;
            if (best_iter < 0 || (maximize ? last_valid > best_score : last_valid < best_score)) {
                best_score = last_valid;
                best_iter = round;
                since_best = 0;
            } else if (++since_best >= cfg.early_stopping_rounds) {
                AR_INFO("early stopping: validation-%s has not improved for %d rounds; best "
                        "iteration %ld (%.5f)",
                        cfg.metrics[cfg.es_metric].name, cfg.early_stopping_rounds, best_iter,
                        best_score);
                break;
            }
        }
    }

    if (best_iter >= 0) {
        /* keep the best iteration (save_best) */
        size_t keep = (size_t)(best_iter + 1) * trees_per_round;
        if (keep < m->n_trees) {
            m->n_trees = keep;
            n_nodes = m->tree_off[keep];
        }
        m->has_best_score = true;
        m->best_score = best_score;
        m->best_iteration = best_iter;
    } else {
        m->best_iteration = (long)rounds_done - 1;
    }
    m->has_best = rounds_done > 0;
    m->best_ntree_limit = (m->best_iteration + 1) * cfg.num_parallel_tree;
    if ((rc = ar_gbt_model_finish(m)) != AR_OK)
        goto fail;
    *out = m;
    m = NULL;
    rc = AR_OK;
fail:
    ar_gbt_config_release(&cfg);
    ar_gbt_cuts_release(&cuts);
    ar_gbt_binmat_release(&bm);
    ar_gbt_grower_free(grower);
    if (m)
        ar_gbt_model_free(&m->base);
    ar_free(margin);
    ar_free(pred);
    ar_free(gh);
    ar_free(leaf);
    ar_free(vmargin);
    ar_free(vpred);
    ar_free(rows);
    ar_free(all_feats);
    ar_free(tree_feats);
    return rc;
}
