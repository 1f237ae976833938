"""K-means references (sklearn 1.2, faiss 1.7.3).

  lloyd      KMeans(init=INIT array, n_init=1, max_iter=N, tol=0, algorithm="lloyd"):
             seconds per iteration = fit time / n_iter_ (same start as every other run)
  kmeanspp   sklearn.cluster.kmeans_plusplus: initialisation time alone
  full       KMeans(k-means++, n_init=1, max_iter=20): end-to-end fit and final SSD
  minibatch  MiniBatchKMeans(batch_size=10000, one pass over the data)
  faiss      faiss.Kmeans(niter=20) defaults (trains on a 256-per-centroid sample)
SSD (inertia) is always over all rows."""
import numpy as np

from benchcommon import emit, limit_threads, load, now, parser

p = parser(__doc__)
p.add_argument("mode", choices=["lloyd", "kmeanspp", "full", "minibatch", "faiss"])
p.add_argument("--data", required=True)
p.add_argument("--rows", type=int, default=0)
p.add_argument("--k", type=int, default=100)
p.add_argument("--iters", type=int, default=5)
p.add_argument("--init")
a = p.parse_args()
limit_threads(a.threads)
from sklearn.cluster import KMeans, MiniBatchKMeans, kmeans_plusplus  # noqa: E402

x = load(a.data, a.rows, labels=False)
n, d = x.shape
extra = {}
if a.mode == "lloyd":
    init = np.load(a.init)
    m = KMeans(a.k, init=init, n_init=1, max_iter=a.iters, tol=0, algorithm="lloyd")
    t0 = now()
    m.fit(x)
    fit = now() - t0
    sec = fit / m.n_iter_
    ssd = m.inertia_
    extra = {"n_iter": int(m.n_iter_), "fit_seconds": fit,
             "gflops": 2.0 * n * a.k * d / sec / 1e9}
elif a.mode == "kmeanspp":
    t0 = now()
    centres, _ = kmeans_plusplus(x, a.k, random_state=0)
    sec = now() - t0
    ssd = None
elif a.mode in ("full", "minibatch"):
    if a.mode == "full":
        m = KMeans(a.k, init="k-means++", n_init=1, max_iter=20, algorithm="lloyd",
                   random_state=0)
    else:
        m = MiniBatchKMeans(a.k, batch_size=10000, max_iter=1, n_init=1, random_state=0)
    t0 = now()
    m.fit(x)
    sec = now() - t0
    ssd = m.inertia_
    extra = {"n_iter": int(m.n_iter_)}
else:
    import faiss
    faiss.omp_set_num_threads(a.threads)
    km = faiss.Kmeans(d, a.k, niter=20, seed=1)
    t0 = now()
    km.train(x)
    sec = now() - t0
    dist, _ = km.index.search(x, 1)
    ssd = float(dist.sum(dtype=np.float64))
    extra = {"sample_rows": min(n, 256 * a.k)}
emit(seconds=sec, rows=n, ssd=None if ssd is None else float(ssd), **extra)
