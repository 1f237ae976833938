"""numpy's machine ceilings: float32 matmul GFLOP/s (2 n^3 per product) and np.copyto
bandwidth (bytes read + written), best and median of REPS after one warm-up."""
import numpy as np

from benchcommon import emit, limit_threads, now, parser

p = parser(__doc__)
p.add_argument("what", choices=["sgemm", "copy"])
p.add_argument("--size", type=int, default=4096)
p.add_argument("--reps", type=int, default=5)
a = p.parse_args()
limit_threads(a.threads)
from threadpoolctl import threadpool_info  # noqa: E402

rng = np.random.default_rng(0)
if a.what == "sgemm":
    n = a.size
    x = rng.standard_normal((n, n), dtype=np.float32)
    y = rng.standard_normal((n, n), dtype=np.float32)
    out = np.empty((n, n), np.float32)
    work, unit = (lambda: np.matmul(x, y, out=out)), 2.0 * n ** 3 / 1e9
else:
    src = np.ones(a.size << 20, np.uint8)
    dst = np.zeros_like(src)
    work, unit = (lambda: np.copyto(dst, src)), 2.0 * src.nbytes / 1e9
work()
v = []
for _ in range(a.reps):
    t0 = now()
    work()
    v.append(unit / (now() - t0))
v.sort()
blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
emit(what=a.what, size=a.size, threads=a.threads, best=v[-1], median=v[len(v) // 2],
     blas_kernel=blas[0].get("architecture") if blas else None,
     blas_threading=blas[0].get("threading_layer") if blas else None)
