"""k-means quality against scikit-learn and exactness of the nearest-centre assignment.

Driven through build/tools/km_train (train from CSV, save the model, predict) until the CLI
runs algorithms. Quality: the final SSD averaged over 5 seeds is at most 1.02 x that of
sklearn's KMeans(n_init=1, init="k-means++") averaged over the same seeds. Exactness: every
closest_cluster equals a naive double-precision argmin over the saved centres, unless the two
candidates are a genuine near-tie.
"""
import struct
import subprocess

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs

from conftest import BUILD, DATA

TOOL = BUILD / "tools" / "km_train"
SEEDS = range(5)


def km(*args, check=True):
    p = subprocess.run([str(TOOL)] + [str(a) for a in args], capture_output=True, text=True,
                       timeout=300)
    if check:
        assert p.returncode == 0, p.stderr
    return p


def load_centres(model_dir):
    raw = (model_dir / "model_algo-1").read_bytes()
    assert raw[:8] == b"ARKMEANS"
    version, _, k, dim = struct.unpack_from("<IIQQ", raw, 8)
    assert version == 1 and len(raw) == 32 + 4 * k * dim + 4
    return np.frombuffer(raw, dtype="<f4", count=k * dim, offset=32).reshape(k, dim)


def load_csv(path, drop_label):
    x = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
    return x[:, 1:] if drop_label else x


def naive_d2(x, centres):
    x = x.astype(np.float32).astype(np.float64)
    c = centres.astype(np.float64)
    return ((x[:, None, :] - c[None, :, :]) ** 2).sum(axis=2)


def train_predict(tmp_path, csv, k, seed, drop_label, extra=(), sparse=False):
    model = tmp_path / f"model_{seed}"
    model.mkdir(exist_ok=True)
    flags = ["--drop-label"] if drop_label else []
    if sparse:
        flags.append("--sparse")
    x = load_csv(csv, drop_label)
    km("train", csv, model, *flags, f"k={k}", f"feature_dim={x.shape[1]}", f"_seed={seed}",
       *extra)
    out = tmp_path / f"pred_{seed}.csv"
    km("predict", model, csv, out, *flags)
    pred = np.loadtxt(out, delimiter=",", ndmin=2)
    return x, model, pred


def check_assignments(x, centres, pred):
    d2 = naive_d2(x, centres)
    ours = pred[:, 0].astype(int)
    assert np.all(pred[:, 0] == ours)
    best = d2.min(axis=1)
    mine = d2[np.arange(len(x)), ours]
    scale = (np.sqrt((x.astype(np.float64) ** 2).sum(axis=1))
             + np.sqrt((centres.astype(np.float64) ** 2).sum(axis=1)).max()) ** 2
    wrong = (ours != d2.argmin(axis=1)) & (mine - best > 1e-7 * scale)
    assert not wrong.any(), f"{wrong.sum()} rows not assigned to their nearest centre"
    # distance_to_cluster is the Euclidean distance, as float32.
    np.testing.assert_allclose(pred[:, 1], np.sqrt(mine), rtol=1e-5, atol=1e-6)
    return mine.sum()


def blobs_csv(tmp_path):
    x, _ = make_blobs(n_samples=4000, centers=6, n_features=8, cluster_std=2.0, random_state=3)
    path = tmp_path / "blobs.csv"
    np.savetxt(path, x.astype(np.float32), delimiter=",", fmt="%.9g")
    return path


CASES = [
    ("blobs", None, 6, False),
    ("iris", "iris.csv", 3, True),
    ("digits", "digits.csv", 10, True),
]


@pytest.mark.parametrize("name,file,k,drop", CASES, ids=[c[0] for c in CASES])
def test_quality_vs_sklearn(tmp_path, name, file, k, drop):
    csv = blobs_csv(tmp_path) if file is None else DATA / "datasets" / file
    ours, theirs = [], []
    for seed in SEEDS:
        x, model, pred = train_predict(tmp_path, csv, k, seed, drop,
                                       extra=["mini_batch_size=1000"])
        ours.append(check_assignments(x, load_centres(model), pred))
        xf = x.astype(np.float32).astype(np.float64)
        ref = KMeans(n_clusters=k, n_init=1, init="k-means++", random_state=seed).fit(xf)
        theirs.append(ref.inertia_)
    ratio = np.mean(ours) / np.mean(theirs)
    print(f"{name}: algorun SSD {np.mean(ours):.6g}, sklearn {np.mean(theirs):.6g}, "
          f"ratio {ratio:.4f}")
    assert ratio <= 1.02


def test_sparse_input_same_result(tmp_path):
    csv = DATA / "datasets" / "digits.csv"
    x, model, dense = train_predict(tmp_path, csv, 10, 0, True)
    out = tmp_path / "sparse.csv"
    km("predict", model, csv, out, "--drop-label", "--sparse")
    sparse = np.loadtxt(out, delimiter=",", ndmin=2)
    np.testing.assert_array_equal(sparse[:, 0], dense[:, 0])
    np.testing.assert_allclose(sparse[:, 1], dense[:, 1], rtol=1e-5)
    # Training on CSR rows gives a valid model too.
    sm = tmp_path / "sparse_model"
    sm.mkdir()
    km("train", csv, sm, "--drop-label", "--sparse", "k=10", "feature_dim=64")
    out2 = tmp_path / "sparse2.csv"
    km("predict", sm, csv, out2, "--drop-label")
    check_assignments(x, load_centres(sm), np.loadtxt(out2, delimiter=",", ndmin=2))


def test_metric_lines_and_errors(tmp_path):
    csv = DATA / "datasets" / "iris.csv"
    model = tmp_path / "m"
    model.mkdir()
    p = km("train", csv, model, "--drop-label", "--test", csv, "k=3", "feature_dim=4",
           "eval_metrics=['msd', 'ssd']", "epochs=2", "mini_batch_size=50")
    assert "#progress_metric: host=algo-1, completed 100.0 % of epochs" in p.stderr
    assert "#quality_metric: host=algo-1, train msd <loss>=" in p.stderr
    assert "#quality_metric: host=algo-1, test msd <loss>=" in p.stderr
    assert "#quality_metric: host=algo-1, test ssd <loss>=" in p.stderr
    assert "train throughput=" in p.stderr
    assert "shrinking 30 centers into 3" in p.stderr
    # Wrong width at prediction.
    bad = km("predict", model, csv, tmp_path / "o.csv", check=False)  # label kept: 5 columns
    assert bad.returncode != 0 and "feature_dim = 4" in bad.stderr
    # Bad hyperparameters.
    bad = km("train", csv, model, "--drop-label", "k=3", "feature_dim=4", "init_method=foo",
             check=False)
    assert bad.returncode != 0 and "init_method" in bad.stderr
    # A truncated model is refused.
    f = model / "model_algo-1"
    f.write_bytes(f.read_bytes()[:-3])
    bad = km("predict", model, csv, tmp_path / "o.csv", "--drop-label", check=False)
    assert bad.returncode != 0 and "truncated" in bad.stderr
