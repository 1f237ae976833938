"""Linear Learner quality against scikit-learn on the bundled data sets.

Both sides see the same deterministic splits (label in column 0). The trainer is driven by
the test tool build/tools/ll_train (train from CSV, save model_algo-1, reload, predict) until
the CLI grows a training command. Run with /usr/bin/python3 (numpy, scikit-learn).
"""
import pathlib
import subprocess

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, mean_squared_error, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from conftest import BUILD, DATA

TOOL = BUILD / "tools" / "ll_train"
SETS = DATA / "datasets"


def split(name, seed=0):
    """60/20/20 train/validation/test by a seeded permutation."""
    d = np.loadtxt(SETS / name, delimiter=",")
    idx = np.random.RandomState(seed).permutation(len(d))
    a, b = int(0.6 * len(d)), int(0.8 * len(d))
    return d[idx[:a]], d[idx[a:b]], d[idx[b:]]


def write(path, arr):
    np.savetxt(path, arr, delimiter=",", fmt="%.10g")
    return path


def train(tmp, tr, va, te, hp, predict=None, sparse=False):
    """Runs ll_train; returns (metrics {(set, name): value}, predictions array or None, log)."""
    tmp = pathlib.Path(tmp)
    args = [str(TOOL), "--train", write(tmp / "train.csv", tr), "--model-dir", str(tmp)]
    if va is not None:
        args += ["--validation", write(tmp / "val.csv", va)]
    if te is not None:
        args += ["--test", write(tmp / "test.csv", te)]
    if predict is not None:
        args += ["--predict", write(tmp / "pred_in.csv", predict), "--out", str(tmp / "pred.csv")]
    if sparse:
        args.append("--sparse")
    args += [f"{k}={v}" for k, v in hp.items()]
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    metrics = {}
    for line in r.stdout.splitlines():
        if line.startswith("METRIC ") and line.split()[4] == "-1":
            _, s, n, v, _ = line.split()
            metrics[(s, n)] = float(v)
    pred = None
    if predict is not None:
        pred = np.loadtxt(tmp / "pred.csv", delimiter=",", ndmin=2)
    return metrics, pred, r.stderr


def sk_logistic(tr, te):
    m = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    m.fit(tr[:, 1:], tr[:, 0])
    return m.predict(te[:, 1:]), m.predict_proba(te[:, 1:])


def test_breast_cancer_binary(tmp_path):
    tr, va, te = split("breast_cancer.csv")
    hp = {"predictor_type": "binary_classifier", "mini_batch_size": 32, "epochs": 30}
    metrics, pred, log = train(tmp_path, tr, va, te, hp, predict=te)
    sk_pred, sk_prob = sk_logistic(tr, te)
    sk_acc = accuracy_score(te[:, 0], sk_pred)
    sk_auc = roc_auc_score(te[:, 0], sk_prob[:, 1])
    acc = metrics[("test", "binary_classification_accuracy")]
    auc = metrics[("test", "roc_auc_score")]
    assert acc >= sk_acc - 0.01, (acc, sk_acc)
    assert auc >= sk_auc - 0.01, (auc, sk_auc)
    # The reported metrics are those of the saved model's predictions.
    assert acc == pytest.approx(accuracy_score(te[:, 0], pred[:, 1]), abs=1e-9)
    assert auc == pytest.approx(roc_auc_score(te[:, 0], pred[:, 0]), abs=1e-6)
    for needle in ("#quality_metric: host=algo-1, epoch=1, train "
                   "binary_classification_cross_entropy_objective <loss>=",
                   "#quality_metric: host=algo-1, epoch=1, validation "
                   "binary_classification_cross_entropy_objective <loss>=",
                   "#quality_metric: host=algo-1, test binary_classification_accuracy <score>=",
                   "#test_score (algo-1) : ('binary_f_1.000', ",
                   "#early_stopping_criteria_metric: host=algo-1, epoch=1, criteria=sampled_accuracy",
                   "#progress_metric: host=algo-1, completed ",
                   "#throughput_metric: host=algo-1, train throughput=",
                   "Best model found for hyperparameters:"):
        assert needle in log, needle


def test_breast_cancer_sparse_matches_quality(tmp_path):
    tr, va, te = split("breast_cancer.csv")
    hp = {"predictor_type": "binary_classifier", "mini_batch_size": 32, "epochs": 30}
    metrics, _, _ = train(tmp_path, tr, va, te, hp, sparse=True)
    _, sk_prob = sk_logistic(tr, te)
    assert metrics[("test", "roc_auc_score")] >= roc_auc_score(te[:, 0], sk_prob[:, 1]) - 0.01


def test_precision_at_target_recall(tmp_path):
    tr, va, te = split("breast_cancer.csv", seed=1)
    hp = {"predictor_type": "binary_classifier", "mini_batch_size": 32, "epochs": 20,
          "binary_classifier_model_selection_criteria": "precision_at_target_recall",
          "target_recall": 0.9}
    metrics, pred, _ = train(tmp_path, tr, va, None, hp, predict=va)
    y = va[:, 0]
    recall = ((pred[:, 1] == 1) & (y == 1)).sum() / (y == 1).sum()
    assert recall >= 0.9
    assert metrics[("validation", "recall")] == pytest.approx(recall, abs=1e-9)


@pytest.mark.parametrize("name,k", [("wine.csv", 3), ("digits.csv", 10)])
def test_multiclass(tmp_path, name, k):
    tr, va, te = split(name)
    hp = {"predictor_type": "multiclass_classifier", "num_classes": k, "mini_batch_size": 32,
          "epochs": 30}
    metrics, pred, log = train(tmp_path, tr, va, te, hp, predict=te)
    sk_pred, _ = sk_logistic(tr, te)
    sk_acc = accuracy_score(te[:, 0], sk_pred)
    acc = metrics[("test", "multiclass_accuracy")]
    assert acc >= sk_acc - 0.02, (acc, sk_acc)
    assert pred.shape == (len(te), k + 1)
    assert np.allclose(pred[:, :k].sum(axis=1), 1, atol=1e-5)
    assert acc == pytest.approx(accuracy_score(te[:, 0], pred[:, k]), abs=1e-9)
    assert ("test", "multiclass_top_k_accuracy") in metrics
    assert "#quality_metric: host=algo-1, test multiclass_top_k_accuracy_3 <score>=" in log
    assert "#quality_metric: host=algo-1, test macro_f_1.000 <score>=" in log


def regression_sets(name):
    if name == "abalone":
        tr = np.loadtxt(SETS / "abalone_train.csv", delimiter=",")
        v = np.loadtxt(SETS / "abalone_validation.csv", delimiter=",")
        return tr, v[: len(v) // 2], v[len(v) // 2:]
    return split(name)


@pytest.mark.parametrize("name", ["diabetes.csv", "abalone"])
def test_regression_rmse(tmp_path, name):
    tr, va, te = regression_sets(name)
    hp = {"predictor_type": "regressor", "mini_batch_size": 32, "epochs": 30}
    metrics, pred, log = train(tmp_path, tr, va, te, hp, predict=te)
    ridge = make_pipeline(StandardScaler(), Ridge(alpha=1.0)).fit(tr[:, 1:], tr[:, 0])
    sk_rmse = mean_squared_error(te[:, 0], ridge.predict(te[:, 1:])) ** 0.5
    rmse = mean_squared_error(te[:, 0], pred[:, 0]) ** 0.5
    assert rmse <= 1.03 * sk_rmse, (rmse, sk_rmse)
    assert metrics[("test", "mse")] == pytest.approx(rmse ** 2, rel=1e-5)
    assert ("validation", "rmse") in metrics
    assert "#quality_metric: host=algo-1, test mse <loss>=" in log


def test_quantile_coverage(tmp_path):
    tr, va, _ = regression_sets("abalone")
    for q in (0.2, 0.9):
        hp = {"predictor_type": "regressor", "loss": "quantile_loss", "quantile": q,
              "mini_batch_size": 32, "epochs": 30}
        _, pred, _ = train(tmp_path, tr, va, None, hp, predict=tr)
        coverage = np.mean(tr[:, 0] <= pred[:, 0])
        assert abs(coverage - q) <= 0.02, (q, coverage)


def test_bad_hyperparameters(tmp_path):
    tr, va, _ = split("breast_cancer.csv")
    r = subprocess.run([str(TOOL), "--train", str(write(tmp_path / "t.csv", tr)), "--model-dir",
                        str(tmp_path), "predictor_type=binary_classifier", "loss=softmax_loss"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "'softmax_loss' is not allowed with predictor_type binary_classifier" in r.stderr


def test_cli_train_job(tmp_path):
    """The real container contract: `algorun train` over an /opt/ml tree with CSV channels."""
    import json
    from conftest import BIN
    tr, va, te = split("breast_cancer.csv")
    root = tmp_path / "ml"
    for ch, arr in (("train", tr), ("validation", va), ("test", te)):
        (root / "input" / "data" / ch).mkdir(parents=True)
        write(root / "input" / "data" / ch / f"{ch}.csv", arr)
    cfg = root / "input" / "config"
    cfg.mkdir(parents=True)
    (cfg / "hyperparameters.json").write_text(json.dumps(
        {"predictor_type": "binary_classifier", "mini_batch_size": "32", "epochs": "10",
         "_kvstore": "dist_sync", "_num_gpus": "auto"}))
    (cfg / "inputdataconfig.json").write_text(json.dumps(
        {ch: {"ContentType": "text/csv", "TrainingInputMode": "File"}
         for ch in ("train", "validation", "test")}))
    (cfg / "resourceconfig.json").write_text(json.dumps(
        {"current_host": "algo-1", "hosts": ["algo-1"]}))
    r = subprocess.run([str(BIN), "train", "--ml-root", str(root), "--algorithm",
                        "linear-learner:1"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    model = (root / "model" / "model_algo-1").read_bytes()
    assert model[:8] == b"ARLINLRN" and len(model) == 64 + 4 * (30 + 1) + 4
    assert "#quality_metric: host=algo-1, test binary_classification_accuracy <score>=" in r.stderr
    acc = float(r.stderr.split("test binary_classification_accuracy <score>=")[1].split()[0])
    sk_pred, _ = sk_logistic(tr, te)
    assert acc >= accuracy_score(te[:, 0], sk_pred) - 0.01
    # Serve the model: SageMaker's JSON response shape, label as a float.
    import socket
    import time
    import urllib.request
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = subprocess.Popen([str(BIN), "serve", "--model-dir", str(root / "model"), "--algorithm",
                            "linear-learner:1", "--host", "127.0.0.1", "--port", str(port),
                            "--workers", "1"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        body = "\n".join(",".join(f"{v:.10g}" for v in row[1:]) for row in te[:5]).encode()
        for _ in range(100):
            try:
                req = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", data=body,
                                             headers={"Content-Type": "text/csv"})
                resp = json.loads(urllib.request.urlopen(req, timeout=10).read())
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("server did not answer")
    finally:
        srv.terminate()
        srv.wait(timeout=30)
    preds = resp["predictions"]
    assert len(preds) == 5
    for p in preds:
        assert 0 <= p["score"] <= 1 and p["predicted_label"] in (0.0, 1.0)
        assert isinstance(p["predicted_label"], float)
    # A bad hyperparameter fails the job with the reason in output/failure.
    (cfg / "hyperparameters.json").write_text(json.dumps(
        {"predictor_type": "multiclass_classifier"}))
    r = subprocess.run([str(BIN), "train", "--ml-root", str(root), "--algorithm",
                        "linear-learner:1"], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "num_classes is required" in (root / "output" / "failure").read_text()


def cli_job(root, files, content_type, hp):
    """Lays out an /opt/ml tree (channel name -> file) and runs `algorun train`."""
    import json
    import shutil
    from conftest import BIN
    for ch, f in files.items():
        (root / "input" / "data" / ch).mkdir(parents=True)
        shutil.copy(f, root / "input" / "data" / ch / pathlib.Path(f).name)
    cfg = root / "input" / "config"
    cfg.mkdir(parents=True)
    (cfg / "hyperparameters.json").write_text(json.dumps({k: str(v) for k, v in hp.items()}))
    (cfg / "inputdataconfig.json").write_text(json.dumps(
        {ch: {"ContentType": content_type, "TrainingInputMode": "File"} for ch in files}))
    (cfg / "resourceconfig.json").write_text(json.dumps(
        {"current_host": "algo-1", "hosts": ["algo-1"]}))
    r = subprocess.run([str(BIN), "train", "--ml-root", str(root), "--algorithm",
                        "linear-learner:1"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stderr


def test_cli_recordio_dense_equals_csv_and_sparse_quality(tmp_path):
    from conftest import BIN
    tr, va, te = split("breast_cancer.csv")
    files = {}
    for name, arr in (("train", tr), ("test", te)):
        csv = write(tmp_path / f"{name}.csv", arr)
        pb = tmp_path / f"{name}.pb"
        svm = tmp_path / f"{name}.libsvm"
        sp = tmp_path / f"{name}_sparse.pb"
        for args in ([csv, pb, "--content-type", "text/csv", "--to",
                      "application/x-recordio-protobuf"],
                     [csv, svm, "--content-type", "text/csv", "--to", "text/libsvm"],
                     [svm, sp, "--content-type", "text/libsvm", "--to",
                      "application/x-recordio-protobuf"]):
            r = subprocess.run([str(BIN), "data", "convert"] + [str(a) for a in args],
                               capture_output=True, text=True, timeout=60)
            assert r.returncode == 0, r.stderr
        files[name] = (csv, pb, sp)
    hp = {"predictor_type": "binary_classifier", "mini_batch_size": 32, "epochs": 10,
          "num_models": 4}
    cli_job(tmp_path / "a", {"train": files["train"][0]}, "text/csv", hp)
    cli_job(tmp_path / "b", {"train": files["train"][1]}, "application/x-recordio-protobuf", hp)
    a = (tmp_path / "a" / "model" / "model_algo-1").read_bytes()
    b = (tmp_path / "b" / "model" / "model_algo-1").read_bytes()
    assert a == b  # same batches, same model, bit for bit
    log = cli_job(tmp_path / "c", {"train": files["train"][2], "test": files["test"][2]},
                  "application/x-recordio-protobuf", hp)
    auc = float(log.split("test roc_auc_score <score>=")[1].split()[0])
    _, sk_prob = sk_logistic(tr, te)
    assert auc >= roc_auc_score(te[:, 0], sk_prob[:, 1]) - 0.01
    assert "'mean_weight': None" in log  # sparse data is scaled, not shifted


def test_cli_pipe_mode(tmp_path):
    """Pipe mode: one FIFO per pass (<channel>_0, _1, ...), served on demand as SageMaker does.
    The scaler pass and the calibration pass read a FIFO only partly."""
    import json
    import os
    import threading
    from conftest import BIN
    tr, va, te = split("breast_cancer.csv")
    root = tmp_path / "ml"
    data = root / "input" / "data"
    data.mkdir(parents=True)
    payload = {"train": write(tmp_path / "tr.csv", tr).read_bytes(),
               "validation": write(tmp_path / "va.csv", va).read_bytes()}
    done = threading.Event()
    passes = {ch: 0 for ch in payload}

    def serve(ch):
        k = 0
        while not done.is_set():
            fifo = data / f"{ch}_{k}"
            os.mkfifo(fifo)
            try:
                with open(fifo, "wb") as f:  # blocks until the trainer opens it
                    if done.is_set():
                        break
                    f.write(payload[ch])
                passes[ch] += 1
            except BrokenPipeError:
                passes[ch] += 1  # the reader stopped early (a partial pass)
            k += 1

    threads = [threading.Thread(target=serve, args=(ch,), daemon=True) for ch in payload]
    for t in threads:
        t.start()
    cfg = root / "input" / "config"
    cfg.mkdir(parents=True)
    (cfg / "hyperparameters.json").write_text(json.dumps(
        {"predictor_type": "binary_classifier", "mini_batch_size": "32", "epochs": "4",
         "num_models": "4", "num_point_for_scaler": "100"}))
    (cfg / "inputdataconfig.json").write_text(json.dumps(
        {ch: {"ContentType": "text/csv", "TrainingInputMode": "Pipe"} for ch in payload}))
    (cfg / "resourceconfig.json").write_text(json.dumps(
        {"current_host": "algo-1", "hosts": ["algo-1"]}))
    try:
        r = subprocess.run([str(BIN), "train", "--ml-root", str(root), "--algorithm",
                            "linear-learner:1"], capture_output=True, text=True, timeout=300)
    finally:
        done.set()
        for ch in payload:  # release writers blocked on a FIFO nobody will read
            for fifo in data.glob(f"{ch}_*"):
                try:
                    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
                    os.close(fd)
                except OSError:
                    pass
        for t in threads:
            t.join(timeout=5)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (root / "model" / "model_algo-1").read_bytes()[:8] == b"ARLINLRN"
    assert "#quality_metric: host=algo-1, validation roc_auc_score <score>=" in r.stderr
    assert passes["train"] >= 5  # scaler pass + 4 epochs
