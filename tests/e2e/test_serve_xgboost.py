"""The XGBoost container's response shapes: plain values by default, Python repr numbers,
SAGEMAKER_INFERENCE_OUTPUT keys and order, SAGEMAKER_BATCH lines, libsvm as the default
request type; numbers checked against python3-xgboost predicting with the same model file."""
import json

import numpy as np
import pytest
import xgboost as xgb

from conftest import DATA, run

BC = DATA / "datasets" / "breast_cancer.csv"
WINE = DATA / "datasets" / "wine.csv"


def train(tmp_path, data, hp, name):
    args = ["run", "--algorithm", "xgboost:1.7-1", "--name", name, "--output-dir", tmp_path,
            "--channel", f"train={data};text/csv"]
    for k, v in hp.items():
        args += ["--hp", f"{k}={v}"]
    r = run(args)
    assert r.returncode == 0, r.stderr
    return tmp_path / name


@pytest.fixture(scope="module")
def binary(tmp_path_factory):
    return train(tmp_path_factory.mktemp("bin"), BC,
                 {"num_round": "15", "objective": "binary:logistic", "max_depth": "3"}, "bin")


@pytest.fixture(scope="module")
def softprob(tmp_path_factory):
    return train(tmp_path_factory.mktemp("sp"), WINE,
                 {"num_round": "10", "objective": "multi:softprob", "num_class": "3"}, "sp")


def features(path, n):
    return np.loadtxt(path, delimiter=",", dtype=np.float32)[:n, 1:]


def csv_body(x):
    return "".join(",".join("%.9g" % v for v in row) + "\n" for row in x).encode()


def reference(job, x):
    b = xgb.Booster(model_file=str(job / "model" / "xgboost-model"))
    return b.predict(xgb.DMatrix(x))


def test_default_response_is_the_value_printed_as_python_does(binary, serve):
    x = features(BC, 20)
    want = reference(binary, x)
    srv = serve(binary / "model.tar.gz")
    st, h, data = srv.invoke(csv_body(x), "text/csv")  # no Accept: text/csv
    assert st == 200 and h["Content-Type"] == "text/csv; charset=utf-8"
    lines = data.decode().splitlines()
    assert lines == [repr(float(v)) for v in want]
    st, _, data = srv.invoke(csv_body(x), "text/csv", "application/json")
    assert json.loads(data) == {"predictions": [{"score": float(v)} for v in want]}
    # libsvm is the request type when none is given.
    svm = "".join(" ".join(f"{j}:{v:.9g}" for j, v in enumerate(r)) + "\n" for r in x)
    st, _, data = srv.request("POST", "/invocations", svm.encode(), {})
    assert st == 200 and data.decode().splitlines() == lines
    # XGBoost's container has no JSON input.
    st, _, _ = srv.invoke(b'{"instances": [{"features": [1]}]}', "application/json")
    assert st == 415


def test_softprob_rows(softprob, serve):
    x = features(WINE, 5)
    want = reference(softprob, x)
    srv = serve(softprob / "model.tar.gz")
    st, _, data = srv.invoke(csv_body(x), "text/csv", "text/csv")
    assert data.decode().splitlines() == [",".join(repr(float(v)) for v in row) for row in want]
    st, _, data = srv.invoke(csv_body(x), "text/csv", "application/json")
    assert json.loads(data) == {"predictions": [{"score": [float(v) for v in row]} for row in want]}


def test_selectable_output(binary, softprob, serve):
    x = features(BC, 4)
    p = reference(binary, x)
    env = {"SAGEMAKER_INFERENCE_OUTPUT": "Probabilities, predicted_label,raw_score"}
    srv = serve(binary / "model.tar.gz", env=env)
    st, _, data = srv.invoke(csv_body(x), "text/csv", "application/json")
    got = json.loads(data)["predictions"]
    for g, pi in zip(got, p):
        # JSON keys come in the container's fixed order, whatever the variable's order.
        assert list(g) == ["predicted_label", "probabilities", "raw_score"]
        assert g["predicted_label"] == int(pi > 0.5)
        assert g["probabilities"] == pytest.approx([1 - float(pi), float(pi)], rel=1e-6)
        assert g["raw_score"] == float(pi)
    st, _, data = srv.invoke(csv_body(x), "text/csv", "text/csv")
    first = data.decode().splitlines()[0]
    # CSV keeps the variable's order and quotes lists.
    assert first.startswith('"[') and first.count('"') == 2
    assert first.split('",')[1] == f"{int(p[0] > 0.5)},{float(p[0])!r}"
    st, _, data = srv.invoke(csv_body(x), "text/csv", "application/jsonlines")
    assert len(data.decode().splitlines()) == 4
    # A key that does not apply to the objective comes back as NaN.
    srv2 = serve(binary / "model.tar.gz", env={"SAGEMAKER_INFERENCE_OUTPUT": "predicted_score"})
    st, _, data = srv2.invoke(csv_body(x), "text/csv", "application/json")
    assert st == 200 and b"NaN" in data
    srv3 = serve(softprob / "model.tar.gz", env={"SAGEMAKER_INFERENCE_OUTPUT": "labels,probability"})
    xw = features(WINE, 2)
    st, _, data = srv3.invoke(csv_body(xw), "text/csv", "application/json")
    g = json.loads(data)["predictions"][0]
    assert g["labels"] == [0, 1, 2]
    assert g["probability"] == pytest.approx(float(reference(softprob, xw)[0].max()), rel=1e-6)


def test_batch_mode_lines(softprob, serve):
    x = features(WINE, 3)
    want = reference(softprob, x)
    srv = serve(softprob / "model.tar.gz", env={"SAGEMAKER_BATCH": "true"})
    st, _, data = srv.invoke(csv_body(x), "text/csv", "application/json")
    assert data.decode().splitlines() == ["[" + ", ".join(repr(float(v)) for v in row) + "]"
                                          for row in want]


def test_server_loads_a_model_trained_by_xgboost(tmp_path, serve):
    d = np.loadtxt(BC, delimiter=",", dtype=np.float32)
    b = xgb.train({"objective": "binary:logistic", "max_depth": 3, "tree_method": "hist"},
                  xgb.DMatrix(d[:, 1:], label=d[:, 0]), 10)
    (tmp_path / "m").mkdir()
    b.save_model(str(tmp_path / "m" / "xgboost-model.json"))
    (tmp_path / "m" / "xgboost-model.json").rename(tmp_path / "m" / "xgboost-model")
    srv = serve(tmp_path / "m")
    x = d[:10, 1:]
    st, _, data = srv.invoke(csv_body(x), "text/csv", "text/csv")
    got = np.array([float(v) for v in data.decode().splitlines()])
    assert np.abs(got - b.predict(xgb.DMatrix(x))).max() <= 1e-6
