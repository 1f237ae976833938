/* Unit tests for the tree predictor (algorithms/xgboost/predict.c): on random trees (ragged
 * shapes, single leaves, NaN and absent features, thresholds equal to data values, several
 * output groups) ar_gbt_predict_add must give exactly the bits of the naive per-row walk
 * ar_gbt_predict_add_ref, for 0, 1, odd and block-straddling row counts, dense, narrow dense
 * and CSR input, more threads than rows, deep models on the linked walk, and a layout grown
 * tree by tree or cut back as training does. */
#include <math.h>
#include <string.h>

#include "algorithms/xgboost/gbt.h"
#include "core/mem.h"
#include "core/rng.h"
#include "tests/unit/testhelp.h"

/* Values data and thresholds are drawn from, so x == threshold happens often. */
static const float grid[] = {-2.5f, -1.0f, -0.0f, 0.0f, 0.5f, 1.0f, 1.5f, 3.0f};
#define GRID_N (sizeof grid / sizeof grid[0])

struct gen {
    struct ar_rng rng;
    struct ar_gbt_node *nodes;
    size_t n, cap;
    uint32_t n_feat;
};

static int32_t gen_node(struct gen *g, int depth, int max_depth, int32_t parent)
{
    if (g->n == g->cap)
        return -1;
    int32_t id = (int32_t)g->n++;
    struct ar_gbt_node *nd = &g->nodes[id];
    memset(nd, 0, sizeof *nd);
    nd->parent = parent;
    nd->left = nd->right = -1;
    double p_leaf = depth == 0 ? 0.1 : 0.25;
    if (depth >= max_depth || g->cap - g->n < 2 || ar_rng_uniform(&g->rng) < p_leaf) {
        nd->cond = (float)(ar_rng_normal(&g->rng) * 0.1);
        return id;
    }
    nd->feature = (uint32_t)ar_rng_below(&g->rng, g->n_feat);
    nd->cond = grid[ar_rng_below(&g->rng, GRID_N)];
    nd->default_left = (uint8_t)ar_rng_below(&g->rng, 2);
    int32_t l = gen_node(g, depth + 1, max_depth, id);
    int32_t r = gen_node(g, depth + 1, max_depth, id);
    if (l < 0 || r < 0) { /* out of room: stay a leaf (children were the last nodes) */
        g->n = (size_t)id + 1;
        nd->feature = 0;
        nd->cond = 0.25f;
        return id;
    }
    g->nodes[id].left = l;
    g->nodes[id].right = r;
    return id;
}

/* A model of n_trees random trees of depth <= max_depth over n_feat features, K groups. */
static struct ar_gbt_model *random_model(uint64_t seed, size_t n_trees, int max_depth,
                                         uint32_t n_feat, int K)
{
    struct ar_gbt_model *m = ar_callocn(1, sizeof *m);
    if (!m)
        return NULL;
    struct gen g = {.cap = n_trees * 600, .n_feat = n_feat};
    ar_rng_init(&g.rng, seed, 7);
    g.nodes = ar_allocn(g.cap, sizeof *g.nodes);
    m->tree_off = ar_callocn(n_trees + 1, sizeof *m->tree_off);
    m->tree_info = ar_allocn(n_trees ? n_trees : 1, sizeof *m->tree_info);
    if (!g.nodes || !m->tree_off || !m->tree_info)
        return NULL;
    m->obj = AR_GBT_OBJ_SQUAREDERROR;
    m->n_groups = K;
    m->num_parallel_tree = 1;
    m->n_features = n_feat;
    m->n_trees = n_trees;
    for (size_t t = 0; t < n_trees; t++) {
        struct gen one = g;
        one.nodes = g.nodes + g.n;
        one.n = 0;
        one.cap = 600 < g.cap - g.n ? 600 : g.cap - g.n;
        gen_node(&one, 0, max_depth, -1);
        g.rng = one.rng;
        g.n += one.n;
        m->tree_off[t + 1] = g.n;
        m->tree_info[t] = (int32_t)ar_rng_below(&g.rng, (uint64_t)K);
    }
    m->nodes = g.nodes;
    if (ar_gbt_model_finish(m) != AR_OK)
        return NULL;
    return m;
}

/* n x d values from the grid and normals, about 1 in 8 NaN when `nan`. */
static float *random_rows(uint64_t seed, size_t n, size_t d, bool nan)
{
    struct ar_rng rng;
    ar_rng_init(&rng, seed, 3);
    const size_t cells = n * d;
    float *x = ar_allocn(cells ? cells : 1, sizeof *x);
    for (size_t i = 0; x && i < cells; i++) {
        double u = ar_rng_uniform(&rng);
        if (nan && u < 0.125)
            x[i] = NAN;
        else if (u < 0.6)
            x[i] = grid[ar_rng_below(&rng, GRID_N)];
        else
            x[i] = (float)ar_rng_normal(&rng);
    }
    return x;
}

/* The same rows as CSR, NaN entries left out. */
static int to_csr(const float *x, size_t n, size_t d, struct ar_batch *b)
{
    size_t nnz = 0;
    for (size_t i = 0; i < n * d; i++)
        nnz += !isnan(x[i]);
    memset(b, 0, sizeof *b);
    b->n_rows = n;
    b->n_cols = d;
    b->is_sparse = true;
    AR_TRY(ar_csr_alloc(&b->csr, n, d, nnz));
    size_t k = 0;
    b->csr.indptr[0] = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < d; j++)
            if (!isnan(x[i * d + j])) {
                b->csr.indices[k] = (uint32_t)j;
                b->csr.values[k] = x[i * d + j];
                k++;
            }
        b->csr.indptr[i + 1] = k;
    }
    return AR_OK;
}

/* predict_add over trees [t0, t1) with `threads` equals the reference bit for bit. */
static void check_same(const struct ar_gbt_model *m, const struct ar_batch *b, size_t t0, size_t t1,
                       int threads)
{
    const size_t n = b->n_rows * (size_t)m->n_groups;
    float *fast = ar_allocn(n ? n : 1, sizeof *fast);
    float *ref = ar_allocn(n ? n : 1, sizeof *ref);
    CHECK(fast && ref);
    if (!fast || !ref)
        return;
    for (size_t i = 0; i < n; i++)
        fast[i] = ref[i] = 0.5f + (float)(i % 7) * 0.125f;
    CHECK_OK(ar_gbt_predict_add(m, b, t0, t1, threads, fast));
    CHECK_OK(ar_gbt_predict_add_ref(m, b, t0, t1, ref));
    size_t bad = n;
    for (size_t i = 0; i < n && bad == n; i++)
        if (memcmp(&fast[i], &ref[i], sizeof *fast) != 0)
            bad = i;
    if (bad < n)
        ar_test_report(0, __FILE__, __LINE__,
                       "margin %zu of %zu rows (trees %zu..%zu, %d threads): %.9g vs ref %.9g", bad,
                       b->n_rows, t0, t1, threads, (double)fast[bad], (double)ref[bad]);
    else
        CHECK(bad == n);
    ar_free(fast);
    ar_free(ref);
}

static void test_random_trees(void)
{
    static const size_t rows[] = {0, 1, 2, 3, 5, 17, 63, 64, 65, 129, 301};
    static const int threads[] = {1, 2, 3, 8};
    for (int variant = 0; variant < 4; variant++) {
        const int K = variant == 3 ? 3 : 1;
        const int depth = variant == 0 ? 1 : variant == 1 ? 6 : 8;
        const uint32_t nf = 12;
        struct ar_gbt_model *m = random_model(100 + (uint64_t)variant, 37, depth, nf, K);
        CHECK(m != NULL);
        if (!m)
            continue;
        CHECK(m->flat_depth >= 0 && m->flat_depth <= depth);
        for (size_t ri = 0; ri < sizeof rows / sizeof rows[0]; ri++) {
            const size_t n = rows[ri];
            for (int nan = 0; nan < 2; nan++) {
                float *x =
                    random_rows(1000 * (uint64_t)variant + n * 2 + (uint64_t)nan, n, nf, nan);
                CHECK(x != NULL);
                if (!x)
                    continue;
                struct ar_batch b;
                memset(&b, 0, sizeof b);
                b.n_rows = n;
                b.n_cols = nf;
                b.dense = ar_mat_view(x, n, nf, nf);
                for (size_t ti = 0; ti < sizeof threads / sizeof threads[0]; ti++)
                    check_same(m, &b, 0, m->n_trees, threads[ti]);
                check_same(m, &b, 5, 6, 2); /* one tree */
                check_same(m, &b, 9, 30, 1);
                check_same(m, &b, 40, 50, 1); /* past the end: clipped */
                /* narrow rows: features 7.. are absent (missing) */
                struct ar_batch narrow = b;
                narrow.n_cols = 7;
                check_same(m, &narrow, 0, m->n_trees, 2);
                /* CSR: NaN entries left out */
                struct ar_batch sp;
                CHECK_OK(to_csr(x, n, nf, &sp));
                check_same(m, &sp, 0, m->n_trees, 1);
                check_same(m, &sp, 0, m->n_trees, 3);
                ar_csr_release(&sp.csr);
                ar_free(x);
            }
        }
        ar_gbt_model_free(&m->base);
    }
}

/* A model deeper than the flat layout takes uses the linked walk with the same results. */
static void test_deep_model(void)
{
    struct ar_gbt_model *m = random_model(77, 9, 16, 5, 1);
    CHECK(m != NULL);
    if (!m)
        return;
    float *x = random_rows(5, 200, 5, true);
    struct ar_batch b;
    memset(&b, 0, sizeof b);
    b.n_rows = 200;
    b.n_cols = 5;
    b.dense = ar_mat_view(x, 200, 5, 5);
    check_same(m, &b, 0, m->n_trees, 1);
    check_same(m, &b, 0, m->n_trees, 2);
    /* a chain of depth 20 forces the linked walk */
    struct ar_gbt_model *c = ar_callocn(1, sizeof *c);
    CHECK(c != NULL);
    if (c) {
        const size_t nn = 41;
        c->n_groups = 1;
        c->n_trees = 1;
        c->tree_off = ar_callocn(2, sizeof *c->tree_off);
        c->tree_info = ar_callocn(1, sizeof *c->tree_info);
        c->nodes = ar_callocn(nn, sizeof *c->nodes);
        CHECK(c->tree_off && c->tree_info && c->nodes);
        c->tree_off[1] = nn;
        for (size_t i = 0; i < nn; i++) {
            struct ar_gbt_node *nd = &c->nodes[i];
            nd->parent = i == 0 ? -1 : (int32_t)((i - 1) / 2 * 2);
            if (i % 2 == 0 && i + 2 < nn) { /* internal: left leaf i+1, right i+2 */
                nd->left = (int32_t)i + 1;
                nd->right = (int32_t)i + 2;
                nd->feature = (uint32_t)(i / 2 % 5);
                nd->cond = grid[i % GRID_N];
                nd->default_left = (uint8_t)(i / 2 % 2);
            } else {
                nd->left = nd->right = -1;
                nd->cond = (float)i * 0.01f;
            }
        }
        CHECK_OK(ar_gbt_model_finish(c));
        CHECK_INT(c->flat_depth, -1);
        check_same(c, &b, 0, 1, 1);
        check_same(c, &b, 0, 1, 2);
        ar_gbt_model_free(&c->base);
    }
    ar_free(x);
    ar_gbt_model_free(&m->base);
}

/* Laying trees out as they are appended (and cut back) gives the same layout as at once. */
static void test_incremental_layout(void)
{
    struct ar_gbt_model *full = random_model(9, 24, 7, 6, 2);
    struct ar_gbt_model *inc = random_model(9, 24, 7, 6, 2);
    CHECK(full && inc);
    if (!full || !inc)
        return;
    const size_t total = inc->n_trees;
    /* rebuild inc one tree at a time from scratch */
    ar_free(inc->flat_nodes);
    ar_free(inc->flat_dl);
    ar_free(inc->flat_leaves);
    inc->flat_nodes = NULL;
    inc->flat_dl = NULL;
    inc->flat_leaves = NULL;
    inc->flat_trees = inc->flat_cap = 0;
    inc->flat_depth = 0;
    inc->n_split_features = 0;
    for (size_t t = 1; t <= total; t++) {
        inc->n_trees = t;
        CHECK_OK(ar_gbt_model_finish(inc));
    }
    CHECK_INT(inc->flat_depth, full->flat_depth);
    CHECK_INT(inc->n_split_features, full->n_split_features);
    if (inc->flat_depth == full->flat_depth && inc->flat_depth >= 0) {
        size_t n_int = ((size_t)1 << inc->flat_depth) - 1;
        CHECK(memcmp(inc->flat_nodes, full->flat_nodes, total * n_int * sizeof *inc->flat_nodes) ==
              0);
        CHECK(memcmp(inc->flat_leaves, full->flat_leaves,
                     total * (n_int + 1) * sizeof *inc->flat_leaves) == 0);
    }
    float *x = random_rows(11, 150, 6, true);
    struct ar_batch b;
    memset(&b, 0, sizeof b);
    b.n_rows = 150;
    b.n_cols = 6;
    b.dense = ar_mat_view(x, 150, 6, 6);
    check_same(inc, &b, 0, total, 2);
    /* cut back to the first 10 trees (early stopping keeps the best iteration) */
    inc->n_trees = 10;
    CHECK_OK(ar_gbt_model_finish(inc));
    CHECK_INT(inc->flat_trees, 10);
    check_same(inc, &b, 0, 10, 1);
    ar_free(x);
    ar_gbt_model_free(&full->base);
    ar_gbt_model_free(&inc->base);
}

void test_suite_gbt_predict(void)
{
    test_random_trees();
    test_deep_model();
    test_incremental_layout();
}
