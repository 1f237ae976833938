"""GBDT references: xgboost 1.7 hist (DMatrix or QuantileDMatrix from numpy) and sklearn
HistGradientBoostingClassifier, binary:logistic; and xgboost inplace_predict throughput.

  train --impl xgb-dmatrix|xgb-quantile|hgb --train BASE --valid BASE [--rows N] ...
  predict --model FILE --data BASE [--rows N]

"seconds" is the measured phase: matrix construction + training for train (binning is in
construction for QuantileDMatrix, in round 1 for DMatrix, inside fit for HGB), prediction
for predict. construct_seconds and fit_seconds are also given apart."""

from benchcommon import binary_quality, emit, limit_threads, load, now, parser

p = parser(__doc__)
p.add_argument("mode", choices=["train", "predict"])
p.add_argument("--impl", choices=["xgb-dmatrix", "xgb-quantile", "hgb"])
p.add_argument("--train")
p.add_argument("--valid")
p.add_argument("--data")
p.add_argument("--model")
p.add_argument("--model-out")
p.add_argument("--rows", type=int, default=0)
p.add_argument("--rounds", type=int, default=100)
p.add_argument("--depth", type=int, default=6)
p.add_argument("--eta", type=float, default=0.1)
p.add_argument("--max-bin", type=int, default=256)
a = p.parse_args()
limit_threads(a.threads)
import xgboost as xgb  # noqa: E402

if a.mode == "predict":
    x = load(a.data, a.rows, labels=False)
    booster = xgb.Booster(model_file=a.model)
    booster.set_param({"nthread": a.threads})
    booster.inplace_predict(x[:1000])  # warm-up: first call sets up the predictor
    t0 = now()
    pred = booster.inplace_predict(x)
    sec = now() - t0
    emit(seconds=sec, rows=len(x), rows_per_s=len(x) / sec, checksum=float(pred.sum()))
    raise SystemExit

x, y = load(a.train, a.rows)
xv, yv = load(a.valid)
params = {"objective": "binary:logistic", "tree_method": "hist", "max_depth": a.depth,
          "eta": a.eta, "max_bin": a.max_bin, "nthread": a.threads, "eval_metric": "logloss"}
if a.impl == "hgb":
    from sklearn.ensemble import HistGradientBoostingClassifier
    model = HistGradientBoostingClassifier(
        max_iter=a.rounds, learning_rate=a.eta, max_depth=a.depth, max_leaf_nodes=None,
        max_bins=min(a.max_bin, 255), early_stopping=False, l2_regularization=1.0)
    t0 = now()
    model.fit(x, y)
    fit = now() - t0
    construct = 0.0
    pv = model.predict_proba(xv)[:, 1]
else:
    t0 = now()
    if a.impl == "xgb-dmatrix":
        dtrain = xgb.DMatrix(x, label=y, nthread=a.threads)
    else:
        dtrain = xgb.QuantileDMatrix(x, label=y, max_bin=a.max_bin, nthread=a.threads)
    construct = now() - t0
    t0 = now()
    booster = xgb.train(params, dtrain, num_boost_round=a.rounds)
    fit = now() - t0
    pv = booster.inplace_predict(xv)
    if a.model_out:
        booster.save_model(a.model_out)
emit(seconds=construct + fit, construct_seconds=construct, fit_seconds=fit, rows=len(x),
     **binary_quality(yv, pv))
