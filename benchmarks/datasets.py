"""Synthetic benchmark data sets: generated with fixed numpy seeds, never downloaded.

Each data set is cached under build/bench-data/ as
  <name>.npy        float32 features (rows x cols)
  <name>.y.npy      float32 labels (when the set has them)
  <name>.csv        label first (when labelled), then features, written with %.9g, which
                    round-trips float32 exactly, so algorun and the references read identical
                    numbers from the CSV and the .npy
  <name>.pbr        RecordIO-protobuf (dense float32 features + float32 label), on request
Files are written under a temporary name and renamed, so an interrupted run leaves no half
file behind. head_csv() cuts the first N rows of a CSV for scaling curves.
"""
import os

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA_DIR = os.path.join(ROOT, "build", "bench-data")


def _path(name, ext):
    return os.path.join(DATA_DIR, f"{name}.{ext}")


def _replace(tmp, final):
    os.replace(tmp, final)
    return final


def _write_csv(path, x, y, chunk=200_000):
    """CSV with %.9g floats; the label (if any) first; no header."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        for lo in range(0, len(x), chunk):
            block = x[lo:lo + chunk]
            if y is not None:
                block = np.column_stack([y[lo:lo + chunk], block])
            np.savetxt(f, block, fmt="%.9g", delimiter=",")
    _replace(tmp, path)


# ---- generators: each returns (X float32, y float32 or None) ----

def gen_binary28(n, seed):
    """Dense binary classification, 28 features, a non-linear logit with interactions
    (a GBDT-friendly task; roughly balanced classes)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 28), dtype=np.float32)
    x[:, 20:] = x[:, 20:] * 3 + x[:, :8]  # correlated, wider columns
    f = (1.5 * x[:, 0] - 2.0 * x[:, 1] * x[:, 2] + np.sin(3 * x[:, 3]) + 0.7 * x[:, 4] ** 2
         - 0.7 + 0.8 * np.abs(x[:, 5]) * np.sign(x[:, 6]) + 0.3 * x[:, 21] - 0.5 * (x[:, 7] > 1))
    y = (f + rng.logistic(size=n) * 0.5 > 0).astype(np.float32)
    return x, y


def gen_logistic100(n, seed):
    """Dense binary classification, 100 features, labels drawn from a logistic model."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 100), dtype=np.float32)
    w = np.random.default_rng(1234).standard_normal(100).astype(np.float32) / 5.0
    p = 1.0 / (1.0 + np.exp(-(x @ w + 0.3)))
    y = (rng.random(n) < p).astype(np.float32)
    return x, y


KM_K, KM_D = 100, 50


def gen_blobs50(n, seed):
    """K-means data: 100 centres ~ N(0, 1) in 50 dimensions, points = centre + N(0, 3^2).
    The noise is large next to the centre spacing, so clusters overlap and Lloyd needs many
    iterations (well-separated blobs converge in 2 and measure nothing). No labels."""
    centres = np.random.default_rng(4321).standard_normal((KM_K, KM_D)).astype(np.float32)
    rng = np.random.default_rng(seed)
    which = rng.integers(0, KM_K, n)
    x = centres[which] + 3.0 * rng.standard_normal((n, KM_D), dtype=np.float32)
    return x.astype(np.float32), None


GENERATORS = {"binary28": gen_binary28, "logistic100": gen_logistic100,
              "blobs50": gen_blobs50}


def dataset(kind, n, seed, csv=True):
    """Generates (or finds cached) `kind` with n rows and seed; returns the base path
    (without extension). Writes .npy (+ .y.npy) and, when csv, .csv."""
    os.makedirs(DATA_DIR, exist_ok=True)
    name = f"{kind}_{n}_s{seed}"
    base = os.path.join(DATA_DIR, name)
    need_npy = not os.path.exists(base + ".npy")
    need_csv = csv and not os.path.exists(base + ".csv")
    if not (need_npy or need_csv):
        return base
    x, y = GENERATORS[kind](n, seed)
    if need_npy:
        if y is not None:
            np.save(base + ".y.tmp.npy", y)
            _replace(base + ".y.tmp.npy", base + ".y.npy")
        np.save(base + ".tmp.npy", x)
        _replace(base + ".tmp.npy", base + ".npy")
    if need_csv:
        _write_csv(base + ".csv", x, y)
    return base


def head_csv(base, n):
    """A CSV holding the first n rows of base.csv (cached); returns its path."""
    out = f"{base}.head{n}.csv"
    if os.path.exists(out):
        return out
    with open(base + ".csv", "rb") as src, open(out + ".tmp", "wb") as dst:
        for i, line in enumerate(src):
            if i == n:
                break
            dst.write(line)
    return _replace(out + ".tmp", out)


def features_csv(base):
    """base.csv without its label column (inference input); returns its path (cached)."""
    out = f"{base}.features.csv"
    if os.path.exists(out):
        return out
    with open(base + ".csv", "rb") as src, open(out + ".tmp", "wb") as dst:
        for line in src:
            dst.write(line[line.index(b",") + 1:])
    return _replace(out + ".tmp", out)


# ---- RecordIO-protobuf, hand-encoded (format: tests/data README, "The Record message") ----

def _varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def recordio(base):
    """base.pbr: one RecordIO frame per row, a Record with features["values"] = the row as a
    dense Float32Tensor and label["values"] = a one-element Float32Tensor, exactly as the
    SageMaker SDK's write_numpy_to_dense_tensor writes float32 data. Every row has the same
    length, so the file is built as one vectorised byte matrix."""
    out = base + ".pbr"
    if os.path.exists(out):
        return out
    x = np.load(base + ".npy")
    y = np.load(base + ".y.npy") if os.path.exists(base + ".y.npy") else None
    n, d = x.shape
    vals = 4 * d
    tensor = b"\x0a" + _varint(vals)                          # Float32Tensor.values, packed
    tensor_len = len(tensor) + vals
    value = b"\x12" + _varint(tensor_len)                     # Value.float32_tensor
    value_len = len(value) + tensor_len
    entry = b"\x0a\x06values\x12" + _varint(value_len)        # map entry: key, value
    entry_len = len(entry) + value_len
    prefix = b"\x0a" + _varint(entry_len) + entry + value + tensor  # Record.features
    label = b"\x12\x12\x0a\x06values\x12\x08\x12\x06\x0a\x04" if y is not None else b""
    payload = len(prefix) + vals + len(label) + (4 if y is not None else 0)
    pad = (-payload) % 4
    header = np.array([0xCED7230A, payload], dtype="<u4").tobytes()
    width = 8 + payload + pad
    rec = np.zeros((n, width), dtype=np.uint8)
    pos = 0
    for part in (header, prefix):
        rec[:, pos:pos + len(part)] = np.frombuffer(part, np.uint8)
        pos += len(part)
    rec[:, pos:pos + vals] = x.astype("<f4").view(np.uint8).reshape(n, vals)
    pos += vals
    if y is not None:
        rec[:, pos:pos + len(label)] = np.frombuffer(label, np.uint8)
        pos += len(label)
        rec[:, pos:pos + 4] = y.astype("<f4").view(np.uint8).reshape(n, 4)
    rec.tofile(out + ".tmp")
    return _replace(out + ".tmp", out)
