"""Helpers shared by the reference scripts (ref_*.py): argument parsing with --threads,
thread limits for every library a reference may use, loading cached data, JSON output.

Each reference script runs in a fresh /usr/bin/python3 process started by run.py, times only
its measured phase with time.perf_counter(), and prints one JSON object as its last line."""
import argparse
import json
import sys
import time

import numpy as np

now = time.perf_counter
_limits = None


def parser(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--threads", type=int, default=2)
    return p


def limit_threads(n):
    """Caps BLAS and OpenMP pools (the harness also sets OMP_NUM_THREADS and
    OPENBLAS_NUM_THREADS in the environment before the process starts)."""
    global _limits
    from threadpoolctl import threadpool_limits
    _limits = threadpool_limits(n)


def load(base, rows=None, labels=True):
    """Features (and labels) of a cached data set, the first `rows` rows, in memory."""
    x = np.load(base + ".npy", mmap_mode="r")
    y = np.load(base + ".y.npy", mmap_mode="r") if labels else None
    if rows:
        x = x[:rows]
        y = y[:rows] if y is not None else None
    x = np.ascontiguousarray(x)
    return (x, np.ascontiguousarray(y)) if labels else x


def binary_quality(y, p):
    """AUC, logloss and accuracy of probabilities p for 0/1 labels y."""
    from sklearn.metrics import log_loss, roc_auc_score
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-15, 1 - 1e-15)
    return {"auc": float(roc_auc_score(y, p)), "logloss": float(log_loss(y, p)),
            "accuracy": float(np.mean((p > 0.5) == (y > 0.5)))}


def emit(**fields):
    print(json.dumps(fields))
    sys.stdout.flush()
