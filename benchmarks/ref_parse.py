"""CSV parse references: numpy.loadtxt and pandas.read_csv into float32.
Prints seconds, rows, bytes, the sums of the feature and label columns and the integer sum
of the features' float32 bit patterns (exact and order-free: the algorun driver prints the
same, so the harness can check both sides read bit-identical numbers)."""
import os

import numpy as np

from benchcommon import emit, limit_threads, now, parser

p = parser(__doc__)
p.add_argument("--impl", choices=["numpy", "pandas"], required=True)
p.add_argument("file")
a = p.parse_args()
limit_threads(a.threads)
if a.impl == "pandas":
    import pandas as pd
t0 = now()
if a.impl == "numpy":
    m = np.loadtxt(a.file, delimiter=",", dtype=np.float32, ndmin=2)
else:
    m = pd.read_csv(a.file, header=None, dtype=np.float32).to_numpy()
sec = now() - t0
size = os.path.getsize(a.file)
emit(seconds=sec, rows=int(m.shape[0]), cols=int(m.shape[1] - 1), bytes=size,
     mb_per_s=size / 1e6 / sec, rows_per_s=m.shape[0] / sec,
     checksum=float(m[:, 1:].sum(dtype=np.float64)),
     label_checksum=float(m[:, 0].sum(dtype=np.float64)),
     bits_checksum=int(np.ascontiguousarray(m[:, 1:]).view(np.uint32).sum(dtype=np.uint64)))
