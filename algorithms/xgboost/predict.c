/* Prediction. Trees are laid out as complete level-order arrays of one common depth D (a leaf
 * above the bottom level becomes a node whose subtrees all carry its value), so a row takes
 * exactly D steps per tree, each child index computed without a branch: i = 2i + 2 - left,
 * left = x < threshold, or x missing and default_left. Rows are evaluated in blocks of 64 per
 * tree, level by level, so the dependent loads of different rows overlap; for small blocks
 * (one row for a server request) up to 8 trees walk together instead. Each row's margin adds
 * the trees' leaf values in model order in float, as XGBoost's CPU predictor does, so results
 * are bit-identical to a plain walk. Trees deeper than FLAT_MAX_DEPTH use the linked nodes.
 * Sparse rows are expanded to a dense block with NaN first. */
#include <math.h>
#include <string.h>

#include "algorithms/xgboost/gbt.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/par.h"

#define PRED_BLOCK     64
#define TREE_GROUP     8  /* trees walked together for blocks of few rows */
#define FLAT_MAX_DEPTH 12 /* deeper models use the linked walk */
#define FLAT_MAX_BYTES ((size_t)1 << 30)

/* Depth of the tree rooted at t[0] (a single leaf has depth 0); stops counting at cap + 1. */
static int tree_depth(const struct ar_gbt_pnode *t, int32_t nid, int d, int cap)
{
    if (t[nid].left < 0 || d > cap)
        return d;
    int l = tree_depth(t, t[nid].left, d + 1, cap), r = tree_depth(t, t[nid].right, d + 1, cap);
    return l > r ? l : r;
}

static void flat_fill(const struct ar_gbt_pnode *t, int32_t nid, size_t pos, int d, int depth,
                      struct ar_gbt_fnode *nodes, uint8_t *dl, float *leaves)
{
    const size_t n_int = ((size_t)1 << depth) - 1;
    if (d == depth) {
        leaves[pos - n_int] = t[nid].value;
        return;
    }
    if (t[nid].left < 0) { /* leaf above the bottom: both ways lead to its value */
        nodes[pos].thr = 0.0f;
        nodes[pos].feat = 0;
        dl[pos] = 0;
        flat_fill(t, nid, 2 * pos + 1, d + 1, depth, nodes, dl, leaves);
        flat_fill(t, nid, 2 * pos + 2, d + 1, depth, nodes, dl, leaves);
        return;
    }
    nodes[pos].thr = t[nid].value;
    nodes[pos].feat = t[nid].fdl & 0x7fffffffu;
    dl[pos] = (uint8_t)(t[nid].fdl >> 31);
    flat_fill(t, t[nid].left, 2 * pos + 1, d + 1, depth, nodes, dl, leaves);
    flat_fill(t, t[nid].right, 2 * pos + 2, d + 1, depth, nodes, dl, leaves);
}

static void flat_drop(struct ar_gbt_model *m, int depth)
{
    ar_free(m->flat_nodes);
    ar_free(m->flat_dl);
    ar_free(m->flat_leaves);
    m->flat_nodes = NULL;
    m->flat_dl = NULL;
    m->flat_leaves = NULL;
    m->flat_trees = m->flat_cap = 0;
    m->flat_depth = depth;
}

/* Lays out trees [flat_trees, n_trees), or all of them when the common depth grows. */
static int flat_update(struct ar_gbt_model *m)
{
    if (m->n_trees < m->flat_trees)
        m->flat_trees = m->n_trees; /* trees removed from the end: the rest stay valid */
    if (m->flat_depth < 0 && m->flat_trees > 0)
        return AR_OK; /* already too deep: stays on the linked walk */
    size_t from = m->flat_trees;
    int depth = m->flat_trees > 0 ? m->flat_depth : 0;
    for (size_t t = from; t < m->n_trees; t++) {
        const struct ar_gbt_pnode *tr = m->pnodes + m->tree_off[t];
        int d = tree_depth(tr, 0, 0, FLAT_MAX_DEPTH);
        if (d > depth)
            depth = d;
        for (size_t i = 0; i < m->tree_off[t + 1] - m->tree_off[t]; i++)
            if (tr[i].left >= 0 && (tr[i].fdl & 0x7fffffffu) + 1 > m->n_split_features)
                m->n_split_features = (tr[i].fdl & 0x7fffffffu) + 1;
    }
    const size_t n_int = ((size_t)1 << (depth > FLAT_MAX_DEPTH ? 0 : depth)) - 1;
    const size_t per_tree = n_int * (sizeof(struct ar_gbt_fnode) + 1) + (n_int + 1) * sizeof(float);
    if (depth > FLAT_MAX_DEPTH || m->n_trees > FLAT_MAX_BYTES / per_tree) {
        flat_drop(m, -1);
        m->flat_trees = m->n_trees;
        return AR_OK;
    }
    if (depth != m->flat_depth || m->flat_trees == 0) {
        flat_drop(m, depth);
        from = 0;
    }
    if (m->n_trees > m->flat_cap) {
        size_t cap = m->flat_cap ? 2 * m->flat_cap : 64;
        while (cap < m->n_trees)
            cap *= 2;
        if (cap > FLAT_MAX_BYTES / per_tree)
            cap = m->n_trees;
        struct ar_gbt_fnode *nn = ar_reallocn(m->flat_nodes, m->flat_trees * n_int * sizeof *nn,
                                              cap * (n_int ? n_int : 1), sizeof *nn);
        if (!nn)
            return AR_ERR_NOMEM;
        m->flat_nodes = nn;
        uint8_t *nd = ar_reallocn(m->flat_dl, m->flat_trees * n_int, cap * (n_int ? n_int : 1), 1);
        if (!nd)
            return AR_ERR_NOMEM;
        m->flat_dl = nd;
        float *nl = ar_reallocn(m->flat_leaves, m->flat_trees * (n_int + 1) * sizeof *nl,
                                cap * (n_int + 1), sizeof *nl);
        if (!nl)
            return AR_ERR_NOMEM;
        m->flat_leaves = nl;
        m->flat_cap = cap;
    }
    for (size_t t = from; t < m->n_trees; t++)
        flat_fill(m->pnodes + m->tree_off[t], 0, 0, 0, depth, m->flat_nodes + t * n_int,
                  m->flat_dl + t * n_int, m->flat_leaves + t * (n_int + 1));
    m->flat_trees = m->n_trees;
    return AR_OK;
}

int ar_gbt_model_finish(struct ar_gbt_model *m)
{
    size_t n_nodes = m->tree_off[m->n_trees];
    struct ar_gbt_pnode *pn = ar_allocn(n_nodes ? n_nodes : 1, sizeof *pn);
    if (!pn)
        return AR_ERR_NOMEM;
    for (size_t t = 0; t < m->n_trees; t++) {
        for (size_t i = m->tree_off[t]; i < m->tree_off[t + 1]; i++) {
            const struct ar_gbt_node *nd = &m->nodes[i];
            pn[i].value = nd->cond;
            pn[i].fdl = (nd->feature & 0x7fffffffu) | ((uint32_t)(nd->default_left != 0) << 31);
            pn[i].left = nd->left;
            pn[i].right = nd->right;
        }
    }
    ar_free(m->pnodes);
    m->pnodes = pn;
    return flat_update(m);
}

void ar_gbt_model_free(struct ar_model *base)
{
    if (!base)
        return;
    struct ar_gbt_model *m = (struct ar_gbt_model *)base;
    ar_free(m->tree_off);
    ar_free(m->tree_info);
    ar_free(m->nodes);
    ar_free(m->pnodes);
    ar_free(m->flat_nodes);
    ar_free(m->flat_dl);
    ar_free(m->flat_leaves);
    ar_free(m);
}

static inline float tree_leaf(const struct ar_gbt_pnode *t, const float *x, size_t n_cols)
{
    int32_t nid = 0;
    while (t[nid].left >= 0) {
        uint32_t f = t[nid].fdl & 0x7fffffffu;
        float v = f < n_cols ? x[f] : NAN;
        if (isnan(v))
            nid = (t[nid].fdl >> 31) ? t[nid].left : t[nid].right;
        else
            nid = v < t[nid].value ? t[nid].left : t[nid].right;
    }
    return t[nid].value;
}

/* One level of trees [t, t + nt) for rows x[r * stride ..] (r < nr): ix[k * nr + r] moves to
 * its left or right child. `nan`: the rows may hold NaN, which follows default_left. */
static inline void flat_level(const struct ar_gbt_model *m, size_t t, size_t nt, size_t n_int,
                              const float *restrict x, size_t stride, size_t nr, bool nan,
                              uint32_t *restrict idx)
{
    for (size_t k = 0; k < nt; k++) {
        const struct ar_gbt_fnode *restrict nodes = m->flat_nodes + (t + k) * n_int;
        const uint8_t *restrict dl = m->flat_dl + (t + k) * n_int;
        uint32_t *restrict ix = idx + k * nr;
        const float *restrict row = x;
        for (size_t r = 0; r < nr; r++, row += stride) {
            const uint32_t i = ix[r];
            const float v = row[nodes[i].feat];
            uint32_t left = v < nodes[i].thr;
            if (nan)
                left |= (isnan(v) ? 1u : 0u) & dl[i];
            ix[r] = 2 * i + 2 - left;
        }
    }
}

/* Adds trees [t0, t1) to the margins of rows x[r * stride ..] (r < nr <= PRED_BLOCK; every
 * row has at least n_split_features values and one), margin of row r at
 * margin[r * K + group]. */
static void flat_block(const struct ar_gbt_model *m, const float *x, size_t stride, size_t nr,
                       bool nan, size_t t0, size_t t1, size_t K, float *margin)
{
    const int depth = m->flat_depth;
    const size_t n_int = ((size_t)1 << depth) - 1;
    const size_t tg = nr >= 16 ? 1 : nr >= 4 ? 2 : TREE_GROUP;
    uint32_t idx[TREE_GROUP * PRED_BLOCK];
    for (size_t t = t0; t < t1; t += tg) {
        const size_t nt = t1 - t < tg ? t1 - t : tg;
        memset(idx, 0, nt * nr * sizeof *idx);
        for (int d = 0; d < depth; d++) {
            if (nan)
                flat_level(m, t, nt, n_int, x, stride, nr, true, idx);
            else
                flat_level(m, t, nt, n_int, x, stride, nr, false, idx);
        }
        for (size_t r = 0; r < nr; r++)
            for (size_t k = 0; k < nt; k++) {
                const float *leaves = m->flat_leaves + (t + k) * (n_int + 1);
                margin[r * K + (size_t)m->tree_info[t + k]] += leaves[idx[k * nr + r] - n_int];
            }
    }
}

/* The linked walk for models too deep for the flat layout; rows have n_cols values. */
static void linked_block(const struct ar_gbt_model *m, const float *x, size_t stride, size_t nr,
                         size_t n_cols, size_t t0, size_t t1, size_t K, float *margin)
{
    for (size_t t = t0; t < t1; t++) {
        const struct ar_gbt_pnode *tree = m->pnodes + m->tree_off[t];
        const size_t g = (size_t)m->tree_info[t];
        for (size_t r = 0; r < nr; r++)
            margin[r * K + g] += tree_leaf(tree, x + r * stride, n_cols);
    }
}

/* Whether rows x[r * stride ..] (r < nr) hold a NaN among their first `width` values. */
static bool block_has_nan(const float *x, size_t stride, size_t nr, size_t width)
{
    unsigned any = 0;
    for (size_t r = 0; r < nr; r++)
        for (size_t j = 0; j < width; j++)
            any |= isnan(x[r * stride + j]) ? 1u : 0u;
    return any != 0;
}

/* Rows [r0, r1) of b (r1 - r0 <= PRED_BLOCK) into buf, `width` values each, NaN where absent. */
static void block_copy(const struct ar_batch *b, size_t r0, size_t r1, size_t width, float *buf)
{
    const size_t nc = b->n_cols;
    for (size_t r = r0; r < r1; r++) {
        float *d = buf + (r - r0) * width;
        for (size_t j = 0; j < width; j++)
            d[j] = NAN;
        if (b->is_sparse) {
            const struct ar_csr *c = &b->csr;
            for (uint64_t k = c->indptr[r]; k < c->indptr[r + 1]; k++)
                if (c->indices[k] < nc)
                    d[c->indices[k]] = c->values[k];
        } else {
            memcpy(d, b->dense.data + r * b->dense.stride, nc * sizeof *d);
        }
    }
}

/* Row blocks [blk0, blk1) of b. Dense rows wide enough for every split are read in place;
 * otherwise (buf != NULL) each block is copied into buf first. */
static void predict_blocks(const struct ar_gbt_model *m, const struct ar_batch *b, size_t blk0,
                           size_t blk1, size_t width, size_t need, float *buf, size_t t0, size_t t1,
                           float *margin)
{
    const size_t n = b->n_rows, K = (size_t)m->n_groups;
    for (size_t blk = blk0; blk < blk1; blk++) {
        size_t r0 = blk * PRED_BLOCK, r1 = r0 + PRED_BLOCK < n ? r0 + PRED_BLOCK : n;
        const float *x;
        size_t stride;
        if (buf) {
            block_copy(b, r0, r1, width, buf);
            x = buf;
            stride = width;
        } else {
            x = b->dense.data + r0 * b->dense.stride;
            stride = b->dense.stride;
        }
        if (m->flat_depth >= 0) {
            bool nan = block_has_nan(x, stride, r1 - r0, need);
            flat_block(m, x, stride, r1 - r0, nan, t0, t1, K, margin + r0 * K);
        } else {
            linked_block(m, x, stride, r1 - r0, buf ? width : b->n_cols, t0, t1, K,
                         margin + r0 * K);
        }
    }
}

/* Row blocks per thread below which prediction stays on the calling thread. */
#define PRED_MIN_BLOCKS_PER_THREAD 4

int ar_gbt_predict_add(const struct ar_gbt_model *m, const struct ar_batch *b, size_t t0, size_t t1,
                       int n_threads, float *margin)
{
    const size_t n = b->n_rows, nc = b->n_cols;
    if (t1 > m->n_trees)
        t1 = m->n_trees;
    if (n == 0 || t0 >= t1)
        return AR_OK;
    AR_ASSERT(m->flat_trees == m->n_trees);
    /* rows are read in place when dense and wide enough for every split (and the padding
     * nodes' feature 0); else copied into NaN-filled per-thread blocks of `width` values */
    const size_t need = m->n_split_features > 0 ? m->n_split_features : 1;
    const bool copy = b->is_sparse || nc < need;
    const size_t width = nc > need ? nc : need;
    const size_t n_blocks = (n + PRED_BLOCK - 1) / PRED_BLOCK;
    int nt = n_threads > 0 ? n_threads : 1;
    if ((size_t)nt > n_blocks / PRED_MIN_BLOCKS_PER_THREAD)
        nt = n_blocks >= 2 * PRED_MIN_BLOCKS_PER_THREAD
                 ? (int)(n_blocks / PRED_MIN_BLOCKS_PER_THREAD)
                 : 1;
    float *dense = NULL;
    if (copy) {
        size_t per;
        if (ar_mul_overflow((size_t)PRED_BLOCK, width, &per) ||
            ar_mul_overflow(per, (size_t)nt, &per))
            return ar_err_set(AR_ERR_LIMIT, "%zu features are too many", width);
        dense = ar_allocn(per, sizeof *dense);
        if (!dense)
            return AR_ERR_NOMEM;
    }
    if (nt == 1) {
        predict_blocks(m, b, 0, n_blocks, width, need, dense, t0, t1, margin);
    } else {
#pragma omp parallel num_threads(nt)
        {
            int tid = ar_par_tid(), nth = ar_par_region_size();
            size_t b0, b1;
            ar_par_range(n_blocks, tid, nth, &b0, &b1);
            float *buf = dense ? dense + (size_t)tid * PRED_BLOCK * width : NULL;
            predict_blocks(m, b, b0, b1, width, need, buf, t0, t1, margin);
        }
    }
    ar_free(dense);
    return AR_OK;
}

int ar_gbt_predict_add_ref(const struct ar_gbt_model *m, const struct ar_batch *b, size_t t0,
                           size_t t1, float *margin)
{
    const size_t nc = b->n_cols, K = (size_t)m->n_groups;
    float *x = ar_allocn(nc ? nc : 1, sizeof *x);
    if (!x)
        return AR_ERR_NOMEM;
    if (t1 > m->n_trees)
        t1 = m->n_trees;
    for (size_t r = 0; r < b->n_rows; r++) {
        ar_batch_row_dense(b, r, NAN, x);
        for (size_t t = t0; t < t1; t++) {
            const struct ar_gbt_node *tree = m->nodes + m->tree_off[t];
            int32_t nid = 0;
            while (tree[nid].left >= 0) {
                const uint32_t f = tree[nid].feature;
                const float v = f < nc ? x[f] : NAN;
                if (isnan(v))
                    nid = tree[nid].default_left ? tree[nid].left : tree[nid].right;
                else
                    nid = v < tree[nid].cond ? tree[nid].left : tree[nid].right;
            }
            margin[r * K + (size_t)m->tree_info[t]] += tree[nid].cond;
        }
    }
    ar_free(x);
    return AR_OK;
}

int ar_gbt_predict_margin(const struct ar_gbt_model *m, const struct ar_batch *in, size_t n_trees,
                          float *margin)
{
    const size_t n = in->n_rows * (size_t)m->n_groups;
    const float base = ar_gbt_base_margin(m->obj, m->base_score);
    for (size_t i = 0; i < n; i++)
        margin[i] = base;
    if (n_trees > m->n_trees)
        n_trees = m->n_trees;
    return ar_gbt_predict_add(m, in, 0, n_trees, ar_par_threads(), margin);
}

int ar_gbt_predict(const struct ar_model *base, const struct ar_batch *in, struct ar_table *out)
{
    const struct ar_gbt_model *m = (const struct ar_gbt_model *)base;
    const size_t n = in->n_rows, K = (size_t)m->n_groups;
    out->n_rows = n;
    float *margin = ar_allocn(n * K > 0 ? n * K : 1, sizeof *margin);
    if (!margin)
        return AR_ERR_NOMEM;
    /* best_ntree_limit as the SageMaker server passes it (it covers all trees for models this
     * trainer writes, which are truncated to the best iteration) */
    size_t n_trees = m->n_trees;
    if (m->has_best && m->best_ntree_limit > 0) {
        size_t lim = (size_t)m->best_ntree_limit * K;
        if (lim < n_trees)
            n_trees = lim;
    }
    int rc = ar_gbt_predict_margin(m, in, n_trees, margin);
    float *score = NULL, *label = NULL;
    const bool softprob = m->obj == AR_GBT_OBJ_SOFTPROB;
    if (rc == AR_OK)
        rc = ar_table_add(out, "score", softprob ? K : 1, false, &score);
    if (rc == AR_OK) {
        ar_gbt_transform(m->obj, m->n_groups, margin, n, false, score);
        bool has_label =
            m->obj == AR_GBT_OBJ_BINARY_LOGISTIC || m->obj == AR_GBT_OBJ_BINARY_LOGITRAW ||
            m->obj == AR_GBT_OBJ_BINARY_HINGE || m->obj == AR_GBT_OBJ_SOFTMAX || softprob;
        if (has_label)
            rc = ar_table_add(out, "predicted_label", 1, true, &label);
        if (rc == AR_OK && has_label) {
            for (size_t i = 0; i < n; i++) {
                switch (m->obj) {
                case AR_GBT_OBJ_BINARY_LOGISTIC:
                    label[i] = score[i] > 0.5f ? 1.0f : 0.0f;
                    break;
                case AR_GBT_OBJ_BINARY_LOGITRAW:
                    label[i] = margin[i] > 0.0f ? 1.0f : 0.0f;
                    break;
                case AR_GBT_OBJ_SOFTPROB: {
                    size_t arg = 0;
                    for (size_t c = 1; c < K; c++)
                        if (score[i * K + c] > score[i * K + arg])
                            arg = c;
                    label[i] = (float)arg;
                    break;
                }
                default:
                    label[i] = score[i];
                    break;
                }
            }
        }
    }
    ar_free(margin);
    return rc;
}
