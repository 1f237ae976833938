/* Tuning: ranges and scaling, grids, the GP surrogate and expected improvement, the strategies
 * (Bayesian against Random on the Branin function), Hyperband's plan and early stopping. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "algorithms/algo.h"
#include "container/tune.h"
#include "core/mem.h"
#include "core/rng.h"
#include "tests/unit/testhelp.h"

static void test_ranges(void)
{
    struct ar_tune_space sp;
    memset(&sp, 0, sizeof sp);
    CHECK_OK(ar_tune_space_add(&sp, "k=Integer:2:10"));
    CHECK_OK(ar_tune_space_add(&sp, "local_lloyd_tol=Continuous:0.0001:0.1:Logarithmic"));
    CHECK_OK(ar_tune_space_add(&sp, "init_method=Categorical:random,kmeans++"));
    CHECK_INT(sp.n, 3);
    CHECK_INT(sp.ranges[0].kind, AR_TUNE_INTEGER);
    CHECK_INT(sp.ranges[1].scaling, AR_TUNE_LOG);
    CHECK_INT(sp.ranges[2].n_values, 2);
    CHECK_STR(sp.ranges[2].values[1], "kmeans++");
    CHECK_INT(ar_tune_unit_dim(&sp), 4);
    CHECK_ERR(ar_tune_space_add(&sp, "k=Integer:1:3"), AR_ERR_PARAM, "given twice");
    CHECK_ERR(ar_tune_space_add(&sp, "a=Integer:5:1"), AR_ERR_PARAM, "below MAX");
    CHECK_ERR(ar_tune_space_add(&sp, "a=Continuous:0:1:Logarithmic"), AR_ERR_PARAM, "MIN > 0");
    CHECK_ERR(ar_tune_space_add(&sp, "a=Continuous:0:1:ReverseLogarithmic"), AR_ERR_PARAM,
              "0 <= x < 1");
    CHECK_ERR(ar_tune_space_add(&sp, "a=Float:0:1"), AR_ERR_PARAM, "Integer, Continuous");
    CHECK_ERR(ar_tune_space_add(&sp, "a=Integer:x:3"), AR_ERR_PARAM, "not an integer");
    CHECK_ERR(ar_tune_space_add(&sp, "a=Continuous:0:1:Cubic"), AR_ERR_PARAM, "scaling");
    CHECK_ERR(ar_tune_space_add(&sp, "a=Categorical:x,,y"), AR_ERR_PARAM, "empty");
    CHECK_ERR(ar_tune_space_add(&sp, "a=Categorical:x,x"), AR_ERR_PARAM, "twice");
    CHECK_ERR(ar_tune_space_add(&sp, "noequals"), AR_ERR_PARAM, "expected NAME=");
    CHECK_INT(sp.n, 3);

    /* Checked against the kmeans schema. */
    const struct ar_algo *km;
    CHECK_OK(ar_algo_find("kmeans:1", &km));
    CHECK_OK(ar_tune_space_check(&sp, km));
    struct ar_tune_space bad;
    memset(&bad, 0, sizeof bad);
    CHECK_OK(ar_tune_space_add(&bad, "k=Integer:0:10"));
    CHECK_ERR(ar_tune_space_check(&bad, km), AR_ERR_PARAM, "minimum");
    ar_tune_space_release(&bad);
    CHECK_OK(ar_tune_space_add(&bad, "nonexistent=Integer:1:10"));
    CHECK_ERR(ar_tune_space_check(&bad, km), AR_ERR_PARAM, "no hyperparameter");
    ar_tune_space_release(&bad);
    CHECK_OK(ar_tune_space_add(&bad, "k=Continuous:1:10"));
    CHECK_ERR(ar_tune_space_check(&bad, km), AR_ERR_PARAM, "Integer range");
    ar_tune_space_release(&bad);
    CHECK_OK(ar_tune_space_add(&bad, "init_method=Categorical:random,fancy"));
    CHECK_ERR(ar_tune_space_check(&bad, km), AR_ERR_PARAM, "fancy");
    ar_tune_space_release(&bad);

    /* Sampling stays in range, integers are integers, log scaling covers the decades. */
    struct ar_rng rng;
    ar_rng_init(&rng, 1, 0);
    int below_1e3 = 0, ints_ok = 1, in_range = 1;
    int seen[11] = {0};
    for (int i = 0; i < 2000; i++) {
        double x[AR_TUNE_MAX_PARAMS];
        ar_tune_sample(&sp, &rng, x);
        ints_ok &= x[0] == floor(x[0]);
        in_range &=
            x[0] >= 2 && x[0] <= 10 && x[1] >= 1e-4 && x[1] <= 0.1 && (x[2] == 0 || x[2] == 1);
        below_1e3 += x[1] < 1e-3;
        seen[(int)x[0]]++;
    }
    CHECK(ints_ok);
    CHECK(in_range);
    /* A third of the log range lies below 1e-3. */
    CHECK(below_1e3 > 550 && below_1e3 < 780);
    CHECK(seen[2] > 150 && seen[10] > 150); /* end points as likely as the middle */
    double x[AR_TUNE_MAX_PARAMS] = {4, 0.01, 1};
    char buf[64];
    ar_tune_format(&sp, 0, x, buf, sizeof buf);
    CHECK_STR(buf, "4");
    ar_tune_format(&sp, 2, x, buf, sizeof buf);
    CHECK_STR(buf, "kmeans++");
    ar_tune_format(&sp, 1, x, buf, sizeof buf);
    double back[AR_TUNE_MAX_PARAMS];
    CHECK_OK(ar_tune_parse_value(&sp, 1, buf, back));
    CHECK(back[1] == 0.01);
    CHECK_OK(ar_tune_parse_value(&sp, 2, "random", back));
    CHECK(back[2] == 0);
    CHECK_ERR(ar_tune_parse_value(&sp, 2, "other", back), AR_ERR_PARAM, "not one of");
    double u[8];
    ar_tune_encode(&sp, x, u);
    CHECK_NEAR(u[0], 2.0 / 8.0, 1e-12);
    CHECK_NEAR(u[1], 2.0 / 3.0, 1e-12); /* log10: -2 within [-4, -1] */
    CHECK(u[2] == 0 && u[3] == 1);
    ar_tune_space_release(&sp);

    /* Reverse-log scaling concentrates near 1. */
    memset(&sp, 0, sizeof sp);
    CHECK_OK(ar_tune_space_add(&sp, "b=Continuous:0:0.999:ReverseLogarithmic"));
    int above = 0;
    for (int i = 0; i < 1000; i++) {
        ar_tune_sample(&sp, &rng, x);
        above += x[0] > 0.9;
    }
    CHECK(above > 500);
    ar_tune_space_release(&sp);
}

static void test_grid(void)
{
    struct ar_tune_space sp;
    memset(&sp, 0, sizeof sp);
    CHECK_OK(ar_tune_space_add(&sp, "a=Categorical:x,y,z"));
    CHECK_OK(ar_tune_space_add(&sp, "b=Integer:1:2"));
    CHECK_INT(ar_tune_grid_size(&sp), 6);
    struct ar_tune_config cfg = {AR_TUNE_GRID, &sp, false, 1, 0, AR_GP_MATERN52, 0, 0, 0};
    struct ar_tune_trial trials[8];
    const char *want[] = {"x1", "x2", "y1", "y2", "z1", "z2"};
    for (size_t n = 0; n < 7; n++) {
        enum ar_tune_next what;
        CHECK_OK(ar_tune_propose(&cfg, trials, n, &trials[n], &what));
        if (n == 6) {
            CHECK_INT(what, AR_TUNE_DONE);
            break;
        }
        CHECK_INT(what, AR_TUNE_READY);
        char a[16], b[16], got[40];
        ar_tune_format(&sp, 0, trials[n].x, a, sizeof a);
        ar_tune_format(&sp, 1, trials[n].x, b, sizeof b);
        snprintf(got, sizeof got, "%s%s", a, b);
        CHECK_STR(got, want[n]);
    }
    CHECK_OK(ar_tune_space_add(&sp, "c=Continuous:0:1"));
    CHECK_INT(ar_tune_grid_size(&sp), 0);
    ar_tune_space_release(&sp);
}

static void test_gp(void)
{
    /* 1-D: fit sin on 8 points; the mean interpolates, sd is small at data, larger between. */
    double x[8], y[8];
    for (int i = 0; i < 8; i++) {
        x[i] = i / 7.0;
        y[i] = sin(6.0 * x[i]);
    }
    struct ar_gp *gp;
    CHECK_OK(ar_gp_fit(x, y, 8, 1, AR_GP_MATERN52, &gp));
    double q[3] = {x[3], (x[3] + x[4]) / 2, 2.0}, mu[3], sd[3];
    CHECK_OK(ar_gp_predict(gp, q, 3, mu, sd));
    CHECK_NEAR(mu[0], y[3], 0.02);
    CHECK_NEAR(mu[1], sin(6.0 * q[1]), 0.05);
    CHECK(sd[0] < sd[1]);
    CHECK(sd[2] > 5 * sd[1]); /* far from the data: back to the prior */
    double ls, noise;
    ar_gp_params(gp, &ls, &noise);
    CHECK(ls > 0 && noise > 0);
    ar_gp_free(gp);
    CHECK_OK(ar_gp_fit(x, y, 8, 1, AR_GP_RBF, &gp));
    CHECK_OK(ar_gp_predict(gp, q, 3, mu, sd));
    CHECK_NEAR(mu[1], sin(6.0 * q[1]), 0.05);
    ar_gp_free(gp);
    CHECK_ERR(ar_gp_fit(x, y, 0, 1, AR_GP_RBF, &gp), AR_ERR_INVALID, "at least one");

    /* Expected improvement against the closed form. */
    CHECK_NEAR(ar_gp_expected_improvement(0, 1, 0, 0), 1 / sqrt(2 * M_PI), 1e-12);
    CHECK_NEAR(ar_gp_expected_improvement(1, 0, 3, 0), 2, 1e-12);
    CHECK_NEAR(ar_gp_expected_improvement(3, 0, 1, 0), 0, 1e-12);
    /* mean 0, sd 2, best 1: z = 0.5 -> 1*Phi(0.5) + 2*phi(0.5) */
    CHECK_NEAR(ar_gp_expected_improvement(0, 2, 1, 0), 0.69146246127401 + 2 * 0.35206532676430,
               1e-10);
}

/* Branin on [-5, 10] x [0, 15]; global minimum 0.397887. */
static double branin(const double *x)
{
    double a = 1, b = 5.1 / (4 * M_PI * M_PI), c = 5 / M_PI, r = 6, s = 10, t = 1 / (8 * M_PI);
    double q = x[1] - b * x[0] * x[0] + c * x[0] - r;
    return a * q * q + s * (1 - t) * cos(x[0]) + s;
}

/* Trials a strategy needs to reach `target` (sequential, as --max-parallel 1). */
static size_t trials_to_reach(enum ar_tune_strategy st, uint64_t seed, double target, size_t cap)
{
    struct ar_tune_space sp;
    memset(&sp, 0, sizeof sp);
    ar_tune_space_add(&sp, "x0=Continuous:-5:10");
    ar_tune_space_add(&sp, "x1=Continuous:0:15");
    struct ar_tune_config cfg = {st, &sp, false, seed, (long)cap, AR_GP_MATERN52, 0, 0, 1000};
    struct ar_tune_trial *trials = ar_callocn(cap, sizeof *trials);
    size_t n = 0;
    for (; n < cap; n++) {
        enum ar_tune_next what;
        if (ar_tune_propose(&cfg, trials, n, &trials[n], &what) != AR_OK || what != AR_TUNE_READY)
            break;
        trials[n].objective = branin(trials[n].x);
        trials[n].has_objective = true;
        trials[n].state = AR_TRIAL_DONE;
        if (trials[n].objective <= target) {
            n++;
            break;
        }
    }
    ar_free(trials);
    ar_tune_space_release(&sp);
    return n;
}

static void test_bayesian_vs_random(void)
{
    const double target = 0.5;
    const size_t cap = 600;
    double sum_b = 0, sum_r = 0;
    for (uint64_t seed = 1; seed <= 5; seed++) {
        size_t b = trials_to_reach(AR_TUNE_BAYESIAN, seed, target, cap);
        size_t r = trials_to_reach(AR_TUNE_RANDOM, seed, target, cap);
        sum_b += (double)b;
        sum_r += (double)r;
        if (getenv("AR_TUNE_VERBOSE"))
            fprintf(stderr, "branin seed %d: bayesian %zu, random %zu trials to <= %.2f\n",
                    (int)seed, b, r, target);
    }
    if (getenv("AR_TUNE_VERBOSE"))
        fprintf(stderr, "branin mean: bayesian %.1f, random %.1f\n", sum_b / 5, sum_r / 5);
    CHECK(sum_b < sum_r);
    CHECK(sum_b / 5 < 35); /* measured: 23.0 (Random: see AR_TUNE_VERBOSE=1) */
}

static void test_random_reproducible(void)
{
    struct ar_tune_space sp;
    memset(&sp, 0, sizeof sp);
    CHECK_OK(ar_tune_space_add(&sp, "a=Continuous:0:1"));
    struct ar_tune_config cfg = {AR_TUNE_RANDOM, &sp, false, 42, 3, AR_GP_MATERN52, 0, 0, 0};
    struct ar_tune_trial t1[4], t2[4];
    enum ar_tune_next what;
    for (size_t n = 0; n < 3; n++) {
        CHECK_OK(ar_tune_propose(&cfg, t1, n, &t1[n], &what));
        CHECK_OK(ar_tune_propose(&cfg, t2, n, &t2[n], &what));
        CHECK(t1[n].x[0] == t2[n].x[0]);
    }
    CHECK(t1[0].x[0] != t1[1].x[0]);
    CHECK_OK(ar_tune_propose(&cfg, t1, 3, &t1[3], &what));
    CHECK_INT(what, AR_TUNE_DONE);
    ar_tune_space_release(&sp);
}

static void test_hyperband(void)
{
    struct ar_tune_space sp;
    memset(&sp, 0, sizeof sp);
    CHECK_OK(ar_tune_space_add(&sp, "a=Continuous:0:1"));
    struct ar_tune_config cfg = {AR_TUNE_HYPERBAND, &sp, false, 7, 0, AR_GP_MATERN52, 1, 9, 0};
    /* eta 3, R 9: s_max 2; brackets 9@1 3@3 1@9 | 5@3 1@9 | 3@9 = 22 trials. */
    CHECK_INT(ar_tune_hyperband_size(&cfg), 22);
    struct ar_tune_trial t[24];
    memset(t, 0, sizeof t);
    const long want_res[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 3, 3, 3, 9, 3, 3, 3, 3, 3, 9, 9, 9, 9};
    for (size_t n = 0; n < 22; n++) {
        enum ar_tune_next what;
        CHECK_OK(ar_tune_propose(&cfg, t, n, &t[n], &what));
        if (n == 9) {
            /* Rung 1 waits for rung 0 to finish. */
            t[8].state = AR_TRIAL_RUNNING;
            struct ar_tune_trial tmp;
            CHECK_OK(ar_tune_propose(&cfg, t, n, &tmp, &what));
            CHECK_INT(what, AR_TUNE_WAIT);
            t[8].state = AR_TRIAL_DONE;
            CHECK_OK(ar_tune_propose(&cfg, t, n, &t[n], &what));
        }
        CHECK_INT(what, AR_TUNE_READY);
        CHECK_INT(t[n].resource, want_res[n]);
        /* objective: distance of a to 0.3 (minimise) */
        t[n].objective = fabs(t[n].x[0] - 0.3);
        t[n].has_objective = true;
        t[n].state = AR_TRIAL_DONE;
    }
    /* Rung 1 of bracket 0 holds the 3 best of rung 0, best first. */
    double sorted[9];
    for (int i = 0; i < 9; i++)
        sorted[i] = t[i].objective;
    for (int i = 0; i < 9; i++)
        for (int j = i + 1; j < 9; j++)
            if (sorted[j] < sorted[i]) {
                double tmp = sorted[i];
                sorted[i] = sorted[j];
                sorted[j] = tmp;
            }
    CHECK(t[9].objective == sorted[0]);
    CHECK(t[10].objective == sorted[1]);
    CHECK(t[11].objective == sorted[2]);
    CHECK(t[12].x[0] == t[9].x[0]); /* rung 2: the best of rung 1 */
    ar_tune_space_release(&sp);
}

static void test_early_stopping(void)
{
    double r1[] = {5, 4, 3}, r2[] = {6, 5, 4}, r3[] = {4, 3, 2}, r4[] = {1};
    const double *ref[] = {r1, r2, r3, r4};
    size_t nref[] = {3, 3, 3, 1};
    /* Running averages at step 1: 4.5, 5.5, 3.5 -> median 4.5 (r4 has no step 1). */
    double cur_bad[] = {9, 4.6}, cur_ok[] = {9, 4.4};
    CHECK(ar_tune_should_stop(false, cur_bad, 2, ref, nref, 4, 3));
    CHECK(!ar_tune_should_stop(false, cur_ok, 2, ref, nref, 4, 3));
    CHECK(ar_tune_should_stop(true, cur_ok, 2, ref, nref, 4, 3));
    CHECK(!ar_tune_should_stop(false, cur_bad, 2, ref, nref, 4, 4)); /* too few references */
    CHECK(!ar_tune_should_stop(false, cur_bad, 0, ref, nref, 4, 1));
}

void test_suite_tune(void)
{
    test_ranges();
    test_grid();
    test_gp();
    test_random_reproducible();
    test_bayesian_vs_random();
    test_hyperband();
    test_early_stopping();
}
