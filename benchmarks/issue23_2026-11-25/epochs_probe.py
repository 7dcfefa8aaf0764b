"""A code-size finalist trained longer: the committed finalist's params, EPOCHS annealed epochs, one thread.

    python benchmarks/issue23_2026-11-25/epochs_probe.py SIZE EPOCHS [SEED]   # from the repository root, after run.sh setup

The rate follows the finalists' cosine to 2 % over EPOCHS (so a longer run is a slower anneal, not
extra epochs at the floor); the study's early stopping (patience from the params) still watches
the validation MSE. Prints each epoch's validation MSE and the test MSE of the restored best epoch.
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
