"""Keras on NumPy arrays with and without tf.data autotuning: wall and CPU seconds, one thread (issue 23, 2026-11-25).

    python benchmarks/issue23_2026-11-25/autotune_probe.py on|off fit|predict   # from the repository root, after run.sh setup

fit: exercise 1's autoencoder, 3 epochs on the 60 000 training images at batch 32, the test set
as validation data (the weights' checksum shows whether anything but the time changed).
predict: exercise 1's encoder, 20 calls on 10 000 images at batch 1024.
Start two at once to see the difference: alone, the two settings take the same time.
"""
import os, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import mnist_ae  # noqa: F401  (the package's TensorFlow defaults)
import tensorflow as tf
tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)
import keras, numpy as np
from mnist_ae import data, preprocessing, process, training
from mnist_ae.models import constrained

autotune, what = sys.argv[1], sys.argv[2]
if autotune == "off":
    process.keras_arrays_without_autotune()  # what process.start_tensorflow does
(x, _), (x_test, _) = data.load_mnist(None)
x, x_test = preprocessing.to_model_input(x), preprocessing.to_model_input(x_test)
config = training.AEConfig(epochs=3)
keras.utils.set_random_seed(0)
encoder = constrained.build_encoder()
model = constrained.build_autoencoder(encoder, constrained.build_decoder(output_bias=config.output_bias))
training.compile_for_training(model, config, len(x), loss="mse")
wall, cpu = time.perf_counter(), time.process_time()
if what == "fit":
    model.fit(x, x, epochs=config.epochs, batch_size=config.batch_size, validation_data=(x_test, x_test), verbose=0)
else:
    for _ in range(20):
        encoder.predict(x[:10000], batch_size=1024, verbose=0)
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
checksum = sum(float(np.abs(w).sum()) for w in model.get_weights())
print(f"autotune {autotune}, {what}: {wall:.1f} s wall, {cpu:.1f} s CPU; weights checksum {checksum:.6f}", flush=True)
