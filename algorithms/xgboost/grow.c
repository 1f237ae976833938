/* Growing one tree with the histogram method, in the order XGBoost 1.7's hist updater uses
 * (QuantileHistMaker::Builder::ExpandTree with its Driver): depthwise expands the nodes of a
 * level in node-id order (batches of 256), lossguide the open leaf with the largest loss change
 * (ties: smaller node id) until the best one is not worth splitting.
 *
 * A node's rows are one contiguous range of `rows` with their gradient pairs gathered in the
 * same order; a split partitions the range stably (left rows first). Only the child with the
 * smaller hessian sum gets its histogram built from rows; its sibling is parent minus child.
 * Work over several nodes runs one node per thread (nodes are ragged: dynamic schedule); a
 * large node's histogram or partition uses every thread over contiguous row slices. Every
 * result is independent of scheduling, so the same seed and thread count give the same tree.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "algorithms/xgboost/gbt.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/par.h"

#define RT_EPS          1e-6f
#define NODE_BATCH      256
#define PAR_NODE_ROWS   32768 /* a node at least this big is processed with all threads */
#define HIST_NODE_SMALL 4096  /* nodes below this are built one per thread */

struct wnode {
    size_t begin, end;
    double g, h;
    struct ar_gbt_bounds bd;
    int hist; /* histogram buffer index, -1 when none */
    int depth;
    bool has_split;
    struct ar_gbt_split split;
};

struct ar_gbt_grower {
    const struct ar_gbt_config *cfg;
    const struct ar_gbt_cuts *cuts;
    const struct ar_gbt_binmat *b;
    struct ar_gbt_tparam tp;
    int nt;
    size_t slots, n_rows, nf;
    uint32_t *rows, *tmp_rows;
    float *gh, *tmp_gh;
    double *scratch;
    int8_t *mono; /* n_features or NULL */
    /* histogram buffers */
    double **hbuf;
    int n_hbuf, cap_hbuf;
    int *hfree;
    int n_hfree;
    /* per tree */
    struct wnode *wn;
    size_t cap_wn;
    struct ar_gbt_node *tn;
    size_t n_tn, cap_tn;
    uint32_t *level_feats; /* (max depth seen + 1) x nf */
    uint32_t *level_n;
    int level_cap;
    uint32_t *node_feats; /* NODE_BATCH * 2 x nf */
    size_t *cand;         /* open candidates (node ids) */
    size_t n_cand, cap_cand;
    float *resid; /* n_rows, absolute-error leaf update */
    uint32_t *order;
};

void ar_gbt_grower_free(struct ar_gbt_grower *g)
{
    if (!g)
        return;
    ar_free(g->rows);
    ar_free(g->tmp_rows);
    ar_free(g->gh);
    ar_free(g->tmp_gh);
    ar_free(g->scratch);
    ar_free(g->mono);
    for (int i = 0; i < g->n_hbuf; i++)
        ar_free(g->hbuf[i]);
    ar_free(g->hbuf);
    ar_free(g->hfree);
    ar_free(g->wn);
    ar_free(g->tn);
    ar_free(g->level_feats);
    ar_free(g->level_n);
    ar_free(g->node_feats);
    ar_free(g->cand);
    ar_free(g->resid);
    ar_free(g->order);
    ar_free(g);
}

int ar_gbt_grower_new(const struct ar_gbt_config *cfg, const struct ar_gbt_cuts *cuts,
                      const struct ar_gbt_binmat *b, struct ar_gbt_grower **out)
{
    *out = NULL;
    struct ar_gbt_grower *g = ar_callocn(1, sizeof *g);
    if (!g)
        return AR_ERR_NOMEM;
    g->cfg = cfg;
    g->cuts = cuts;
    g->b = b;
    g->tp.eta = (double)cfg->eta;
    g->tp.gamma = (double)cfg->gamma;
    g->tp.min_child_weight = (double)cfg->min_child_weight;
    g->tp.max_delta_step = (double)cfg->max_delta_step;
    g->tp.lambda = (double)cfg->lambda;
    g->tp.alpha = (double)cfg->alpha;
    g->nt = cfg->n_threads > 0 ? cfg->n_threads : ar_par_threads();
    g->n_rows = b->n_rows;
    g->nf = b->n_features;
    g->slots = b->hist_off[g->nf];
    size_t nr = g->n_rows ? g->n_rows : 1, nf = g->nf ? g->nf : 1;
    g->rows = ar_allocn(nr, sizeof *g->rows);
    g->tmp_rows = ar_allocn(nr, sizeof *g->tmp_rows);
    g->gh = ar_allocn(nr, 2 * sizeof *g->gh);
    g->tmp_gh = ar_allocn(nr, 2 * sizeof *g->tmp_gh);
    g->scratch = ar_allocn((size_t)g->nt * 2 * (g->slots ? g->slots : 1), sizeof *g->scratch);
    g->node_feats = ar_allocn((size_t)2 * NODE_BATCH * nf, sizeof *g->node_feats);
    g->resid = ar_allocn(nr, sizeof *g->resid);
    g->order = ar_allocn(nr, sizeof *g->order);
    if (!g->rows || !g->tmp_rows || !g->gh || !g->tmp_gh || !g->scratch || !g->node_feats ||
        !g->resid || !g->order)
        goto nomem;
    ar_gbt_advise_huge(g->rows, nr * sizeof *g->rows);
    ar_gbt_advise_huge(g->tmp_rows, nr * sizeof *g->tmp_rows);
    ar_gbt_advise_huge(g->gh, nr * 2 * sizeof *g->gh);
    ar_gbt_advise_huge(g->tmp_gh, nr * 2 * sizeof *g->tmp_gh);
    if (cfg->monotone) {
        g->mono = ar_callocn(nf, sizeof *g->mono);
        if (!g->mono)
            goto nomem;
        for (size_t f = 0; f < g->nf && f < cfg->n_monotone; f++)
            g->mono[f] = cfg->monotone[f];
    }
    *out = g;
    return AR_OK;
nomem:
    ar_gbt_grower_free(g);
    return AR_ERR_NOMEM;
}

/* ---- small helpers ---- */

static int hist_get(struct ar_gbt_grower *g)
{
    if (g->n_hfree > 0)
        return g->hfree[--g->n_hfree];
    if (g->n_hbuf == g->cap_hbuf) {
        int cap = g->cap_hbuf ? 2 * g->cap_hbuf : 16;
        double **nb =
            ar_reallocn(g->hbuf, (size_t)g->cap_hbuf * sizeof *nb, (size_t)cap, sizeof *nb);
        if (!nb)
            return -1;
        g->hbuf = nb;
        int *nf = ar_reallocn(g->hfree, (size_t)g->cap_hbuf * sizeof *nf, (size_t)cap, sizeof *nf);
        if (!nf)
            return -1;
        g->hfree = nf;
        g->cap_hbuf = cap;
    }
    double *h = ar_allocn(2 * (g->slots ? g->slots : 1), sizeof *h);
    if (!h)
        return -1;
    g->hbuf[g->n_hbuf] = h;
    return g->n_hbuf++;
}

static void hist_put(struct ar_gbt_grower *g, int idx)
{
    if (idx >= 0)
        g->hfree[g->n_hfree++] = idx;
}

static int tree_alloc(struct ar_gbt_grower *g, size_t *out)
{
    if (g->n_tn == g->cap_tn) {
        size_t cap = g->cap_tn ? 2 * g->cap_tn : 64;
        struct ar_gbt_node *nt = ar_reallocn(g->tn, g->cap_tn * sizeof *nt, cap, sizeof *nt);
        if (!nt)
            return AR_ERR_NOMEM;
        g->tn = nt;
        struct wnode *nw = ar_reallocn(g->wn, g->cap_tn * sizeof *nw, cap, sizeof *nw);
        if (!nw)
            return AR_ERR_NOMEM;
        g->wn = nw;
        g->cap_tn = cap;
    }
    size_t id = g->n_tn++;
    memset(&g->tn[id], 0, sizeof g->tn[id]);
    g->tn[id].left = g->tn[id].right = g->tn[id].parent = -1;
    memset(&g->wn[id], 0, sizeof g->wn[id]);
    g->wn[id].hist = -1;
    *out = id;
    return AR_OK;
}

static int cand_push(struct ar_gbt_grower *g, size_t nid)
{
    if (g->n_cand == g->cap_cand) {
        size_t cap = g->cap_cand ? 2 * g->cap_cand : 64;
        size_t *nc = ar_reallocn(g->cand, g->cap_cand * sizeof *nc, cap, sizeof *nc);
        if (!nc)
            return AR_ERR_NOMEM;
        g->cand = nc;
        g->cap_cand = cap;
    }
    g->cand[g->n_cand++] = nid;
    return AR_OK;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* XGBoost's ColSample: max(1, (int)(frac * n)) features drawn without replacement, sorted. */
static size_t sample_features(struct ar_rng *rng, const uint32_t *in, size_t n, float frac,
                              uint32_t *out)
{
    memcpy(out, in, n * sizeof *out);
    if (frac >= 1.0f || n == 0)
        return n;
    size_t k = (size_t)(int)(frac * (float)n);
    if (k < 1)
        k = 1;
    for (size_t i = 0; i < k; i++) {
        size_t j = i + (size_t)ar_rng_below(rng, n - i);
        uint32_t t = out[i];
        out[i] = out[j];
        out[j] = t;
    }
    qsort(out, k, sizeof *out, cmp_u32);
    return k;
}

static inline bool goes_left(const struct ar_gbt_binmat *b, const struct ar_gbt_cuts *cuts,
                             uint32_t row, uint32_t f, int32_t bin, bool dl)
{
    uint32_t code = ar_gbt_binmat_get(b, row, f);
    if (code == cuts->ptr[f + 1] - cuts->ptr[f])
        return dl;
    return (int32_t)code <= bin;
}

/* One pass over rows[a..z) (gradient pairs gh alongside) splitting on feature f: left rows go
 * to trows[a..a+nl) in order, right rows to trows[z-1], trows[z-2], ... (reversed), with their
 * pairs at the same places in tgh; returns nl. A row goes left when its code is <= bin, or is
 * the missing code nb and dl is set. Both destinations are written every row and the cursors
 * advance by the outcome, so there is no data-dependent branch. */
static size_t partition_pass(const struct ar_gbt_binmat *b, uint32_t f, uint32_t nb, int32_t bin,
                             bool dl, const uint32_t *restrict rows, const float *restrict gh,
                             size_t a, size_t z, uint32_t *restrict trows, float *restrict tgh)
{
    const size_t nr = b->n_rows;
    const uint32_t miss_left = dl ? nb : UINT32_MAX;
    size_t li = a, ri = z;
    if (b->width == 1) {
        const uint8_t *c = (const uint8_t *)b->col_codes + (size_t)f * nr;
        for (size_t i = a; i < z; i++) {
            const uint32_t r = rows[i];
            const uint32_t code = c[r];
            const size_t left = ((int32_t)code <= bin) | (code == miss_left);
            uint64_t pair;
            memcpy(&pair, gh + 2 * i, sizeof pair);
            trows[li] = r;
            memcpy(tgh + 2 * li, &pair, sizeof pair);
            trows[ri - 1] = r;
            memcpy(tgh + 2 * (ri - 1), &pair, sizeof pair);
            li += left;
            ri -= 1 - left;
        }
    } else {
        const uint16_t *c = (const uint16_t *)b->col_codes + (size_t)f * nr;
        for (size_t i = a; i < z; i++) {
            const uint32_t r = rows[i];
            const uint32_t code = c[r];
            const size_t left = ((int32_t)code <= bin) | (code == miss_left);
            uint64_t pair;
            memcpy(&pair, gh + 2 * i, sizeof pair);
            trows[li] = r;
            memcpy(tgh + 2 * li, &pair, sizeof pair);
            trows[ri - 1] = r;
            memcpy(tgh + 2 * (ri - 1), &pair, sizeof pair);
            li += left;
            ri -= 1 - left;
        }
    }
    return li - a;
}

/* Copies a partitioned slice back: its left rows trows[a..a+nl) to rows[dl0..), its reversed
 * right rows to rows[dr0..) in their original order. */
static void partition_place(const uint32_t *restrict trows, const float *restrict tgh, size_t a,
                            size_t z, size_t nl, size_t dl0, size_t dr0, uint32_t *restrict rows,
                            float *restrict gh)
{
    memcpy(rows + dl0, trows + a, nl * sizeof *rows);
    memcpy(gh + 2 * dl0, tgh + 2 * a, 2 * nl * sizeof *gh);
    const size_t nr = z - a - nl;
    for (size_t j = 0; j < nr; j++) {
        rows[dr0 + j] = trows[z - 1 - j];
        memcpy(gh + 2 * (dr0 + j), tgh + 2 * (z - 1 - j), 2 * sizeof *gh);
    }
}

/* Stable partition of the range [lo, hi) on (f, bin, dl); returns the number of left rows.
 * One thread (called inside a region or for small nodes). */
static size_t partition_serial(struct ar_gbt_grower *g, size_t lo, size_t hi, uint32_t f,
                               int32_t bin, bool dl)
{
    const uint32_t nb = g->cuts->ptr[f + 1] - g->cuts->ptr[f];
    size_t nl =
        partition_pass(g->b, f, nb, bin, dl, g->rows, g->gh, lo, hi, g->tmp_rows, g->tmp_gh);
    partition_place(g->tmp_rows, g->tmp_gh, lo, hi, nl, lo, lo + nl, g->rows, g->gh);
    return nl;
}

/* The same with every thread over contiguous slices; each slice's left and right rows are
 * placed after those of the slices before it, so the result equals the serial one. */
static size_t partition_parallel(struct ar_gbt_grower *g, size_t lo, size_t hi, uint32_t f,
                                 int32_t bin, bool dl)
{
    size_t counts[4097];
    int nt = g->nt > 4096 ? 4096 : g->nt;
    const uint32_t nb = g->cuts->ptr[f + 1] - g->cuts->ptr[f];
    size_t n = hi - lo, total_left = 0;
#pragma omp parallel num_threads(nt)
    {
        int tid = ar_par_tid(), nth = ar_par_region_size();
        size_t a, z;
        ar_par_range(n, tid, nth, &a, &z);
        a += lo;
        z += lo;
        size_t nl =
            partition_pass(g->b, f, nb, bin, dl, g->rows, g->gh, a, z, g->tmp_rows, g->tmp_gh);
        counts[tid] = nl;
#pragma omp barrier
#pragma omp single
        {
            size_t s = 0;
            for (int t = 0; t < nth; t++) {
                size_t cc = counts[t];
                counts[t] = s;
                s += cc;
            }
            total_left = s;
        }
        size_t dl0 = lo + counts[tid];
        size_t dr0 = lo + total_left + (a - lo - counts[tid]);
        partition_place(g->tmp_rows, g->tmp_gh, a, z, nl, dl0, dr0, g->rows, g->gh);
    }
    return total_left;
}

/* XGBoost's Quantile / WeightedQuantile (alpha 0.5) of resid[0..n) (weights w or NULL). */
static float leaf_quantile(float *resid, const float *w, uint32_t *order, size_t n, float *wcdf)
{
    if (n == 0)
        return NAN;
    for (size_t i = 0; i < n; i++)
        order[i] = (uint32_t)i;
    /* stable sort of indices by value: insertion for small, merge via qsort on pairs */
    for (size_t i = 1; i < n; i++) { /* binary insertion keeps stability */
        uint32_t v = order[i];
        size_t lo = 0, hi = i;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (resid[order[mid]] <= resid[v])
                lo = mid + 1;
            else
                hi = mid;
        }
        memmove(order + lo + 1, order + lo, (i - lo) * sizeof *order);
        order[lo] = v;
    }
    const double alpha = 0.5;
    if (!w) {
        double dn = (double)n;
        if (alpha <= 1.0 / (dn + 1))
            return resid[order[0]];
        if (alpha >= dn / (dn + 1))
            return resid[order[n - 1]];
        double x = alpha * (dn + 1);
        double k = floor(x) - 1;
        double d = (x - 1) - k;
        float v0 = resid[order[(size_t)k]], v1 = resid[order[(size_t)k + 1]];
        return (float)((double)v0 + d * (double)(v1 - v0));
    }
    wcdf[0] = w[order[0]];
    for (size_t i = 1; i < n; i++)
        wcdf[i] = wcdf[i - 1] + w[order[i]];
    float thresh = (float)((double)wcdf[n - 1] * alpha);
    size_t idx = 0;
    while (idx < n && wcdf[idx] < thresh)
        idx++;
    if (idx > n - 1)
        idx = n - 1;
    return resid[order[idx]];
}

/* ---- the tree ---- */

/* Interaction constraints (XGBoost's rule): a node may split on the features of every
 * constraint set that holds all the features split on along its path; a path using a feature
 * of no set, or features of no common set, allows nothing. Filters feats[0..n) in place. */
static size_t interaction_filter(const struct ar_gbt_grower *g, size_t nid, uint32_t *feats,
                                 size_t n)
{
    const struct ar_gbt_config *cfg = g->cfg;
    uint32_t path[64];
    size_t np = 0;
    for (int32_t a = g->tn[nid].parent; a >= 0 && np < 64; a = g->tn[a].parent) {
        uint32_t f = g->tn[a].feature;
        size_t i = 0;
        while (i < np && path[i] != f)
            i++;
        if (i == np)
            path[np++] = f;
    }
    if (np == 0)
        return n;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        bool ok = false;
        for (size_t s = 0; s < cfg->n_ic_sets && !ok; s++) {
            const uint32_t *set = cfg->ic_feat + cfg->ic_ptr[s];
            size_t len = cfg->ic_ptr[s + 1] - cfg->ic_ptr[s];
            bool has_f = false;
            size_t covered = 0;
            for (size_t j = 0; j < len; j++) {
                has_f |= set[j] == feats[i];
                for (size_t q = 0; q < np; q++)
                    covered += set[j] == path[q];
            }
            ok = has_f && covered == np;
        }
        if (ok)
            feats[kept++] = feats[i];
    }
    return kept;
}

static int eval_nodes(struct ar_gbt_grower *g, const size_t *nids, size_t n, struct ar_rng *rng,
                      const uint32_t *feats, size_t n_feats)
{
    const struct ar_gbt_config *cfg = g->cfg;
    size_t nf = g->nf ? g->nf : 1;
    size_t cnt_local[2 * NODE_BATCH];
    /* feature sets, sampled serially in node order */
    for (size_t k = 0; k < n; k++) {
        struct wnode *w = &g->wn[nids[k]];
        int d = w->depth;
        if (d >= g->level_cap) {
            int cap = d + 8;
            uint32_t *lf = ar_reallocn(g->level_feats, (size_t)g->level_cap * nf * sizeof *lf,
                                       (size_t)cap * nf, sizeof *lf);
            if (!lf)
                return AR_ERR_NOMEM;
            g->level_feats = lf;
            uint32_t *ln =
                ar_reallocn(g->level_n, (size_t)g->level_cap * sizeof *ln, (size_t)cap, sizeof *ln);
            if (!ln)
                return AR_ERR_NOMEM;
            for (int i = g->level_cap; i < cap; i++)
                ln[i] = UINT32_MAX;
            g->level_n = ln;
            g->level_cap = cap;
        }
        uint32_t *lvl = g->level_feats + (size_t)d * nf;
        if (g->level_n[d] == UINT32_MAX)
            g->level_n[d] =
                (uint32_t)sample_features(rng, feats, n_feats, cfg->colsample_bylevel, lvl);
        cnt_local[k] =
            sample_features(rng, lvl, g->level_n[d], cfg->colsample_bynode, g->node_feats + k * nf);
        if (cfg->n_ic_sets)
            cnt_local[k] = interaction_filter(g, nids[k], g->node_feats + k * nf, cnt_local[k]);
    }
    const int8_t *mono = g->mono;
    const bool par = n > 1 && (size_t)n * n_feats * 64 >= 65536;
#pragma omp parallel for num_threads(g->nt) schedule(dynamic, 1) if (par)
    for (size_t k = 0; k < n; k++) {
        struct wnode *w = &g->wn[nids[k]];
        ar_gbt_split_find(&g->tp, g->cuts, g->b, g->hbuf[w->hist], w->g, w->h,
                          g->node_feats + k * nf, cnt_local[k], mono, w->bd, &w->split,
                          &w->has_split);
    }
    return AR_OK;
}

static bool entry_valid(const struct ar_gbt_grower *g, const struct wnode *w, int num_leaves)
{
    const struct ar_gbt_config *cfg = g->cfg;
    if (!w->has_split || w->split.loss_chg <= RT_EPS)
        return false;
    if (w->split.lh == 0.0 || w->split.rh == 0.0)
        return false;
    if (w->split.loss_chg < cfg->gamma)
        return false;
    if (cfg->max_depth > 0 && w->depth == cfg->max_depth)
        return false;
    if (cfg->max_leaves > 0 && num_leaves == cfg->max_leaves)
        return false;
    return true;
}

static bool child_valid(const struct ar_gbt_config *cfg, int depth, int num_leaves)
{
    if (cfg->max_depth > 0 && depth >= cfg->max_depth)
        return false;
    if (cfg->max_leaves > 0 && num_leaves >= cfg->max_leaves)
        return false;
    return true;
}

/* Pops the next set of nodes to expand into out (node ids); returns the count. */
static size_t driver_pop(struct ar_gbt_grower *g, int *num_leaves, size_t *out)
{
    if (g->n_cand == 0)
        return 0;
    if (g->cfg->grow == AR_GBT_GROW_LOSSGUIDE) {
        size_t best = 0;
        for (size_t i = 1; i < g->n_cand; i++) {
            const struct wnode *a = &g->wn[g->cand[i]], *b = &g->wn[g->cand[best]];
            float la = a->has_split ? a->split.loss_chg : 0.0f;
            float lb = b->has_split ? b->split.loss_chg : 0.0f;
            if (la > lb || (la == lb && g->cand[i] < g->cand[best]))
                best = i;
        }
        size_t nid = g->cand[best];
        g->cand[best] = g->cand[--g->n_cand];
        if (entry_valid(g, &g->wn[nid], *num_leaves)) {
            (*num_leaves)++;
            out[0] = nid;
            return 1;
        }
        return 0;
    }
    /* depthwise: the smallest node ids of the smallest depth, at most NODE_BATCH */
    qsort(g->cand, g->n_cand, sizeof *g->cand, cmp_size);
    int level = g->wn[g->cand[0]].depth;
    size_t taken = 0, m = 0;
    while (taken < g->n_cand && taken < NODE_BATCH && g->wn[g->cand[taken]].depth == level) {
        size_t nid = g->cand[taken++];
        if (entry_valid(g, &g->wn[nid], *num_leaves)) {
            (*num_leaves)++;
            out[m++] = nid;
        }
    }
    memmove(g->cand, g->cand + taken, (g->n_cand - taken) * sizeof *g->cand);
    g->n_cand -= taken;
    return m;
}

static void set_child_bounds(struct ar_gbt_grower *g, size_t nid, size_t l, size_t r, float lw,
                             float rw)
{
    g->wn[l].bd = g->wn[nid].bd;
    g->wn[r].bd = g->wn[nid].bd;
    if (!g->mono)
        return;
    int c = g->mono[g->wn[nid].split.feature];
    float mid = (lw + rw) / 2;
    if (c < 0) {
        g->wn[l].bd.lower = mid;
        g->wn[r].bd.upper = mid;
    } else if (c > 0) {
        g->wn[l].bd.upper = mid;
        g->wn[r].bd.lower = mid;
    }
}

int ar_gbt_grower_grow(struct ar_gbt_grower *g, const float *gh_all, const uint32_t *rows_in,
                       size_t n, const uint32_t *feats, size_t n_feats, struct ar_rng *rng,
                       const float *labels, const float *weights, const float *margin, int group,
                       int n_groups, struct ar_gbt_node **nodes, size_t *n_nodes, size_t *cap_nodes,
                       float *leaf_out)
{
    const struct ar_gbt_config *cfg = g->cfg;
    const float eta = cfg->eta;
    const bool constrained = g->mono != NULL;
    size_t expand[NODE_BATCH], valid[NODE_BATCH], evalset[2 * NODE_BATCH];
    int rc;
    g->n_tn = 0;
    g->n_cand = 0;
    g->n_hfree = 0;
    for (int i = g->n_hbuf; i-- > 0;)
        g->hfree[g->n_hfree++] = i;
    for (int i = 0; i < g->level_cap; i++)
        g->level_n[i] = UINT32_MAX;

    double sg = 0.0, sh = 0.0;
    for (size_t i = 0; i < n; i++) {
        size_t src = 2 * ((size_t)rows_in[i] * (size_t)n_groups + (size_t)group);
        g->rows[i] = rows_in[i];
        g->gh[2 * i] = gh_all[src];
        g->gh[2 * i + 1] = gh_all[src + 1];
        sg += (double)gh_all[src];
        sh += (double)gh_all[src + 1];
    }
    size_t root;
    if ((rc = tree_alloc(g, &root)) != AR_OK)
        return rc;
    g->wn[root].begin = 0;
    g->wn[root].end = n;
    g->wn[root].g = sg;
    g->wn[root].h = sh;
    g->wn[root].bd.lower = -INFINITY;
    g->wn[root].bd.upper = INFINITY;
    g->wn[root].depth = 0;
    float w0 = ar_gbt_bounded_weight(&g->tp, g->wn[root].bd, sg, sh, constrained);
    g->tn[root].cond = eta * w0;
    g->tn[root].base_weight = w0;
    g->tn[root].sum_hess = (float)sh;
    int hi = hist_get(g);
    if (hi < 0)
        return AR_ERR_NOMEM;
    g->wn[root].hist = hi;
    ar_gbt_hist_build(g->b, g->rows, g->gh, n, g->nt, g->scratch, g->hbuf[hi]);
    if ((rc = eval_nodes(g, &root, 1, rng, feats, n_feats)) != AR_OK)
        return rc;
    if ((rc = cand_push(g, root)) != AR_OK)
        return rc;

    int driver_leaves = 1, num_leaves = 1;
    for (;;) {
        size_t m = driver_pop(g, &driver_leaves, expand);
        if (m == 0)
            break;
        size_t n_valid = 0;
        int depth = g->wn[expand[0]].depth + 1;
        for (size_t k = 0; k < m; k++) {
            size_t nid = expand[k], l, r;
            if ((rc = tree_alloc(g, &l)) != AR_OK || (rc = tree_alloc(g, &r)) != AR_OK)
                return rc;
            struct wnode *w = &g->wn[nid];
            const struct ar_gbt_split *s = &w->split;
            double pg = s->lg + s->rg, ph = s->lh + s->rh;
            float bw = ar_gbt_bounded_weight(&g->tp, w->bd, pg, ph, constrained);
            float lw = ar_gbt_bounded_weight(&g->tp, w->bd, s->lg, s->lh, constrained);
            float rw = ar_gbt_bounded_weight(&g->tp, w->bd, s->rg, s->rh, constrained);
            struct ar_gbt_node *t = &g->tn[nid];
            t->left = (int32_t)l;
            t->right = (int32_t)r;
            t->feature = s->feature;
            t->cond = s->value;
            t->default_left = s->default_left;
            t->base_weight = bw;
            t->loss_chg = s->loss_chg;
            t->sum_hess = (float)ph;
            g->tn[l].parent = g->tn[r].parent = (int32_t)nid;
            g->tn[l].cond = g->tn[l].base_weight = lw * eta;
            g->tn[r].cond = g->tn[r].base_weight = rw * eta;
            g->tn[l].sum_hess = (float)s->lh;
            g->tn[r].sum_hess = (float)s->rh;
            g->wn[l].depth = g->wn[r].depth = depth;
            g->wn[l].g = s->lg;
            g->wn[l].h = s->lh;
            g->wn[r].g = s->rg;
            g->wn[r].h = s->rh;
            set_child_bounds(g, nid, l, r, lw, rw);
            num_leaves++;
            if (child_valid(cfg, depth, num_leaves))
                valid[n_valid++] = nid;
        }
        /* partition: big nodes with all threads, the rest one node per thread */
        for (size_t k = 0; k < m; k++) {
            struct wnode *w = &g->wn[expand[k]];
            if (w->end - w->begin >= PAR_NODE_ROWS && g->nt > 1) {
                size_t nl = partition_parallel(g, w->begin, w->end, w->split.feature, w->split.bin,
                                               w->split.default_left);
                size_t l = (size_t)g->tn[expand[k]].left, r = (size_t)g->tn[expand[k]].right;
                g->wn[l].begin = w->begin;
                g->wn[l].end = w->begin + nl;
                g->wn[r].begin = w->begin + nl;
                g->wn[r].end = w->end;
            }
        }
        size_t level_rows = 0;
        for (size_t k = 0; k < m; k++)
            level_rows += g->wn[expand[k]].end - g->wn[expand[k]].begin;
        const bool par_part = m > 1 && level_rows >= PAR_NODE_ROWS;
#pragma omp parallel for num_threads(g->nt) schedule(dynamic, 1) if (par_part)
        for (size_t k = 0; k < m; k++) {
            struct wnode *w = &g->wn[expand[k]];
            if (w->end - w->begin >= PAR_NODE_ROWS && g->nt > 1)
                continue;
            size_t nl = partition_serial(g, w->begin, w->end, w->split.feature, w->split.bin,
                                         w->split.default_left);
            size_t l = (size_t)g->tn[expand[k]].left, r = (size_t)g->tn[expand[k]].right;
            g->wn[l].begin = w->begin;
            g->wn[l].end = w->begin + nl;
            g->wn[r].begin = w->begin + nl;
            g->wn[r].end = w->end;
        }
        /* histograms of the children of valid nodes */
        size_t n_eval = 0;
        for (size_t k = 0; k < n_valid; k++) {
            size_t nid = valid[k];
            size_t l = (size_t)g->tn[nid].left, r = (size_t)g->tn[nid].right;
            int hl = hist_get(g), hr = hist_get(g);
            if (hl < 0 || hr < 0)
                return AR_ERR_NOMEM;
            g->wn[l].hist = hl;
            g->wn[r].hist = hr;
            evalset[n_eval++] = l;
            evalset[n_eval++] = r;
        }
        for (size_t k = 0; k < n_valid; k++) {
            size_t nid = valid[k];
            const struct wnode *w = &g->wn[nid];
            size_t build = (size_t)(w->split.rh < w->split.lh ? g->tn[nid].right : g->tn[nid].left);
            struct wnode *bw = &g->wn[build];
            if (bw->end - bw->begin >= HIST_NODE_SMALL)
                ar_gbt_hist_build(g->b, g->rows + bw->begin, g->gh + 2 * bw->begin,
                                  bw->end - bw->begin, g->nt, g->scratch, g->hbuf[bw->hist]);
        }
#pragma omp parallel for num_threads(g->nt) schedule(dynamic, 1) if (par_part && n_valid > 1)
        for (size_t k = 0; k < n_valid; k++) {
            size_t nid = valid[k];
            const struct wnode *w = &g->wn[nid];
            size_t build = (size_t)(w->split.rh < w->split.lh ? g->tn[nid].right : g->tn[nid].left);
            size_t sub = build == (size_t)g->tn[nid].left ? (size_t)g->tn[nid].right
                                                          : (size_t)g->tn[nid].left;
            struct wnode *bw = &g->wn[build];
            if (bw->end - bw->begin < HIST_NODE_SMALL)
                ar_gbt_hist_build(g->b, g->rows + bw->begin, g->gh + 2 * bw->begin,
                                  bw->end - bw->begin, 1, NULL, g->hbuf[bw->hist]);
            ar_gbt_hist_subtract(g->hbuf[w->hist], g->hbuf[bw->hist], g->slots,
                                 g->hbuf[g->wn[sub].hist]);
        }
        for (size_t k = 0; k < m; k++) {
            hist_put(g, g->wn[expand[k]].hist);
            g->wn[expand[k]].hist = -1;
        }
        if (n_eval > 0 && (rc = eval_nodes(g, evalset, n_eval, rng, feats, n_feats)) != AR_OK)
            return rc;
        for (size_t k = 0; k < n_eval; k++)
            if ((rc = cand_push(g, evalset[k])) != AR_OK)
                return rc;
    }

    /* reg:absoluteerror: leaf values become the median residual of their rows */
    if (labels) {
        float *wcdf = g->tmp_gh;
        for (size_t i = 0; i < n; i++) {
            uint32_t r = g->rows[i];
            g->resid[i] = labels[r] - margin[(size_t)r * (size_t)n_groups + (size_t)group];
            wcdf[n + i] = weights ? weights[r] : 1.0f;
        }
#pragma omp parallel for num_threads(g->nt) schedule(dynamic, 1)
        for (size_t nid = 0; nid < g->n_tn; nid++) {
            if (g->tn[nid].left >= 0)
                continue;
            struct wnode *w = &g->wn[nid];
            /* rows with a zero hessian (weight 0) do not take part, as in XGBoost */
            size_t k = w->begin;
            for (size_t i = w->begin; i < w->end; i++)
                if (g->gh[2 * i + 1] != 0.0f) {
                    g->resid[k] = g->resid[i];
                    wcdf[n + k] = wcdf[n + i];
                    k++;
                }
            float q = leaf_quantile(g->resid + w->begin, weights ? wcdf + n + w->begin : NULL,
                                    g->order + w->begin, k - w->begin, wcdf + w->begin);
            if (!isnan(q))
                g->tn[nid].cond = q * eta;
        }
    }

    /* every row's leaf value */
    if (leaf_out) {
        if (n == g->n_rows) {
#pragma omp parallel for num_threads(g->nt) schedule(dynamic, 1)
            for (size_t nid = 0; nid < g->n_tn; nid++) {
                if (g->tn[nid].left >= 0)
                    continue;
                for (size_t i = g->wn[nid].begin; i < g->wn[nid].end; i++)
                    leaf_out[g->rows[i]] = g->tn[nid].cond;
            }
        } else {
            const size_t nr = g->n_rows;
#pragma omp parallel for num_threads(g->nt) schedule(static)
            for (size_t r = 0; r < nr; r++) {
                size_t nid = 0;
                while (g->tn[nid].left >= 0) {
                    const struct ar_gbt_split *s = &g->wn[nid].split;
                    nid = goes_left(g->b, g->cuts, (uint32_t)r, s->feature, s->bin, s->default_left)
                              ? (size_t)g->tn[nid].left
                              : (size_t)g->tn[nid].right;
                }
                leaf_out[r] = g->tn[nid].cond;
            }
        }
    }

    /* append the tree */
    if (*n_nodes + g->n_tn > *cap_nodes) {
        size_t cap = (*cap_nodes ? *cap_nodes : 256);
        while (cap < *n_nodes + g->n_tn)
            cap *= 2;
        struct ar_gbt_node *nn = ar_reallocn(*nodes, *cap_nodes * sizeof *nn, cap, sizeof *nn);
        if (!nn)
            return AR_ERR_NOMEM;
        *nodes = nn;
        *cap_nodes = cap;
    }
    memcpy(*nodes + *n_nodes, g->tn, g->n_tn * sizeof *g->tn);
    *n_nodes += g->n_tn;
    return AR_OK;
}
