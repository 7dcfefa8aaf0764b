"""The linear ceiling of "last 1 unfrozen + linear": scikit-learn's converged linear probe on the
frozen features where that variant (and "last 2") starts, from the committed AE32 finalist.

    MNIST_AE_DATA_DIR=.cache/data .venv/bin/python benchmarks/issue23_2026-11-25/linear_ceiling_last1.py CACHE_DIR

CACHE_DIR: the model cache of the full run that wrote report/results/code_size.json.
Printed 2026-11-25 (cache of the committed run at f0ca1a9):
    last 1 unfrozen + linear enc_dense1_act (60000, 427) ... val 0.9736 iters [127] 8.4s
    last 2 unfrozen + linear flatten (60000, 1568) ... val 0.9669 iters [125] 24.7s
"""
import mnist_ae  # noqa: F401

import json
import sys
import time

import keras
import numpy as np

from mnist_ae import preprocessing
from mnist_ae.models import code_models
from mnist_ae.studies import finetune
from mnist_ae.cache import ModelCache
from mnist_ae.data import load_mnist

study = json.load(open("report/results/code_size.json"))
encoder = code_models.load_finalist(ModelCache(sys.argv[1]), study, 32)[0]
(x, y), _ = load_mnist()
images = preprocessing.to_unpadded_input(preprocessing.to_model_input(x))
train, val = preprocessing.train_validation_split(len(images))
variants = finetune.variants(encoder)
for name in ("last 1 unfrozen + linear", "last 2 unfrozen + linear"):
    cut = variants[name].cut
    f = keras.Model(encoder.input, encoder.get_layer(cut).output).predict(images, batch_size=1024, verbose=0)
    started = time.time()
    probe = finetune.linear_probe(f[train], y[train])
    print(name, cut, f.shape, "linear probe on the cut's features: val",
          np.mean(probe.predict(f[val]) == y[val]), "iters", probe[-1].n_iter_, f"{time.time() - started:.1f}s")
