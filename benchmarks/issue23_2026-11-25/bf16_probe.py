"""Training speed of the AE32 finalist's shape in float32 against Keras's mixed_bfloat16 policy,
one thread (this host's CPU has AVX-512 BF16):

    python benchmarks/issue23_2026-11-25/bf16_probe.py fp32
    python benchmarks/issue23_2026-11-25/bf16_probe.py bf16

6 400 random images, batch 128, three epochs after a warm-up, images/s each.
"""
import sys, time, json
from mnist_ae import process
process.start_tensorflow(1)
import keras, numpy as np
if sys.argv[1] == "bf16":
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
from mnist_ae.models import code_models
from mnist_ae.studies import search
r = json.load(open("report/results/code_size.json"))["finalists"]["32"]
params = r["params"]
keras.utils.set_random_seed(0)
_, _, ae = code_models.build(params, 32)
x = np.random.default_rng(0).random((6400, 28, 28, 1), dtype=np.float32)
ae.compile(keras.optimizers.Adam(1e-3), "mse")
ae.fit(x[:1280], x[:1280], batch_size=128, epochs=1, verbose=0)
for _ in range(3):
    t = time.perf_counter(); ae.fit(x, x, batch_size=128, epochs=1, verbose=0); print(sys.argv[1], f"{6400 / (time.perf_counter() - t):.0f} images/s", flush=True)
