/* k-means training as SageMaker's kmeans:1 ("AWS/KMeansWebscale"): K = k x extra_center_factor
 * centres chosen from the first mini-batch, streaming mini-batch updates over `epochs` passes,
 * then a local Lloyd reduction K -> k on the centres weighted by the points they absorbed.
 * Metrics are logged in the container's formats and reported through the training context.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "algorithms/kmeans/kmeans.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/reduce.h"
#include "core/timer.h"

/* Shortest "%.{15,16,17}g" text that reads back to v (python's repr for these values). */
static void fmt_double(char *buf, size_t size, double v)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

static int check_width(const struct ar_batch *b, size_t dim, const char *channel)
{
    if (b->is_sparse ? b->n_cols <= dim : b->n_cols == dim)
        return AR_OK;
    return ar_err_set(AR_ERR_FORMAT,
                      "channel '%s': records have %zu features but feature_dim is %zu", channel,
                      b->n_cols, dim);
}

/* Neumaier sum of n doubles in order. */
static double sum_ordered(const double *v, size_t n)
{
    double s = 0, comp = 0;
    for (size_t i = 0; i < n; i++) {
        double t = s + v[i];
        comp += fabs(s) >= fabs(v[i]) ? (s - t) + v[i] : (v[i] - t) + s;
        s = t;
    }
    return s + comp;
}

/* One pass over `src` scoring every record against the final centres: total squared distance
 * and record count, summed across processes. */
static int score_source(const struct ar_km_model *m, struct ar_batch_source *src, size_t batch,
                        const char *channel, double *ssd, double *count)
{
    struct ar_km_centres cs;
    AR_TRY(ar_km_centres_init(&cs, m->centres, m->k, m->dim));
    uint32_t *assign = ar_allocn(batch, sizeof *assign);
    double *d2 = ar_allocn(batch, sizeof *d2);
    double acc[2] = {0, 0};
    int rc = assign && d2 ? AR_OK : AR_ERR_NOMEM;
    while (rc == AR_OK) {
        struct ar_batch b;
        rc = ar_batch_source_next(src, batch, &b);
        if (rc != AR_OK || b.n_rows == 0)
            break;
        rc = check_width(&b, m->dim, channel);
        if (rc == AR_OK)
            rc = ar_km_assign(&cs, &b, assign, d2);
        if (rc == AR_OK) {
            acc[0] += sum_ordered(d2, b.n_rows);
            acc[1] += (double)b.n_rows;
        }
    }
    if (rc == AR_OK)
        rc = ar_reduce_sum_f64(acc, 2);
    *ssd = acc[0];
    *count = acc[1];
    ar_km_centres_release(&cs);
    ar_free(assign);
    ar_free(d2);
    return rc;
}

struct stream_state {
    size_t big_k, dim, batch;
    float *centres;   /* big_k x dim */
    double *weight;   /* points absorbed per centre (decayed with half_life_time_size) */
    double *sums;     /* big_k x dim, per batch */
    double *counts;   /* big_k, per batch */
    uint32_t *assign; /* batch */
    double *d2;       /* batch */
};

static void stream_release(struct stream_state *s)
{
    ar_free(s->centres);
    ar_free(s->weight);
    ar_free(s->sums);
    ar_free(s->counts);
    ar_free(s->assign);
    ar_free(s->d2);
}

/* Assigns one mini-batch to the current centres and applies the streaming update. Adds the
 * batch's squared distances (to the centres before the update) to *loss. */
static int stream_batch(struct stream_state *s, const struct ar_batch *b, int64_t half_life,
                        double *loss)
{
    struct ar_km_centres cs;
    AR_TRY(ar_km_centres_init(&cs, s->centres, s->big_k, s->dim));
    int rc = ar_km_assign(&cs, b, s->assign, s->d2);
    ar_km_centres_release(&cs);
    if (rc != AR_OK)
        return rc;
    *loss += sum_ordered(s->d2, b->n_rows);
    memset(s->sums, 0, s->big_k * s->dim * sizeof *s->sums);
    memset(s->counts, 0, s->big_k * sizeof *s->counts);
    AR_TRY(ar_km_accumulate(b, NULL, s->assign, s->big_k, s->dim, s->sums, s->counts));
    AR_TRY(ar_reduce_sum_f64(s->sums, s->big_k * s->dim));
    AR_TRY(ar_reduce_sum_f64(s->counts, s->big_k));
    ar_km_stream_update(s->centres, s->weight, s->sums, s->counts, s->big_k, s->dim, half_life);
    return AR_OK;
}

int ar_km_train_sources(const struct ar_km_params *p, struct ar_batch_source *train,
                        bool rescan_train, struct ar_batch_source *test,
                        const struct ar_train_ctx *ctx, struct ar_km_model **out)
{
    *out = NULL;
    unsigned metrics;
    AR_TRY(ar_km_params_validate(p));
    AR_TRY(ar_km_parse_eval_metrics(p->eval_metrics, &metrics));
    struct ar_timer total_timer;
    ar_timer_start(&total_timer);
    const size_t k = (size_t)p->k, dim = (size_t)p->feature_dim;
    const size_t batch = (size_t)p->mini_batch_size;
    struct stream_state s;
    memset(&s, 0, sizeof s);
    struct ar_km_model *model = NULL;
    char num[40];
    int rc;

    struct ar_batch b;
    rc = ar_batch_source_next(train, batch, &b);
    if (rc != AR_OK)
        goto fail;
    if (b.n_rows == 0) {
        rc = ar_err_set(AR_ERR_INVALID, "channel 'train': no records to train on");
        goto fail;
    }
    if ((rc = check_width(&b, dim, "train")) != AR_OK)
        goto fail;
    size_t n0 = b.n_rows;
    if (n0 < batch)
        AR_WARN("Batch size %zu is bigger than the first batch data. Effective batch size used "
                "to initialize is %zu",
                batch, n0);
    if (n0 < k) {
        rc = ar_err_set(AR_ERR_INVALID,
                        "channel 'train': the first mini-batch has %zu records, fewer than k = %zu "
                        "(need at least k records to choose the initial centres)",
                        n0, k);
        goto fail;
    }
    size_t factor;
    if (p->extra_center_factor_auto) {
        factor = n0 / k < AR_KM_AUTO_CENTER_FACTOR ? n0 / k : AR_KM_AUTO_CENTER_FACTOR;
        AR_INFO("'extra_center_factor' was set to 'auto', evaluated to %zu.", factor);
    } else {
        factor = (size_t)p->extra_center_factor;
    }
    s.big_k = k * factor;
    if (s.big_k > n0) {
        AR_WARN("k x extra_center_factor = %zu centres exceed the %zu records of the first "
                "mini-batch; using %zu centres",
                s.big_k, n0, n0);
        s.big_k = n0;
    }
    s.dim = dim;
    s.batch = batch;
    s.centres = ar_allocn(s.big_k * dim, sizeof *s.centres);
    s.weight = ar_callocn(s.big_k, sizeof *s.weight);
    s.sums = ar_allocn(s.big_k * dim, sizeof *s.sums);
    s.counts = ar_allocn(s.big_k, sizeof *s.counts);
    s.assign = ar_allocn(batch < n0 ? n0 : batch, sizeof *s.assign);
    s.d2 = ar_allocn(batch < n0 ? n0 : batch, sizeof *s.d2);
    if (!s.centres || !s.weight || !s.sums || !s.counts || !s.assign || !s.d2) {
        rc = AR_ERR_NOMEM;
        goto fail;
    }
    struct ar_timer t;
    ar_timer_start(&t);
    rc = ar_km_init_centres(&b, NULL, s.big_k, dim,
                            p->init_method == AR_KM_INIT_KMEANSPP ? AR_KM_INIT_KMEANSPP
                                                                  : AR_KM_INIT_RANDOM,
                            (uint64_t)p->seed, 0, s.centres);
    if (rc != AR_OK)
        goto fail;
    AR_INFO("initialized %zu centers with %s in %.3f s", s.big_k,
            p->init_method == AR_KM_INIT_KMEANSPP ? "kmeans++" : "random", ar_timer_elapsed(&t));

    /* Streaming passes. */
    struct ar_timer train_timer;
    ar_timer_start(&train_timer);
    double records = 0, loss[2] = {0, 0}; /* last epoch: squared-distance sum, records */
    bool stopped = false;
    for (int64_t epoch = 0; epoch < p->epochs; epoch++) {
        if (epoch > 0) {
            if ((rc = ar_batch_source_reset(train)) != AR_OK)
                goto fail;
            if ((rc = ar_batch_source_next(train, batch, &b)) != AR_OK)
                goto fail;
        }
        loss[0] = loss[1] = 0;
        while (b.n_rows > 0) {
            if ((rc = check_width(&b, dim, "train")) != AR_OK)
                goto fail;
            if ((rc = stream_batch(&s, &b, p->half_life_time_size, &loss[0])) != AR_OK)
                goto fail;
            loss[1] += (double)b.n_rows;
            if (ar_train_ctx_stopping(ctx)) {
                /* The contract: stop at a batch boundary and keep the model trained so far. */
                AR_INFO("stop requested: reducing the centres after %.0f records of epoch %lld",
                        loss[1], (long long)epoch + 1);
                stopped = true;
                break;
            }
            if ((rc = ar_batch_source_next(train, batch, &b)) != AR_OK)
                goto fail;
        }
        records += loss[1];
        if (stopped)
            break;
        AR_INFO("#progress_metric: host=%s, completed %.1f %% of epochs", ar_log_host(),
                100.0 * (double)(epoch + 1) / (double)p->epochs);
    }
    double train_time = ar_timer_elapsed(&train_timer);
    double rec_all = records;
    if ((rc = ar_reduce_sum_f64(loss, 2)) != AR_OK || (rc = ar_reduce_sum_f64(&rec_all, 1)) != 0)
        goto fail;

    /* Reduction K -> k. */
    double shrink_msd = 0;
    if ((rc = ar_km_model_new(k, dim, &model)) != AR_OK)
        goto fail;
    if (s.big_k > k) {
        AR_INFO("shrinking %zu centers into %zu", s.big_k, k);
        ar_timer_start(&t);
        /* Centres that absorbed no point get no weight; if fewer than k did, the unused ones
         * make up the rest (ar_km_init_centres falls back to weight-0 rows). */
        struct ar_km_lloyd_opts lo = {
            k,
            p->local_lloyd_max_iter,
            p->local_lloyd_tol,
            p->local_lloyd_init_method == AR_KM_INIT_RANDOM ? AR_KM_INIT_RANDOM
                                                            : AR_KM_INIT_KMEANSPP,
            p->local_lloyd_num_trials_auto ? AR_KM_AUTO_NUM_TRIALS : p->local_lloyd_num_trials,
            (uint64_t)p->seed,
        };
        rc = ar_km_lloyd(s.centres, s.weight, s.big_k, dim, &lo, model->centres, &shrink_msd);
        if (rc != AR_OK)
            goto fail;
        fmt_double(num, sizeof num, shrink_msd);
        AR_INFO("finished shrinking process. Mean Square Distance = %s (%.3f s)", num,
                ar_timer_elapsed(&t));
    } else {
        memcpy(model->centres, s.centres, k * dim * sizeof *model->centres);
    }

    /* train msd: the training records against the final centres, by one more pass when the
     * source can be re-read; otherwise (Pipe mode) estimated from the last epoch as the
     * streaming loss plus the reduction loss (within-centre + between-centre parts). */
    double train_msd = loss[1] > 0 ? loss[0] / loss[1] + shrink_msd : 0;
    if (rescan_train) {
        double ssd, cnt;
        if ((rc = ar_batch_source_reset(train)) != AR_OK ||
            (rc = score_source(model, train, batch, "train", &ssd, &cnt)) != AR_OK)
            goto fail;
        train_msd = cnt > 0 ? ssd / cnt : 0;
    }
    fmt_double(num, sizeof num, train_msd);
    AR_INFO("#quality_metric: host=%s, train msd <loss>=%s", ar_log_host(), num);
    ar_train_ctx_metric(ctx, "train", "msd", train_msd, -1);

    if (test) {
        double ssd, cnt;
        if ((rc = score_source(model, test, batch, "test", &ssd, &cnt)) != AR_OK)
            goto fail;
        if (cnt == 0) {
            AR_WARN("channel 'test' has no records; no test metrics");
        } else {
            if (metrics & AR_KM_METRIC_MSD) {
                fmt_double(num, sizeof num, ssd / cnt);
                AR_INFO("#quality_metric: host=%s, test msd <loss>=%s", ar_log_host(), num);
                ar_train_ctx_metric(ctx, "test", "msd", ssd / cnt, -1);
            }
            if (metrics & AR_KM_METRIC_SSD) {
                fmt_double(num, sizeof num, ssd);
                AR_INFO("#quality_metric: host=%s, test ssd <loss>=%s", ar_log_host(), num);
                ar_train_ctx_metric(ctx, "test", "ssd", ssd, -1);
            }
        }
    } else {
        AR_INFO("Test data is not provided.");
    }
    AR_INFO("#throughput_metric: host=%s, train throughput=%.2f records/second", ar_log_host(),
            train_time > 0 ? rec_all / train_time : 0.0);
    AR_INFO("k-means finished in %.3f s", ar_timer_elapsed(&total_timer));
    stream_release(&s);
    *out = model;
    return AR_OK;
fail:
    stream_release(&s);
    ar_km_model_free(model);
    return rc;
}
