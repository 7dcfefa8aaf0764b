"""A code-size finalist at another dense width, batch size or length: test MSE and time, one thread.

    python benchmarks/issue23_2026-11-25/hidden_probe.py SIZE HIDDEN [BATCH [EPOCHS]]   # from the repository root, after run.sh setup

It reads the committed finalist params from report/results/code_size.json and changes only `hidden`
(HIDDEN 0: the finalist's own), with BATCH the batch size, the rate scaled by the square root
of the batch's growth (BATCH 0: the finalist's own), and with EPOCHS the number of epochs (14: the
finalist's). The rate follows the finalists' cosine to 2 % over the run, so a longer run is a
slower anneal, not extra epochs at the floor; the params' early stopping still watches.

Printed on host4 by `SIZE 0 256`, the two sizes side by side (beside the test suite, so the times
do not compare): AE32 rate 0.00438: test MSE 0.00372; AE8 rate 0.00546: test MSE 0.01414; both
flat at 14 epochs (committed finalists at batch 128: 0.00357 and 0.01402).

Printed on host4 by `8 0 0 50` (2026-11-25, 11:13-11:20 UTC, one fine-tuning probe beside it, as the then
`epochs_probe.py 8 50`): test MSE 0.01293, best validation MSE 0.01305 (0.0150 at epoch 14, 0.0141 at
24), 415.6 s; cap 50 reached, the last 2 epochs improving 0.03 % an epoch: flat. The finalist's
architecture levels off near 0.0129, 23 % above the reference's 0.01055: more epochs do not reach it.
"""
import json, sys, time
from mnist_ae import process
process.start_tensorflow(1)
import keras
from mnist_ae import data, preprocessing, training
from mnist_ae.analysis import evaluation
from mnist_ae.models import code_models
from mnist_ae.studies import search
size, hidden = int(sys.argv[1]), int(sys.argv[2])
r = json.load(open("report/results/code_size.json"))["finalists"][str(size)]
params = {**r["params"], "hidden": hidden or r["params"]["hidden"]}
if len(sys.argv) > 3 and int(sys.argv[3]):
    batch = int(sys.argv[3])
    params.update(batch_size=batch, learning_rate=params["learning_rate"] * (batch / params["batch_size"]) ** 0.5)
epochs = int(sys.argv[4]) if len(sys.argv) > 4 else 14
(x_train, _), (x_test, _) = data.load_mnist(None)
x = preprocessing.to_unpadded_input(preprocessing.to_model_input(x_train))
train, val = preprocessing.train_validation_split(len(x))
xt = preprocessing.to_unpadded_input(preprocessing.to_model_input(x_test))
keras.utils.set_random_seed(0)
_, _, ae = code_models.build(params, size)
started = time.perf_counter()
h = search.compile_and_fit(ae, params, x[train], x[val], epochs, verbose=0, decay=True)
took = time.perf_counter() - started
stop = training.Stopping(patience=params["patience"], cap=epochs).record(h["val_loss"])
mse = evaluation.mse(ae.predict(xt, batch_size=1024, verbose=0), xt)
print(f"AE{size} hidden {params['hidden']}, batch {params['batch_size']}, {epochs} epochs: test MSE {mse:.5f}, best val "
      f"{min(h['val_loss']):.5f}, {ae.count_params()} params, {took:.1f} s; {stop['stopped']}", flush=True)
