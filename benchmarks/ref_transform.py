"""Batch transform reference: pandas.read_csv(float32) + xgboost inplace_predict + writing
one prediction per line with pandas.to_csv, file to file. "seconds" covers all three."""
import os

import numpy as np

from benchcommon import emit, limit_threads, now, parser

p = parser(__doc__)
p.add_argument("--model", required=True)
p.add_argument("--input", required=True)
p.add_argument("--output", required=True)
a = p.parse_args()
limit_threads(a.threads)
import pandas as pd  # noqa: E402
import xgboost as xgb  # noqa: E402

booster = xgb.Booster(model_file=a.model)
booster.set_param({"nthread": a.threads})
t0 = now()
x = pd.read_csv(a.input, header=None, dtype=np.float32).to_numpy()
t1 = now()
pred = booster.inplace_predict(x)
t2 = now()
pd.DataFrame(pred).to_csv(a.output, header=False, index=False, float_format="%.9g")
t3 = now()
emit(seconds=t3 - t0, read_seconds=t1 - t0, predict_seconds=t2 - t1, write_seconds=t3 - t2,
     rows=len(x), rows_per_s=len(x) / (t3 - t0), bytes=os.path.getsize(a.input))
