/* Unit tests for core/: err, log, mem, mat, rng, timer, cpu, reduce. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mat.h"
#include "core/mem.h"
#include "core/reduce.h"
#include "core/rng.h"
#include "core/timer.h"
#include "core/version.h"
#include "tests/unit/testhelp.h"

static void test_err(void)
{
    ar_err_clear();
    CHECK_STR(ar_err_msg(), "");
    CHECK_INT(ar_err_set(AR_ERR_FORMAT, "line %d: bad token '%s'", 7, "x"), AR_ERR_FORMAT);
    CHECK_STR(ar_err_msg(), "line 7: bad token 'x'");
    ar_err_prefix("file '%s': ", "a.csv");
    CHECK_STR(ar_err_msg(), "file 'a.csv': line 7: bad token 'x'");
    /* A prefix longer than the buffer truncates instead of overflowing. */
    char big[2 * AR_ERR_MSG_SIZE];
    memset(big, 'p', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ar_err_prefix("%s", big);
    CHECK_INT(strlen(ar_err_msg()), AR_ERR_MSG_SIZE - 1);
    CHECK_STR(ar_status_str(AR_ERR_NOMEM), "out of memory");
    CHECK_STR(ar_status_str(AR_OK), "ok");
    CHECK_STR(ar_status_str(12345), "unknown error");
    CHECK(strlen(AR_VERSION) > 0);
}

static int try_twice(int first)
{
    AR_TRY(first);
    return 42;
}

static void test_try(void)
{
    CHECK_INT(try_twice(AR_OK), 42);
    CHECK_INT(try_twice(AR_ERR_IO), AR_ERR_IO);
}

struct captured {
    char text[512];
    int lines;
    enum ar_log_level last;
};

static void capture_sink(enum ar_log_level level, const char *line, size_t len, void *user)
{
    struct captured *c = user;
    size_t used = strlen(c->text);
    if (used + len < sizeof c->text)
        memcpy(c->text + used, line, len + 1);
    c->lines++;
    c->last = level;
}

static int evaluated;
static int count_eval(void)
{
    return ++evaluated;
}

static void test_log(void)
{
    struct captured cap = {{0}, 0, AR_LOG_DEBUG};
    ar_log_sink_fn prev;
    void *prev_user;
    enum ar_log_level old = ar_log_get_level();
    ar_log_set_sink(capture_sink, &cap, &prev, &prev_user);
    ar_log_set_level(AR_LOG_INFO);
    AR_INFO("hello %d", 5);
    CHECK_INT(cap.lines, 1);
    CHECK(strstr(cap.text, " INFO ") != NULL);
    CHECK(strstr(cap.text, "] hello 5\n") != NULL);
    CHECK(cap.text[0] == '[');
    /* Below the level: the arguments are not even evaluated. */
    evaluated = 0;
    AR_DEBUG("skipped %d", count_eval());
    CHECK_INT(evaluated, 0);
    CHECK_INT(cap.lines, 1);
    AR_WARN("careful");
    CHECK_INT(cap.last, AR_LOG_WARN);
    CHECK(strstr(cap.text, "WARNING") != NULL);
    cap.text[0] = '\0';
    ar_log_raw("[3]\ttrain-rmse:%.5f", 0.5);
    CHECK_STR(cap.text, "[3]\ttrain-rmse:0.50000\n");
    enum ar_log_level lv;
    CHECK_OK(ar_log_level_parse("Warning", &lv));
    CHECK_INT(lv, AR_LOG_WARN);
    CHECK_ERR(ar_log_level_parse("loud", &lv), AR_ERR_PARAM, "loud");
    CHECK_STR(ar_log_host(), "algo-1");
    ar_log_set_host("algo-2");
    CHECK_STR(ar_log_host(), "algo-2");
    ar_log_set_host("algo-1");
    ar_log_set_sink(prev, prev_user, NULL, NULL);
    ar_log_set_level(old);
}

static void test_mem(void)
{
    void *p = ar_allocn(100, 3);
    CHECK(p != NULL);
    CHECK(((uintptr_t)p % AR_ALIGN) == 0);
    ar_free(p);
    ar_free(NULL);
    CHECK(ar_allocn(SIZE_MAX / 2, 4) == NULL);
    CHECK(strstr(ar_err_msg(), "overflow") != NULL);
    size_t prod;
    CHECK(ar_mul_overflow(SIZE_MAX, 2, &prod));
    CHECK(!ar_mul_overflow(1000, 1000, &prod) && prod == 1000000);
    int *z = ar_callocn(64, sizeof(int));
    int allzero = 1;
    for (int i = 0; i < 64; i++)
        allzero &= z[i] == 0;
    CHECK(allzero);
    for (int i = 0; i < 64; i++)
        z[i] = i;
    int *g = ar_reallocn(z, 64 * sizeof(int), 128, sizeof(int));
    CHECK(g != NULL && g[63] == 63 && ((uintptr_t)g % AR_ALIGN) == 0);
    ar_free(g);
    char *s = ar_strdup("abc");
    CHECK_STR(s, "abc");
    ar_free(s);

    /* Fault injection: the 2nd allocation from now fails, cleanly. */
    ar_mem_fail_at(2);
    void *a = ar_alloc(8);
    void *b = ar_alloc(8);
    void *c = ar_alloc(8);
    CHECK(a != NULL && b == NULL && c != NULL);
    CHECK(strstr(ar_err_msg(), "injected") != NULL);
    CHECK_INT(ar_mem_alloc_count(), 3);
    ar_free(a);
    ar_free(c);
    ar_mem_fail_at(0);
}

static void test_mat(void)
{
    struct ar_mat m;
    CHECK_OK(ar_mat_alloc(&m, 4, 3));
    CHECK(m.owner != NULL && m.stride == 3);
    for (size_t i = 0; i < 4; i++)
        for (size_t j = 0; j < 3; j++)
            ar_mat_row(&m, i)[j] = (float)(i * 10 + j);
    struct ar_mat v = ar_mat_rows(&m, 1, 3);
    CHECK_INT(v.n_rows, 2);
    CHECK(v.owner == NULL);
    CHECK(ar_mat_row(&v, 1)[2] == 22.0f);
    ar_mat_release(&v);
    CHECK(m.data != NULL); /* releasing a view leaves the parent alone */
    struct ar_mat w = ar_mat_view(m.data, 2, 2, 3);
    CHECK(ar_mat_row(&w, 1)[1] == 11.0f);
    struct ar_mat e = ar_mat_rows(&m, 4, 4);
    CHECK_INT(e.n_rows, 0);
    ar_mat_release(&m);
    CHECK(m.data == NULL && m.n_rows == 0);

    /* CSR: [[1 0 2], [0 0 0], [0 3 0]] */
    struct ar_csr c;
    CHECK_OK(ar_csr_alloc(&c, 3, 3, 3));
    uint64_t ip[] = {0, 2, 2, 3};
    uint32_t ix[] = {0, 2, 1};
    float vx[] = {1, 2, 3};
    memcpy(c.indptr, ip, sizeof ip);
    memcpy(c.indices, ix, sizeof ix);
    memcpy(c.values, vx, sizeof vx);
    CHECK_OK(ar_csr_check(&c));
    CHECK_INT(ar_csr_nnz(&c), 3);
    struct ar_csr r = ar_csr_rows(&c, 1, 3);
    CHECK_INT(r.n_rows, 2);
    CHECK_INT(ar_csr_nnz(&r), 1);
    struct ar_mat d;
    CHECK_OK(ar_mat_alloc(&d, 2, 3));
    CHECK_OK(ar_csr_to_dense(&r, 0.0f, &d));
    CHECK(ar_mat_row(&d, 0)[0] == 0.0f && ar_mat_row(&d, 1)[1] == 3.0f);
    CHECK_OK(ar_csr_to_dense(&r, NAN, &d));
    CHECK(isnan(ar_mat_row(&d, 1)[0]) && ar_mat_row(&d, 1)[1] == 3.0f);
    struct ar_mat small;
    CHECK_OK(ar_mat_alloc(&small, 2, 2));
    CHECK_ERR(ar_csr_to_dense(&r, 0.0f, &small), AR_ERR_INVALID, "cannot hold");
    ar_mat_release(&small);
    ar_mat_release(&d);
    c.indices[1] = 0; /* row 0 now has column 0 twice */
    CHECK_ERR(ar_csr_check(&c), AR_ERR_FORMAT, "sparse row 0");
    c.indices[1] = 7;
    CHECK_ERR(ar_csr_check(&c), AR_ERR_FORMAT, ">= width 3");
    ar_csr_release(&c);
    CHECK(c.indptr == NULL);
}

static void test_rng(void)
{
    struct ar_rng a, b, c;
    ar_rng_init(&a, 42, 0);
    ar_rng_init(&b, 42, 0);
    ar_rng_init(&c, 42, 1);
    int same = 1, differ = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = ar_rng_u64(&a), y = ar_rng_u64(&b), z = ar_rng_u64(&c);
        same &= x == y;
        differ += x != z;
    }
    CHECK(same);
    CHECK(differ == 100);
    /* Uniform moments and range. */
    double sum = 0, sum2 = 0, mn = 1, mx = 0;
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        double u = ar_rng_uniform(&a);
        sum += u;
        sum2 += u * u;
        mn = fmin(mn, u);
        mx = fmax(mx, u);
    }
    CHECK(mn >= 0.0 && mx < 1.0);
    CHECK_NEAR(sum / n, 0.5, 0.005);
    CHECK_NEAR(sum2 / n - (sum / n) * (sum / n), 1.0 / 12, 0.002);
    /* Normal moments. */
    sum = sum2 = 0;
    for (int i = 0; i < n; i++) {
        double g = ar_rng_normal(&a);
        sum += g;
        sum2 += g * g;
    }
    CHECK_NEAR(sum / n, 0.0, 0.01);
    CHECK_NEAR(sum2 / n, 1.0, 0.02);
    /* Bounded integers: every value of [0, 7) appears, none outside. */
    int hist[7] = {0}, bad = 0;
    for (int i = 0; i < 70000; i++) {
        uint64_t k = ar_rng_below(&a, 7);
        if (k >= 7)
            bad++;
        else
            hist[k]++;
    }
    CHECK_INT(bad, 0);
    for (int k = 0; k < 7; k++)
        CHECK_NEAR(hist[k], 10000, 500);
    /* Shuffle is a permutation. */
    uint32_t v[50];
    for (uint32_t i = 0; i < 50; i++)
        v[i] = i;
    ar_rng_shuffle_u32(&a, v, 50);
    int seen[50] = {0}, moved = 0;
    for (uint32_t i = 0; i < 50; i++) {
        seen[v[i]]++;
        moved += v[i] != i;
    }
    int perm = 1;
    for (int i = 0; i < 50; i++)
        perm &= seen[i] == 1;
    CHECK(perm);
    CHECK(moved > 30);
}

static void test_timer_cpu_reduce(void)
{
    struct ar_timer t;
    ar_timer_start(&t);
    double t0 = ar_time_now();
    volatile double x = 0;
    for (int i = 0; i < 1000000; i++)
        x += i;
    CHECK(x > 0 && ar_time_now() >= t0);
    CHECK(ar_timer_elapsed(&t) >= 0.0);
    CHECK(ar_time_cpu() > 0.0);
    CHECK(ar_time_epoch() > 1.7e9);
    CHECK(strlen(ar_cpu_features()) > 0);
    CHECK(ar_cpu_has_avx512f() ? ar_cpu_has_avx2() : 1);
    CHECK(strlen(ar_cpu_model()) > 0);
    double buf[3] = {1, 2, 3};
    int64_t ib[2] = {4, 5};
    CHECK_OK(ar_reduce_sum_f64(buf, 3));
    CHECK_OK(ar_reduce_max_f64(buf, 3));
    CHECK_OK(ar_reduce_min_f64(buf, 3));
    CHECK_OK(ar_reduce_sum_i64(ib, 2));
    CHECK(buf[0] == 1 && buf[2] == 3 && ib[1] == 5);
    CHECK_INT(ar_reduce_world_size(), 1);
    CHECK_INT(ar_reduce_rank(), 0);
}

void test_suite_core(void)
{
    test_err();
    test_try();
    test_log();
    test_mem();
    test_mat();
    test_rng();
    test_timer_cpu_reduce();
}
