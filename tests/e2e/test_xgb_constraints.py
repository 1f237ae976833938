"""Interaction and monotone constraints, checked on the trees algorun writes."""
import json

import numpy as np

from conftest import DATA, run

AB = DATA / "datasets" / "abalone_train.csv"
SETS = [[0, 1, 2], [3, 4, 5, 6, 7]]


def train(tmp_path, hp):
    args = ["run", "--algorithm", "xgboost:1.7-1", "--name", "c", "--output-dir", tmp_path,
            "--channel", f"train={AB};text/csv", "--hp", "num_round=20", "--hp", "max_depth=5",
            "--hp", "tree_method=hist"]
    for k, v in hp.items():
        args += ["--hp", f"{k}={v}"]
    r = run(args)
    assert r.returncode == 0, r.stderr
    return json.loads((tmp_path / "c/model/xgboost-model").read_text())


def paths(tree):
    """Feature sets of every root-to-leaf path."""
    out = []

    def walk(n, feats):
        if tree["left_children"][n] == -1:
            out.append(feats)
            return
        f = feats | {tree["split_indices"][n]}
        walk(tree["left_children"][n], f)
        walk(tree["right_children"][n], f)

    walk(0, frozenset())
    return out


def test_interaction_constraints_keep_paths_inside_one_set(tmp_path):
    model = train(tmp_path, {"interaction_constraints": json.dumps(SETS)})
    trees = model["learner"]["gradient_booster"]["model"]["trees"]
    used = set()
    for t in trees:
        for p in paths(t):
            used |= p
            assert any(p <= set(s) for s in SETS), p
    # Both groups are used somewhere, so the check above is not vacuous.
    assert used & set(SETS[0]) and used & set(SETS[1])


def test_monotone_constraint_holds(tmp_path):
    model = train(tmp_path / "m", {"monotone_constraints": "(0,1,1,0,0,0,0,0)"})
    (tmp_path / "m2").mkdir()
    d = np.loadtxt(AB, delimiter=",", dtype=np.float32)[:200, 1:]
    grid = np.linspace(0.05, 0.8, 25, dtype=np.float32)
    rows = []
    for base in d[:8]:
        for g in grid:
            r = base.copy()
            r[1] = g
            rows.append(r)
    f = tmp_path / "grid.csv"
    f.write_text("".join(",".join("%.9g" % v for v in r) + "\n" for r in rows))
    r = run(["transform", "--model-dir", tmp_path / "m/c/model.tar.gz", "--input", f, "--output",
             tmp_path / "out", "--content-type", "text/csv"])
    assert r.returncode == 0, r.stderr
    pred = np.array([float(v) for v in (tmp_path / "out/grid.csv.out").read_text().split()])
    pred = pred.reshape(8, len(grid))
    assert (np.diff(pred, axis=1) >= -1e-6).all()
    assert model["learner"]["gradient_booster"]["model"]["trees"]
