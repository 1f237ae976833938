"""Reference inference server, shaped like SageMaker's XGBoost container: a Flask app under
gunicorn (one worker per core, the model loaded in each worker), GET /ping and POST
/invocations taking text/csv rows and answering one prediction per line.

  MODEL_PATH=model.json gunicorn -w 2 -b 127.0.0.1:PORT --chdir benchmarks ref_server:app"""
import io
import os

import numpy as np
import xgboost as xgb
from flask import Flask, Response, request

app = Flask(__name__)
booster = xgb.Booster(model_file=os.environ["MODEL_PATH"])
booster.set_param({"nthread": 1})


@app.route("/ping")
def ping():
    return Response("", status=200)


@app.route("/invocations", methods=["POST"])
def invocations():
    x = np.loadtxt(io.StringIO(request.get_data(as_text=True)), delimiter=",",
                   dtype=np.float32, ndmin=2)
    pred = booster.inplace_predict(x)
    return Response("\n".join(map(str, pred.tolist())) + "\n", mimetype="text/csv")
