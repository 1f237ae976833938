"""core/metrics against scikit-learn 1.2.1 and XGBoost 1.7.4, through build/tools/metric_eval.

Every metric is evaluated on at least five seeded cases (ties, weights including zeros,
all-equal predictions, n = 1 or 2, imbalanced classes) and must match its reference to 1e-9
relative. Inputs are cast to float32 first; the reference sees those same float32 values as
float64 (so scikit-learn computes in double, as we do), and metric_eval reads them exactly.

References:
- scikit-learn where it has the metric (auc, average_precision, logloss, error@t via
  zero_one_loss, precision/recall/fbeta, accuracy, macro P/R/F, mlogloss, top-k accuracy, mse,
  rmse, mae, mape, r2, poisson/gamma/tweedie deviance).
- XGBoost-only metrics (rmsle, mphe, poisson-nloglik, gamma-nloglik, XGBoost's gamma-deviance,
  tweedie-nloglik, merror): a float64 numpy transcription of XGBoost 1.7's
  src/metric/{elementwise,multiclass}_metric.cu (sum of w * row loss / sum of w) for the 1e-9
  check, and xgboost 1.7.4 itself (zero boosting rounds, predictions injected as base_margin)
  as a cross-check of the formulas to 1e-5: XGBoost evaluates each row in float32.
- ssd/msd: numpy in float64 (squared distance to the nearest centre).
"""
import subprocess
import warnings

import numpy as np
import pytest
from scipy.special import gammaln
from sklearn import metrics as skm

from conftest import BUILD

TOOL = BUILD / "tools" / "metric_eval"
REL = 1e-9
ARRAYS = {"y", "p", "w", "x", "c"}


def f32(a):
    return np.asarray(a, dtype=np.float32)


def fmt(a):
    return " ".join(repr(float(v)) for v in f32(a).ravel())


def run_eval(metric, y=None, p=None, w=None, param=None, k=None, top_k=None, x=None, c=None,
             d=None):
    lines = [f"metric {metric}"]
    if param is not None:
        lines.append(f"param {param!r}")
    for key, val in (("k", k), ("top_k", top_k), ("d", d)):
        if val is not None:
            lines.append(f"{key} {val}")
    for key, val in (("y", y), ("p", p), ("w", w), ("x", x), ("c", c)):
        if val is not None:
            lines.append(f"{key} {fmt(val)}")
    return subprocess.run([str(TOOL)], input="\n".join(lines) + "\n", capture_output=True,
                          text=True, timeout=30)


def evaluate(metric, **kw):
    r = run_eval(metric, **kw)
    assert r.returncode == 0, f"{metric}: {r.stderr}"
    return float(r.stdout)


def close(got, want, rel=REL):
    return got == want or abs(got - want) <= rel * max(abs(got), abs(want))


def d64(a):
    """The float32 values the C side sees, as float64 for the reference."""
    return None if a is None else f32(a).astype(np.float64)


def check(metric, cases, reference, **fixed):
    assert len(cases) >= 5, metric
    for i, case in enumerate(cases):
        kw = dict(fixed, **case)
        got = evaluate(metric, **kw)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = float(reference(**{k: (d64(v) if k in ARRAYS else v) for k, v in kw.items()}))
        assert close(got, want), f"{metric} case {i}: got {got!r}, want {want!r}"


rng = np.random.default_rng(20240601)


def wts(n, zeros=False):
    w = rng.uniform(0.1, 3.0, n)
    if zeros:
        w[rng.random(n) < 0.2] = 0.0
    return w


# ---- binary ranking ----

def binary_cases():
    n = 300
    y = (rng.random(n) < 0.4).astype(float)
    s = rng.random(n)
    yi = np.zeros(400)
    yi[rng.choice(400, 4, replace=False)] = 1  # imbalanced
    return [
        dict(y=y, p=s),                                        # distinct scores
        dict(y=y, p=np.round(s, 1), w=wts(n)),                 # heavy ties, weights
        dict(y=y, p=np.full(n, 0.25)),                         # all-equal predictions
        dict(y=yi, p=rng.random(400), w=wts(400, zeros=True)),  # imbalanced, zero weights
        dict(y=[0, 1], p=[0.7, 0.2]),                          # n = 2, inverted
        dict(y=y[:50], p=np.round(rng.normal(size=50), 0), w=np.round(wts(50))),  # ties, int w
    ]


def test_auc_matches_sklearn():
    check("auc", binary_cases(),
          lambda y, p, w=None: skm.roc_auc_score(y, p, sample_weight=w))


def test_average_precision_matches_sklearn():
    check("average_precision", binary_cases(),
          lambda y, p, w=None: skm.average_precision_score(y, p, sample_weight=w))


def test_single_class_and_empty_input_are_errors():
    for metric in ("auc", "average_precision"):
        for y in ([1, 1, 1], [0], [0, 0]):
            r = run_eval(metric, y=y, p=[0.5] * len(y))
            assert r.returncode == 1 and r.stdout == "", (metric, r.stdout)
            assert "only one class present" in r.stderr
    for metric in ("auc", "average_precision", "mse", "rmse", "mae", "mape", "r2", "rmsle",
                   "accuracy", "precision", "poisson_nloglik", "gamma_nloglik",
                   "gamma_deviance", "gamma_deviance_xgb", "poisson_deviance"):
        r = run_eval(metric, y=[], p=[])
        assert r.returncode == 1 and r.stdout == "", (metric, r.stdout)
        assert "empty input" in r.stderr, (metric, r.stderr)
    for metric, kw in (("logloss", dict(param=1e-15)), ("error_at", dict(param=0.5)),
                       ("mphe", dict(param=1.0)), ("tweedie_deviance", dict(param=1.5)),
                       ("tweedie_nloglik", dict(param=1.5)), ("mlogloss", dict(param=1e-15, k=3)),
                       ("merror", dict(k=3)), ("top_k_accuracy", dict(k=3, top_k=2)),
                       ("macro_f", dict(k=3))):
        r = run_eval(metric, y=[], p=[], **kw)
        assert r.returncode == 1 and "empty input" in r.stderr, (metric, r.stderr)
    r = run_eval("ssd", x=[], c=[0, 0], k=1, d=2)
    assert r.returncode == 1 and "empty input" in r.stderr


def test_domain_errors_give_messages_not_numbers():
    bad = [
        ("auc", dict(y=[0, 2], p=[0.1, 0.2]), "must be 0 or 1"),
        ("auc", dict(y=[0, 1], p=[0.1, 0.2], w=[1, -1]), "weights must be finite and >= 0"),
        ("mse", dict(y=[0, 1], p=[0.1, 0.2], w=[0, 0]), "total weight is 0"),
        ("mse", dict(y=[0, 1], p=[0.1, float("nan")]), "p[1] = nan is not finite"),
        ("rmsle", dict(y=[0, -1], p=[0.1, 0.2]), "needs y > -1"),
        ("gamma_deviance", dict(y=[0, 1], p=[0.1, 0.2]), "needs y > 0"),
        ("poisson_deviance", dict(y=[1, 1], p=[0.0, 0.2]), "needs p > 0"),
        ("tweedie_deviance", dict(y=[1, 1], p=[1, 1], param=0.5), "power <= 0 or >= 1"),
        ("mlogloss", dict(y=[0, 3], p=[0.5] * 6, k=3, param=1e-15), "in [0, 3)"),
        ("r2", dict(y=[1.0], p=[1.0]), "fewer than two"),
    ]
    for metric, kw, msg in bad:
        r = run_eval(metric, **kw)
        assert r.returncode == 1 and r.stdout == "", (metric, r.stdout)
        assert msg in r.stderr, (metric, r.stderr)


# ---- binary classification ----

def prob_cases():
    n = 200
    y = (rng.random(n) < 0.3).astype(float)
    p = rng.random(n)
    hard = rng.integers(0, 2, n).astype(float)  # 0 and 1 exactly: clipping
    return [
        dict(y=y, p=p),
        dict(y=y, p=p, w=wts(n, zeros=True)),
        dict(y=y, p=hard),
        dict(y=[1], p=[0.9]),                   # n = 1
        dict(y=y, p=np.full(n, 0.3)),           # all-equal predictions
        dict(y=(rng.random(500) < 0.02).astype(float), p=rng.random(500) ** 4, w=wts(500)),
    ]


def test_logloss_matches_sklearn():
    check("logloss", prob_cases(),
          lambda y, p, w=None, param=None: skm.log_loss(y.astype(int), p, eps=param,
                                                         labels=[0, 1], sample_weight=w),
          param=1e-15)


def test_error_at_matches_sklearn_zero_one_loss():
    for t in (0.5, 0.3):
        check("error_at", prob_cases() + [dict(y=[0, 1, 1], p=[t, t, 0.9])],  # p == t is 0
              lambda y, p, w=None, param=None: skm.zero_one_loss(y, (p > param).astype(float),
                                                                 sample_weight=w),
              param=t)


def label_cases():
    n = 150
    y = (rng.random(n) < 0.5).astype(float)
    pred = np.where(rng.random(n) < 0.7, y, 1 - y)
    return [
        dict(y=y, p=pred),
        dict(y=y, p=pred, w=wts(n, zeros=True)),
        dict(y=y, p=np.zeros(n)),               # nothing predicted positive: zero division
        dict(y=[1], p=[1]),                     # n = 1
        dict(y=(rng.random(300) < 0.05).astype(float), p=(rng.random(300) < 0.1).astype(float),
             w=wts(300)),
    ]


@pytest.mark.parametrize("metric", ["precision", "recall", "fbeta"])
def test_binary_prf_matches_sklearn(metric):
    for beta in (1.0, 2.0, 0.5):
        def ref(y, p, w=None, param=None):
            if metric == "precision":
                return skm.precision_score(y, p, sample_weight=w, zero_division=0)
            if metric == "recall":
                return skm.recall_score(y, p, sample_weight=w, zero_division=0)
            return skm.fbeta_score(y, p, beta=param, sample_weight=w, zero_division=0)
        check(metric, label_cases(), ref, param=beta)


# ---- multiclass ----

def class_cases(k):
    n = 120
    y = rng.integers(0, k, n).astype(float)
    pred = np.where(rng.random(n) < 0.6, y, rng.integers(0, k, n))
    yskew = np.where(rng.random(n) < 0.9, 0, rng.integers(0, k - 1, n)).astype(float)  # k-1 absent
    return [
        dict(y=y, p=pred),
        dict(y=y, p=pred, w=wts(n, zeros=True)),
        dict(y=y, p=np.zeros(n)),               # one class predicted
        dict(y=[k - 1], p=[k - 1]),             # n = 1
        dict(y=yskew, p=pred, w=wts(n)),        # imbalanced, a class never present
    ]


def test_accuracy_matches_sklearn():
    check("accuracy", class_cases(4),
          lambda y, p, w=None: skm.accuracy_score(y, p, sample_weight=w))


@pytest.mark.parametrize("metric,idx", [("macro_precision", 0), ("macro_recall", 1),
                                        ("macro_f", 2)])
def test_macro_prf_matches_sklearn(metric, idx):
    for k, beta in ((3, 1.0), (5, 2.0)):
        def ref(y, p, w=None, k=None, param=None):
            return skm.precision_recall_fscore_support(
                y.astype(int), p.astype(int), beta=param, labels=list(range(k)),
                average="macro", zero_division=0, sample_weight=w)[idx]
        check(metric, class_cases(k), ref, k=k, param=beta)


def score_cases(k):
    n = 100
    y = rng.integers(0, k, n).astype(float)
    logits = rng.normal(size=(n, k))
    prob = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    hard = np.eye(k)[rng.integers(0, k, n)]
    return [
        dict(y=y, p=prob),
        dict(y=y, p=prob, w=wts(n, zeros=True)),
        dict(y=y, p=np.round(prob * 4) / 4),    # ties, rows not summing to 1
        dict(y=y, p=hard),                      # 0/1 probabilities: clipping
        dict(y=[1], p=np.full((1, k), 1.0 / k)),  # n = 1, all equal
        dict(y=np.where(rng.random(n) < 0.95, 0, k - 1).astype(float), p=prob, w=wts(n)),
    ]


def test_mlogloss_matches_sklearn():
    for k in (2, 3, 6):
        check("mlogloss", score_cases(k),
              lambda y, p, w=None, k=None, param=None: skm.log_loss(
                  y.astype(int), p, eps=param, labels=list(range(k)), sample_weight=w),
              k=k, param=1e-15)


def test_top_k_accuracy_matches_sklearn():
    for k, top in ((3, 1), (4, 2), (6, 3), (3, 3)):
        check("top_k_accuracy", score_cases(k),
              lambda y, p, w=None, k=None, top_k=None: skm.top_k_accuracy_score(
                  y.astype(int), p, k=top_k, labels=list(range(k)), sample_weight=w),
              k=k, top_k=top)


def xgb_merror(y, p, w=None, k=None):
    """XGBoost MatchError: first index of the maximum (numpy argmax keeps the first)."""
    return np.average(np.argmax(p.reshape(-1, k), axis=1) != y, weights=w)


def test_merror_matches_xgboost_formula():
    for k in (2, 3, 5):
        check("merror", score_cases(k), xgb_merror, k=k)


# ---- regression ----

def reg_cases(positive=False, nonneg=False, gt=-np.inf):
    n = 250
    if positive or nonneg:
        y = rng.gamma(2.0, 1.5, n)
        p = y * rng.uniform(0.5, 1.5, n) + 0.05
        if nonneg:
            y[rng.random(n) < 0.2] = 0.0
        return [
            dict(y=y, p=p),
            dict(y=y, p=p, w=wts(n, zeros=True)),
            dict(y=y, p=np.full(n, float(np.mean(y)))),   # all-equal predictions
            dict(y=[2.0], p=[3.0]),                        # n = 1
            dict(y=y * 1000.0, p=p * 1000.0, w=wts(n)),   # large scale
            dict(y=np.round(y) + positive, p=np.round(p) + 0.5),  # ties
        ]
    y = rng.normal(size=n) * 3
    p = y + rng.normal(size=n)
    cases = [
        dict(y=y, p=p),
        dict(y=y, p=p, w=wts(n, zeros=True)),
        dict(y=y, p=np.full(n, 0.5)),                      # all-equal predictions
        dict(y=[1.5], p=[-0.25]),                          # n = 1
        dict(y=y + 1e4, p=p + 1e4, w=wts(n)),              # large offset
        dict(y=np.round(y), p=np.round(p)),                # integer values, exact hits
    ]
    if gt > -np.inf:  # keep y and p inside the domain (> gt)
        for c in cases:
            c["y"] = np.maximum(c["y"], gt + 0.01)
            c["p"] = np.maximum(c["p"], gt + 0.01)
    return cases


@pytest.mark.parametrize("metric,ref", [
    ("mse", lambda y, p, w=None: skm.mean_squared_error(y, p, sample_weight=w)),
    ("rmse", lambda y, p, w=None: skm.mean_squared_error(y, p, sample_weight=w, squared=False)),
    ("mae", lambda y, p, w=None: skm.mean_absolute_error(y, p, sample_weight=w)),
    ("mape", lambda y, p, w=None: skm.mean_absolute_percentage_error(y, p, sample_weight=w)),
])
def test_regression_matches_sklearn(metric, ref):
    cases = reg_cases()
    if metric == "mape":
        cases.append(dict(y=[0.0, 1.0, -2.0], p=[0.5, 1.0, 1.0]))  # y = 0: DBL_EPSILON floor
    check(metric, cases, ref)


def test_r2_matches_sklearn():
    cases = [c for c in reg_cases() if len(c["y"]) > 1]
    cases += [
        dict(y=[2.5] * 4, p=[2.5] * 4),       # constant y, perfect: 1
        dict(y=[2.5] * 4, p=[2.5, 2.5, 3.0, 2.5]),  # constant y, not perfect: 0
        dict(y=[1.0, 3.0], p=[2.0, 2.0]),     # n = 2, mean prediction: 0
    ]
    check("r2", cases, lambda y, p, w=None: skm.r2_score(y, p, sample_weight=w))


@pytest.mark.parametrize("metric,ref,domain", [
    ("poisson_deviance",
     lambda y, p, w=None: skm.mean_poisson_deviance(y, p, sample_weight=w), "nonneg"),
    ("gamma_deviance",
     lambda y, p, w=None: skm.mean_gamma_deviance(y, p, sample_weight=w), "positive"),
])
def test_deviances_match_sklearn(metric, ref, domain):
    check(metric, reg_cases(**{domain: True}), ref)


def test_tweedie_deviance_matches_sklearn():
    def ref(y, p, w=None, param=None):
        return skm.mean_tweedie_deviance(y, p, sample_weight=w, power=param)
    for power in (-1.0, 0.0, 1.0, 1.5):
        check("tweedie_deviance", reg_cases(nonneg=True), ref, param=power)
    for power in (2.0, 3.0):
        check("tweedie_deviance", reg_cases(positive=True), ref, param=power)


# ---- XGBoost-only regression metrics: numpy transcriptions in float64 ----

def xgb_mean(loss, w):
    return np.sum(loss * (1.0 if w is None else w)) / (len(loss) if w is None else np.sum(w))


XGB = {
    # EvalRowRMSLE: sqrt(sum w (log1p(y) - log1p(p))^2 / sum w)
    "rmsle": lambda y, p, w=None, param=None: np.sqrt(
        xgb_mean((np.log1p(y) - np.log1p(p)) ** 2, w)),
    # EvalRowMPHE (huber_slope = param): slope^2 (sqrt(1 + ((y - p) / slope)^2) - 1)
    "mphe": lambda y, p, w=None, param=None: xgb_mean(
        param ** 2 * (np.sqrt(1 + ((y - p) / param) ** 2) - 1), w),
    # EvalPoissonNegLogLik: p floored at 1e-16; lgamma(y + 1) + p - log(p) y
    "poisson_nloglik": lambda y, p, w=None, param=None: xgb_mean(
        gammaln(y + 1) + np.maximum(p, 1e-16) - np.log(np.maximum(p, 1e-16)) * y, w),
    # EvalGammaNLogLik: p floored at 1e-6; -(y (-1/p) - log p) = y / p + log p
    "gamma_nloglik": lambda y, p, w=None, param=None: xgb_mean(
        y / np.maximum(p, 1e-6) + np.log(np.maximum(p, 1e-6)), w),
    # EvalGammaDeviance: y, p shifted by 1e-6; 2 sum w (log(p/y) + y/p - 1) / sum w
    "gamma_deviance_xgb": lambda y, p, w=None, param=None: 2 * xgb_mean(
        np.log((p + 1e-6) / (y + 1e-6)) + (y + 1e-6) / (p + 1e-6) - 1, w),
    # EvalTweedieNLogLik: -y exp((1 - rho) log p) / (1 - rho) + exp((2 - rho) log p) / (2 - rho)
    "tweedie_nloglik": lambda y, p, w=None, param=None: xgb_mean(
        -y * np.exp((1 - param) * np.log(p)) / (1 - param)
        + np.exp((2 - param) * np.log(p)) / (2 - param), w),
}

XGB_SETUP = {  # objective (its link gives margin = f(p)), eval_metric, extra params
    "rmsle": ("reg:squarederror", lambda p: p, lambda prm: "rmsle", {}),
    "mphe": ("reg:squarederror", lambda p: p, lambda prm: "mphe",
             lambda prm: {"huber_slope": prm}),
    "poisson_nloglik": ("count:poisson", np.log, lambda prm: "poisson-nloglik", {}),
    "gamma_nloglik": ("reg:gamma", np.log, lambda prm: "gamma-nloglik", {}),
    "gamma_deviance_xgb": ("reg:gamma", np.log, lambda prm: "gamma-deviance", {}),
    "tweedie_nloglik": ("reg:tweedie", np.log, lambda prm: f"tweedie-nloglik@{prm}",
                        lambda prm: {"tweedie_variance_power": prm}),
}


def xgb_itself(metric, y, p, w=None, param=None):
    """The metric as xgboost 1.7.4 prints it, predictions injected through base_margin."""
    import xgboost as xgb
    obj, link, name, extra = XGB_SETUP[metric]
    margin = link(np.asarray(p, np.float64)).astype(np.float32)
    dm = xgb.DMatrix(np.zeros((len(y), 1), np.float32), label=f32(y),
                     weight=None if w is None else f32(w), base_margin=margin)
    params = {"objective": obj, "eval_metric": name(param), "verbosity": 0}
    params.update(extra(param) if callable(extra) else extra)
    booster = xgb.train(params, dm, num_boost_round=0)
    return float(booster.eval(dm).split(":")[-1])


XGB_CASES = {
    "rmsle": [(dict(gt=-1.0), None)],
    "mphe": [({}, 1.0), ({}, 2.5)],
    "poisson_nloglik": [(dict(nonneg=True), None)],
    "gamma_nloglik": [(dict(positive=True), None)],
    "gamma_deviance_xgb": [(dict(nonneg=True), None)],
    "tweedie_nloglik": [(dict(nonneg=True), 1.5), (dict(nonneg=True), 1.2)],
}


@pytest.mark.parametrize("metric", sorted(XGB))
def test_xgboost_only_metrics(metric):
    for domain, param in XGB_CASES[metric]:
        cases = reg_cases(**domain)
        if metric == "poisson_nloglik":
            cases.append(dict(y=[0.0, 3.0], p=[0.0, 1e-20]))  # the 1e-16 floor
        if metric == "gamma_nloglik":
            cases.append(dict(y=[1.0, 3.0], p=[0.0, 1e-7]))   # the 1e-6 floor
        if metric == "rmsle":
            cases.append(dict(y=[-0.5, 0.0], p=[0.25, -0.75]))  # values in (-1, 0)
        check(metric, cases, XGB[metric], **({} if param is None else {"param": param}))
        # The transcription is XGBoost's formula: cross-check with xgboost itself.
        for case in cases[:3]:  # not the 1e4-scale case: float32 rows cancel there
            kw = {k: d64(v) for k, v in case.items()}
            want = xgb_itself(metric, param=param, **kw)
            got = evaluate(metric, **case, **({} if param is None else {"param": param}))
            assert close(got, want, 1e-5), f"{metric}: ours {got!r}, xgboost {want!r}"


# ---- clustering ----

def test_ssd_msd_match_numpy():
    cases = []
    for n, d, k in ((200, 5, 4), (1, 3, 2), (50, 1, 1), (300, 8, 10), (7, 2, 7)):
        x = rng.normal(size=(n, d)) * 10
        c = x[rng.choice(n, min(k, n), replace=False)] if k <= n else rng.normal(size=(k, d))
        if k > len(c):
            c = np.vstack([c, rng.normal(size=(k - len(c), d))])
        cases.append(dict(x=x, c=c, k=k, d=d))
    cases.append(dict(x=np.ones((20, 2)), c=np.ones((3, 2)), k=3, d=2))  # all distances 0

    def ssd(x, c, k, d):
        x, c = x.reshape(-1, d), c.reshape(k, d)
        return ((x[:, None, :] - c[None, :, :]) ** 2).sum(axis=2).min(axis=1).sum()
    check("ssd", cases, ssd)
    check("msd", cases, lambda x, c, k, d: ssd(x, c, k, d) / (x.size // d))
