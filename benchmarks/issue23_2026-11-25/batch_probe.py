"""Training speed of a code-size finalist at batch 128, 256 and 512: images/s, one thread (issue 23, 2026-11-25).

    python benchmarks/issue23_2026-11-25/batch_probe.py SIZE   # from the repository root, after run.sh setup

The committed finalist's params (report/results/code_size.json) but the batch size; random images,
one epoch of 25 600 after a warm-up of 10 batches; each batch size twice, interleaved.
Printed on host4, nothing beside it (AE32): 128: 6400, 6776; 256: 7410, 7347; 512: 6691, 7608 images/s.
"""
import json, sys, time
from mnist_ae import process
process.start_tensorflow(1)
import keras, numpy as np
from mnist_ae.models import code_models
size = int(sys.argv[1])
r = json.load(open("report/results/code_size.json"))["finalists"][str(size)]
x = np.random.default_rng(0).random((25600, 28, 28, 1)).astype("float32")
for bs in (128, 256, 512, 128, 256, 512):
    keras.utils.set_random_seed(0)
    params = {**r["params"], "batch_size": bs}
    _, _, ae = code_models.build(params, size)
    ae.compile(code_models.optimizer(params), loss="mse", steps_per_execution=8)
    ae.fit(x[:bs*10], x[:bs*10], batch_size=bs, epochs=1, verbose=0)
    t = time.perf_counter(); ae.fit(x, x, batch_size=bs, epochs=1, verbose=0); dt = time.perf_counter() - t
    print(f"AE{size} batch {bs}: {len(x)/dt:.0f} images/s", flush=True)
