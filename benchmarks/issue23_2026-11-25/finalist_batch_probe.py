"""A code-size finalist at another batch size (rate scaled by its square root): test MSE and time, 14 annealed epochs, one thread.

    python benchmarks/issue23_2026-11-25/finalist_batch_probe.py SIZE BATCH   # from the repository root, after run.sh setup

Printed on host4 at batch 256, the two sizes side by side (beside the test suite, so the times do not compare):
AE32 rate 0.00438: test MSE 0.00372; AE8 rate 0.00546: test MSE 0.01414; both flat at 14 epochs.
"""
import json, sys, time
from mnist_ae import process
process.start_tensorflow(1)
import keras
from mnist_ae import data, preprocessing, training
from mnist_ae.analysis import evaluation
from mnist_ae.models import code_models
from mnist_ae.studies import search
size, batch = int(sys.argv[1]), int(sys.argv[2])
r = json.load(open("report/results/code_size.json"))["finalists"][str(size)]
params = {**r["params"], "batch_size": batch, "learning_rate": r["params"]["learning_rate"] * (batch / r["params"]["batch_size"]) ** 0.5}
(x_train, _), (x_test, _) = data.load_mnist(None)
x = preprocessing.to_unpadded_input(preprocessing.to_model_input(x_train))
train, val = preprocessing.train_validation_split(len(x))
xt = preprocessing.to_unpadded_input(preprocessing.to_model_input(x_test))
keras.utils.set_random_seed(0)
_, _, ae = code_models.build(params, size)
started = time.perf_counter()
h = search.compile_and_fit(ae, params, x[train], x[val], 14, verbose=0, decay=True)
took = time.perf_counter() - started
stop = training.Stopping(patience=params["patience"], cap=14).record(h["val_loss"])
mse = evaluation.mse(ae.predict(xt, batch_size=1024, verbose=0), xt)
print(f"AE{size} batch {batch} rate {params['learning_rate']:.5f}: test MSE {mse:.5f}, {took:.1f} s; {stop['stopped']}", flush=True)
