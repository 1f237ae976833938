/* Prediction: every tree flattened into 16-byte nodes (threshold or leaf value, feature with the
 * default-left bit, children), rows evaluated in blocks per tree so a tree stays in cache while
 * a block of rows walks it; each row's margin adds the trees in model order in float, as
 * XGBoost's CPU predictor does. Sparse rows are expanded to a dense block with NaN first.
 * Go left iff x < threshold; a missing x follows default_left. */
#include <math.h>
#include <string.h>

#include "algorithms/xgboost/gbt.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/par.h"

#define PRED_BLOCK 64

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
    return AR_OK;
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

int ar_gbt_predict_add(const struct ar_gbt_model *m, const struct ar_batch *b, size_t t0, size_t t1,
                       int n_threads, float *margin)
{
    const size_t n = b->n_rows, nc = b->n_cols, K = (size_t)m->n_groups;
    const int nt = n_threads > 0 ? n_threads : 1;
    float *dense = NULL;
    if (b->is_sparse) {
        size_t per;
        if (ar_mul_overflow((size_t)PRED_BLOCK, nc ? nc : 1, &per))
            return ar_err_set(AR_ERR_LIMIT, "%zu features are too many", nc);
        dense = ar_allocn((size_t)nt * per, sizeof *dense);
        if (!dense)
            return AR_ERR_NOMEM;
    }
    const size_t n_blocks = (n + PRED_BLOCK - 1) / PRED_BLOCK;
#pragma omp parallel num_threads(nt)
    {
        int tid = ar_par_tid(), nth = ar_par_region_size();
        size_t b0, b1;
        ar_par_range(n_blocks, tid, nth, &b0, &b1);
        float *buf = dense ? dense + (size_t)tid * PRED_BLOCK * (nc ? nc : 1) : NULL;
        const float *rowp[PRED_BLOCK];
        for (size_t blk = b0; blk < b1; blk++) {
            size_t r0 = blk * PRED_BLOCK, r1 = r0 + PRED_BLOCK < n ? r0 + PRED_BLOCK : n;
            for (size_t r = r0; r < r1; r++) {
                if (buf) {
                    float *d = buf + (r - r0) * nc;
                    for (size_t j = 0; j < nc; j++)
                        d[j] = NAN;
                    const struct ar_csr *c = &b->csr;
                    for (uint64_t k = c->indptr[r]; k < c->indptr[r + 1]; k++)
                        if (c->indices[k] < nc)
                            d[c->indices[k]] = c->values[k];
                    rowp[r - r0] = d;
                } else {
                    rowp[r - r0] = b->dense.data + r * b->dense.stride;
                }
            }
            for (size_t t = t0; t < t1; t++) {
                const struct ar_gbt_pnode *tree = m->pnodes + m->tree_off[t];
                const size_t g = (size_t)m->tree_info[t];
                for (size_t r = r0; r < r1; r++)
                    margin[r * K + g] += tree_leaf(tree, rowp[r - r0], nc);
            }
        }
    }
    ar_free(dense);
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
