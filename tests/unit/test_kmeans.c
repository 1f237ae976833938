/* Unit tests for k-means: the distance kernel against a naive double argmin (dense, sparse,
 * odd shapes, blocked centres, more threads than rows, data far from the origin), the
 * streaming update on a hand-computed case, training on separated blobs, the model file
 * (round trip, truncation, corruption), prediction, hyperparameter errors and determinism. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "algorithms/algo.h"
#include "algorithms/kmeans/kmeans.h"
#include "core/mem.h"
#include "core/metrics.h"
#include "core/par.h"
#include "core/rng.h"
#include "tests/unit/testhelp.h"

/* ---- helpers ---- */

/* A batch source over an in-memory batch, delivering views of max_rows rows. */
struct mem_src {
    struct ar_batch_source base;
    const struct ar_batch *all;
    size_t pos;
    int resets;
};

static int mem_next(struct ar_batch_source *s, size_t max_rows, struct ar_batch *out)
{
    struct mem_src *m = (struct mem_src *)s;
    size_t end = m->pos + max_rows < m->all->n_rows ? m->pos + max_rows : m->all->n_rows;
    *out = ar_batch_rows(m->all, m->pos, end);
    m->pos = end;
    s->n_cols = m->all->n_cols;
    return AR_OK;
}

static int mem_reset(struct ar_batch_source *s)
{
    struct mem_src *m = (struct mem_src *)s;
    m->pos = 0;
    m->resets++;
    return AR_OK;
}

static void mem_close(struct ar_batch_source *s)
{
    (void)s;
}

static const struct ar_batch_source_ops mem_ops = {mem_next, mem_reset, mem_close};

static void mem_src_init(struct mem_src *m, const struct ar_batch *all)
{
    memset(m, 0, sizeof *m);
    m->base.ops = &mem_ops;
    m->all = all;
}

static struct ar_batch dense_batch(float *data, size_t n, size_t d)
{
    struct ar_batch b;
    memset(&b, 0, sizeof b);
    b.n_rows = n;
    b.n_cols = d;
    b.dense = ar_mat_view(data, n, d, d);
    return b;
}

/* CSR copy of a dense n x d matrix (zeros dropped), owned by c. */
static void to_csr(const float *x, size_t n, size_t d, struct ar_csr *c)
{
    size_t nnz = 0;
    for (size_t i = 0; i < n * d; i++)
        nnz += x[i] != 0;
    CHECK_OK(ar_csr_alloc(c, n, d, nnz));
    size_t p = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < d; j++) {
            if (x[i * d + j] != 0) {
                c->indices[p] = (uint32_t)j;
                c->values[p++] = x[i * d + j];
            }
        }
        c->indptr[i + 1] = p;
    }
}

static double naive_d2(const float *x, const float *c, size_t d)
{
    double s = 0;
    for (size_t t = 0; t < d; t++) {
        double v = (double)x[t] - (double)c[t];
        s += v * v;
    }
    return s;
}

static void fill_random(struct ar_rng *r, float *v, size_t n, double offset, double scale,
                        double zero_frac)
{
    for (size_t i = 0; i < n; i++)
        v[i] = ar_rng_uniform(r) < zero_frac ? 0.0f : (float)(offset + scale * ar_rng_normal(r));
}

/* Checks assignments and distances of both kernels (dense and CSR) against naive double. */
static void check_kernel(size_t n, size_t d, size_t k, double offset, double zero_frac,
                         uint64_t seed)
{
    struct ar_rng r;
    ar_rng_init(&r, seed, 0);
    float *x = ar_allocn(n * d + 1, sizeof *x);
    float *c = ar_allocn(k * d, sizeof *c);
    uint32_t *a = ar_allocn(n + 1, sizeof *a), *as = ar_allocn(n + 1, sizeof *as);
    double *d2 = ar_allocn(n + 1, sizeof *d2), *d2s = ar_allocn(n + 1, sizeof *d2s);
    fill_random(&r, x, n * d, offset, 1.0, zero_frac);
    fill_random(&r, c, k * d, offset, 1.0, zero_frac);
    if (k > 2 && d > 0) /* an exact duplicate centre: a genuine tie, lowest index wins */
        memcpy(c + (k - 1) * d, c + 1 * d, d * sizeof *c);
    struct ar_km_centres cs;
    CHECK_OK(ar_km_centres_init(&cs, c, k, d));
    struct ar_batch b = dense_batch(x, n, d);
    CHECK_OK(ar_km_assign(&cs, &b, a, d2));
    struct ar_batch sb;
    memset(&sb, 0, sizeof sb);
    sb.n_rows = n;
    sb.n_cols = d;
    sb.is_sparse = true;
    to_csr(x, n, d, &sb.csr);
    CHECK_OK(ar_km_assign(&cs, &sb, as, d2s));
    long bad = 0, bad_sparse = 0, bad_dist = 0;
    for (size_t i = 0; i < n; i++) {
        double best = INFINITY;
        size_t bj = 0;
        for (size_t j = 0; j < k; j++) {
            double v = naive_d2(x + i * d, c + j * d, d);
            if (v < best) {
                best = v;
                bj = j;
            }
        }
        double mine = naive_d2(x + i * d, c + a[i] * d, d);
        double scale = 1e-12 * (best + 1e-30);
        if (a[i] != bj && !(mine - best <= scale))
            bad++;
        if (a[i] == bj && a[i] == k - 1 && k > 2)
            bad++; /* the duplicate of centre 1 must never win over it */
        double mine_s = naive_d2(x + i * d, c + as[i] * d, d);
        /* Sparse distances are formed by expansion in double: near-ties within 1e-9 of the
         * squared norms may resolve differently. */
        double tie_s = 1e-9 * (naive_d2(x + i * d, c, 0) + best + offset * offset * (double)d);
        if (as[i] != bj && !(mine_s - best <= tie_s))
            bad_sparse++;
        if (fabs(d2[i] - mine) > 1e-9 * (mine + 1e-300) ||
            fabs(d2s[i] - mine_s) > 1e-6 * (mine_s + 1e-6))
            bad_dist++;
    }
    if (bad || bad_sparse || bad_dist)
        fprintf(stderr,
                "  kernel n=%zu d=%zu k=%zu offset=%g: %ld wrong, %ld sparse wrong, %ld "
                "bad distances\n",
                n, d, k, offset, bad, bad_sparse, bad_dist);
    if (n > 0) { /* the shared clustering metric agrees with the kernel's exact distances */
        double ssd = 0, ref = 0;
        for (size_t i = 0; i < n; i++)
            ssd += d2[i];
        CHECK_OK(ar_metric_ssd(x, n, d, d, c, k, &ref));
        CHECK_REL(ssd, ref, 1e-9);
    }
    CHECK_INT(bad, 0);
    CHECK_INT(bad_sparse, 0);
    CHECK_INT(bad_dist, 0);
    ar_km_centres_release(&cs);
    ar_csr_release(&sb.csr);
    ar_free(x);
    ar_free(c);
    ar_free(a);
    ar_free(as);
    ar_free(d2);
    ar_free(d2s);
}

static void test_kernel_both(void);

/* Both dense kernels: the fused AVX-512 one (where the CPU has it) and sgemm + argmin. */
static void test_kernel(void)
{
    int before = ar_km_kernel_fused(1);
    test_kernel_both();
    ar_km_kernel_fused(0);
    test_kernel_both();
    ar_km_kernel_fused(before);
}

static void test_kernel_both(void)
{
    check_kernel(0, 5, 3, 0, 0, 1);
    /* Panel edges of the fused kernel: 16-centre lanes, 64-centre panels, 6-row tiles. */
    check_kernel(13, 9, 16, 0, 0, 12);
    check_kernel(7, 9, 17, 0, 0, 13);
    check_kernel(25, 33, 64, 0, 0, 14);
    check_kernel(31, 5, 65, 0, 0.1, 15);
    check_kernel(61, 2, 130, 5, 0, 16);
    check_kernel(1, 5, 3, 0, 0, 2);
    check_kernel(1, 1, 1, 0, 0, 3);
    check_kernel(333, 7, 1, 0, 0.3, 4);
    check_kernel(333, 7, 17, 0, 0.3, 5);
    check_kernel(1001, 50, 100, 0, 0.5, 6);
    check_kernel(257, 13, 1100, 0, 0.2, 7); /* two centre blocks */
    check_kernel(500, 20, 30, 1000, 0, 8);  /* far from the origin (shifted to the centres) */
    check_kernel(4000, 3, 5, 0, 0, 9);      /* several row blocks */
    /* More threads than rows. */
    int before = ar_par_threads();
    CHECK_OK(ar_par_init(6));
    check_kernel(3, 4, 5, 0, 0, 10);
    check_kernel(2, 1, 2, 0, 0, 11);
    CHECK_OK(ar_par_init(before));

    /* A NaN row is refused with its index. */
    float x[6] = {1, 2, 3, NAN, 5, 6}, c[2] = {0, 0};
    struct ar_km_centres cs;
    CHECK_OK(ar_km_centres_init(&cs, c, 1, 2));
    struct ar_batch b = dense_batch(x, 3, 2);
    uint32_t a[3];
    CHECK_ERR(ar_km_assign(&cs, &b, a, NULL), AR_ERR_INVALID, "row 1 has a missing (NaN)");
    struct ar_batch wide = dense_batch(x, 2, 3);
    CHECK_ERR(ar_km_assign(&cs, &wide, a, NULL), AR_ERR_INVALID, "rows have 3 features");
    ar_km_centres_release(&cs);
}

static void test_stream_update(void)
{
    /* k = 2, dim = 1, centres 0 and 10; batch {1, 2, 9} -> clusters {0, 0, 1}. */
    float centres[2] = {0, 10};
    double n[2] = {0, 0};
    float x1[3] = {1, 2, 9};
    struct ar_batch b = dense_batch(x1, 3, 1);
    struct ar_km_centres cs;
    uint32_t a[3];
    CHECK_OK(ar_km_centres_init(&cs, centres, 2, 1));
    CHECK_OK(ar_km_assign(&cs, &b, a, NULL));
    ar_km_centres_release(&cs);
    CHECK(a[0] == 0 && a[1] == 0 && a[2] == 1);
    double sums[2] = {0, 0}, counts[2] = {0, 0};
    CHECK_OK(ar_km_accumulate(&b, NULL, a, 2, 1, sums, counts));
    CHECK(sums[0] == 3 && sums[1] == 9 && counts[0] == 2 && counts[1] == 1);
    ar_km_stream_update(centres, n, sums, counts, 2, 1, 0);
    /* n = 0: p = 1, the centres become the batch means. */
    CHECK(centres[0] == 1.5f && centres[1] == 9.0f && n[0] == 2 && n[1] == 1);
    /* Next batch {3}: m = 1, p = 1/3: c0 = 2/3 * 1.5 + 1/3 * 3 = 2. */
    double s2[2] = {3, 0}, c2[2] = {1, 0};
    float keep[2] = {centres[0], centres[1]};
    double nkeep[2] = {n[0], n[1]};
    ar_km_stream_update(centres, n, s2, c2, 2, 1, 0);
    CHECK_NEAR(centres[0], 2.0, 1e-6);
    CHECK(centres[1] == 9.0f && n[0] == 3 && n[1] == 1);
    /* With half_life_time_size = 1: n0 = 2 * 2^-1 = 1, p = 1/2: c0 = 0.75 + 1.5 = 2.25. */
    ar_km_stream_update(keep, nkeep, s2, c2, 2, 1, 1);
    CHECK_NEAR(keep[0], 2.25, 1e-6);
    CHECK_NEAR(nkeep[0], 2.0, 1e-12);
    /* Weighted sums: rows 0 and 1 in cluster 0 with weights 2 and 0.5. */
    double w[3] = {2, 0.5, 1}, ws[2] = {0, 0}, wc[2] = {0, 0};
    CHECK_OK(ar_km_accumulate(&b, w, a, 2, 1, ws, wc));
    CHECK(ws[0] == 3 && wc[0] == 2.5 && ws[1] == 9 && wc[1] == 1);
}

/* ---- training ---- */

static int parse_params(const struct ar_hp_kv *kv, size_t n, struct ar_km_params *p)
{
    memset(p, 0, sizeof *p);
    int rc = ar_hp_parse(ar_km_hp, kv, n, true, p);
    if (rc == AR_OK)
        rc = ar_km_params_validate(p);
    return rc;
}

static void test_hp(void)
{
    struct ar_km_params p;
    struct ar_hp_kv ok[] = {{"k", "8"},
                            {"feature_dim", "4"},
                            {"eval_metrics", "['msd', 'ssd']"},
                            {"force_dense", "True"},
                            {"_kvstore", "auto"},
                            {"_num_gpus", "auto"},
                            {"local_lloyd_tol", "0"}};
    CHECK_OK(parse_params(ok, 7, &p));
    CHECK(p.k == 8 && p.feature_dim == 4 && p.mini_batch_size == 5000 && p.epochs == 1);
    CHECK(p.init_method == AR_KM_INIT_RANDOM && p.local_lloyd_init_method == AR_KM_INIT_KMEANSPP);
    CHECK(p.extra_center_factor_auto && p.local_lloyd_num_trials_auto);
    CHECK(p.local_lloyd_max_iter == 300 && p.half_life_time_size == 0 && p.seed == 0);
    unsigned mask;
    CHECK_OK(ar_km_parse_eval_metrics(p.eval_metrics, &mask));
    CHECK_INT(mask, AR_KM_METRIC_MSD | AR_KM_METRIC_SSD);
    ar_hp_free(ar_km_hp, &p);
    CHECK_OK(ar_km_parse_eval_metrics(" [ \"ssd\" ] ", &mask));
    CHECK_INT(mask, AR_KM_METRIC_SSD);

    struct {
        struct ar_hp_kv kv[3];
        const char *msg;
    } bad[] = {
        {{{"feature_dim", "4"}, {"epochs", "1"}, {"epochs", NULL}},
         "Missing required hyperparameter: k"},
        {{{"k", "0"}, {"feature_dim", "4"}, {"epochs", "1"}}, "k: value 0 is out of range"},
        {{{"k", "2"}, {"feature_dim", "4"}, {"init_method", "k-means++"}},
         "not one of: random, kmeans++"},
        {{{"k", "2"}, {"feature_dim", "4"}, {"local_lloyd_tol", "1.5"}}, "allowed: [0, 1]"},
        {{{"k", "2"}, {"feature_dim", "4"}, {"extra_center_factor", "0"}}, "extra_center_factor"},
        {{{"k", "2"}, {"feature_dim", "4"}, {"local_lloyd_num_trials", "x"}},
         "local_lloyd_num_trials"},
        {{{"k", "2"}, {"feature_dim", "4"}, {"eval_metrics", "msd"}}, "is not a list"},
        {{{"k", "2"}, {"feature_dim", "4"}, {"eval_metrics", "[\"rmse\"]"}},
         "unknown metric 'rmse'"},
        {{{"k", "2"}, {"feature_dim", "4"}, {"eval_metrics", "[]"}}, "the list is empty"},
        {{{"k", "2"}, {"feature_dim", "4"}, {"eval_metrics", "[\"msd\" \"ssd\"]"}},
         "expected ',' or ']'"},
        {{{"k", "2"}, {"feature_dim", "4"}, {"eval_metrics", "[\"msd\"] x"}}, "unexpected text"},
        {{{"k", "2"}, {"feature_dim", "4"}, {"half_life_time_size", "-1"}}, "half_life_time_size"},
        {{{"k", "100000"}, {"feature_dim", "10000"}, {"epochs", "1"}}, "too large"},
        {{{"k", "2"}, {"feature_dim", "4"}, {"centers", "3"}},
         "Extraneous hyperparameter found: centers"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t n = bad[i].kv[2].value ? 3 : 2;
        CHECK_ERR(parse_params(bad[i].kv, n, &p), AR_ERR_PARAM, bad[i].msg);
        ar_hp_free(ar_km_hp, &p);
    }
    const struct ar_algo *a;
    CHECK_OK(ar_algo_find("kmeans", &a));
    CHECK(a == &ar_algo_kmeans);
    CHECK_STR(a->id, "kmeans:1");
}

struct metric_log {
    int n;
    char set[4][16], name[4][16];
    double v[4];
};

static void on_metric(void *user, const char *set, const char *name, double value, long step)
{
    struct metric_log *l = user;
    (void)step;
    if (l->n < 4) {
        snprintf(l->set[l->n], 16, "%s", set);
        snprintf(l->name[l->n], 16, "%s", name);
        l->v[l->n++] = value;
    }
}

/* Three well-separated blobs in 2-D around (0,0), (10,0), (0,10), 300 rows each. */
static float *blobs(size_t n_per, uint64_t seed)
{
    static const float ctr[3][2] = {{0, 0}, {10, 0}, {0, 10}};
    float *x = ar_allocn(3 * n_per * 2, sizeof *x);
    struct ar_rng r;
    ar_rng_init(&r, seed, 0);
    for (size_t i = 0; i < 3 * n_per; i++) {
        size_t c = (i * 7) % 3; /* interleaved so every mini-batch sees every blob */
        x[2 * i] = ctr[c][0] + (float)(0.5 * ar_rng_normal(&r));
        x[2 * i + 1] = ctr[c][1] + (float)(0.5 * ar_rng_normal(&r));
    }
    return x;
}

static int train_blobs(const float *x, size_t n, const struct ar_hp_kv *kv, size_t nkv,
                       struct metric_log *log, struct ar_km_model **m)
{
    struct ar_km_params p;
    int rc = parse_params(kv, nkv, &p);
    if (rc != AR_OK)
        return rc;
    struct ar_batch all = dense_batch((float *)x, n, 2);
    struct mem_src tr, te;
    mem_src_init(&tr, &all);
    mem_src_init(&te, &all);
    struct ar_train_ctx ctx = {NULL, NULL, NULL, on_metric, log};
    rc = ar_km_train_sources(&p, &tr.base, p.epochs != 2, &te.base, &ctx, m);
    if (rc == AR_OK)
        CHECK_INT(tr.resets, p.epochs - 1 + (p.epochs != 2));
    ar_hp_free(ar_km_hp, &p);
    return rc;
}

static void test_train(void)
{
    const size_t n = 900;
    float *x = blobs(300, 42);
    struct ar_hp_kv kv[] = {
        {"k", "3"},      {"feature_dim", "2"},        {"mini_batch_size", "200"},
        {"epochs", "2"}, {"init_method", "kmeans++"}, {"eval_metrics", "[\"msd\", \"ssd\"]"}};
    struct metric_log log = {0};
    struct ar_km_model *m = NULL;
    CHECK_OK(train_blobs(x, n, kv, 6, &log, &m));
    CHECK(m && m->k == 3 && m->dim == 2);
    /* Every true centre has a learned centre within 0.2. */
    static const float ctr[3][2] = {{0, 0}, {10, 0}, {0, 10}};
    for (int c = 0; c < 3 && m; c++) {
        double best = INFINITY;
        for (size_t j = 0; j < 3; j++)
            best = fmin(best, naive_d2(ctr[c], m->centres + j * 2, 2));
        CHECK(best < 0.04);
    }
    /* Metrics: train msd, test msd, test ssd (variance 2 x 0.25 per blob). */
    CHECK_INT(log.n, 3);
    CHECK_STR(log.set[0], "train");
    CHECK_STR(log.set[1], "test");
    CHECK_STR(log.name[1], "msd");
    CHECK_STR(log.name[2], "ssd");
    CHECK(log.v[1] > 0.4 && log.v[1] < 0.6);
    CHECK_REL(log.v[2], log.v[1] * (double)n, 1e-12);

    /* Same seed and threads: the same bytes. Another seed: a valid model too. */
    struct ar_km_model *m2 = NULL;
    struct metric_log log2 = {0};
    CHECK_OK(train_blobs(x, n, kv, 6, &log2, &m2));
    unsigned char *b1 = NULL, *b2 = NULL;
    size_t l1 = 0, l2 = 0;
    if (m && m2) {
        CHECK_OK(ar_km_model_encode(m, &b1, &l1));
        CHECK_OK(ar_km_model_encode(m2, &b2, &l2));
        CHECK(l1 == l2 && memcmp(b1, b2, l1) == 0);
    }
    ar_free(b1);
    ar_free(b2);
    ar_km_model_free(m2);

    /* Random init, half-life, explicit factor and trials, local random init. */
    struct ar_hp_kv kv2[] = {{"k", "3"},
                             {"feature_dim", "2"},
                             {"mini_batch_size", "100"},
                             {"extra_center_factor", "4"},
                             {"half_life_time_size", "50"},
                             {"local_lloyd_init_method", "random"},
                             {"local_lloyd_num_trials", "3"},
                             {"_seed", "7"}};
    struct metric_log log3 = {0};
    CHECK_OK(train_blobs(x, n, kv2, 8, &log3, &m2));
    CHECK(log3.n == 2 && log3.v[1] > 0.4 && log3.v[1] < 0.7);
    ar_km_model_free(m2);

    /* k = extra factor 1: no reduction; k larger than the first batch: an error. */
    struct ar_hp_kv kv3[] = {{"k", "3"}, {"feature_dim", "2"}, {"extra_center_factor", "1"}};
    struct metric_log log4 = {0};
    CHECK_OK(train_blobs(x, n, kv3, 3, &log4, &m2));
    ar_km_model_free(m2);
    struct ar_hp_kv kv4[] = {{"k", "30"}, {"feature_dim", "2"}, {"mini_batch_size", "20"}};
    CHECK_ERR(train_blobs(x, n, kv4, 3, &log4, &m2), AR_ERR_INVALID, "fewer than k = 30");
    struct ar_hp_kv kv5[] = {{"k", "3"}, {"feature_dim", "5"}};
    CHECK_ERR(train_blobs(x, n, kv5, 2, &log4, &m2), AR_ERR_FORMAT,
              "records have 2 features but feature_dim is 5");
    struct ar_batch none = dense_batch(x, 0, 2);
    struct mem_src empty;
    mem_src_init(&empty, &none);
    struct ar_km_params p;
    CHECK_OK(parse_params(kv3, 3, &p));
    CHECK_ERR(ar_km_train_sources(&p, &empty.base, true, NULL, NULL, &m2), AR_ERR_INVALID,
              "no records");
    ar_hp_free(ar_km_hp, &p);

    /* ---- model file and prediction ---- */
    if (m) {
        char dir[] = "/tmp/ar_km_test_XXXXXX";
        CHECK(mkdtemp(dir) != NULL);
        CHECK_OK(ar_km_model_save(&m->base, dir));
        struct ar_model *lm = NULL;
        CHECK_OK(ar_km_model_load(dir, &lm));
        struct ar_batch all = dense_batch(x, n, 2);
        struct ar_table t1 = {0}, t2 = {0}, t3 = {0};
        CHECK_OK(ar_km_predict(&m->base, &all, &t1));
        if (lm)
            CHECK_OK(ar_km_predict(lm, &all, &t2));
        const struct ar_table_col *c1 = ar_table_find(&t1, "closest_cluster"),
                                  *c2 = ar_table_find(&t2, "closest_cluster"),
                                  *e1 = ar_table_find(&t1, "distance_to_cluster"),
                                  *e2 = ar_table_find(&t2, "distance_to_cluster");
        CHECK(c1 && c2 && e1 && e2 && !c1->integral && !e1->integral);
        if (c1 && c2 && e1 && e2) {
            CHECK(memcmp(c1->data, c2->data, n * sizeof(float)) == 0);
            CHECK(memcmp(e1->data, e2->data, n * sizeof(float)) == 0);
            /* distance_to_cluster is the Euclidean distance (not squared). */
            size_t j = (size_t)c1->data[5];
            CHECK_REL(e1->data[5], sqrt(naive_d2(x + 10, m->centres + 2 * j, 2)), 1e-6);
        }
        /* Sparse input gives the same clusters. */
        struct ar_batch sb;
        memset(&sb, 0, sizeof sb);
        sb.n_rows = n;
        sb.n_cols = 2;
        sb.is_sparse = true;
        to_csr(x, n, 2, &sb.csr);
        CHECK_OK(ar_km_predict(&m->base, &sb, &t3));
        const struct ar_table_col *c3 = ar_table_find(&t3, "closest_cluster");
        CHECK(c1 && c3 && memcmp(c1->data, c3->data, n * sizeof(float)) == 0);
        ar_csr_release(&sb.csr);
        struct ar_table t4 = {0};
        struct ar_batch narrow = dense_batch(x, 2, 1);
        CHECK_ERR(ar_km_predict(&m->base, &narrow, &t4), AR_ERR_INVALID,
                  "1 features per record but the model was trained with feature_dim = 2");
        ar_table_release(&t4);
        ar_table_release(&t1);
        ar_table_release(&t2);
        ar_table_release(&t3);
        if (lm)
            lm->algo->model_free(lm);

        /* Truncated at every length, corrupted at every byte, foreign, future version. */
        unsigned char *buf;
        size_t len;
        CHECK_OK(ar_km_model_encode(m, &buf, &len));
        CHECK_INT(len, 32 + 3 * 2 * 4 + 4);
        struct ar_km_model *dm = NULL;
        CHECK_OK(ar_km_model_decode(buf, len, "x", &dm));
        CHECK(dm && memcmp(dm->centres, m->centres, 6 * sizeof(float)) == 0);
        ar_km_model_free(dm);
        long refused = 0;
        for (size_t cut = 0; cut < len; cut++)
            refused += ar_km_model_decode(buf, cut, "x", &dm) == AR_ERR_FORMAT;
        CHECK_INT(refused, (long)len);
        refused = 0;
        for (size_t i = 0; i < len; i++) {
            buf[i] ^= 0x10;
            refused += ar_km_model_decode(buf, len, "x", &dm) == AR_ERR_FORMAT;
            buf[i] ^= 0x10;
        }
        CHECK_INT(refused, (long)len);
        buf[len - 1] ^= 1;
        CHECK_ERR(ar_km_model_decode(buf, len, "x", &dm), AR_ERR_FORMAT, "checksum mismatch");
        buf[len - 1] ^= 1;
        buf[8] = 2;
        CHECK_ERR(ar_km_model_decode(buf, len, "x", &dm), AR_ERR_FORMAT, "version 2");
        buf[8] = 1;
        CHECK_ERR(ar_km_model_decode((const unsigned char *)"PK\3\4zipzipzip", 14, "x", &dm),
                  AR_ERR_FORMAT, "bad magic");
        /* A truncated file on disk. */
        char path[256];
        snprintf(path, sizeof path, "%s/%s", dir, AR_KM_MODEL_FILE);
        FILE *f = fopen(path, "wb");
        CHECK(f != NULL);
        if (f) {
            fwrite(buf, 1, len - 5, f);
            fclose(f);
        }
        struct ar_model *bad_m = NULL;
        CHECK_ERR(ar_km_model_load(dir, &bad_m), AR_ERR_FORMAT, "truncated or trailing data");
        CHECK(bad_m == NULL);
        ar_free(buf);
        unlink(path);
        CHECK_ERR(ar_km_model_load(dir, &bad_m), AR_ERR_NOT_FOUND, "cannot open");
        rmdir(dir);
    }
    ar_km_model_free(m);
    ar_free(x);
}

/* Every allocation of training, saving-free prediction and decoding fails in turn: each
 * failure is a clean AR_ERR_NOMEM (ASan checks that nothing leaks). */
static void test_fault_injection(void)
{
    float *x = blobs(20, 3);
    struct ar_hp_kv kv[] = {{"k", "3"},
                            {"feature_dim", "2"},
                            {"mini_batch_size", "25"},
                            {"init_method", "kmeans++"},
                            {"local_lloyd_num_trials", "2"}};
    struct ar_km_params p;
    CHECK_OK(parse_params(kv, 5, &p));
    struct ar_batch all = dense_batch(x, 60, 2);
    long failures = 0, wrong = 0;
    struct ar_km_model *m = NULL;
    for (long nth = 1; nth < 10000; nth++) {
        struct mem_src tr;
        mem_src_init(&tr, &all);
        ar_mem_fail_at(nth);
        int rc = ar_km_train_sources(&p, &tr.base, true, NULL, NULL, &m);
        ar_mem_fail_at(0);
        if (rc == AR_OK)
            break;
        failures++;
        wrong += rc != AR_ERR_NOMEM || m != NULL;
    }
    CHECK(failures > 5);
    CHECK_INT(wrong, 0);
    CHECK(m != NULL);
    for (long nth = 1; m && nth < 100; nth++) {
        struct ar_table t = {0};
        ar_mem_fail_at(nth);
        int rc = ar_km_predict(&m->base, &all, &t);
        ar_mem_fail_at(0);
        ar_table_release(&t);
        if (rc == AR_OK)
            break;
        CHECK_INT(rc, AR_ERR_NOMEM);
    }
    ar_km_model_free(m);
    ar_hp_free(ar_km_hp, &p);
    ar_free(x);
}

void test_suite_kmeans(void)
{
    test_kernel();
    test_stream_update();
    test_hp();
    test_train();
    test_fault_injection();
}
