"""A code-size finalist trained longer: the committed finalist's params, EPOCHS annealed epochs, one thread.

    python benchmarks/issue23_2026-11-25/epochs_probe.py SIZE EPOCHS [SEED]   # from the repository root, after run.sh setup

The rate follows the finalists' cosine to 2 % over EPOCHS (so a longer run is a slower anneal, not
extra epochs at the floor); the study's early stopping (patience from the params) still watches
the validation MSE. Prints each epoch's validation MSE and the test MSE of the restored best epoch.

Printed on host4 by `8 50` (2026-11-25, 11:13-11:20 UTC, one fine-tuning probe beside it): "AE8, 50 epochs,
seed 0: test MSE 0.01293, best val 0.01305, 415.6 s; epoch cap 50 reached; the last 2 epochs improved
the best val_loss by 0.06 % (0.03 % an epoch: flat)". Validation MSE 0.0150 at epoch 14, 0.0141 at 24,
0.0131 at 50; the committed finalist (14 epochs): 0.01402 test. The finalist's architecture levels off
near 0.0129, 23 % above the reference's 0.01055: more epochs do not reach it.
"""
import json, sys, time
from mnist_ae import process
process.start_tensorflow(1)
import keras
from mnist_ae import data, preprocessing, training
from mnist_ae.analysis import evaluation
from mnist_ae.models import code_models
from mnist_ae.studies import search
size, epochs = int(sys.argv[1]), int(sys.argv[2])
seed = int(sys.argv[3]) if len(sys.argv) > 3 else 0
params = json.load(open("report/results/code_size.json"))["finalists"][str(size)]["params"]
(x_train, _), (x_test, _) = data.load_mnist(None)
x = preprocessing.to_unpadded_input(preprocessing.to_model_input(x_train))
train, val = preprocessing.train_validation_split(len(x))
xt = preprocessing.to_unpadded_input(preprocessing.to_model_input(x_test))
keras.utils.set_random_seed(seed)
_, _, ae = code_models.build(params, size)
started = time.perf_counter()
h = search.compile_and_fit(ae, params, x[train], x[val], epochs, verbose=2, decay=True)
took = time.perf_counter() - started
stop = training.Stopping(patience=params["patience"], cap=epochs).record(h["val_loss"])
mse = evaluation.mse(ae.predict(xt, batch_size=1024, verbose=0), xt)
print(f"AE{size}, {epochs} epochs, seed {seed}: test MSE {mse:.5f}, best val {min(h['val_loss']):.5f}, "
      f"{took:.1f} s; {stop['stopped']}", flush=True)
