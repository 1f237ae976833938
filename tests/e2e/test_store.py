"""The experiments store through the CLI: `algorun run` records, `algorun search` filters and
sorts, `algorun jobs`, concurrent writers, and killed jobs marked Failed."""
import json
import os
import signal
import sqlite3
import subprocess
import time

import pytest

from conftest import BIN, BUILD, DATA, run

IRIS = DATA / "datasets" / "iris.csv"
DIGITS = DATA / "datasets" / "digits.csv"


def km_run(store, out, name, k, tags=(), extra=()):
    args = ["run", "--algorithm", "kmeans:1", "--name", name, "--output-dir", out,
            "--store", store, "--hp", f"k={k}", "--hp", "feature_dim=4",
            "--channel", f"train={IRIS};text/csv;label_size=1",
            "--channel", f"test={IRIS};text/csv;label_size=1"]
    for t in tags:
        args += ["--tag", t]
    return run(args + list(extra))


def search(store, *filters, sort=None, order=None, max_results=None):
    args = ["search", "--store", store, "--json"]
    for f in filters:
        args += ["--filter", f]
    if sort:
        args += ["--sort-by", sort]
    if order:
        args += ["--sort-order", order]
    if max_results:
        args += ["--max-results", max_results]
    r = run(args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def names(res):
    return [x["TrainingJob"]["TrainingJobName"] for x in res["Results"]]


@pytest.fixture(scope="module")
def fixture_store(tmp_path_factory):
    d = tmp_path_factory.mktemp("store")
    store = str(d / "exp.db")
    for k, team in [(2, "red"), (3, "blue"), (4, "red"), (5, "green")]:
        r = km_run(store, d / "jobs", f"k{k}", k, tags=[f"team={team}", f"k={k}"])
        assert r.returncode == 0, r.stderr
    # One failing job: k above the number of rows is rejected by the algorithm.
    r = km_run(store, d / "jobs", "bad", 1000, tags=["team=red"])
    assert r.returncode == 1
    return store


def test_run_records_everything(fixture_store):
    r = run(["jobs", "describe", "k3", "--store", fixture_store])
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    assert j["TrainingJobStatus"] == "Completed"
    assert j["AlgorithmId"] == "kmeans:1"
    assert j["HyperParameters"]["k"] == "3"
    assert j["HyperParameters"]["epochs"] == "1"  # resolved defaults too
    assert sorted(j["GivenHyperParameters"]) == ["feature_dim", "k"]
    assert {c["ChannelName"]: c["ContentType"] for c in j["InputDataConfig"]} == {
        "train": "text/csv;label_size=1", "test": "text/csv;label_size=1"}
    fin = {m["MetricName"]: m["Value"] for m in j["FinalMetricDataList"]}
    assert set(fin) == {"train:msd", "test:msd"}
    assert [m["MetricName"] for m in j["MetricHistory"]] == ["train:msd", "test:msd"]
    model = j["ModelArtifacts"]["S3ModelArtifacts"]
    assert model.endswith("/k3/model.tar.gz") and os.path.exists(model)
    import hashlib
    assert j["ModelArtifacts"]["Sha256"] == hashlib.sha256(open(model, "rb").read()).hexdigest()
    assert {t["Key"]: t["Value"] for t in j["Tags"]} == {"team": "blue", "k": "3"}
    # job.json and the store agree on the final metrics
    jj = json.load(open(os.path.join(os.path.dirname(model), "job.json")))
    assert {m["MetricName"]: m["Value"] for m in jj["FinalMetricDataList"]} == fin
    bad = json.loads(run(["jobs", "describe", "bad", "--store", fixture_store]).stdout)
    assert bad["TrainingJobStatus"] == "Failed" and "k" in bad["FailureReason"]


def test_search_operators(fixture_store):
    s = fixture_store
    assert sorted(names(search(s, "HyperParameters.k Equals 3.0"))) == ["k3"]
    assert sorted(names(search(s, "HyperParameters.k NotEquals 3"))) == ["bad", "k2", "k4", "k5"]
    # numeric, not text, comparison: "1000" > "5"
    assert sorted(names(search(s, "HyperParameters.k GreaterThan 4"))) == ["bad", "k5"]
    assert sorted(names(search(s, "HyperParameters.k GreaterThanOrEqualTo 4"))) == [
        "bad", "k4", "k5"]
    assert sorted(names(search(s, "HyperParameters.k LessThan 4"))) == ["k2", "k3"]
    assert sorted(names(search(s, "HyperParameters.k LessThanOrEqualTo 2"))) == ["k2"]
    assert sorted(names(search(s, "TrainingJobName Contains k"))) == ["k2", "k3", "k4", "k5"]
    assert sorted(names(search(s, "Tags.team In red, green"))) == ["bad", "k2", "k4", "k5"]
    assert sorted(names(search(s, "Metrics.test:msd Exists"))) == ["k2", "k3", "k4", "k5"]
    assert names(search(s, "Metrics.test:msd NotExists")) == ["bad"]
    assert names(search(s, "TrainingJobStatus Equals Failed")) == ["bad"]
    # AND-ed
    assert sorted(names(search(s, "Tags.team Equals red", "TrainingJobStatus Equals Completed"))) \
        == ["k2", "k4"]
    assert names(search(s, "CreationTime GreaterThan 2000-01-01T00:00:00", max_results="2")) \
        == ["bad", "k5"]
    assert search(s, "CreationTime LessThan 2000-01-01T00:00:00")["TotalHits"]["Value"] == 0


def test_search_sort(fixture_store):
    s = fixture_store
    asc = names(search(s, "Metrics.test:msd Exists", sort="Metrics.test:msd", order="Ascending"))
    assert asc == ["k5", "k4", "k3", "k2"]
    desc = names(search(s, sort="Metrics.test:msd", order="Descending"))
    assert desc == ["k2", "k3", "k4", "k5", "bad"]  # no value: last in both orders
    assert names(search(s, sort="HyperParameters.k", order="Ascending")) == [
        "k2", "k3", "k4", "k5", "bad"]
    res = search(s, sort="TrainingJobName", order="Ascending", max_results="3")
    assert names(res) == ["bad", "k2", "k3"] and res["TotalHits"]["Value"] == 5


def test_search_table_and_errors(fixture_store):
    r = run(["search", "--store", fixture_store, "--filter", "HyperParameters.k LessThan 4",
             "--sort-by", "HyperParameters.k", "--sort-order", "Ascending"])
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:2] == ["TrainingJobName", "TrainingJobStatus"]
    assert "HyperParameters.k" in lines[0]
    assert [l.split()[0] for l in lines[1:]] == ["k2", "k3"]
    for bad, msg in [("Bogus Equals 1", "not a searchable property"),
                     ("TrainingJobName GreaterThan a", "is text"),
                     ("Metrics.x Contains 1", "applies to text"),
                     ("Metrics.x LessThan abc", "needs a number"),
                     ("TrainingJobName Equalz k2", "unknown operator"),
                     ("TrainingJobName Exists k2", "takes no value"),
                     ("CreationTime GreaterThan yesterday", "not a time")]:
        r = run(["search", "--store", fixture_store, "--filter", bad])
        assert r.returncode == 2 and msg in r.stderr, (bad, r.stderr)


def test_jobs_list_and_compare(fixture_store):
    r = run(["jobs", "list", "--store", fixture_store])
    assert r.returncode == 0
    assert [l.split()[0] for l in r.stdout.splitlines()[1:]] == ["bad", "k5", "k4", "k3", "k2"]
    r = run(["jobs", "compare", "k2", "k3", "--store", fixture_store])
    assert r.returncode == 0, r.stderr
    rows = {l.split()[1] if l.startswith("*") else l.split()[0]: l for l in r.stdout.splitlines()}
    assert rows["HyperParameters.k"].startswith("*")
    assert rows["HyperParameters.feature_dim"].startswith("  ")
    assert "Metrics.test:msd" in rows
    r = run(["jobs", "describe", "nope", "--store", fixture_store])
    assert r.returncode == 1 and "no job named 'nope'" in r.stderr


def test_duplicate_name_rejected(fixture_store, tmp_path):
    r = km_run(fixture_store, tmp_path, "k2", 2)
    assert r.returncode == 1 and "already in the store" in r.stderr


def test_concurrent_writers_lose_nothing(tmp_path):
    tool = BUILD / "tools" / "store_stress"
    store = str(tmp_path / "stress.db")
    procs = [subprocess.Popen([str(tool), store, str(w), "500"], stderr=subprocess.PIPE)
             for w in range(8)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()
    db = sqlite3.connect(store)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("SELECT count(*) FROM jobs").fetchone()[0] == 4000
    assert db.execute("SELECT count(DISTINCT name) FROM jobs").fetchone()[0] == 4000
    assert db.execute("SELECT count(*) FROM metrics").fetchone()[0] == 20000
    assert db.execute("SELECT count(*) FROM hyperparameters").fetchone()[0] == 8000
    # every record whole: its final value is its last metric
    bad = db.execute("""SELECT count(*) FROM jobs j JOIN final_metrics f ON f.job_id = j.id
                        JOIN hyperparameters w ON w.job_id = j.id AND w.name = 'writer'
                        JOIN hyperparameters i ON i.job_id = j.id AND i.name = 'index'
                        WHERE f.value != w.value * 100000 + i.value + 4""").fetchone()[0]
    assert bad == 0
    assert db.execute("PRAGMA user_version").fetchone()[0] == 1
    res = search(store, "HyperParameters.writer Equals 7", "HyperParameters.index LessThan 10")
    assert res["TotalHits"]["Value"] == 10


def test_killed_job_is_marked_failed(tmp_path):
    store = str(tmp_path / "exp.db")
    p = subprocess.Popen([str(BIN), "--threads", "1", "run", "--algorithm", "kmeans:1",
                          "--name", "victim", "--output-dir", str(tmp_path), "--store", store,
                          "--hp", "k=10", "--hp", "feature_dim=64", "--hp", "epochs=100000",
                          "--hp", "mini_batch_size=100",
                          "--channel", f"train={DIGITS};text/csv;label_size=1"],
                         stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        r = run(["jobs", "describe", "victim", "--store", store])
        if r.returncode == 0:
            break
        time.sleep(0.1)
    assert json.loads(r.stdout)["TrainingJobStatus"] == "InProgress"
    p.send_signal(signal.SIGKILL)
    p.wait()
    j = json.loads(run(["jobs", "describe", "victim", "--store", store]).stdout)
    assert j["TrainingJobStatus"] == "Failed"
    assert "ended without recording a result" in j["FailureReason"]
