"""`algorun tune` end to end with k-means trials: parallel trials in the store, kill and resume,
Grid, Hyperband, and the usage errors. (Bayesian against Random is measured on the Branin
function through the same strategy code in tests/unit/test_tune.c.)"""
import json
import os
import signal
import subprocess
import time

from conftest import BIN, DATA, run

IRIS = DATA / "datasets" / "iris.csv"
DIGITS = DATA / "datasets" / "digits.csv"
IRIS_CH = ["--channel", f"train={IRIS};text/csv;label_size=1",
           "--channel", f"test={IRIS};text/csv;label_size=1"]


def trials(store, tuning):
    r = run(["search", "--store", store, "--json", "--max-results", "1000",
             "--filter", f"TuningJobName Equals {tuning}",
             "--sort-by", "TrialIndex", "--sort-order", "Ascending"])
    assert r.returncode == 0, r.stderr
    return [x["TrainingJob"] for x in json.loads(r.stdout)["Results"]]


def test_parallel_trials_land_in_store(tmp_path):
    store = str(tmp_path / "exp.db")
    r = run(["tune", "--algorithm", "kmeans:1", "--name", "par", "--store", store,
             "--output-dir", tmp_path, "--hp", "feature_dim=4",
             "--range", "k=Integer:2:9", "--range", "init_method=Categorical:random,kmeans++",
             "--range", "local_lloyd_tol=Continuous:0.00001:0.01:Logarithmic",
             *IRIS_CH, "--objective", "test:msd", "--type", "Minimize",
             "--strategy", "Random", "--max-jobs", "8", "--max-parallel", "4", "--seed", "5"])
    assert r.returncode == 0, r.stderr
    ts = trials(store, "par")
    assert len(ts) == 8
    assert [t["TrialIndex"] for t in ts] == list(range(1, 9))
    best = None
    for i, t in enumerate(ts, 1):
        name = t["TrainingJobName"]
        assert name.startswith(f"par-{i:03d}-") and len(name) == len("par-001-") + 8
        int(name[-8:], 16)
        assert t["TrainingJobStatus"] == "Completed"
        hp = t["HyperParameters"]
        assert 2 <= int(hp["k"]) <= 9
        assert hp["init_method"] in ("random", "kmeans++")
        assert 1e-5 <= float(hp["local_lloyd_tol"]) <= 1e-2
        assert hp["_tuning_objective_metric"] == "test:msd"
        assert hp["feature_dim"] == "4"
        fin = {m["MetricName"]: m["Value"] for m in t["FinalMetricDataList"]}
        # the recorded metric matches the trial's own job.json
        jj = json.load(open(tmp_path / "par" / name / "job.json"))
        assert {m["MetricName"]: m["Value"] for m in jj["FinalMetricDataList"]} == fin
        assert jj["HyperParameters"]["k"] == hp["k"]
        if best is None or fin["test:msd"] < best[1]:
            best = (name, fin["test:msd"])
        assert os.path.exists(tmp_path / "par" / f"{name}.log")
    assert f"best trial: {best[0]}" in r.stdout
    assert f"model: {tmp_path}/par/{best[0]}/model.tar.gz" in r.stdout
    # the same seed gives the same configurations
    r2 = run(["tune", "--algorithm", "kmeans:1", "--name", "par2", "--store", store,
              "--output-dir", tmp_path, "--hp", "feature_dim=4",
              "--range", "k=Integer:2:9", "--range", "init_method=Categorical:random,kmeans++",
              "--range", "local_lloyd_tol=Continuous:0.00001:0.01:Logarithmic",
              *IRIS_CH, "--objective", "test:msd", "--type", "Minimize",
              "--strategy", "Random", "--max-jobs", "8", "--max-parallel", "2", "--seed", "5"])
    assert r2.returncode == 0, r2.stderr
    key = lambda t: (t["HyperParameters"]["k"], t["HyperParameters"]["init_method"],
                     t["HyperParameters"]["local_lloyd_tol"])
    assert [key(t) for t in trials(store, "par2")] == [key(t) for t in ts]
    # a name is taken once
    r3 = run(["tune", "--algorithm", "kmeans:1", "--name", "par", "--store", store,
              "--output-dir", tmp_path, "--hp", "feature_dim=4", "--range", "k=Integer:2:9",
              *IRIS_CH, "--objective", "test:msd", "--type", "Minimize", "--max-jobs", "2"])
    assert r3.returncode == 1 and "--resume" in r3.stderr


def test_kill_and_resume(tmp_path):
    store = str(tmp_path / "exp.db")
    args = [str(BIN), "tune", "--algorithm", "kmeans:1", "--name", "kr", "--store", store,
            "--output-dir", str(tmp_path), "--hp", "feature_dim=64", "--hp", "epochs=250",
            "--hp", "mini_batch_size=100", "--range", "k=Integer:5:15",
            "--channel", f"train={DIGITS};text/csv;label_size=1",
            "--objective", "train:msd", "--type", "Minimize", "--strategy", "Bayesian",
            "--max-jobs", "8", "--max-parallel", "2", "--seed", "1"]
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    done_before = []
    while time.time() < deadline:
        done_before = [t for t in trials(store, "kr") if t["TrainingJobStatus"] == "Completed"]
        if len(done_before) >= 3:
            break
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert 3 <= len(done_before) < 8
    r = run(["tune", "--resume", "kr", "--store", store])
    assert r.returncode == 0, r.stderr
    assert "resuming kr" in r.stderr
    ts = trials(store, "kr")
    completed = [t for t in ts if t["TrainingJobStatus"] == "Completed"]
    # every index 1..8 completed exactly once; finished trials were not repeated
    assert sorted(t["TrialIndex"] for t in completed) == list(range(1, 9))
    names = {t["TrainingJobName"] for t in completed}
    for t in done_before:
        assert t["TrainingJobName"] in names
    # anything else is an interrupted run of an index that then completed
    for t in ts:
        if t["TrainingJobStatus"] != "Completed":
            assert t["TrainingJobStatus"] in ("Stopped", "Failed")
    r = run(["tune", "--resume", "kr", "--store", store])
    assert r.returncode == 0 and "already Completed" in r.stdout


def test_grid_enumerates_exactly(tmp_path):
    store = str(tmp_path / "exp.db")
    r = run(["tune", "--algorithm", "kmeans:1", "--name", "grid", "--store", store,
             "--output-dir", tmp_path, "--hp", "feature_dim=4",
             "--range", "k=Integer:2:4", "--range", "init_method=Categorical:random,kmeans++",
             *IRIS_CH, "--objective", "test:msd", "--type", "Minimize",
             "--strategy", "Grid", "--max-parallel", "3"])
    assert r.returncode == 0, r.stderr
    got = [(t["HyperParameters"]["k"], t["HyperParameters"]["init_method"])
           for t in trials(store, "grid")]
    assert got == [(k, m) for k in ("2", "3", "4") for m in ("random", "kmeans++")]
    r = run(["tune", "--algorithm", "kmeans:1", "--name", "grid2", "--store", store,
             "--hp", "feature_dim=4", "--range", "k=Integer:2:4", *IRIS_CH,
             "--objective", "test:msd", "--type", "Minimize", "--strategy", "Grid",
             "--max-jobs", "5"])
    assert r.returncode == 2 and "number of combinations, 3" in r.stderr
    r = run(["tune", "--algorithm", "kmeans:1", "--name", "grid3", "--store", store,
             "--hp", "feature_dim=4", "--range", "local_lloyd_tol=Continuous:0.001:0.1",
             *IRIS_CH, "--objective", "test:msd", "--type", "Minimize", "--strategy", "Grid"])
    assert r.returncode == 2 and "Grid needs Categorical or Integer" in r.stderr


def test_hyperband_resources(tmp_path):
    store = str(tmp_path / "exp.db")
    r = run(["tune", "--algorithm", "kmeans:1", "--name", "hb", "--store", store,
             "--output-dir", tmp_path, "--hp", "feature_dim=4", "--hp", "epochs=9",
             "--range", "k=Integer:2:9", *IRIS_CH, "--objective", "test:msd",
             "--type", "Minimize", "--strategy", "Hyperband", "--max-jobs", "13",
             "--max-parallel", "3", "--seed", "2"])
    assert r.returncode == 0, r.stderr
    ts = trials(store, "hb")
    assert [int(t["HyperParameters"]["epochs"]) for t in ts] == [1] * 9 + [3] * 3 + [9]
    obj = lambda t: {m["MetricName"]: m["Value"] for m in t["FinalMetricDataList"]}["test:msd"]
    # rung 1 runs the three best configurations of rung 0, best first
    rung0 = sorted(ts[:9], key=lambda t: (obj(t), t["TrialIndex"]))
    assert [t["HyperParameters"]["k"] for t in ts[9:12]] == \
        [t["HyperParameters"]["k"] for t in rung0[:3]]


def test_usage_errors(tmp_path):
    base = ["tune", "--algorithm", "kmeans:1", "--store", str(tmp_path / "e.db"),
            "--hp", "feature_dim=4", *IRIS_CH, "--max-jobs", "2"]
    for extra, msg in [
        (["--range", "k=Integer:0:5", "--objective", "test:msd", "--type", "Minimize"],
         "minimum"),
        (["--range", "nope=Integer:1:5", "--objective", "test:msd", "--type", "Minimize"],
         "no hyperparameter nope"),
        (["--range", "k=Integer:2:5", "--objective", "test:msd"], "--type"),
        (["--range", "k=Integer:2:5", "--type", "Minimize"], "--objective"),
        (["--range", "k=Integer:2:5", "--objective", "test:msd", "--type", "Minimize",
          "--strategy", "Annealing"], "Random, Grid, Bayesian or Hyperband"),
        (["--range", "k=Integer:2:5", "--objective", "test:msd", "--type", "Minimize",
          "--strategy", "Hyperband", "--early-stopping", "Auto"], "Off with Hyperband"),
        (["--range", "k=Integer:2:5", "--objective", "test:msd", "--type", "Minimize",
          "--name", "bad_name"], "1-32 letters"),
    ]:
        r = run(base + extra)
        assert r.returncode == 2 and msg in r.stderr, (extra, r.stderr)
    r = run(["tune", "--resume", "ghost", "--store", str(tmp_path / "e.db")])
    assert r.returncode != 0 and "no tuning job named 'ghost'" in r.stderr
