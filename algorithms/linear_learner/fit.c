/* The training driver: streams the train channel epoch by epoch through the multi-model
 * trainer, evaluates every model after each epoch (early stopping, best-epoch snapshots),
 * selects and calibrates the final model on the calibration sample, and scores the validation
 * and test channels with SageMaker's metric names and log lines. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "algorithms/linear_learner/ll.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/metrics.h"
#include "core/reduce.h"
#include "core/timer.h"

/* Rows of the validation channel whose scores feed the per-epoch sampled criterion. */
#define EPOCH_SAMPLE 50000u

/* A growable float array. */
struct fvec {
    float *p;
    size_t n, cap;
};

static int fvec_push(struct fvec *v, const float *src, size_t n)
{
    if (v->n + n > v->cap) {
        size_t cap = v->cap ? v->cap : 1024;
        while (cap < v->n + n)
            cap *= 2;
        float *p = ar_reallocn(v->p, v->cap * sizeof(float), cap, sizeof(float));
        if (!p)
            return AR_ERR_NOMEM;
        v->p = p;
        v->cap = cap;
    }
    memcpy(v->p + v->n, src, n * sizeof(float));
    v->n += n;
    return AR_OK;
}

static void fvec_free(struct fvec *v)
{
    ar_free(v->p);
    memset(v, 0, sizeof *v);
}

static const char *criterion_name(int crit)
{
    switch (crit) {
    case AR_LL_CRIT_ACCURACY:
        return "sampled_accuracy";
    case AR_LL_CRIT_F_BETA:
        return "sampled_f_beta";
    case AR_LL_CRIT_PRECISION_AT_RECALL:
        return "sampled_precision_at_target_recall";
    case AR_LL_CRIT_RECALL_AT_PRECISION:
        return "sampled_recall_at_target_precision";
    default:
        return "loss";
    }
}

/* Binary classification with a threshold-dependent selection criterion. */
static bool uses_threshold(const struct ar_ll_config *c)
{
    return c->predictor == AR_LL_BINARY && c->criterion != AR_LL_CRIT_LOSS;
}

static double natural_threshold(const struct ar_ll_config *c)
{
    return c->loss == AR_LL_LOSS_LOGISTIC ? 0.5 : 0.0;
}

/* Appends the labels, weights and raw scores (rows x M; binary, one output per model) of
 * every row of b. Labels are checked by the training step that follows. */
static int keep_sample(const struct ar_batch *b, const float *z, size_t M, struct fvec *scores,
                       struct fvec *labels, struct fvec *weights)
{
    AR_TRY(fvec_push(scores, z, b->n_rows * M));
    AR_TRY(fvec_push(labels, b->labels, b->n_rows));
    if (b->weights)
        return fvec_push(weights, b->weights, b->n_rows);
    for (size_t i = 0; i < b->n_rows; i++) {
        float one = 1.0f;
        AR_TRY(fvec_push(weights, &one, 1));
    }
    return AR_OK;
}

/* Scores every model (folded weights w, bias b) over the first `limit` rows of src (all rows
 * when limit is 0): loss[m] / wsum[m] get the weighted reported losses; when `keep` is set,
 * the scores of the first keep_rows rows go to scores (row-major rows x M), labels, weights.
 * *rows receives the rows read. The source is reset afterwards. */
static int score_models(const struct ar_ll_trainer *t, struct ar_batch_source *src, size_t limit,
                        const float *w, const float *b, double *loss, double *wsum,
                        size_t keep_rows, struct fvec *scores, struct fvec *labels,
                        struct fvec *weights, size_t *rows, float *z)
{
    size_t M = t->n_models, K = t->n_k, seen = 0;
    for (size_t m = 0; m < M; m++)
        loss[m] = wsum[m] = 0;
    int rc = AR_OK;
    for (;;) {
        size_t want = t->c.batch;
        if (limit && limit - seen < want)
            want = limit - seen;
        if (want == 0)
            break;
        struct ar_batch bt;
        if ((rc = ar_batch_source_next(src, want, &bt)) != AR_OK)
            goto out;
        if (bt.n_rows == 0)
            break;
        if (!bt.labels) {
            rc = ar_err_set(AR_ERR_INVALID, "records have no labels");
            goto out;
        }
        if ((rc = ar_ll_forward(&bt, t->d, K, w, b, z)) != AR_OK ||
            (rc = ar_ll_trainer_eval(t, &bt, z, loss, wsum)) != AR_OK) {
            ar_err_prefix("record %zu onwards: ", seen + 1);
            goto out;
        }
        if (keep_rows > seen) {
            size_t nk = keep_rows - seen < bt.n_rows ? keep_rows - seen : bt.n_rows;
            if (t->n_out == 1) {
                if ((rc = fvec_push(scores, z, nk * M)) != AR_OK)
                    goto out;
            }
            if ((rc = fvec_push(labels, bt.labels, nk)) != AR_OK)
                goto out;
            if (bt.weights) {
                rc = fvec_push(weights, bt.weights, nk);
            } else {
                for (size_t i = 0; i < nk && rc == AR_OK; i++) {
                    float one = 1.0f;
                    rc = fvec_push(weights, &one, 1);
                }
            }
            if (rc != AR_OK)
                goto out;
        }
        seen += bt.n_rows;
    }
    rc = ar_reduce_sum_f64(loss, M);
    if (rc == AR_OK)
        rc = ar_reduce_sum_f64(wsum, M);
    if (rc == AR_OK)
        rc = ar_batch_source_reset(src);
    *rows = seen;
out:
    return rc;
}

/* Calibrates model m on the kept sample (scores row-major rows x M). */
static int calibrate_model(const struct ar_ll_config *c, const struct fvec *scores,
                           const struct fvec *labels, const struct fvec *weights, size_t M,
                           size_t m, float *col, uint32_t *order, struct ar_ll_calib *out)
{
    size_t n = labels->n;
    for (size_t i = 0; i < n; i++)
        col[i] = scores->p[i * M + m];
    return ar_ll_calibrate(c->criterion, c->f_beta, c->target_recall, c->target_precision,
                           natural_threshold(c), col, labels->p, weights->p, n, order, out);
}

/* ---- final metrics of one channel ---- */

static void emit(const struct ar_train_ctx *ctx, const char *set, const char *log_name,
                 const char *metric, bool is_loss, double v, bool score_line)
{
    if (score_line)
        AR_INFO("#%s_score (%s) : ('%s', %.7g)", set, ar_log_host(), log_name, v);
    (void)score_line;
    AR_INFO("#quality_metric: host=%s, %s %s %s=%.12g", ar_log_host(), set, log_name,
            is_loss ? "<loss>" : "<score>", v);
    ar_train_ctx_metric(ctx, set, metric, v, -1);
}

static int score_channel(const struct ar_ll_config *c, const struct ar_ll_model *mdl,
                         struct ar_batch_source *src, const char *set,
                         const struct ar_train_ctx *ctx)
{
    struct fvec y = {0}, s = {0}, pred = {0}, w = {0};
    double loss = 0, wtot = 0, topk_hits = 0;
    size_t C = mdl->n_out, seen = 0;
    struct ar_ll_loss_prm prm = {c->margin, c->huber_delta, c->eps_insensitive, c->quantile};
    int rc = AR_OK;
    for (;;) {
        struct ar_batch b;
        if ((rc = ar_batch_source_next(src, c->batch, &b)) != AR_OK)
            goto out;
        if (b.n_rows == 0)
            break;
        if (!b.labels) {
            rc = ar_err_set(AR_ERR_INVALID, "%s channel: records have no labels", set);
            goto out;
        }
        struct ar_table tab;
        memset(&tab, 0, sizeof tab);
        if ((rc = ar_ll_model_predict(mdl, &b, &tab)) != AR_OK) {
            ar_table_release(&tab);
            ar_err_prefix("%s channel, record %zu onwards: ", set, seen + 1);
            goto out;
        }
        const float *sc = tab.cols[0].data;
        for (size_t i = 0; i < b.n_rows; i++) {
            float yf = b.labels[i];
            double wi = b.weights ? (double)b.weights[i] : 1.0, l, g;
            rc = AR_OK;
            if (!isfinite(yf) || (c->predictor == AR_LL_BINARY && yf != 0.0f && yf != 1.0f) ||
                (c->predictor == AR_LL_MULTICLASS &&
                 (yf < 0 || yf >= (float)C || yf != floorf(yf)))) {
                rc = ar_err_set(AR_ERR_INVALID,
                                "%s channel: label %g of record %zu is not "
                                "valid for %s",
                                set, (double)yf, seen + i + 1,
                                c->predictor == AR_LL_BINARY ? "binary_classifier (0 or 1)"
                                                             : "multiclass_classifier");
                ar_table_release(&tab);
                goto out;
            }
            if (c->predictor == AR_LL_MULTICLASS) {
                double p = fmax((double)sc[i * C + (size_t)yf], 1e-15);
                l = -log(p);
            } else if (c->loss == AR_LL_LOSS_LOGISTIC) {
                double p = fmin(fmax((double)sc[i], 1e-15), 1 - 1e-15);
                l = yf == 1.0f ? -log(p) : -log(1 - p);
            } else {
                l = ar_ll_loss_eval(c->loss, &prm, (double)sc[i], (double)yf, &g);
            }
            loss += wi * l;
            wtot += wi;
        }
        rc = fvec_push(&y, b.labels, b.n_rows);
        if (rc == AR_OK && c->predictor != AR_LL_MULTICLASS)
            rc = fvec_push(&s, sc, b.n_rows);
        if (rc == AR_OK && c->predictor != AR_LL_REGRESSOR)
            rc = fvec_push(&pred, tab.cols[1].data, b.n_rows);
        for (size_t i = 0; rc == AR_OK && i < b.n_rows; i++) {
            float wi = b.weights ? b.weights[i] : 1.0f;
            rc = fvec_push(&w, &wi, 1);
        }
        if (rc == AR_OK && c->predictor == AR_LL_MULTICLASS) {
            double acc, bw = 0;
            size_t k = c->top_k < C ? c->top_k : C;
            rc = ar_metric_top_k_accuracy(b.labels, sc, C, k, b.weights, b.n_rows, &acc);
            for (size_t i = 0; i < b.n_rows; i++)
                bw += b.weights ? (double)b.weights[i] : 1.0;
            topk_hits += acc * bw;
        }
        ar_table_release(&tab);
        if (rc != AR_OK)
            goto out;
        seen += b.n_rows;
    }
    if (seen == 0) {
        AR_WARN("%s channel has no records; no %s metrics", set, set);
        goto out;
    }
    double sums[3] = {loss, wtot, topk_hits};
    if ((rc = ar_reduce_sum_f64(sums, 3)) != AR_OK)
        goto out;
    char name[96];
    snprintf(name, sizeof name, "%s_objective", ar_ll_objective_name(c->loss));
    emit(ctx, set, name, "objective_loss", true, sums[1] > 0 ? sums[0] / sums[1] : 0.0, true);
    double v;
    if (c->predictor == AR_LL_BINARY) {
        struct ar_confusion cm;
        if ((rc = ar_metric_accuracy(y.p, pred.p, w.p, y.n, &v)) != AR_OK)
            goto out;
        emit(ctx, set, "binary_classification_accuracy", "binary_classification_accuracy", false, v,
             true);
        if ((rc = ar_metric_confusion(y.p, pred.p, w.p, y.n, &cm)) != AR_OK)
            goto out;
        snprintf(name, sizeof name, "binary_f_%.3f", c->f_beta);
        emit(ctx, set, name, "binary_f_beta", false, ar_metric_fbeta(&cm, c->f_beta), true);
        emit(ctx, set, "precision", "precision", false, ar_metric_precision(&cm), true);
        emit(ctx, set, "recall", "recall", false, ar_metric_recall(&cm), true);
        if (ar_metric_auc(y.p, s.p, w.p, y.n, &v) == AR_OK)
            emit(ctx, set, "roc_auc_score", "roc_auc_score", false, v, true);
        else
            AR_WARN("%s roc_auc_score not computed: %s", set, ar_err_msg());
    } else if (c->predictor == AR_LL_MULTICLASS) {
        double p, r, f;
        if ((rc = ar_metric_accuracy(y.p, pred.p, w.p, y.n, &v)) != AR_OK)
            goto out;
        emit(ctx, set, "multiclass_accuracy", "multiclass_accuracy", false, v, true);
        snprintf(name, sizeof name, "multiclass_top_k_accuracy_%zu", c->top_k);
        emit(ctx, set, name, "multiclass_top_k_accuracy", false, sums[2] / sums[1], true);
        if ((rc = ar_metric_macro_prf(y.p, pred.p, w.p, y.n, C, c->f_beta, &p, &r, &f)) != AR_OK)
            goto out;
        snprintf(name, sizeof name, "macro_f_%.3f", c->f_beta);
        emit(ctx, set, name, "macro_f_beta", false, f, true);
        emit(ctx, set, "macro_precision", "macro_precision", false, p, true);
        emit(ctx, set, "macro_recall", "macro_recall", false, r, true);
    } else {
        double mse, mae;
        if ((rc = ar_metric_mse(y.p, s.p, w.p, y.n, &mse)) != AR_OK ||
            (rc = ar_metric_mae(y.p, s.p, w.p, y.n, &mae)) != AR_OK)
            goto out;
        emit(ctx, set, "mse", "mse", true, mse, true);
        emit(ctx, set, "absolute_loss", "absolute_loss", true, mae, true);
        if (strcmp(set, "validation") == 0)
            emit(ctx, set, "rmse", "rmse", true, sqrt(mse), true);
    }
    rc = ar_batch_source_reset(src);
out:
    fvec_free(&y);
    fvec_free(&s);
    fvec_free(&pred);
    fvec_free(&w);
    return rc;
}

/* ---- the driver ---- */

/* The feature count from the first batch of the scaler pass (kept in *first). */
static int detect_features(const struct ar_ll_config *c, struct ar_batch_source *train,
                           struct ar_batch *first, size_t *d)
{
    size_t want = c->n_scaler < c->batch ? c->n_scaler : c->batch;
    AR_TRY(ar_batch_source_next(train, want, first));
    if (first->n_rows == 0)
        return ar_err_set(AR_ERR_INVALID, "the train channel has no records");
    size_t n_cols = first->n_cols;
    if (c->feature_dim) {
        if (first->is_sparse ? n_cols > c->feature_dim : n_cols != c->feature_dim)
            return ar_err_set(AR_ERR_INVALID,
                              "the train channel has %zu features but feature_dim is %zu", n_cols,
                              c->feature_dim);
        *d = c->feature_dim;
    } else {
        if (n_cols == 0)
            return ar_err_set(AR_ERR_INVALID, "the train channel has records with no features");
        *d = n_cols;
    }
    return AR_OK;
}

int ar_ll_fit(const struct ar_ll_config *c, struct ar_batch_source *train,
              struct ar_batch_source *validation, struct ar_batch_source *test,
              const struct ar_train_ctx *ctx, struct ar_ll_model **out)
{
    *out = NULL;
    size_t d = 0, M = c->n_models;
    struct ar_batch first;
    AR_TRY(detect_features(c, train, &first, &d));
    struct ar_ll_model_cfg *grid = ar_allocn(M, sizeof *grid);
    if (!grid)
        return AR_ERR_NOMEM;
    ar_ll_grid(c, grid);
    struct ar_ll_trainer *t = NULL;
    int rc = ar_ll_trainer_new(c, grid, M, d, &t);
    ar_free(grid);
    if (rc != AR_OK)
        return rc;
    size_t K = t->n_k, C = t->n_out;
    float *ws = NULL, *bs = NULL, *z = NULL, *col = NULL;
    uint32_t *order = NULL;
    double *best = NULL, *best_l = NULL, *loss = NULL, *wsum = NULL, *train_loss = NULL;
    struct fvec sc = {0}, lab = {0}, wts = {0};
    struct ar_ll_model *mdl = NULL;

    if ((rc = ar_ll_trainer_scale_from(t, train, &first)) != AR_OK) {
        ar_err_prefix("train channel: ");
        goto out;
    }
    AR_INFO("Scaling model computed with parameters: {'stdev_weight': %s, 'stdev_label': %s, "
            "'mean_label': %s, 'mean_weight': %s}",
            c->normalize_data ? "computed" : "None", c->normalize_label ? "computed" : "None",
            c->unbias_label ? "computed" : "None", t->shift ? "computed" : "None");
    ws = ar_callocn(d * K, sizeof(float));
    bs = ar_callocn(K, sizeof(float));
    z = ar_allocn(c->batch, K * sizeof(float));
    best = ar_allocn(M, sizeof(double));
    best_l = ar_allocn(M, sizeof(double));
    loss = ar_callocn(M, sizeof(double));
    wsum = ar_callocn(M, sizeof(double));
    train_loss = ar_callocn(M, sizeof(double));
    if (!ws || !bs || !z || !best || !best_l || !loss || !wsum || !train_loss) {
        rc = AR_ERR_NOMEM;
        goto out;
    }
    for (size_t m = 0; m < M; m++) {
        best[m] = -HUGE_VAL;
        best_l[m] = HUGE_VAL;
    }
    ar_ll_trainer_fold(t);
    memcpy(ws, t->wt, d * K * sizeof(float));
    memcpy(bs, t->bt, K * sizeof(float));

    const char *obj = ar_ll_objective_name(c->loss);
    double gbest = -HUGE_VAL, gloss = HUGE_VAL;
    size_t no_improve = 0, n_train = 0, n_val = 0;
    /* Binary threshold criteria are evaluated each epoch on a sample: the first records of the
     * validation channel, or without one the training records' scores just before the
     * update that uses them (progressive validation). */
    bool sampled = uses_threshold(c), stopping = false;
    size_t col_cap = 0;
    size_t n_sample = c->n_calib < EPOCH_SAMPLE ? c->n_calib : EPOCH_SAMPLE;
    for (size_t ep = 1; ep <= c->epochs; ep++) {
        struct ar_timer tm;
        ar_timer_start(&tm);
        for (size_t m = 0; m < M; m++)
            t->ep_loss[m] = t->ep_w[m] = 0;
        size_t rows = 0;
        if (sampled && !validation)
            sc.n = lab.n = wts.n = 0;
        for (;;) {
            struct ar_batch b;
            if ((rc = ar_batch_source_next(train, c->batch, &b)) != AR_OK)
                goto out;
            if (b.n_rows == 0)
                break;
            if (sampled && !validation && rows < n_sample) {
                size_t nk = n_sample - rows < b.n_rows ? n_sample - rows : b.n_rows;
                struct ar_batch head = ar_batch_rows(&b, 0, nk);
                ar_ll_trainer_fold(t);
                if ((rc = ar_ll_forward(&head, d, K, t->wt, t->bt, z)) != AR_OK ||
                    (rc = keep_sample(&head, z, M, &sc, &lab, &wts)) != AR_OK) {
                    ar_err_prefix("train channel, epoch %zu, record %zu onwards: ", ep, rows + 1);
                    goto out;
                }
            }
            if ((rc = ar_ll_trainer_step(t, &b)) != AR_OK) {
                ar_err_prefix("train channel, epoch %zu, record %zu onwards: ", ep, rows + 1);
                goto out;
            }
            rows += b.n_rows;
            if (ar_train_ctx_stopping(ctx)) {
                stopping = true; /* finish this epoch's evaluation with the rows seen */
                break;
            }
        }
        if ((rc = ar_batch_source_reset(train)) != AR_OK)
            goto out;
        if (rows == 0) {
            rc = ar_err_set(AR_ERR_INVALID, "the train channel has no records");
            goto out;
        }
        n_train = rows;
        double secs = ar_timer_elapsed(&tm);
        for (size_t m = 0; m < M; m++)
            train_loss[m] = t->ep_w[m] > 0 ? t->ep_loss[m] / t->ep_w[m] : 0.0;

        /* Evaluate every model: validation loss (and the sampled criterion), else the
         * training loss of the epoch. */
        ar_ll_trainer_fold(t);
        double *val_loss = NULL;
        if (validation) {
            sc.n = lab.n = wts.n = 0;
            if ((rc = score_models(t, validation, 0, t->wt, t->bt, loss, wsum,
                                   sampled ? n_sample : 0, &sc, &lab, &wts, &n_val, z)) != AR_OK) {
                ar_err_prefix("validation channel: ");
                goto out;
            }
            if (n_val == 0) {
                rc = ar_err_set(AR_ERR_INVALID, "the validation channel has no records");
                goto out;
            }
            for (size_t m = 0; m < M; m++)
                loss[m] = wsum[m] > 0 ? loss[m] / wsum[m] : 0.0;
            val_loss = loss;
        }
        if (sampled && (!col || lab.n > col_cap)) {
            ar_free(col);
            ar_free(order);
            col_cap = lab.n ? lab.n : 1;
            col = ar_allocn(col_cap, sizeof(float));
            order = ar_allocn(col_cap, sizeof(uint32_t));
            if (!col || !order) {
                rc = AR_ERR_NOMEM;
                goto out;
            }
        }
        /* Models compare by the criterion, ties by the loss (a saturated criterion such as
         * accuracy on a small sample must not freeze the snapshot at an early epoch). */
        size_t top = 0;
        double top_v = -HUGE_VAL, top_l = HUGE_VAL;
        for (size_t m = 0; m < M; m++) {
            double v, l = val_loss ? val_loss[m] : train_loss[m];
            if (sampled) {
                struct ar_ll_calib cal;
                if ((rc = calibrate_model(c, &sc, &lab, &wts, M, m, col, order, &cal)) != AR_OK)
                    goto out;
                v = cal.value;
            } else {
                v = -l;
            }
            if (!isfinite(v))
                v = -HUGE_VAL;
            if (!isfinite(l))
                l = HUGE_VAL;
            if (v > best[m] + 1e-12 || (v >= best[m] - 1e-12 && l < best_l[m])) {
                best[m] = v;
                best_l[m] = l;
                for (size_t j = 0; j < d; j++)
                    memcpy(ws + j * K + m * C, t->wt + j * K + m * C, C * sizeof(float));
                memcpy(bs + m * C, t->bt + m * C, C * sizeof(float));
            }
            if (v > top_v + 1e-12 || (v >= top_v - 1e-12 && l < top_l)) {
                top_v = v;
                top_l = l;
                top = m;
            }
        }
        AR_INFO("#quality_metric: host=%s, epoch=%zu, train %s_objective <loss>=%.12g",
                ar_log_host(), ep, obj, train_loss[top]);
        ar_train_ctx_metric(ctx, "train", "objective_loss", train_loss[top], (long)ep);
        if (val_loss) {
            AR_INFO("#quality_metric: host=%s, epoch=%zu, validation %s_objective <loss>=%.12g",
                    ar_log_host(), ep, obj, val_loss[top]);
            ar_train_ctx_metric(ctx, "validation", "objective_loss", val_loss[top], (long)ep);
        }
        const char *crit = sampled ? criterion_name(c->criterion) : NULL;
        char critbuf[96];
        if (!crit) {
            snprintf(critbuf, sizeof critbuf, "%s_objective", obj);
            crit = critbuf;
        }
        AR_INFO("#early_stopping_criteria_metric: host=%s, epoch=%zu, criteria=%s, value=%.10g",
                ar_log_host(), ep, crit, sampled ? top_v : -top_v);
        if (gbest == -HUGE_VAL || top_v - gbest > c->tolerance * fabs(gbest) ||
            (sampled && top_v >= gbest - 1e-12 && gloss - top_l > c->tolerance * fabs(gloss))) {
            AR_INFO("Epoch %zu: Loss improved. Updating best model", ep);
            no_improve = 0;
        } else {
            no_improve++;
            AR_INFO("Epoch %zu: Loss has not improved for %zu epochs.", ep, no_improve);
        }
        if (top_v > gbest)
            gbest = top_v;
        if (top_l < gloss)
            gloss = top_l;
        AR_INFO("#progress_metric: host=%s, completed %.4g %% of epochs", ar_log_host(),
                100.0 * (double)ep / (double)c->epochs);
        AR_INFO("#throughput_metric: host=%s, train throughput=%.6g records/second", ar_log_host(),
                secs > 0 ? (double)rows / secs : 0.0);
        if (no_improve >= c->patience && ep < c->epochs) {
            AR_INFO("Early stopping criteria met: no improvement for %zu epochs (patience %zu)",
                    no_improve, c->patience);
            break;
        }
        if (stopping || ar_train_ctx_stopping(ctx)) {
            stopping = true;
            AR_INFO("Stop requested: ending training at epoch %zu and keeping the best model so "
                    "far",
                    ep);
            break;
        }
    }

    /* Select (and calibrate) on the calibration sample: the first num_calibration_samples
     * records of the validation channel, else of the train channel. */
    struct ar_batch_source *cal_src = validation ? validation : train;
    size_t cal_rows = validation ? n_val : n_train;
    if (cal_rows > c->n_calib)
        cal_rows = c->n_calib;
    bool thr = uses_threshold(c);
    sc.n = lab.n = wts.n = 0;
    size_t got;
    if ((rc = score_models(t, cal_src, cal_rows, ws, bs, loss, wsum, thr ? cal_rows : 0, &sc, &lab,
                           &wts, &got, z)) != AR_OK) {
        ar_err_prefix("%s channel (calibration): ", validation ? "validation" : "train");
        goto out;
    }
    if (thr) {
        ar_free(col);
        ar_free(order);
        col = ar_allocn(lab.n ? lab.n : 1, sizeof(float));
        order = ar_allocn(lab.n ? lab.n : 1, sizeof(uint32_t));
        if (!col || !order) {
            rc = AR_ERR_NOMEM;
            goto out;
        }
    }
    size_t pick = 0;
    double pick_v = -HUGE_VAL, pick_loss = HUGE_VAL, pick_thr = natural_threshold(c);
    for (size_t m = 0; m < M; m++) {
        double lm = wsum[m] > 0 ? loss[m] / wsum[m] : HUGE_VAL;
        double v = -lm, th = natural_threshold(c);
        if (thr) {
            struct ar_ll_calib cal;
            if ((rc = calibrate_model(c, &sc, &lab, &wts, M, m, col, order, &cal)) != AR_OK)
                goto out;
            v = cal.value;
            th = cal.threshold;
        }
        if (!isfinite(lm))
            lm = HUGE_VAL;
        if (v > pick_v || (v == pick_v && lm < pick_loss)) {
            pick = m;
            pick_v = v;
            pick_loss = lm;
            pick_thr = th;
        }
    }
    if ((rc = ar_ll_model_new(c->predictor, c->loss, d, C, &mdl)) != AR_OK)
        goto out;
    for (size_t j = 0; j < d; j++)
        for (size_t o = 0; o < C; o++)
            mdl->w[j * C + o] = (float)(t->y_sd * (double)ws[j * K + pick * C + o]);
    for (size_t o = 0; o < C; o++)
        mdl->b[o] = (float)(t->y_sd * (double)bs[pick * C + o] + t->y_mu);
    mdl->threshold = (float)pick_thr;
    mdl->lr = t->mc[pick].lr;
    mdl->wd = t->mc[pick].wd;
    mdl->l1 = t->mc[pick].l1;
    AR_INFO("Best model found for hyperparameters: {\"optimizer\": \"%s\", \"learning_rate\": "
            "%g, \"wd\": %g, \"l1\": %g, \"lr_scheduler_step\": %zu, \"lr_scheduler_factor\": %g, "
            "\"lr_scheduler_minimum_lr\": %g, \"positive_example_weight_mult\": %g} (model %zu of "
            "%zu, threshold %g)",
            c->optimizer == AR_LL_OPT_SGD    ? "sgd"
            : c->optimizer == AR_LL_OPT_ADAM ? "adam"
                                             : "rmsprop",
            mdl->lr, mdl->wd, mdl->l1, c->sched_step, c->sched_factor, c->sched_min_lr,
            t->posw[pick], pick, M, pick_thr);

    AR_INFO("#quality_metric: host=%s, train %s_objective <loss>=%.12g", ar_log_host(), obj,
            train_loss[pick]);
    ar_train_ctx_metric(ctx, "train", "objective_loss", train_loss[pick], -1);
    /* A stopped job skips the final scoring passes to finish quickly. */
    if (!stopping && validation &&
        (rc = score_channel(c, mdl, validation, "validation", ctx)) != AR_OK)
        goto out;
    if (!stopping && test && (rc = score_channel(c, mdl, test, "test", ctx)) != AR_OK)
        goto out;
    *out = mdl;
    mdl = NULL;
out:
    ar_ll_model_free(mdl);
    ar_ll_trainer_free(t);
    ar_free(ws);
    ar_free(bs);
    ar_free(z);
    ar_free(col);
    ar_free(order);
    ar_free(best);
    ar_free(best_l);
    ar_free(loss);
    ar_free(wsum);
    ar_free(train_loss);
    fvec_free(&sc);
    fvec_free(&lab);
    fvec_free(&wts);
    return rc;
}
