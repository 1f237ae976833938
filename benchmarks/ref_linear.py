"""Linear references on dense binary data: sklearn SGDClassifier(log_loss) for a fixed
number of epochs (one model, one thread: SGD in sklearn is sequential) and
LogisticRegression(lbfgs). "seconds" is fit() only; data is in memory beforehand."""
import warnings

from benchcommon import binary_quality, emit, limit_threads, load, now, parser

p = parser(__doc__)
p.add_argument("--impl", choices=["sgd", "lbfgs"], required=True)
p.add_argument("--train", required=True)
p.add_argument("--valid", required=True)
p.add_argument("--rows", type=int, default=0)
p.add_argument("--epochs", type=int, default=5)
a = p.parse_args()
limit_threads(a.threads)
from sklearn.linear_model import LogisticRegression, SGDClassifier  # noqa: E402

x, y = load(a.train, a.rows)
xv, yv = load(a.valid)
if a.impl == "sgd":
    model = SGDClassifier(loss="log_loss", max_iter=a.epochs, tol=None, random_state=0)
else:
    model = LogisticRegression(solver="lbfgs", max_iter=200)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    t0 = now()
    model.fit(x, y)
    sec = now() - t0
n_iter = int(model.n_iter_[0] if hasattr(model.n_iter_, "__len__") else model.n_iter_)
emit(seconds=sec, rows=len(x), n_iter=n_iter, **binary_quality(yv, model.predict_proba(xv)[:, 1]))
