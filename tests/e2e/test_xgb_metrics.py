"""Per-round auc and aucpr lines equal XGBoost 1.7.4's on the same data and hyperparameters
(no sampling, so the trees are the same)."""
import re

import numpy as np
import xgboost as xgb

from conftest import DATA, run

BC = DATA / "datasets" / "breast_cancer.csv"


def test_auc_and_aucpr_match_xgboost(tmp_path):
    hp = {"num_round": "5", "max_depth": "3", "eta": "0.3", "objective": "binary:logistic",
          "eval_metric": "auc,aucpr"}
    args = ["run", "--algorithm", "xgboost:1.7-1", "--name", "m", "--output-dir", tmp_path,
            "--channel", f"train={BC};text/csv", "--channel", f"validation={BC};text/csv"]
    for k, v in hp.items():
        args += ["--hp", f"{k}={v}"]
    r = run(args)
    assert r.returncode == 0, r.stderr
    ours = re.findall(r"^\[(\d+)\]\ttrain-auc:(\S+)\ttrain-aucpr:(\S+)", r.stderr, re.M)
    assert len(ours) == 5
    d = np.loadtxt(BC, delimiter=",", dtype=np.float32)
    dm = xgb.DMatrix(d[:, 1:], label=d[:, 0])
    res = {}
    xgb.train({"max_depth": 3, "eta": 0.3, "objective": "binary:logistic", "tree_method": "hist",
               "eval_metric": ["auc", "aucpr"]}, dm, 5, evals=[(dm, "train")], evals_result=res,
              verbose_eval=False)
    for (rnd, auc, aucpr) in ours:
        i = int(rnd)
        assert abs(float(auc) - res["train"]["auc"][i]) <= 1e-5
        assert abs(float(aucpr) - res["train"]["aucpr"][i]) <= 1e-5
