"""xgboost:1.7-1 against python3-xgboost 1.7.4 (tree_method=hist), through the thin test driver
build/tools/gbt_train (train from CSV, write xgboost-model, predict):

(a) a model trained by algorun loads in xgboost.Booster and predicts the same (<= 1e-5),
(b) a JSON model trained by XGBoost predicts the same in algorun,
(c) parity: same data and hyperparameters give validation quality as good as XGBoost's.
Binary (breast_cancer), multiclass (digits, wine) and regression (abalone), with and without
injected missing values. Data reach XGBoost as numpy arrays.
"""
import json
import os
import subprocess

import numpy as np
import pytest

from conftest import BUILD, DATA

xgb = pytest.importorskip("xgboost")
TOOL = BUILD / "tools" / "gbt_train"
DS = DATA / "datasets"


def load(name):
    return np.loadtxt(DS / name, delimiter=",", dtype=np.float32)


def split(a, seed=7, frac=0.75):
    idx = np.random.default_rng(seed).permutation(len(a))
    k = int(len(a) * frac)
    return a[idx[:k]], a[idx[k:]]


def with_nans(a, seed=3, rate=0.1):
    a = a.copy()
    mask = np.random.default_rng(seed).random(a[:, 1:].shape) < rate
    a[:, 1:][mask] = np.nan
    return a


def write_csv(path, a):
    with open(path, "w") as f:
        for row in a:
            f.write(",".join("" if np.isnan(v) else repr(float(v)) for v in row) + "\n")


def run_tool(args):
    r = subprocess.run([str(TOOL)] + [str(a) for a in args], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    return r


CASES = {
    "binary": ("breast_cancer.csv", {"objective": "binary:logistic", "num_round": 30,
                                     "eval_metric": "auc"}),
    "multi": ("wine.csv", {"objective": "multi:softprob", "num_class": 3, "num_round": 15}),
    "digits": ("digits.csv", {"objective": "multi:softmax", "num_class": 10, "num_round": 10,
                              "max_depth": 4}),
    "regression": (None, {"objective": "reg:squarederror", "num_round": 30}),
}


def data_for(case, nans):
    name, _ = CASES[case]
    if name is None:
        tr, va = load("abalone_train.csv"), load("abalone_validation.csv")
    else:
        tr, va = split(load(name))
    if nans:
        tr, va = with_nans(tr, 3), with_nans(va, 4)
    return tr, va


def xgb_params(hp):
    p = {k: v for k, v in hp.items() if k != "num_round"}
    p["tree_method"] = "hist"
    p["nthread"] = 2
    return p


@pytest.mark.parametrize("nans", [False, True])
@pytest.mark.parametrize("case", list(CASES))
def test_both_directions(tmp_path, case, nans):
    tr, va = data_for(case, nans)
    _, hp = CASES[case]
    write_csv(tmp_path / "train.csv", tr)
    write_csv(tmp_path / "valid.csv", va)

    # (a) algorun trains, XGBoost loads the model
    r = run_tool(["--threads", 2, "--train", tmp_path / "train.csv", "--validation",
                  tmp_path / "valid.csv", "--model-dir", tmp_path, "--predict",
                  tmp_path / "valid.csv", "--out", tmp_path / "ours.csv"]
                 + [f"{k}={v}" for k, v in hp.items()])
    lines = [l for l in r.stderr.splitlines() if l.startswith("[")]
    assert lines[0].startswith("[0]\ttrain-") and "\tvalidation-" in lines[0]
    assert len(lines) == hp["num_round"]
    ours = np.loadtxt(tmp_path / "ours.csv", delimiter=",", ndmin=1)
    booster = xgb.Booster(model_file=str(tmp_path / "xgboost-model"))
    theirs = booster.predict(xgb.DMatrix(va[:, 1:]))
    assert np.abs(ours.reshape(theirs.shape) - theirs).max() <= 1e-5

    # (b) XGBoost trains (JSON), algorun loads the model
    ref = xgb.train(xgb_params(hp), xgb.DMatrix(tr[:, 1:], label=tr[:, 0]), hp["num_round"])
    ref.save_model(str(tmp_path / "ref.json"))
    run_tool(["--load", tmp_path / "ref.json", "--predict", tmp_path / "valid.csv", "--out",
              tmp_path / "refpred.csv"])
    ours_ref = np.loadtxt(tmp_path / "refpred.csv", delimiter=",", ndmin=1)
    ref_pred = ref.predict(xgb.DMatrix(va[:, 1:]))
    assert np.abs(ours_ref.reshape(ref_pred.shape) - ref_pred).max() <= 1e-5

    # (c) quality parity on the validation set
    y = va[:, 0]
    if case == "binary":
        from sklearn.metrics import roc_auc_score
        assert abs(roc_auc_score(y, ours) - roc_auc_score(y, theirs_ref(ref_pred))) <= 0.002
    elif case == "regression":
        rmse = lambda p: float(np.sqrt(np.mean((p - y) ** 2)))
        assert rmse(ours) <= rmse(ref_pred) * 1.01
    else:
        lab = lambda p: p if p.ndim == 1 else p.argmax(axis=1)
        err = lambda p: float(np.mean(lab(p) != y))
        assert err(ours.reshape(ref_pred.shape)) <= err(ref_pred) + 0.005


def theirs_ref(p):
    return p


def test_metric_lines_match_xgboost(tmp_path):
    """Per-round train/validation metrics equal XGBoost's printed values (abalone, no
    sampling: the trees are the same)."""
    tr, va = load("abalone_train.csv"), load("abalone_validation.csv")
    r = run_tool(["--threads", 2, "--train", DS / "abalone_train.csv", "--validation",
                  DS / "abalone_validation.csv", "num_round=8", "eval_metric=rmse,mae"])
    ours = [l for l in r.stderr.splitlines() if l.startswith("[")]
    res = {}
    xgb.train({"tree_method": "hist", "eval_metric": ["rmse", "mae"], "nthread": 2},
              xgb.DMatrix(tr[:, 1:], label=tr[:, 0]), 8,
              evals=[(xgb.DMatrix(tr[:, 1:], label=tr[:, 0]), "train"),
                     (xgb.DMatrix(va[:, 1:], label=va[:, 0]), "validation")],
              evals_result=res, verbose_eval=False)
    for i, line in enumerate(ours):
        want = (f"[{i}]\ttrain-rmse:{res['train']['rmse'][i]:.5f}\ttrain-mae:"
                f"{res['train']['mae'][i]:.5f}\tvalidation-rmse:"
                f"{res['validation']['rmse'][i]:.5f}\tvalidation-mae:"
                f"{res['validation']['mae'][i]:.5f}")
        assert line == want


def test_early_stopping_truncates(tmp_path):
    tr, va = split(load("breast_cancer.csv"))
    write_csv(tmp_path / "train.csv", tr)
    write_csv(tmp_path / "valid.csv", va)
    run_tool(["--train", tmp_path / "train.csv", "--validation", tmp_path / "valid.csv",
              "--model-dir", tmp_path, "objective=binary:logistic", "num_round=200",
              "eta=0.5", "early_stopping_rounds=5"])
    j = json.load(open(tmp_path / "xgboost-model"))
    attrs = j["learner"]["attributes"]
    n_trees = int(j["learner"]["gradient_booster"]["model"]["gbtree_model_param"]["num_trees"])
    assert n_trees == int(attrs["best_iteration"]) + 1 == int(attrs["best_ntree_limit"])
    assert n_trees < 200 and "best_score" in attrs
    b = xgb.Booster(model_file=str(tmp_path / "xgboost-model"))
    assert b.num_boosted_rounds() == n_trees


def test_bad_inputs_fail_clearly(tmp_path):
    tr, _ = split(load("wine.csv"))
    write_csv(tmp_path / "train.csv", tr)
    r = subprocess.run([str(TOOL), "--train", tmp_path / "train.csv", "num_round=2",
                        "objective=binary:logistic"], capture_output=True, text=True)
    assert r.returncode != 0 and "label must be in [0,1] for logistic regression" in r.stderr
    r = subprocess.run([str(TOOL), "--train", tmp_path / "train.csv", "bogus=1"],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "Extraneous hyperparameter found: bogus" in r.stderr
    (tmp_path / "bad.json").write_text('{"learner": {"attributes": {}')
    r = subprocess.run([str(TOOL), "--load", tmp_path / "bad.json"], capture_output=True,
                       text=True)
    assert r.returncode != 0 and "XGBoost model" in r.stderr
