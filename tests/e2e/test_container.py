"""Training jobs and the inference server through the real CLI and a real HTTP client:
`algorun run`, `algorun train` against a hand-laid /opt/ml tree (File and Pipe mode), failures,
`algorun serve` on the job's model.tar.gz with every content type and Accept, checked against
batch transform (the algorithm's own batch prediction) and the reference response shapes."""
import json
import os
import pathlib
import signal
import subprocess
import tarfile
import threading

import numpy as np
import pytest

from conftest import BIN, DATA, run

IRIS = DATA / "datasets" / "iris.csv"
AB_TRAIN = DATA / "datasets" / "abalone_train.csv"
AB_VAL = DATA / "datasets" / "abalone_validation.csv"
BC = DATA / "datasets" / "breast_cancer.csv"

# Per algorithm: hyperparameters, train/test channels (content types), request features.
CASES = {
    "kmeans:1": dict(
        hp={"k": "3", "feature_dim": "4"},
        channels={"train": (IRIS, "text/csv;label_size=1"), "test": (IRIS, "text/csv;label_size=1")},
        features=lambda: np.loadtxt(IRIS, delimiter=",", dtype=np.float32)[:, 1:],
        outputs=("closest_cluster", "distance_to_cluster"),
        default_accept="application/json",
        metric="test:msd",
    ),
    "xgboost:1.7-1": dict(
        hp={"num_round": "20", "max_depth": "4", "eta": "0.3"},
        channels={"train": (AB_TRAIN, "text/csv"), "validation": (AB_VAL, "text/csv")},
        features=lambda: np.loadtxt(AB_VAL, delimiter=",", dtype=np.float32)[:, 1:],
        outputs=("score",),
        default_accept="text/csv",
        metric="validation:rmse",
    ),
    "linear-learner:1": dict(
        hp={"predictor_type": "binary_classifier", "epochs": "3", "mini_batch_size": "100"},
        channels={"train": (BC, "text/csv"), "test": (BC, "text/csv")},
        features=lambda: np.loadtxt(BC, delimiter=",", dtype=np.float32)[:, 1:],
        outputs=("score", "predicted_label"),
        default_accept="application/json",
        metric="test:binary_classification_accuracy",
    ),
}


def registered():
    r = run(["algorithms", "--json"])
    assert r.returncode == 0, r.stderr
    return {a["id"]: a for a in json.loads(r.stdout)}


REGISTRY = registered()
ALGOS = [a for a in CASES if a in REGISTRY]


def run_job(algo, tmp_path, name="job1", hp=None, extra=()):
    """`algorun run` into tmp_path/jobs/NAME (job names are unique per experiments store, so
    module-scoped callers pass distinct names)."""
    c = CASES[algo]
    args = ["run", "--algorithm", algo, "--name", name, "--output-dir", tmp_path / "jobs"]
    for k, v in (hp if hp is not None else c["hp"]).items():
        args += ["--hp", f"{k}={v}"]
    for ch, (path, ctype) in c["channels"].items():
        args += ["--channel", f"{ch}={path};{ctype}"]
    return run(args + list(extra))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One finished job per algorithm, shared by the server tests."""
    out = {}
    for algo in ALGOS:
        d = tmp_path_factory.mktemp(algo.replace(":", "_"))
        name = "served-" + algo.split(":")[0]
        r = run_job(algo, d, name=name)
        assert r.returncode == 0, r.stderr
        out[algo] = d / "jobs" / name
    return out




@pytest.mark.parametrize("algo", ALGOS)
def test_run_lays_out_job_and_records_it(algo, trained):
    job = trained[algo]
    for p in ("input/config/hyperparameters.json", "input/config/inputdataconfig.json",
              "input/config/resourceconfig.json", "model.tar.gz", "job.json", "output/success"):
        assert (job / p).exists(), p
    assert (job / "input/data/train").is_symlink()  # linked, not copied
    assert not (job / "output/failure").exists()
    rec = json.loads((job / "job.json").read_text())
    assert rec["TrainingJobName"] == job.name and rec["AlgorithmId"] == algo
    assert rec["TrainingJobStatus"] == "Completed"
    # Resolved hyperparameters: what was given plus every default.
    for k, v in CASES[algo]["hp"].items():
        assert rec["HyperParameters"][k] == v
    assert len(rec["HyperParameters"]) > len(CASES[algo]["hp"])
    assert {c["ChannelName"] for c in rec["InputDataConfig"]} == set(CASES[algo]["channels"])
    finals = {m["MetricName"]: m["Value"] for m in rec["FinalMetricDataList"]}
    assert CASES[algo]["metric"] in finals and np.isfinite(finals[CASES[algo]["metric"]])
    assert rec["MetricHistory"]
    with tarfile.open(job / "model.tar.gz") as t:
        names = sorted(t.getnames())
    assert names == sorted(p.name for p in (job / "model").iterdir())


@pytest.mark.parametrize("algo", ALGOS)
def test_job_names_are_unique(algo, tmp_path):
    assert run_job(algo, tmp_path, name="same").returncode == 0
    before = (tmp_path / "jobs/same/job.json").read_bytes()
    r = run_job(algo, tmp_path, name="same")
    assert r.returncode == 1 and "already exists" in r.stderr
    assert (tmp_path / "jobs/same/job.json").read_bytes() == before


@pytest.mark.parametrize("algo", ALGOS)
def test_bad_hyperparameter_fails_cleanly(algo, tmp_path):
    hp = dict(CASES[algo]["hp"], not_a_parameter="1")
    r = run_job(algo, tmp_path, name="bad", hp=hp)
    assert r.returncode == 1
    job = tmp_path / "jobs" / "bad"
    failure = (job / "output/failure").read_text()
    assert "Extraneous hyperparameter found: not_a_parameter" in failure
    assert list((job / "model").iterdir()) == []  # no model left behind
    assert not (job / "model.tar.gz").exists()
    rec = json.loads((job / "job.json").read_text())
    assert rec["TrainingJobStatus"] == "Failed" and "not_a_parameter" in rec["FailureReason"]


def no_model(root):
    m = root / "model"
    return not m.exists() or not any(m.iterdir())


def lay_out(root, algo, mode="File", hp=None, channels=None):
    """A tree laid out exactly as SageMaker lays out /opt/ml."""
    c = CASES[algo]
    (root / "input/config").mkdir(parents=True)
    (root / "input/data").mkdir(parents=True)
    (root / "input/config/hyperparameters.json").write_text(json.dumps(hp or c["hp"]))
    chans = channels or c["channels"]
    (root / "input/config/inputdataconfig.json").write_text(json.dumps({
        ch: {"ContentType": ctype, "TrainingInputMode": mode, "S3DistributionType": "FullyReplicated",
             "RecordWrapperType": "None"} for ch, (_, ctype) in chans.items()}))
    (root / "input/config/resourceconfig.json").write_text(json.dumps(
        {"current_host": "algo-1", "hosts": ["algo-1"], "network_interface_name": "eth0"}))
    if mode == "File":
        for ch, (path, _) in chans.items():
            (root / "input/data" / ch).mkdir()
            (root / "input/data" / ch / "part-0.csv").write_bytes(pathlib.Path(path).read_bytes())
    return root


@pytest.mark.parametrize("algo", ALGOS)
def test_train_file_mode(algo, tmp_path):
    root = lay_out(tmp_path / "ml", algo)
    r = run(["train", "--ml-root", root, "--algorithm", algo])
    assert r.returncode == 0, r.stderr
    assert any((root / "model").iterdir())
    assert (root / "output/success").exists() and not (root / "output/failure").exists()
    # The same entrypoint with the image's environment instead of flags.
    root2 = lay_out(tmp_path / "ml2", algo)
    r = run(["train"], env=dict(os.environ, ALGORUN_ML_ROOT=str(root2), ALGORUN_ALGORITHM=algo))
    assert r.returncode == 0, r.stderr


def feed_fifos(root, ch, path, epochs):
    """Plays SageMaker's Pipe mode: FIFO <ch>_<epoch> per pass, created one after another."""
    def feeder():
        for e in range(epochs):
            fifo = root / "input/data" / f"{ch}_{e}"
            os.mkfifo(fifo)
            with open(fifo, "wb") as f:
                f.write(pathlib.Path(path).read_bytes())
    t = threading.Thread(target=feeder, daemon=True)
    t.start()
    return t


def test_train_pipe_mode_kmeans_two_epochs(tmp_path):
    if "kmeans:1" not in ALGOS:
        pytest.skip("kmeans not built")
    hp = dict(CASES["kmeans:1"]["hp"], epochs="2", mini_batch_size="50")
    chans = {"train": (IRIS, "text/csv;label_size=1")}
    root = lay_out(tmp_path / "ml", "kmeans:1", mode="Pipe", hp=hp, channels=chans)
    t = feed_fifos(root, "train", IRIS, 2)
    r = run(["train", "--ml-root", root, "--algorithm", "kmeans:1"], timeout=120)
    t.join(5)
    assert r.returncode == 0, r.stderr
    assert not t.is_alive()  # both epochs' FIFOs were read to the end
    assert any((root / "model").iterdir())


@pytest.mark.parametrize("algo", ALGOS)
def test_train_failures_write_output_failure(algo, tmp_path):
    c = CASES[algo]
    root = lay_out(tmp_path / "a", algo, channels=dict(c["channels"], extra=(IRIS, "text/csv")))
    r = run(["train", "--ml-root", root, "--algorithm", algo])
    assert r.returncode == 1
    assert "Extraneous channel found: extra" in (root / "output/failure").read_text()
    assert no_model(root)
    root = tmp_path / "b"
    lay_out(root, algo)
    (root / "input/config/hyperparameters.json").write_text("{not json")
    r = run(["train", "--ml-root", root, "--algorithm", algo])
    assert r.returncode == 1 and "invalid JSON" in (root / "output/failure").read_text()
    r = run(["train", "--ml-root", root, "--algorithm", "nosuch:1"])
    assert r.returncode == 2 and "unknown algorithm" in r.stderr


def transform_reference(model, rows_csv, tmp_path, accept):
    """The algorithm's own batch prediction for the rows: algorun transform, file to file."""
    src = tmp_path / "in"
    src.mkdir(exist_ok=True)
    (src / "x.csv").write_text(rows_csv)
    out = tmp_path / ("out-" + accept.replace("/", "_"))
    r = run(["transform", "--model-dir", model, "--input", src, "--output", out,
             "--content-type", "text/csv", "--accept", accept])
    assert r.returncode == 0, r.stderr
    return (out / "x.csv.out").read_text()


def csv_body(x):
    return "".join(",".join("%.9g" % v for v in row) + "\n" for row in x)


def recordio_body(x):
    """RecordIO-protobuf request written the SDK's way (dense float32, no label)."""
    import struct
    out = b""
    for row in x:
        vals = np.asarray(row, dtype="<f4").tobytes()
        tensor = b"\x0a" + varint(len(vals)) + vals
        value = b"\x12" + varint(len(tensor)) + tensor
        entry = b"\x0a\x06values\x12" + varint(len(value)) + value
        rec = b"\x0a" + varint(len(entry)) + entry
        out += struct.pack("<II", 0xCED7230A, len(rec)) + rec + b"\0" * ((-len(rec)) % 4)
    return out


def varint(n):
    b = b""
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            b += bytes([byte | 0x80])
        else:
            return b + bytes([byte])


@pytest.mark.parametrize("algo", ALGOS)
def test_invocations_every_content_type_and_accept(algo, trained, serve, tmp_path):
    c = CASES[algo]
    x = c["features"]()[:25]
    model = trained[algo] / "model.tar.gz"
    srv = serve(model)
    ref_jsonl = [json.loads(l) for l in transform_reference(model, csv_body(x), tmp_path,
                                                            "application/jsonlines").splitlines()]
    assert len(ref_jsonl) == len(x)
    assert list(ref_jsonl[0]) == list(c["outputs"])
    bodies = {
        "text/csv": csv_body(x).encode(),
        "application/json": json.dumps({"instances": [{"features": r.tolist()} for r in x]}).encode(),
        "application/jsonlines": "".join(json.dumps({"features": r.tolist()}) + "\n" for r in x).encode(),
        "application/x-recordio-protobuf": recordio_body(x),
    }
    accepted = set(REGISTRY[algo]["inference_content_types"])
    for ctype, body in bodies.items():
        if ctype not in accepted:
            st, _, _ = srv.invoke(body, ctype, "application/json")
            assert st == 415, ctype
            continue
        st, h, data = srv.invoke(body, ctype, "application/json")
        assert st == 200, (ctype, data)
        assert h["Content-Type"].startswith("application/json")
        assert json.loads(data) == {"predictions": ref_jsonl}, ctype
        st, h, data = srv.invoke(body, ctype, "application/jsonlines")
        assert st == 200 and [json.loads(l) for l in data.decode().splitlines()] == ref_jsonl
        st, h, data = srv.invoke(body, ctype, "text/csv")
        assert st == 200 and h["Content-Type"].startswith("text/csv")
        assert data.decode() == transform_reference(model, csv_body(x), tmp_path, "text/csv")
        st, h, data = srv.invoke(body, ctype, "application/x-recordio-protobuf")
        assert st == 200 and data[:4] == b"\x0a\x23\xd7\xce"
    # No Accept, or */*: the algorithm's documented default.
    st, h, _ = srv.invoke(bodies["text/csv"], "text/csv")
    assert st == 200 and h["Content-Type"].startswith(c["default_accept"])
    st, h, _ = srv.invoke(bodies["text/csv"], "text/csv", "*/*")
    assert h["Content-Type"].startswith(c["default_accept"])
    # A RecordIO response decodes to the same numbers (through `algorun data cat`).
    st, _, data = srv.invoke(bodies["text/csv"], "text/csv", "application/x-recordio-protobuf")
    f = tmp_path / "resp.pbr"
    f.write_bytes(data)
    r = run(["data", "cat", f, "--content-type", "application/x-recordio-protobuf", "--to",
             "application/json"])
    recs = json.loads(r.stdout)["records"]
    assert len(recs) == len(x)
    for rec, want in zip(recs, ref_jsonl):
        for k, v in want.items():
            got = rec["label"][k]["values"]
            assert got == pytest.approx(v if isinstance(v, list) else [v], rel=1e-6)


@pytest.mark.parametrize("algo", ALGOS)
def test_server_status_codes_and_keeps_serving(algo, trained, serve):
    srv = serve(trained[algo] / "model.tar.gz", args=["--max-payload-mb", "1"])
    x = CASES[algo]["features"]()[:2]
    good = csv_body(x).encode()
    checks = [
        (("GET", "/ping", None, {}), 200),
        (("GET", "/execution-parameters", None, {}), 200),
        (("POST", "/invocations", b"", {"Content-Type": "text/csv"}), 204),
        (("POST", "/invocations", b"1,2,x\n", {"Content-Type": "text/csv"}), 400),
        (("POST", "/invocations", b"1,2\n3\n", {"Content-Type": "text/csv"}), 400),
        (("POST", "/invocations", good, {"Content-Type": "image/png"}), 415),
        (("POST", "/invocations", good, {"Content-Type": "text/csv", "Accept": "text/html"}), 406),
        (("POST", "/invocations", b"1," * (600 * 1024), {"Content-Type": "text/csv"}), 413),
        (("GET", "/invocations", None, {}), 405),
        (("POST", "/ping", b"", {}), 405),
        (("GET", "/nope", None, {}), 404),
        (("DELETE", "/invocations", None, {}), 405),
    ]
    for (method, path, body, headers), want in checks:
        st, h, data = srv.request(method, path, body, headers)
        assert st == want, (method, path, st, data[:200])
        if want >= 400 and want != 404:
            assert data.strip(), (method, path)  # a short message says why
        st, _, _ = srv.invoke(good, "text/csv")
        assert st == 200  # still serving after every error
    st, _, data = srv.request("GET", "/execution-parameters")
    p = json.loads(data)
    assert p["BatchStrategy"] == "MULTI_RECORD" and p["MaxPayloadInMB"] == 1
    assert p["MaxConcurrentTransforms"] >= 1
    assert srv.stop() == 0  # SIGTERM: clean exit


def test_serve_bad_model_fails_clearly(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "model_algo-1").write_bytes(b"garbage")
    r = subprocess.run([str(BIN), "serve", "--model-dir", str(tmp_path / "m"), "--port", "1"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "no algorithm can load" in r.stderr
    (tmp_path / "x.tar.gz").write_bytes(b"not a tarball")
    r = subprocess.run([str(BIN), "serve", "--model-dir", str(tmp_path / "x.tar.gz")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "x.tar.gz" in r.stderr


@pytest.mark.parametrize("algo,hp", [
    ("xgboost:1.7-1", {"num_round": "1000000", "max_depth": "2"}),
    ("kmeans:1", {"k": "3", "feature_dim": "4", "epochs": "1000000", "mini_batch_size": "10"}),
])
def test_sigterm_stops_and_saves_the_model(algo, hp, tmp_path):
    """SIGTERM during training: the job stops at the next round or batch, saves the model
    trained so far, records Stopped and exits 0 (what the contract asks of built-ins)."""
    import time
    if algo not in ALGOS:
        pytest.skip(algo + " not built")
    c = CASES[algo]
    args = [str(BIN), "run", "--algorithm", algo, "--name", "stopme", "--output-dir",
            str(tmp_path)]
    for k, v in hp.items():
        args += ["--hp", f"{k}={v}"]
    ch = "train"
    args += ["--channel", f"{ch}={c['channels'][ch][0]};{c['channels'][ch][1]}"]
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    assert p.poll() is None, p.stderr.read()
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    rec = json.loads((tmp_path / "stopme/job.json").read_text())
    assert rec["TrainingJobStatus"] == "Stopped"
    assert (tmp_path / "stopme/model.tar.gz").exists()
    assert any((tmp_path / "stopme/model").iterdir())
