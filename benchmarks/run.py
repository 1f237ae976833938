#!/usr/bin/python3
"""algorun's benchmark harness: algorun against reference implementations, side by side.

    /usr/bin/python3 benchmarks/run.py --full|--quick [--only NAME[,NAME]] [--reps N]
    make bench | make bench-quick            (BENCH_ARGS="..." passes options through)

Every benchmark runs algorun (build/bench-driver, build/algorun, build/bench-ceiling) and its
reference(s) (benchmarks/ref_*.py under /usr/bin/python3) on the same cached data with the
same thread count, in the same run, interleaved A B A B, each repetition a fresh process.
Each process measures its own phase and prints JSON; the harness adds the process wall time
and peak RSS (os.wait4 -> ru_maxrss) and reports median (min-max), the algorun/reference
ratio from the same run, and the quality metric of both.

Adding a benchmark is one function decorated with @benchmark returning Table objects; the
building blocks are Side (one command line and how to read its result) and compare().
Results: benchmarks/RESULTS.md + results.json (--full), build/bench-quick/ (--quick).
"""
import argparse
import datetime
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.path.join(ROOT, "build")
PY = "/usr/bin/python3"
DRIVER = os.path.join(BUILD, "bench-driver")
CEILING = os.path.join(BUILD, "bench-ceiling")
PBDECODE = os.path.join(BUILD, "bench-pbdecode")
SPAWN = os.path.join(BUILD, "bench-spawn")
ALGORUN = os.path.join(BUILD, "algorun")
WORK = os.path.join(BUILD, "bench-work")

sys.path.insert(0, HERE)
import datasets  # noqa: E402

NOT_BUILT = "not built yet"

# Problem sizes. Full sizes are the ones the project's issues ask for; quick ones keep
# `make bench-quick` under 3 minutes on 2 cores.
SIZES = {
    "full": dict(parse_rows=1_000_000, gbdt_rows=1_000_000, gbdt_valid=200_000,
                 lin_rows=1_000_000, lin_valid=200_000, km_rows=1_000_000, km_iters=10,
                 transform_rows=10_000_000, server_seconds=10, server_model_rows=200_000,
                 sgemm=4096, copy_mib=1024, ceiling_reps=5, reps=3,
                 scale_rows=[10_000, 30_000, 100_000, 300_000, 1_000_000]),
    "quick": dict(parse_rows=100_000, gbdt_rows=50_000, gbdt_valid=20_000,
                  lin_rows=100_000, lin_valid=20_000, km_rows=30_000, km_iters=3,
                  transform_rows=200_000, server_seconds=2, server_model_rows=30_000,
                  sgemm=2048, copy_mib=256, ceiling_reps=3, reps=1,
                  scale_rows=[10_000, 30_000]),
}


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------
# Running one process
# ---------------------------------------------------------------------------------------

def thread_env(threads):
    """The environment of every measured process: same thread count for OpenMP and OpenBLAS
    on both sides. OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are inherited untouched."""
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads), PYTHONDONTWRITEBYTECODE="1")
    return env


def run_proc(cmd, threads, timeout=1800):
    """Runs cmd to completion under bench-spawn; returns a dict with rc, the last JSON line of
    stdout (json), wall seconds, peak RSS in MiB (the command alone, from wait4 in the small
    spawner: see benchmarks/spawn.c) and stderr's tail. A run over `timeout` seconds is killed
    (its process group, which this call created) and reported as failed."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r") as ru:
        t0 = time.perf_counter()
        p = subprocess.Popen([SPAWN, ru.name, *cmd], stdout=out, stderr=err,
                             env=thread_env(threads), cwd=ROOT, start_new_session=True)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        lines = out.read().decode(errors="replace").strip().splitlines()
        stderr = err.read().decode(errors="replace").strip()
        fields = ru.read().split()
    rss_mb = int(fields[0]) / 1024.0 if fields else None
    parsed = None
    for line in reversed(lines):
        try:
            parsed = json.loads(line)
            break
        except ValueError:
            continue
    return {"cmd": cmd, "rc": p.returncode, "json": parsed or {}, "wall": wall,
            "rss_mb": rss_mb, "stderr": stderr[-2000:], "timed_out": p.returncode == -9}


# ---------------------------------------------------------------------------------------
# Sides, comparisons and tables
# ---------------------------------------------------------------------------------------

class Side:
    """One command to measure.

    key      the JSON field holding the measured phase (seconds unless `unit` says else)
    quality  fn(json) -> {metric: value} (computed after each run; may read prediction files)
    rate     fn(json) -> "150 MB/s, 450 k rows/s" style throughput text from a median run
    unavailable  set to a reason to skip running (e.g. a CLI command that does not exist)
    """

    def __init__(self, name, cmd, threads=2, key="seconds", unit="s", quality=None,
                 rate=None, unavailable=None, timeout=1800):
        self.name, self.cmd, self.threads, self.key, self.unit = name, cmd, threads, key, unit
        self.quality, self.rate, self.unavailable, self.timeout = (quality, rate, unavailable,
                                                                    timeout)
        self.runs = []

    def run(self):
        if self.unavailable:
            return
        r = run_proc(self.cmd, self.threads, self.timeout)
        j = r["json"]
        r["ok"] = r["rc"] == 0 and j.get(self.key) is not None
        r["not_built"] = r["rc"] == 3 or bool(j.get("not_built"))
        if self.key == "wall" and r["rc"] == 0:  # commands that print no JSON of their own
            j["seconds"] = r["wall"]
            r["ok"] = True
        r["value"] = float(j[self.key]) if r["ok"] and self.key != "wall" else (
            r["wall"] if r["ok"] else None)
        if r["ok"] and self.quality:
            try:
                r["quality"] = self.quality(j)
            except Exception as e:  # quality is reported, never fatal
                r["quality"] = {"error": str(e)}
        self.runs.append(r)
        state = (f"{r['value']:.4g} {self.unit}" if r["ok"] else
                 NOT_BUILT if r["not_built"] else f"FAILED rc={r['rc']}")
        rss = f"{r['rss_mb']:.0f} MiB" if r["rss_mb"] is not None else "?"
        log(f"  {self.name}: {state} (wall {r['wall']:.1f} s, RSS {rss})")
        if not r["ok"] and not r["not_built"]:
            log("    " + (j.get("error") or r["stderr"][-600:]).replace("\n", "\n    "))

    def summary(self):
        """Median/min/max of the measured value over successful runs, max peak RSS,
        quality of the median run, or the reason there is no number."""
        if self.unavailable:
            return {"status": self.unavailable}
        ok = [r for r in self.runs if r["ok"]]
        if not ok:
            if any(r["not_built"] for r in self.runs):
                msg = next(r["json"].get("error", "") for r in self.runs if r["not_built"])
                return {"status": NOT_BUILT, "detail": msg}
            err = self.runs[-1]["json"].get("error") or self.runs[-1]["stderr"][-300:]
            return {"status": "failed", "detail": err}
        vals = sorted(r["value"] for r in ok)
        med = statistics.median(vals)
        mid = min(ok, key=lambda r: abs(r["value"] - med))
        s = {"status": "ok", "median": med, "min": vals[0], "max": vals[-1], "n": len(ok),
             "unit": self.unit, "rss_mb": max((r["rss_mb"] for r in ok if r["rss_mb"] is not None), default=None),
             "wall_median": statistics.median(r["wall"] for r in ok),
             "quality": mid.get("quality", {}), "json": mid["json"]}
        if self.rate:
            s["rate"] = self.rate(mid["json"])
        return s


def compare(algoruns, refs, reps, note=None):
    """Runs every side `reps` times interleaved (A B C A B C ...), then returns one row per
    (algorun case, reference): algoruns is [(case label, Side)], refs is [Side].
    `note(case, algorun summary, ref summary)` may add an honest remark to a row."""
    sides = [s for _, s in algoruns] + list(refs)
    for rep in range(reps):
        log(f" repetition {rep + 1}/{reps}")
        for s in sides:
            s.run()
    rows = []
    for case, a in algoruns:
        sa = a.summary()
        for ref in refs or [None]:
            sr = ref.summary() if ref else {"status": "none"}
            row = {"case": case, "algorun": sa, "reference": ref.name if ref else "",
                   "ref": sr, "ratio": None, "notes": []}
            if sa["status"] == "ok" and sr["status"] == "ok" and sr["median"]:
                row["ratio"] = sa["median"] / sr["median"]
            if note:
                extra = note(case, sa, sr)
                if extra:
                    row["notes"].append(extra)
            rows.append(row)
    return rows


class Table:
    def __init__(self, title, about, rows, better="lower"):
        self.title, self.about, self.rows, self.better = title, about, rows, better
        self.load = None  # 1-minute load average before and after the benchmark


def fmt_num(v, unit):
    """A value in its unit's usual precision, without the unit."""
    if unit == "s":
        return f"{v:.3f}" if v < 10 else f"{v:.2f}"
    return f"{v:,.1f}" if v < 1e4 else f"{v:,.0f}"


def fmt_side(s):
    if s["status"] != "ok":
        return f"**{s['status']}**"
    u = s["unit"]
    cell = f"{fmt_num(s['median'], u)} {u} ({fmt_num(s['min'], u)}–{fmt_num(s['max'], u)})"
    if s.get("rate"):
        cell += f"<br>{s['rate']}"
    return cell


def fmt_quality(s):
    q = s.get("quality") or {}
    parts = []
    for k, v in q.items():
        if isinstance(v, float):
            parts.append(f"{k} {v:.5g}" if abs(v) < 1e5 else f"{k} {v:.5e}")
        elif v is not None:
            parts.append(f"{k} {v}")
    return ", ".join(parts) or "—"


def fmt_rss(s):
    return f"{s['rss_mb']:,.0f}" if s.get("rss_mb") is not None else "—"


def table_markdown(t):
    better = {"lower": "time: lower is better; ratio < 1 means algorun is faster",
              "higher": "throughput: higher is better; ratio > 1 means algorun is faster"}
    load = ""
    if t.load:
        load = (f" Machine load average (1 min) {t.load[0]:.1f} before, {t.load[1]:.1f} after"
                " this benchmark (2 cores: above ~2 other work competed with it).")
    out = [f"### {t.title}", "", t.about, "", f"_{better[t.better]}._{load}", "",
           "| case | algorun median (min–max) | reference | reference median (min–max) | "
           "ratio | peak RSS MiB (algorun / ref) | quality algorun | quality reference | notes |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in t.rows:
        a, f = r["algorun"], r["ref"]
        notes = list(r["notes"])
        for who, s in (("algorun", a), ("reference", f)):
            if s["status"] not in ("ok", "none") and s.get("detail"):
                notes.append(f"{who}: {s['detail']}")
        ratio = f"{r['ratio']:.2f}" if r["ratio"] is not None else "—"
        cells = [r["case"], fmt_side(a), r["reference"] or "—",
                 fmt_side(f) if f["status"] != "none" else "—", ratio,
                 f"{fmt_rss(a)} / {fmt_rss(f)}", fmt_quality(a), fmt_quality(f),
                 "; ".join(notes).replace("|", "/").replace("\n", " ")]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------
# The context handed to each benchmark
# ---------------------------------------------------------------------------------------

class Ctx:
    def __init__(self, mode, reps, outdir):
        self.mode, self.quick = mode, mode == "quick"
        self.size = SIZES[mode]
        self.reps = reps or self.size["reps"]
        self.outdir = outdir
        self.ceilings = {}      # "sgemm_2" -> algorun GFLOP/s measured in this run
        self.scaling = {}       # algorithm -> list of points for the plots
        self.commands = set(algorun_commands())
        # Models and predictions from an earlier build must not leak into this run.
        shutil.rmtree(WORK, ignore_errors=True)
        os.makedirs(WORK, exist_ok=True)

    def work(self, name):
        return os.path.join(WORK, name)

    def driver(self, threads, *args):
        return [DRIVER, "--threads", str(threads), *args]

    def ref(self, script, threads, *args):
        return [PY, os.path.join(HERE, script), "--threads", str(threads), *args]


def algorun_commands():
    """Subcommands listed by `algorun --help` (serve, transform, ... once they exist)."""
    try:
        txt = subprocess.run([ALGORUN, "--help"], capture_output=True, text=True,
                             timeout=30).stdout
    except OSError:
        return []
    m = re.search(r"commands:\n(.*?)\n\n", txt, re.S)
    return [ln.split()[0] for ln in (m.group(1) if m else "").splitlines() if ln.strip()]


BENCHMARKS = []


def benchmark(name, title):
    def wrap(fn):
        BENCHMARKS.append((name, title, fn))
        return fn
    return wrap


# ---- quality from algorun's prediction files ----

def read_predictions(j, name=None):
    """The prediction column `name` (default: the first) written by bench-driver."""
    cols = j.get("predictions") or []
    col = next((c for c in cols if c["name"] == name), None) if name else (cols or [None])[0]
    if col is None:
        raise ValueError(f"driver wrote no prediction column {name or ''}")
    a = np.fromfile(col["path"], dtype="<f4")
    return a.reshape(-1, col["width"]) if col["width"] > 1 else a


def binary_quality(labels_base):
    y = np.load(labels_base + ".y.npy")

    def q(j):
        from sklearn.metrics import log_loss, roc_auc_score
        cols = [c["name"] for c in j.get("predictions") or []]
        p = read_predictions(j, "score" if "score" in cols else None).astype(np.float64)
        pc = np.clip(p, 1e-15, 1 - 1e-15)
        return {"auc": float(roc_auc_score(y, p)), "logloss": float(log_loss(y, pc)),
                "accuracy": float(np.mean((p > 0.5) == (y > 0.5)))}
    return q


def ref_quality(*keys):
    return lambda j: {k: j[k] for k in keys if k in j}


def per_second(count_key, unit="rows", scale=1.0, time_key="seconds"):
    """Throughput text from a run's JSON: count_key * scale per time_key."""
    def rate(j):
        v = j[count_key] * scale / j[time_key]
        if unit == "MB":
            return f"{v:.0f} MB/s"
        return f"{v / 1e6:.2f} M {unit}/s" if v >= 1e6 else f"{v / 1e3:.1f} k {unit}/s"
    return rate


# ---------------------------------------------------------------------------------------
# Benchmarks
# ---------------------------------------------------------------------------------------

@benchmark("ceilings", "Machine ceilings: sgemm and memory bandwidth")
def bench_ceilings(ctx):
    sz = ctx.size
    rows = []
    for what, n, akey, unit in (("sgemm", sz["sgemm"], "best_gflops", "GFLOP/s"),
                                ("copy", sz["copy_mib"], "best_gbps", "GB/s")):
        for t in (1, 2):
            reps = str(sz["ceiling_reps"])
            a = Side("algorun", [CEILING, "--threads", str(t), what, str(n), reps], t,
                     key=akey, unit=unit)
            r = Side("numpy", ctx.ref("ref_ceiling.py", t, what, "--size", str(n), "--reps",
                                      reps), t, key="best", unit=unit)
            label = (f"sgemm {n}², {t} thread{'s' if t > 1 else ''}" if what == "sgemm" else
                     f"copy {n} MiB, {t} thread{'s' if t > 1 else ''}")
            log(label)
            kernel_note = (lambda case, sa, sr: f"kernels: algorun {sa['json'].get('blas_kernel')}"
                           f"/{sa['json'].get('blas_threading')}, numpy "
                           f"{sr['json'].get('blas_kernel')}/{sr['json'].get('blas_threading')}"
                           if sa["status"] == sr["status"] == "ok" else None)
            rows += compare([(label, a)], [r], 1, note=kernel_note if what == "sgemm" else None)
            if a.summary()["status"] == "ok":
                ctx.ceilings[f"{what}_{t}"] = a.summary()["median"]
    about = ("Best of the repetitions inside one process per side (after a warm-up): sgemm "
             "through algorun's core/blas.h vs numpy.matmul (float32); copy: a parallel memcpy "
             "of first-touched buffers vs np.copyto, counting bytes read + written.")
    return [Table("Machine ceilings", about, rows, better="higher")]


@benchmark("parse", "Parsing: CSV and RecordIO-protobuf")
def bench_parse(ctx):
    n = ctx.size["parse_rows"]
    base = datasets.dataset("binary28", n, 1)
    csv = base + ".csv"
    log(f"parse: CSV {n} rows x 28 features + label ({os.path.getsize(csv) / 1e6:.0f} MB)")
    mbrate = per_second("bytes", "MB", 1e-6)
    rate = lambda j: mbrate(j) + ", " + per_second("rows")(j)  # noqa: E731
    chk = lambda j: {"sum": j.get("checksum")}  # noqa: E731
    algoruns = [(f"CSV {n:,}×28, {t} thread{'s' if t > 1 else ''}",
                 Side(f"algorun {t}t", ctx.driver(t, "parse", "--content-type", "text/csv", csv),
                      t, rate=rate, quality=chk)) for t in (1, 2)]
    refs = [Side("numpy.loadtxt float32", ctx.ref("ref_parse.py", 1, "--impl", "numpy", csv), 1,
                 rate=rate, quality=chk),
            Side("pandas.read_csv float32", ctx.ref("ref_parse.py", 1, "--impl", "pandas", csv),
                 1, rate=rate, quality=chk)]

    def same_numbers(case, sa, sr):
        if sa["status"] == sr["status"] == "ok":
            same = sa["json"]["bits_checksum"] == sr["json"]["bits_checksum"]
            return ("bit-identical values on both sides (float32 bit-pattern checksum)" if same else
                    "CHECKSUM MISMATCH: the two sides read different numbers")
        return None
    rows = compare(algoruns, refs, ctx.reps, note=same_numbers)
    for r in rows:
        r["notes"].append("numpy and pandas parse on one thread whatever the setting")

    pbr = datasets.recordio(base)
    log(f"parse: RecordIO-protobuf {n} rows ({os.path.getsize(pbr) / 1e6:.0f} MB)")
    ct = "application/x-recordio-protobuf"
    algoruns = [(f"RecordIO-protobuf dense {n:,}×28, {t} thread{'s' if t > 1 else ''}",
                 Side(f"algorun {t}t", ctx.driver(t, "parse", "--content-type", ct, pbr), t,
                      rate=rate, quality=chk)) for t in (1, 2)]
    ref = Side("protobuf-c generic unpack (C)", [PBDECODE, pbr, "28"], 1, rate=rate, quality=chk)
    def pb_note(case, sa, sr):
        txt = "the protobuf-c decoder is single-threaded"
        if sa["status"] == sr["status"] == "ok":
            same = sa["json"]["bits_checksum"] == sr["json"]["bits_checksum"]
            txt += ("; bit-identical values (float32 bit-pattern checksum)" if same else
                    "; CHECKSUM MISMATCH: the two sides read different numbers")
        return txt
    rows += compare(algoruns, [ref], ctx.reps, note=pb_note)
    about = (f"Whole file to float32 rows, {n:,} rows × 28 features + label, file in the page "
             "cache (each side reads it once per process). The %.9g CSV round-trips float32, so "
             "both sides must produce bit-identical values; the checksum is the float64 sum of "
             "all feature values. The RecordIO file is hand-encoded exactly as the SageMaker SDK "
             "writes dense float32 (one Record per row).")
    return [Table("Parsing", about, rows)]


def gbdt_data(ctx):
    tr = datasets.dataset("binary28", ctx.size["gbdt_rows"], 1)
    va = datasets.dataset("binary28", ctx.size["gbdt_valid"], 2)
    return tr, va


GBDT_HP = ["objective=binary:logistic", "num_round=100", "max_depth=6", "eta=0.1",
           "max_bin=256", "tree_method=hist"]


def gbdt_algorun_side(ctx, tr_csv, va, threads, tag, model_dir=None):
    args = ["train", "--algorithm", "xgboost:1.7-1"]
    for hp in GBDT_HP:
        args += ["--hp", hp]
    args += ["--train", tr_csv + ";text/csv", "--validation", va + ".csv;text/csv",
             "--predictions", ctx.work(f"gbdt-{tag}")]
    if model_dir:
        args += ["--model-dir", model_dir]
    return Side("algorun", ctx.driver(threads, *args), threads, key="train_seconds",
                quality=binary_quality(va))


@benchmark("gbdt", "GBDT (xgboost:1.7-1)")
def bench_gbdt(ctx):
    tr, va = gbdt_data(ctx)
    n = ctx.size["gbdt_rows"]
    model_dir = ctx.work("gbdt-model")
    ref_model = ctx.work("gbdt-ref-model.json")
    q = ref_quality("auc", "logloss", "accuracy")

    def ref(impl, extra=()):
        return Side(impl, ctx.ref("ref_gbdt.py", 2, "train", "--impl", impl, "--train", tr,
                                  "--valid", va, *extra), 2, quality=q)
    log(f"gbdt: train {n} x 28, 100 rounds depth 6")
    a = gbdt_algorun_side(ctx, tr + ".csv", va, 2, "train", model_dir)
    refs = [ref("xgb-dmatrix", ["--model-out", ref_model]), ref("xgb-quantile"), ref("hgb")]

    def note(case, sa, sr):
        if sa["status"] == "ok":
            return f"algorun CSV load {sa['json']['load_seconds']:.2f} s (not in its time)"
        return None
    rows = compare([(f"train {n:,}×28, 100 rounds, depth 6, 2 threads", a)], refs, ctx.reps,
                   note=note)
    for r in rows:
        j = r["ref"].get("json", {})
        if r["reference"] == "xgb-dmatrix":
            r["notes"].append("binning: algorun inside train; xgboost DMatrix in round 1 of "
                              "train; reference time = DMatrix construction + train")
        elif r["reference"] == "xgb-quantile":
            r["notes"].append("QuantileDMatrix: binning moved into construction; reference "
                              "time = construction + train")
        elif r["reference"] == "hgb":
            r["notes"].append("sklearn HistGradientBoosting max_leaf_nodes=None, max_depth 6, "
                              "max_bins 255, l2 1.0, no early stopping")
        if j.get("construct_seconds") is not None and r["reference"] != "hgb":
            r["notes"].append(f"ref construct {j['construct_seconds']:.2f} s, train "
                              f"{j['fit_seconds']:.2f} s")

    log(f"gbdt: predict {n} rows")
    feats = tr + ".csv"
    ap = Side("algorun", ctx.driver(2, "predict", "--algorithm", "xgboost:1.7-1", "--model-dir",
                                    model_dir, "--content-type", "text/csv", feats), 2,
              key="predict_seconds", rate=per_second("rows", time_key="predict_seconds"))
    if not os.path.isdir(model_dir):
        ap.unavailable = NOT_BUILT
    rp = Side("xgboost inplace_predict", ctx.ref("ref_gbdt.py", 2, "predict", "--model",
                                                 ref_model, "--data", tr), 2,
              rate=per_second("rows"))
    prow = compare([(f"predict {n:,} rows, 100 trees, 2 threads", ap)], [rp], ctx.reps)
    for r in prow:
        r["notes"].append("each side predicts with its own model trained above (same "
                          "hyperparameters); data in memory, one call over all rows")
    about = (f"Binary classification, {n:,} train rows × 28 dense features, "
             f"{ctx.size['gbdt_valid']:,} validation rows; 100 rounds, max_depth 6, eta 0.1, "
             "max_bin 256, hist. algorun trains from the data already in memory (CSV load is "
             "timed separately and excluded), binning included; quality on the validation set.")
    return [Table("GBDT training and prediction", about, rows + prow)]


@benchmark("linear", "Linear learner (linear-learner:1)")
def bench_linear(ctx):
    n, nv = ctx.size["lin_rows"], ctx.size["lin_valid"]
    tr = datasets.dataset("logistic100", n, 1)
    va = datasets.dataset("logistic100", nv, 2)
    log(f"linear: {n} x 100 binary")
    args = ["train", "--algorithm", "linear-learner:1"]
    for hp in ("predictor_type=binary_classifier", "feature_dim=100", "num_models=32",
               "epochs=5"):
        args += ["--hp", hp]
    # --eval hands the validation channel to training too: Linear Learner selects its model
    # and calibrates the threshold there, as a SageMaker job with a validation channel does.
    args += ["--train", tr + ".csv;text/csv", "--validation", va + ".csv;text/csv", "--eval",
             "--predictions", ctx.work("linear")]
    a = Side("algorun", ctx.driver(2, *args), 2, key="train_seconds",
             quality=binary_quality(va))
    q = ref_quality("auc", "logloss", "accuracy", "n_iter")
    refs = [Side("sklearn SGDClassifier log_loss, 5 epochs",
                 ctx.ref("ref_linear.py", 2, "--impl", "sgd", "--train", tr, "--valid", va),
                 2, quality=q),
            Side("sklearn LogisticRegression lbfgs",
                 ctx.ref("ref_linear.py", 2, "--impl", "lbfgs", "--train", tr, "--valid", va),
                 2, quality=q)]
    rows = compare([(f"train {n:,}×100, num_models=32, 5 epochs, 2 threads", a)], refs,
                   ctx.reps)
    for r in rows:
        if "SGD" in r["reference"]:
            r["notes"].append("SGDClassifier trains one model on one thread (sklearn SGD is "
                              "sequential); algorun trains 32 models in parallel and keeps the "
                              "best on validation")
        else:
            r["notes"].append("lbfgs to convergence (max_iter 200); sklearn copies float32 "
                              "input to float64 inside fit")
    about = (f"Logistic labels from a linear model, {n:,} rows × 100 dense features, "
             f"{nv:,} validation rows; algorun trains from data in memory (CSV load excluded).")
    return [Table("Linear learner", about, rows)]


def km_init(ctx, base, n):
    """The initial centres every sklearn Lloyd run starts from: k distinct rows picked with a
    fixed seed (cached)."""
    path = ctx.work(f"km-init-{n}.npy")
    if not os.path.exists(path):
        x = np.load(base + ".npy", mmap_mode="r")
        pick = np.sort(np.random.default_rng(7).choice(n, datasets.KM_K, replace=False))
        np.save(path, np.asarray(x[pick]))
    return path


@benchmark("kmeans", "K-means (kmeans:1)")
def bench_kmeans(ctx):
    n, k, d = ctx.size["km_rows"], datasets.KM_K, datasets.KM_D
    base = datasets.dataset("blobs50", n, 1)
    csv = base + ".csv;text/csv;label_size=0"
    init = km_init(ctx, base, n)
    flops = 2.0 * n * k * d

    def km(tag, *hps, validation=False):
        args = ["train", "--algorithm", "kmeans:1", "--hp", f"k={k}", "--hp",
                f"feature_dim={d}"]
        for hp in hps:
            args += ["--hp", hp]
        args += ["--train", csv]
        quality = None
        if validation:
            args += ["--validation", csv, "--predictions", ctx.work(f"km-{tag}")]
            quality = lambda j: {"ssd": float(np.sum(  # noqa: E731
                read_predictions(j, "distance_to_cluster").astype(np.float64) ** 2))}
        return Side("algorun", ctx.driver(2, *args), 2, key="train_seconds", quality=quality)

    def gflops(case, sa, sr):
        ceil = ctx.ceilings.get("sgemm_2")
        parts = []
        if sa["status"] == "ok" and "pass" in case:
            g = flops / sa["median"] / 1e9
            parts.append(f"algorun {g:.1f} GFLOP/s" +
                         (f" = {100 * g / ceil:.0f}% of sgemm {ceil:.0f}" if ceil else ""))
        if sr["status"] == "ok" and "gflops" in sr["json"]:
            g = sr["json"]["gflops"]
            parts.append(f"sklearn {g:.1f} GFLOP/s" +
                         (f" = {100 * g / ceil:.0f}% of sgemm" if ceil else ""))
        return "; ".join(parts)

    log(f"kmeans: one pass {n} x {d}, k={k}")
    iters = str(ctx.size["km_iters"])
    one_pass = km("pass", "epochs=1", "extra_center_factor=1", "init_method=random")
    lloyd = Side("sklearn KMeans lloyd, per iteration",
                 ctx.ref("ref_kmeans.py", 2, "lloyd", "--data", base, "--init", init,
                         "--iters", iters), 2, quality=ref_quality("n_iter"))
    rows = compare([(f"one assignment+update pass, {n:,}×{d}, k={k}", one_pass)], [lloyd],
                   ctx.reps, note=gflops)
    for r in rows:
        r["notes"].append(f"sklearn: fit from a fixed init array for {iters} iterations (tol 0) "
                          "divided by n_iter_; algorun: one epoch of its mini-batch pass "
                          "(epochs=1, extra_center_factor=1, random init; its hyperparameters "
                          "take no init array)")

    log("kmeans: k-means++ initialisation")
    pp = km("pp", "epochs=1", "extra_center_factor=1", "init_method=kmeans++")
    ref_pp = Side("sklearn kmeans_plusplus", ctx.ref("ref_kmeans.py", 2, "kmeanspp", "--data",
                                                     base), 2)
    prow = compare([("one pass with init_method=kmeans++", pp)], [ref_pp], ctx.reps)
    base_pass = rows[0]["algorun"]
    for r in prow:
        if r["algorun"]["status"] == "ok" and base_pass["status"] == "ok":
            extra = r["algorun"]["median"] - base_pass["median"]
            cost = (f"costs algorun about {extra:.3f} s over" if extra > 0 else
                    "has no cost above the noise compared with")
            r["notes"].append(f"k-means++ {cost} the random-init pass above (SageMaker "
                              "semantics: it runs on the first mini-batch only); sklearn's "
                              "kmeans_plusplus runs over all rows")

    log("kmeans: end to end")
    e2e = km("e2e", validation=True)
    q = ref_quality("ssd", "n_iter")
    refs = [Side("sklearn KMeans (k-means++, max_iter 20)",
                 ctx.ref("ref_kmeans.py", 2, "full", "--data", base), 2, quality=q),
            Side("sklearn MiniBatchKMeans (batch 10000, 1 pass)",
                 ctx.ref("ref_kmeans.py", 2, "minibatch", "--data", base), 2, quality=q),
            Side("faiss Kmeans niter 20 (defaults)",
                 ctx.ref("ref_kmeans.py", 2, "faiss", "--data", base), 2, quality=q)]
    erows = compare([("end-to-end training, default hyperparameters", e2e)], refs, ctx.reps)
    for r in erows:
        r["notes"].append("SSD over all training rows for every side (algorun: squared "
                          "distance_to_cluster of its predictions)")
        if "faiss" in r["reference"]:
            r["notes"].append(f"Debian faiss is a generic (non-AVX2) build and trains on a "
                              f"{min(n, 256 * k):,}-row sample: what subsampling buys, not a "
                              "Lloyd baseline")
    about = (f"{n:,} rows × {d} features drawn around {k} centres with noise wide enough that "
             "the clusters overlap (so Lloyd does not stop after two iterations); k = "
             f"{k}. A pass is {flops / 1e9:.1f} GFLOP of distance work; the sgemm ceiling is the "
             "2-thread value measured by the ceilings benchmark in this run.")
    return [Table("K-means", about, rows + prow + erows)]


# ---- HTTP serving ----

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ping(port, proc, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1) as r:
                if r.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False


def stop_server(proc):
    """Stops a server we started, by its PID (its own process group holds its workers)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wrk_run(port, body_path, seconds, threads=1, conns=4):
    """One bounded wrk run posting body_path as text/csv; returns its numbers."""
    lua = body_path + ".lua"
    with open(lua, "w") as f:
        f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "text/csv"\n'
                f'local f = io.open("{body_path}", "rb")\nwrk.body = f:read("*a")\nf:close()\n')
    cmd = ["wrk", "-t", str(threads), "-c", str(conns), "-d", f"{seconds}s", "--latency",
           "-s", lua, f"http://127.0.0.1:{port}/invocations"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30).stdout
    res = {"wrk": " ".join(cmd)}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    res["requests_per_s"] = float(m.group(1)) if m else None
    for pct in ("50", "99"):
        m = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)\b", out)
        if m:
            res[f"p{pct}_ms"] = float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    res["errors"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors:.*", out)
    if m:
        res["socket_errors"] = m.group(0)
    return res


class ServerSide(Side):
    """A server measured by wrk: each repetition starts the server fresh, runs one bounded
    load, and always stops it. Peak RSS is the server's (main process; workers apart)."""

    def __init__(self, name, start_cmd, env_extra, body, seconds, unavailable=None):
        super().__init__(name, start_cmd, 2, key="requests_per_s", unit="req/s",
                         unavailable=unavailable)
        self.env_extra, self.body, self.seconds = env_extra, body, seconds
        self.quality = lambda j: {k: j.get(k) for k in ("p50_ms", "p99_ms", "errors")}

    def run(self):
        if self.unavailable:
            return
        port = free_port()
        cmd = [c.replace("{port}", str(port)) for c in self.cmd]
        env = thread_env(self.threads)
        env.update(self.env_extra)
        t0 = time.perf_counter()
        errf = tempfile.TemporaryFile()
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=errf, start_new_session=True)
        res, rss = {}, None
        try:
            if wait_ping(port, proc):
                res = check_response(port, self.body)
                if "error" not in res:
                    res.update(wrk_run(port, self.body, self.seconds))
                    rss = server_rss_mb(proc.pid)
            else:
                res = {"error": "server did not answer /ping"}
        finally:
            stop_server(proc)
            errf.seek(0)
            err = errf.read().decode(errors="replace")[-600:]
            errf.close()
        ok = res.get("requests_per_s") is not None and not res.get("errors")
        r = {"cmd": cmd, "rc": 0 if ok else 1, "json": res, "wall": time.perf_counter() - t0,
             "rss_mb": rss, "stderr": err, "ok": ok, "not_built": False,
             "value": res.get("requests_per_s") if ok else None}
        if ok:
            r["quality"] = self.quality(res)
        self.runs.append(r)
        log(f"  {self.name}: {r['value']} req/s, p50 {res.get('p50_ms')} ms"
            if ok else f"  {self.name}: FAILED {res} {err[-300:]}")


def check_response(port, body_path):
    """Posts the body once and checks the answer has one prediction per input row, so a
    server answering errors or empty bodies quickly cannot win the load test."""
    with open(body_path, "rb") as f:
        data = f.read()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", data=data,
                                 headers={"Content-Type": "text/csv", "Accept": "text/csv"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            out = r.read().decode(errors="replace").strip().splitlines()
    except OSError as e:
        return {"error": f"POST /invocations failed: {e}"}
    want = data.count(b"\n")
    if len(out) != want:
        return {"error": f"{len(out)} response lines for {want} rows: {out[:2]}"}
    return {"response_lines": len(out), "first_prediction": out[0]}


def server_rss_mb(pid):
    """Resident memory of a server and its child workers right after the load (VmHWM of each,
    summed): servers are not reaped by us before they stop, so wait4 cannot report them."""
    total, pids = 0, [pid]
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
        pids += [int(p) for p in out.split()]
        for p in pids:
            with open(f"/proc/{p}/status") as f:
                m = re.search(r"VmHWM:\s+(\d+) kB", f.read())
                total += int(m.group(1)) if m else 0
    except OSError:
        return None
    return total / 1024.0


def server_models(ctx):
    """A 100-tree depth-6 model for each side, trained once on a small set (not timed)."""
    tr, va = (datasets.dataset("binary28", ctx.size["server_model_rows"], 11),
              datasets.dataset("binary28", 1000, 12))
    ref_model = ctx.work("serve-ref-model.json")
    model_dir = ctx.work("serve-model")
    if not os.path.exists(ref_model):
        run_proc(ctx.ref("ref_gbdt.py", 2, "train", "--impl", "xgb-dmatrix", "--train", tr,
                         "--valid", va, "--model-out", ref_model), 2)
    if not os.path.isdir(model_dir):
        r = gbdt_algorun_side(ctx, tr + ".csv", va, 2, "serve-model", model_dir)
        r.run()
    return ref_model, (model_dir if os.path.isdir(model_dir) else None), va


@benchmark("server", "Inference server (wrk, loopback)")
def bench_server(ctx):
    ref_model, model_dir, va = server_models(ctx)
    secs = ctx.size["server_seconds"]
    feats = datasets.features_csv(va)
    with open(feats) as f:
        lines = f.readlines()
    rows = []
    serve_missing = None if "serve" in ctx.commands else f"{NOT_BUILT} (no 'algorun serve')"
    if not serve_missing and not model_dir:
        serve_missing = f"{NOT_BUILT} (no xgboost:1.7-1 model)"
    for n in (1, 1000):
        body = ctx.work(f"serve-body-{n}.csv")
        with open(body, "w") as f:
            f.writelines(lines[:n])
        log(f"server: {n}-row requests, {secs} s per load run")
        a = ServerSide("algorun serve", [ALGORUN, "--threads", "2", "serve", "--model-dir",
                                         str(model_dir), "--port", "{port}"], {}, body, secs,
                       unavailable=serve_missing)
        r = ServerSide("gunicorn 2 workers + Flask + xgboost",
                       ["gunicorn", "-w", "2", "-b", "127.0.0.1:{port}", "--chdir", HERE,
                        "ref_server:app"], {"MODEL_PATH": ref_model, "OMP_NUM_THREADS": "1"},
                       body, secs)
        rows += compare([(f"{n}-row text/csv requests", a)], [r], ctx.reps)
    for r in rows:
        r["notes"].append(f"wrk 1 thread, 4 connections, {secs} s, on the same 2 cores as the "
                          "server; quality column = latency p50/p99 in ms and non-2xx count; "
                          "RSS = server processes summed (VmHWM)")
    about = ("POST /invocations on loopback, a 100-tree depth-6 binary model; requests/s "
             "(higher is better) and latency from wrk. The reference mirrors SageMaker's XGBoost "
             "container: gunicorn with one worker per core, model loaded in each worker.")
    return [Table("Inference server", about, rows, better="higher")]


def count_lines(path):
    """Lines in a file, or in all files below a directory (transform outputs)."""
    files = [path] if os.path.isfile(path) else [
        os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs]
    total = 0
    for name in files:
        with open(name, "rb") as f:
            total += sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    return total


@benchmark("transform", "Batch transform, file to file")
def bench_transform(ctx):
    n = ctx.size["transform_rows"]
    ref_model, model_dir, _ = server_models(ctx)
    base = datasets.dataset("binary28", n, 21)
    feats = datasets.features_csv(base)
    log(f"transform: {n} rows ({os.path.getsize(feats) / 1e6:.0f} MB)")
    out_dir = ctx.work("transform-out")
    missing = None if "transform" in ctx.commands else f"{NOT_BUILT} (no 'algorun transform')"
    if not missing and not model_dir:
        missing = f"{NOT_BUILT} (no xgboost:1.7-1 model)"
    # algorun transform prints no JSON: its process wall time is the measured phase.
    a = Side("algorun transform", [ALGORUN, "--threads", "2", "transform", "--model-dir",
                                   str(model_dir), "--input", feats, "--output", out_dir,
                                   "--content-type", "text/csv"], 2, key="wall",
             rate=lambda j: f"{n / j['seconds'] / 1e3:.0f} k rows/s", unavailable=missing,
             quality=lambda j: {"output_lines": count_lines(out_dir)})
    r = Side("pandas read + xgboost inplace_predict + pandas write",
             ctx.ref("ref_transform.py", 2, "--model", ref_model, "--input", feats, "--output",
                     ctx.work("transform-ref.csv")), 2,
             rate=lambda j: f"{n / j['seconds'] / 1e3:.0f} k rows/s",
             quality=lambda j: {"output_lines": count_lines(ctx.work("transform-ref.csv"))})
    rows = compare([(f"{n:,} rows × 28 CSV → predictions CSV", a)], [r], ctx.reps)
    for row in rows:
        row["notes"].append("algorun: process wall time (start-up and model load included); "
                            "reference: read + predict + write inside the process, split in "
                            "results.json")
    return [Table("Batch transform", "A 100-tree depth-6 model over a CSV file, output written "
                  "to disk; both read the file from the page cache.", rows)]


# ---- scaling curves ----

def scaling_sides(ctx, algo, rows, threads):
    """(algorun Side, reference Side) training on the first `rows` rows."""
    if algo == "gbdt":
        tr, va = gbdt_data(ctx)
        a = gbdt_algorun_side(ctx, datasets.head_csv(tr, rows), va, threads, f"s{rows}")
        r = Side("xgboost DMatrix+train", ctx.ref("ref_gbdt.py", threads, "train", "--impl",
                                                  "xgb-dmatrix", "--train", tr, "--valid", va,
                                                  "--rows", str(rows)), threads)
    elif algo == "linear":
        tr = datasets.dataset("logistic100", ctx.size["lin_rows"], 1)
        va = datasets.dataset("logistic100", ctx.size["lin_valid"], 2)
        args = ["train", "--algorithm", "linear-learner:1", "--train",
                datasets.head_csv(tr, rows) + ";text/csv"]
        for hp in ("predictor_type=binary_classifier", "feature_dim=100", "num_models=32",
                   "epochs=5"):
            args += ["--hp", hp]
        a = Side("algorun", ctx.driver(threads, *args), threads, key="train_seconds")
        r = Side("sklearn lbfgs", ctx.ref("ref_linear.py", threads, "--impl", "lbfgs",
                                          "--train", tr, "--valid", va, "--rows", str(rows)),
                 threads)
    else:
        base = datasets.dataset("blobs50", ctx.size["km_rows"], 1)
        init = km_init(ctx, base, ctx.size["km_rows"])
        a = Side("algorun", ctx.driver(threads, "train", "--algorithm", "kmeans:1", "--hp",
                                       "k=100", "--hp", "feature_dim=50", "--hp", "epochs=1",
                                       "--hp", "extra_center_factor=1", "--train",
                                       datasets.head_csv(base, rows) +
                                       ";text/csv;label_size=0"), threads, key="train_seconds")
        r = Side("sklearn lloyd per iteration", ctx.ref(
            "ref_kmeans.py", threads, "lloyd", "--data", base, "--init", init, "--iters", "3",
            "--rows", str(rows)), threads)
    return a, r


@benchmark("scaling", "Scaling with rows and threads")
def bench_scaling(ctx):
    tables = []
    os.makedirs(plot_dir(ctx), exist_ok=True)
    refname = {"gbdt": "xgboost hist (DMatrix + train)", "linear": "sklearn lbfgs",
               "kmeans": "sklearn Lloyd, one iteration"}
    for algo in ("gbdt", "linear", "kmeans"):
        rows, points = [], []
        for n in ctx.size["scale_rows"]:
            for t in (1, 2):
                log(f"scaling: {algo} {n} rows, {t} thread(s)")
                a, r = scaling_sides(ctx, algo, n, t)
                rows += compare([(f"{n:,} rows, {t} thread{'s' if t > 1 else ''}", a)], [r], 1)
                sa, sr = rows[-1]["algorun"], rows[-1]["ref"]
                points.append({"rows": n, "threads": t,
                               "algorun": sa.get("median"), "ref": sr.get("median")})
        ctx.scaling[algo] = points
        png = draw_plot(ctx, algo, refname[algo], points)
        about = (f"Training time against rows (first N rows of the benchmark set) and threads, "
                 f"one repetition per point; reference: {refname[algo]}. Plot: {png}.")
        tables.append(Table(f"Scaling: {algo}", about, rows))
    return tables


def plot_dir(ctx):
    return os.path.join(HERE, "plots") if ctx.mode == "full" else os.path.join(ctx.outdir,
                                                                              "plots")


def draw_plot(ctx, algo, refname, points):
    """time vs rows, log-log, one line per (side, threads), via gnuplot; returns the PNG path
    relative to the results file."""
    pdir = plot_dir(ctx)
    dat = os.path.join(pdir, f"{algo}.dat")
    with open(dat, "w") as f:
        f.write("# rows algorun_1t ref_1t algorun_2t ref_2t (seconds; NaN = no number)\n")
        for n in sorted({p["rows"] for p in points}):
            v = []
            for t in (1, 2):
                p = next(p for p in points if p["rows"] == n and p["threads"] == t)
                v += [p["algorun"], p["ref"]]
            f.write(f"{n} " + " ".join("NaN" if x is None else f"{x:.6g}" for x in v) + "\n")
    png = os.path.join(pdir, f"{algo}.png")
    script = f"""set terminal pngcairo size 800,500
set output '{png}'
set logscale xy
set grid
set key top left
set xlabel 'rows'
set ylabel 'training time (s)'
set title '{algo}: algorun vs {refname}'
set datafile missing 'NaN'
plot '{dat}' using 1:2 with linespoints title 'algorun 1 thread', \\
     '{dat}' using 1:4 with linespoints title 'algorun 2 threads', \\
     '{dat}' using 1:3 with linespoints dashtype 2 title '{refname} 1 thread', \\
     '{dat}' using 1:5 with linespoints dashtype 2 title '{refname} 2 threads'
"""
    res = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    if res.returncode != 0:
        log(f"gnuplot failed for {algo}: {res.stderr.strip()[-300:]}")
    return os.path.relpath(png, ctx.outdir)


# ---------------------------------------------------------------------------------------
# Environment and report
# ---------------------------------------------------------------------------------------

def environment():
    env = {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
           "load average at start": " ".join(f"{v:.2f}" for v in os.getloadavg()),
           "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "(unset)"),
           "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE", "(unset)")}
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    for key in ("Model name", "CPU(s)", "Thread(s) per core", "Flags"):
        m = re.search(rf"^{re.escape(key)}:\s+(.*)$", lscpu, re.M)
        env[key] = m.group(1).strip() if m else "?"
    simd = [f for f in env["Flags"].split() if re.match(r"(sse4_2|avx|fma|f16c|amx)", f)]
    env["SIMD flags"] = " ".join(simd)
    env["algorun --version"] = subprocess.run(
        [ALGORUN, "--threads", "2", "--version"], capture_output=True, text=True,
        env=thread_env(2)).stdout.strip()
    probe = ("import json, numpy, sklearn, xgboost, pandas, threadpoolctl\n"
             "try:\n import faiss; fv = faiss.__version__\nexcept Exception as e: fv = str(e)\n"
             "from threadpoolctl import threadpool_info\n"
             "print(json.dumps({'numpy': numpy.__version__, 'sklearn': sklearn.__version__,"
             " 'xgboost': xgboost.__version__, 'pandas': pandas.__version__, 'faiss': fv,"
             " 'threadpools': threadpool_info()}))\n")
    r = subprocess.run([PY, "-c", probe], capture_output=True, text=True, env=thread_env(2))
    try:
        env["python side"] = json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        env["python side"] = {"error": r.stderr[-500:]}
    return env


def write_report(ctx, env, tables, command, started):
    lines = ["# algorun benchmark results", "",
             f"Generated by `{command}` (benchmarks/run.py, mode {ctx.mode}, "
             f"{ctx.reps} repetition(s) per case, each a fresh process, sides interleaved) on "
             f"{env['date']}; run took {(time.time() - started) / 60:.1f} min.", ""]
    if ctx.quick:
        lines += ["**Quick mode**: small sizes and one repetition — for checking the harness, "
                  "not for quoting.", ""]
    py = env["python side"]
    pools = py.get("threadpools", [])
    blas = next((p for p in pools if p.get("user_api") == "blas"), {})
    lines += ["## Machine and software", "",
              f"- CPU: {env['Model name']}, {env['CPU(s)']} CPUs, "
              f"{env['Thread(s) per core']} thread(s) per core; SIMD: {env['SIMD flags']}",
              f"- Load average (1/5/15 min) at start: {env['load average at start']}; each "
              "table gives the load around it. OpenMP and OpenBLAS spin-wait at barriers, so "
              "2-thread runs slow down badly when other processes share the 2 cores.",
              f"- Environment: OPENBLAS_CORETYPE={env['OPENBLAS_CORETYPE']}, "
              f"OPENBLAS_L2_SIZE={env['OPENBLAS_L2_SIZE']} (left as found; both sides run under "
              "it); OMP_NUM_THREADS / OPENBLAS_NUM_THREADS set to each case's thread count",
              "- algorun (`algorun --threads 2 --version`):", "",
              "```", env["algorun --version"], "```", "",
              f"- Python side: numpy {py.get('numpy')}, scikit-learn {py.get('sklearn')}, "
              f"xgboost {py.get('xgboost')}, pandas {py.get('pandas')}, faiss {py.get('faiss')}",
              f"- numpy BLAS (threadpoolctl): {blas.get('internal_api')} {blas.get('version')}, "
              f"kernel {blas.get('architecture')}, threading {blas.get('threading_layer')}, "
              f"{blas.get('filepath')}", "",
              "Times are medians over the repetitions with min–max; the measured phase is timed "
              "inside each process (see each table), process wall time and raw JSON are in "
              "results.json. Peak RSS is the process's maximum resident set (wait4).", ""]
    for t in tables:
        lines.append(table_markdown(t))
    path = os.path.join(ctx.outdir, "RESULTS.md")
    with open(path, "w") as f:
        f.write("\n".join(lines))
    raw = {"mode": ctx.mode, "reps": ctx.reps, "command": command, "environment": env,
           "tables": [{"title": t.title, "about": t.about, "better": t.better,
                       "load_average": t.load, "rows": t.rows} for t in tables],
           "scaling": ctx.scaling, "ceilings": ctx.ceilings}
    with open(os.path.join(ctx.outdir, "results.json"), "w") as f:
        json.dump(raw, f, indent=1, default=str)
    return path


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--full", action="store_true", help="full sizes; writes benchmarks/")
    g.add_argument("--quick", action="store_true", help="small sizes; writes build/bench-quick/")
    p.add_argument("--only", help="comma-separated benchmark names: " +
                   ", ".join(n for n, _, _ in BENCHMARKS))
    p.add_argument("--reps", type=int, help="repetitions per case (default: 3 full, 1 quick)")
    p.add_argument("--out", help="output directory (default by mode)")
    a = p.parse_args()
    mode = "full" if a.full else "quick"
    outdir = a.out or (HERE if mode == "full" else os.path.join(BUILD, "bench-quick"))
    os.makedirs(outdir, exist_ok=True)
    for prog in (DRIVER, CEILING, PBDECODE, SPAWN, ALGORUN):
        if not os.path.exists(prog):
            sys.exit(f"{prog} is missing: run `make all bench-progs` first")
    only = set(a.only.split(",")) if a.only else None
    if only and only - {n for n, _, _ in BENCHMARKS}:
        sys.exit(f"unknown benchmark(s): {', '.join(sorted(only - {n for n, _, _ in BENCHMARKS}))}")
    started = time.time()
    ctx = Ctx(mode, a.reps, outdir)
    env = environment()
    log(f"mode {mode}, {ctx.reps} repetition(s); OPENBLAS_CORETYPE={env['OPENBLAS_CORETYPE']}")
    tables = []
    for name, title, fn in BENCHMARKS:
        if only and name not in only:
            continue
        log(f"== {title}")
        load0 = os.getloadavg()[0]
        try:
            new = fn(ctx)
        except Exception as e:  # one broken benchmark must not lose the others' results
            import traceback
            traceback.print_exc()
            new = [Table(title, f"**The benchmark failed**: {type(e).__name__}: {e}", [])]
        for t in new:
            t.load = (load0, os.getloadavg()[0])
        tables += new
    command = "/usr/bin/python3 benchmarks/run.py " + " ".join(sys.argv[1:])
    path = write_report(ctx, env, tables, command, started)
    log(f"wrote {path} ({(time.time() - started):.0f} s)")


if __name__ == "__main__":
    main()
