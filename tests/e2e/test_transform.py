"""`algorun transform`: inputs in CSV, JSON Lines and RecordIO for each algorithm, SingleRecord
and MultiRecord giving the same output, the reference's DataProcessing examples, a corrupt file
failing alone with nothing half-written, and outputs equal to the server's answers."""
import json
import os

import numpy as np
import pytest

from conftest import DATA, run
from test_container import ALGOS, CASES, REGISTRY, csv_body, recordio_body, run_job


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    out = {}
    for algo in ALGOS:
        d = tmp_path_factory.mktemp("m")
        name = "xf-" + algo.split(":")[0]
        assert run_job(algo, d, name=name).returncode == 0
        out[algo] = d / "jobs" / name / "model.tar.gz"
    return out


def transform(model, inp, out, *args, ok=True):
    r = run(["transform", "--model-dir", model, "--input", inp, "--output", out] + list(args))
    if ok:
        assert r.returncode == 0, r.stderr
    return r


def write_inputs(d, x):
    d.mkdir(parents=True, exist_ok=True)
    (d / "a.csv").write_text(csv_body(x))
    (d / "b.jsonl").write_text("".join(json.dumps({"features": r.tolist()}) + "\n" for r in x))
    (d / "c.pbr").write_bytes(recordio_body(x))


@pytest.mark.parametrize("algo", ALGOS)
def test_formats_and_strategies_agree(algo, models, tmp_path):
    x = CASES[algo]["features"]()[:60]
    accepted = set(REGISTRY[algo]["inference_content_types"])
    write_inputs(tmp_path / "in", x)
    results = []
    for name, ctype in (("a.csv", "text/csv"), ("b.jsonl", "application/jsonlines"),
                        ("c.pbr", "application/x-recordio-protobuf")):
        if ctype not in accepted:
            continue
        for strategy in ("SingleRecord", "MultiRecord"):
            out = tmp_path / f"out-{name}-{strategy}"
            transform(models[algo], tmp_path / "in" / name, out, "--content-type", ctype,
                      "--accept", "application/jsonlines", "--batch-strategy", strategy,
                      "--max-payload-mb", "1")
            results.append((out / (name + ".out")).read_text())
    assert len(results) >= 4
    assert all(r == results[0] for r in results)  # every format and strategy: same answer
    assert len(results[0].splitlines()) == len(x)


@pytest.mark.parametrize("algo", ALGOS)
def test_outputs_equal_server_answers(algo, models, tmp_path, serve):
    x = CASES[algo]["features"]()[:40]
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x.csv").write_text(csv_body(x))
    srv = serve(models[algo])
    for accept in ("text/csv", "application/jsonlines"):
        out = tmp_path / ("o" + accept.replace("/", "_"))
        transform(models[algo], tmp_path / "in", out, "--content-type", "text/csv", "--accept",
                  accept)
        st, _, body = srv.invoke(csv_body(x).encode(), "text/csv", accept)
        assert st == 200
        assert (out / "x.csv.out").read_text() == body.decode()


def test_directory_mirroring_and_a_corrupt_file_fails_alone(models, tmp_path):
    algo = ALGOS[0]
    x = CASES[algo]["features"]()[:10]
    inp = tmp_path / "in"
    (inp / "sub" / "deeper").mkdir(parents=True)
    (inp / "one.csv").write_text(csv_body(x))
    (inp / "sub" / "deeper" / "two.csv").write_text(csv_body(x[:3]))
    bad = csv_body(x[:4]).splitlines()
    bad[2] = bad[2].replace(bad[2].split(",")[1], "oops", 1)
    (inp / "sub" / "bad.csv").write_text("\n".join(bad) + "\n")
    (inp / ".hidden.csv").write_text("skip me\n")
    r = transform(models[algo], inp, tmp_path / "out", "--content-type", "text/csv", "--accept",
                  "text/csv", ok=False)
    assert r.returncode == 1
    assert "bad.csv" in r.stderr and "line 3" in r.stderr
    files = sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*")
                   if p.is_file())
    assert files == ["one.csv.out", "sub/deeper/two.csv.out"]  # nothing for bad.csv, no temp
    assert len((tmp_path / "out/sub/deeper/two.csv.out").read_text().splitlines()) == 3
    assert "3 files (1 failed)" in r.stderr


def test_data_processing_reference_examples(models, tmp_path):
    algo = ALGOS[0]
    x = CASES[algo]["features"]()[:5]
    ids = np.arange(100, 105)
    inp = tmp_path / "in"
    inp.mkdir()
    # An ID column first, dropped with InputFilter $[1:], joined back, and then OutputFilter
    # $[0,-1] keeps the ID and the last inference column.
    (inp / "x.csv").write_text("".join(f"{i}," + ",".join("%.9g" % v for v in r) + "\n"
                                       for i, r in zip(ids, x)))
    plain = tmp_path / "plain"
    (plain).mkdir()
    (plain / "x.csv").write_text(csv_body(x))
    transform(models[algo], plain, tmp_path / "ref", "--content-type", "text/csv", "--accept",
              "text/csv")
    ref = [l.split(",") for l in (tmp_path / "ref/x.csv.out").read_text().splitlines()]
    transform(models[algo], inp, tmp_path / "o1", "--content-type", "text/csv", "--accept",
              "text/csv", "--input-filter", "$[1:]", "--join-source", "Input",
              "--output-filter", "$[0,-1]")
    got = [l.split(",") for l in (tmp_path / "o1/x.csv.out").read_text().splitlines()]
    assert got == [[str(i), r[-1]] for i, r in zip(ids, ref)]
    # Slices include their end: $[1:4] keeps the 2nd to 5th columns of the joined row.
    transform(models[algo], inp, tmp_path / "o2", "--content-type", "text/csv",
              "--input-filter", "$[1:]", "--join-source", "Input", "--output-filter", "$[1:4]")
    src = [l.split(",") for l in (inp / "x.csv").read_text().splitlines()]
    got = [l.split(",") for l in (tmp_path / "o2/x.csv.out").read_text().splitlines()]
    assert got == [s[1:5] for s in src]
    # JSON Lines: objects get SageMakerOutput; the output filter picks keys.
    (inp / "x.csv").unlink()
    (inp / "y.jsonl").write_text("".join(json.dumps({"id": int(i), "features": r.tolist()}) + "\n"
                                         for i, r in zip(ids, x)))
    transform(models[algo], inp, tmp_path / "o3", "--content-type", "application/jsonlines",
              "--input-filter", "$.features", "--join-source", "Input", "--output-filter",
              "$['id','SageMakerOutput']")
    rows = [json.loads(l) for l in (tmp_path / "o3/y.jsonl.out").read_text().splitlines()]
    assert [r["id"] for r in rows] == list(ids)
    assert all(set(r) == {"id", "SageMakerOutput"} for r in rows)
    assert [r["SageMakerOutput"] for r in rows] == [json.loads(l) for l in run_jsonl(models[algo], x, tmp_path)]
    # Non-object input records are wrapped as SageMakerInput.
    (inp / "y.jsonl").write_text("".join(json.dumps(r.tolist()) + "\n" for r in x))
    transform(models[algo], inp, tmp_path / "o4", "--content-type", "application/jsonlines",
              "--join-source", "Input")
    rows = [json.loads(l) for l in (tmp_path / "o4/y.jsonl.out").read_text().splitlines()]
    assert all(set(r) == {"SageMakerInput", "SageMakerOutput"} for r in rows)


def run_jsonl(model, x, tmp_path):
    d = tmp_path / "jl"
    d.mkdir(exist_ok=True)
    (d / "x.csv").write_text(csv_body(x))
    transform(model, d, tmp_path / "jlo", "--content-type", "text/csv", "--accept",
              "application/jsonlines")
    return (tmp_path / "jlo/x.csv.out").read_text().splitlines()


def test_data_processing_constraints_and_limits(models, tmp_path):
    m = models[ALGOS[0]]
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x.csv").write_text("1,2,3,4\n")
    bad = [
        ["--content-type", "text/csv", "--accept", "application/json", "--join-source", "Input"],
        ["--content-type", "text/csv", "--input-filter", "$.features"],
        ["--content-type", "text/csv", "--input-filter", "features"],
        ["--content-type", "text/csv", "--split-type", "None", "--join-source", "Input"],
        ["--content-type", "text/csv", "--max-payload-mb", "101"],
        ["--content-type", "text/csv", "--batch-strategy", "Sometimes"],
    ]
    for args in bad:
        r = transform(m, tmp_path / "in", tmp_path / "o", *args, ok=False)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stderr.strip()
    # A record larger than MaxPayloadInMB fails its file with a clear reason.
    (tmp_path / "big").mkdir()
    (tmp_path / "big" / "x.csv").write_text(",".join(["1"] * 600000) + "\n")
    r = transform(m, tmp_path / "big", tmp_path / "o", "--content-type", "text/csv",
                  "--max-payload-mb", "1", ok=False)
    assert r.returncode == 1 and "MaxPayloadInMB" in r.stderr
    assert not (tmp_path / "o" / "x.csv.out").exists()


def test_gzip_input_and_split_none(models, tmp_path):
    import gzip
    algo = ALGOS[0]
    x = CASES[algo]["features"]()[:7]
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x.csv.gz").write_bytes(gzip.compress(csv_body(x).encode()))
    transform(models[algo], tmp_path / "in", tmp_path / "o", "--content-type", "text/csv",
              "--accept", "text/csv", "--compression", "Gzip")
    (tmp_path / "in2").mkdir()
    (tmp_path / "in2" / "x.csv").write_text(csv_body(x))
    transform(models[algo], tmp_path / "in2", tmp_path / "o2", "--content-type", "text/csv",
              "--accept", "text/csv", "--split-type", "None")
    assert (tmp_path / "o/x.csv.gz.out").read_text() == (tmp_path / "o2/x.csv.out").read_text()
