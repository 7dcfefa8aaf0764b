import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import mnist_ae  # noqa: E402,F401  (its TensorFlow defaults must be set before any test imports TensorFlow)
