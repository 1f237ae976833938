/* Unit tests for the hyperparameter schema parser and the algorithm-interface helpers. */
#include <stddef.h>
#include <string.h>

#include "algorithms/algo.h"
#include "algorithms/hp.h"
#include "core/mem.h"
#include "tests/unit/testhelp.h"

struct toy_params {
    int64_t rounds;
    double eta;
    bool use_bias;
    int policy;
    char *name;
    double lr;
    bool lr_auto;
};

static const char *const policies[] = {"depthwise", "lossguide", NULL};

static const struct ar_hp_spec toy_hp[] = {
    {"num_round", AR_HP_INT, AR_HP_REQUIRED | AR_HP_HAS_MIN, NULL, 1, 0, NULL,
     offsetof(struct toy_params, rounds), 0, "rounds", NULL},
    {"eta", AR_HP_FLOAT, AR_HP_HAS_MIN | AR_HP_HAS_MAX, "0.3", 0, 1, NULL,
     offsetof(struct toy_params, eta), 0, "step", "learning_rate"},
    {"use_bias", AR_HP_BOOL, 0, "true", 0, 0, NULL, offsetof(struct toy_params, use_bias), 0,
     "bias", NULL},
    {"grow_policy", AR_HP_ENUM, 0, "depthwise", 0, 0, policies, offsetof(struct toy_params, policy),
     0, "policy", NULL},
    {"name", AR_HP_STRING, 0, "x", 0, 0, NULL, offsetof(struct toy_params, name), 0, "name", NULL},
    {"lr", AR_HP_FLOAT, AR_HP_AUTO | AR_HP_HAS_MIN | AR_HP_MIN_OPEN, "auto", 0, 0, NULL,
     offsetof(struct toy_params, lr), offsetof(struct toy_params, lr_auto), "lr", NULL},
    {NULL, 0, 0, NULL, 0, 0, NULL, 0, 0, NULL, NULL},
};

/* Parses into a fresh struct; on failure frees what the parse allocated (as job.c does). */
static int parse(const struct ar_hp_kv *kv, size_t n, struct toy_params *p)
{
    memset(p, 0, sizeof *p);
    int rc = ar_hp_parse(toy_hp, kv, n, true, p);
    if (rc != AR_OK)
        ar_hp_free(toy_hp, p);
    return rc;
}

static void test_parse(void)
{
    struct toy_params p;
    struct ar_hp_kv ok[] = {{"num_round", "10"},
                            {"learning_rate", " 0.5 "},
                            {"use_bias", "False"},
                            {"grow_policy", "lossguide"},
                            {"_tuning_objective_metric", "validation:rmse"},
                            {"lr", "0.01"}};
    CHECK_OK(parse(ok, 6, &p));
    CHECK_INT(p.rounds, 10);
    CHECK_NEAR(p.eta, 0.5, 0);
    CHECK(!p.use_bias);
    CHECK_INT(p.policy, 1);
    CHECK_STR(p.name, "x");
    CHECK(!p.lr_auto && p.lr == 0.01);
    char buf[64];
    CHECK_OK(ar_hp_format(&toy_hp[1], &p, buf, sizeof buf));
    CHECK_STR(buf, "0.5");
    CHECK_OK(ar_hp_format(&toy_hp[5], &p, buf, sizeof buf));
    CHECK_STR(buf, "0.01");
    CHECK_OK(ar_hp_format(&toy_hp[3], &p, buf, sizeof buf));
    CHECK_STR(buf, "lossguide");
    ar_hp_free(toy_hp, &p);
    CHECK(p.name == NULL);

    struct ar_hp_kv defaults[] = {{"num_round", "3"}};
    CHECK_OK(parse(defaults, 1, &p));
    CHECK(p.lr_auto && p.use_bias && p.eta == 0.3);
    CHECK_OK(ar_hp_format(&toy_hp[5], &p, buf, sizeof buf));
    CHECK_STR(buf, "auto");
    CHECK_OK(ar_hp_format(&toy_hp[2], &p, buf, sizeof buf));
    CHECK_STR(buf, "true");
    ar_hp_free(toy_hp, &p);

    struct ar_hp_kv s1[] = {{"num_round", "10.0"}};
    CHECK_ERR(parse(s1, 1, &p), AR_ERR_PARAM, "num_round: '10.0' is not an integer");
    struct ar_hp_kv s2[] = {{"num_round", "0"}};
    CHECK_ERR(parse(s2, 1, &p), AR_ERR_PARAM, "num_round: value 0 is out of range; allowed: >= 1");
    struct ar_hp_kv s3[] = {{"num_round", "1"}, {"eta", "1.5"}};
    CHECK_ERR(parse(s3, 2, &p), AR_ERR_PARAM, "allowed: [0, 1]");
    struct ar_hp_kv s4[] = {{"num_round", "1"}, {"colour", "red"}};
    CHECK_ERR(parse(s4, 2, &p), AR_ERR_PARAM, "Extraneous hyperparameter found: colour");
    struct ar_hp_kv s5[] = {{"eta", "0.1"}};
    CHECK_ERR(parse(s5, 1, &p), AR_ERR_PARAM, "Missing required hyperparameter: num_round");
    struct ar_hp_kv s6[] = {{"num_round", "1"}, {"grow_policy", "greedy"}};
    CHECK_ERR(parse(s6, 2, &p), AR_ERR_PARAM, "not one of: depthwise, lossguide");
    struct ar_hp_kv s7[] = {{"num_round", "1"}, {"use_bias", "yes"}};
    CHECK_ERR(parse(s7, 2, &p), AR_ERR_PARAM, "not a boolean");
    struct ar_hp_kv s8[] = {{"num_round", "1"}, {"eta", "0.1"}, {"learning_rate", "0.2"}};
    CHECK_ERR(parse(s8, 3, &p), AR_ERR_PARAM, "given twice");
    struct ar_hp_kv s9[] = {{"num_round", "1"}, {"lr", "0"}};
    CHECK_ERR(parse(s9, 2, &p), AR_ERR_PARAM, "allowed: > 0");
    struct ar_hp_kv s10[] = {{"num_round", "1"}, {"eta", "nan"}};
    CHECK_ERR(parse(s10, 2, &p), AR_ERR_PARAM, "not a finite number");
    struct ar_hp_kv s11[] = {{"num_round", "99999999999999999999"}};
    CHECK_ERR(parse(s11, 1, &p), AR_ERR_PARAM, "out of the integer range");
    ar_hp_free(toy_hp, &p);
    memset(&p, 0, sizeof p);
    struct ar_hp_kv s12[] = {{"num_round", "1"}, {"_internal", "x"}};
    CHECK_ERR(ar_hp_parse(toy_hp, s12, 2, false, &p), AR_ERR_PARAM, "Extraneous");
    ar_hp_free(toy_hp, &p);
    ar_hp_free(toy_hp, &p);
    CHECK(ar_hp_find(toy_hp, "learning_rate") == &toy_hp[1]);
    CHECK(ar_hp_find(toy_hp, "nope") == NULL);
}

static void test_table_channels(void)
{
    struct ar_table t;
    memset(&t, 0, sizeof t);
    t.n_rows = 3;
    float *score, *probs;
    CHECK_OK(ar_table_add(&t, "score", 1, false, &score));
    CHECK_OK(ar_table_add(&t, "probabilities", 4, false, &probs));
    score[2] = 1.5f;
    probs[11] = 2.0f;
    const struct ar_table_col *c = ar_table_find(&t, "probabilities");
    CHECK(c && c->width == 4 && c->data[11] == 2.0f);
    CHECK(ar_table_find(&t, "nope") == NULL);
    for (int i = 2; i < AR_TABLE_MAX_COLS; i++)
        CHECK_OK(ar_table_add(&t, "x", 1, true, NULL));
    CHECK_ERR(ar_table_add(&t, "y", 1, true, NULL), AR_ERR_INTERNAL, "full");
    ar_table_release(&t);
    CHECK_INT(t.n_cols, 0);

    struct ar_channel items[] = {{.name = "train", .location = "/tmp/a"},
                                 {.name = "validation", .location = "/tmp/b"}};
    struct ar_channels chs = {2, items};
    CHECK(ar_channels_get(&chs, "validation") == &items[1]);
    CHECK(ar_channels_get(&chs, "test") == NULL);
    CHECK(ar_channels_get(NULL, "train") == NULL);

    volatile sig_atomic_t stop = 0;
    struct ar_train_ctx ctx = {NULL, NULL, &stop, NULL, NULL};
    CHECK(!ar_train_ctx_stopping(&ctx));
    stop = 1;
    CHECK(ar_train_ctx_stopping(&ctx));
    ar_train_ctx_metric(&ctx, "train", "rmse", 1.0, 0); /* no callback: no crash */
    const struct ar_algo *a;
    CHECK_ERR(ar_algo_find("nosuch:1", &a), AR_ERR_NOT_FOUND, "unknown algorithm 'nosuch:1'");
}

void test_suite_hp(void)
{
    test_parse();
    test_table_channels();
}
