"""The training process's set-up: the same threads per operation in every process, and Keras's array
pipelines without tf.data autotuning, which changes no batch and no trained weight."""

import subprocess
import sys

import keras
import numpy as np
import pytest
from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter

from mnist_ae import process


@pytest.fixture
def unpatched(monkeypatch):
    """`ArrayDataAdapter.get_tf_dataset` as Keras has it, whatever ran before; restored after."""
    build = ArrayDataAdapter.get_tf_dataset
    while getattr(build, "without_autotune", False):
        build = build.__closure__[0].cell_contents  # the wrapped Keras method
    monkeypatch.setattr(ArrayDataAdapter, "get_tf_dataset", build)
    return build


def trained_weights(x, y):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    model.fit(x, y, epochs=3, batch_size=8, validation_data=(x[:16], y[:16]), verbose=0)  # shuffled batches
    return model.get_weights(), model.predict(x, batch_size=16, verbose=0)


def test_keras_array_pipelines_run_without_autotuning(unpatched):
    x = np.arange(12, dtype="float32").reshape(6, 2)
    assert ArrayDataAdapter(x, batch_size=4).get_tf_dataset().options().autotune.enabled is not False
    process.keras_arrays_without_autotune()
    process.keras_arrays_without_autotune()  # once: a second call wraps nothing more
    assert ArrayDataAdapter.get_tf_dataset.__closure__[0].cell_contents is unpatched
    dataset = ArrayDataAdapter(x, batch_size=4).get_tf_dataset()
    assert dataset.options().autotune.enabled is False
    assert [b.numpy().tolist() for b in dataset] == [x[:4].tolist(), x[4:].tolist()]  # the same batches


def test_training_and_predictions_are_the_same_without_autotuning(unpatched):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], dtype="float32")
    weights, predicted = trained_weights(x, y)
    process.keras_arrays_without_autotune()
    weights_after, predicted_after = trained_weights(x, y)
    assert all(np.array_equal(a, b) for a, b in zip(weights, weights_after))
    assert np.array_equal(predicted, predicted_after)


def test_a_keras_without_the_adapter_method_runs_on_and_says_so(unpatched, monkeypatch, capsys):
    message = ("mnist_ae: this Keras has no ArrayDataAdapter.get_tf_dataset; tf.data autotuning stays on "
               "(steps side by side run slower)\n")
    monkeypatch.delattr(ArrayDataAdapter, "get_tf_dataset")  # only the abstract base's is left
    process.keras_arrays_without_autotune()
    assert capsys.readouterr().err == message
    assert "get_tf_dataset" not in vars(ArrayDataAdapter)  # nothing installed in its place
    monkeypatch.setitem(sys.modules, "keras.src.trainers.data_adapters.array_data_adapter", None)  # moved away
    process.keras_arrays_without_autotune()
    assert capsys.readouterr().err == message


# A training run in a fresh process whose TensorFlow `process.start_tensorflow` started with a
# given core share (None: a direct run's every core; 1: a lane's share beside another step).
SHARED_TRAINING = """
import hashlib, sys
from mnist_ae import process
process.start_tensorflow(None if sys.argv[1] == "all" else int(sys.argv[1]))
import keras, numpy as np, tensorflow as tf
keras.utils.set_random_seed(0)
x = np.random.default_rng(0).random((256, 16, 16, 1), dtype=np.float32)
model = keras.Sequential([keras.Input((16, 16, 1)), keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
                          keras.layers.Flatten(), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(256)])
model.compile("adam", "mse")
model.fit(x, x.reshape(256, -1), epochs=2, batch_size=32, verbose=0)
digest = hashlib.sha256(b"".join(w.tobytes() for w in model.get_weights())).hexdigest()
print(tf.config.threading.get_intra_op_parallelism_threads(), tf.config.threading.get_inter_op_parallelism_threads(),
      digest)
"""


def test_a_model_trains_to_the_same_weights_whatever_share_of_the_cores_its_process_has():
    # TensorFlow splits an operation's sums between the operation's threads: before every process
    # ran OP_THREADS per operation, a direct run (every core) and a lane (one) trained two models.
    runs = {share: subprocess.run([sys.executable, "-c", SHARED_TRAINING, share], capture_output=True, text=True,
                                  check=True).stdout.split() for share in ("all", "1", "2")}
    assert runs["1"][:2] == [str(process.OP_THREADS), "1"] and runs["2"][:2] == [str(process.OP_THREADS), "2"]
    assert runs["all"][0] == str(process.OP_THREADS)
    assert runs["all"][2] == runs["1"][2] == runs["2"][2]


def test_starting_tensorflow_again_changes_nothing_and_says_what_it_cannot_set(monkeypatch, capsys):
    # This test process already runs TensorFlow (with its default threads): the count cannot be
    # set any more, and one line says so instead of a silent difference.
    monkeypatch.setattr(process, "_started", False)
    monkeypatch.setattr(process, "op_threads", lambda: 0)
    process.start_tensorflow(1)
    assert capsys.readouterr().err == (
        "mnist_ae: TensorFlow was already running with all threads per operation; "
        f"models trained in this process may differ from the job's ({process.OP_THREADS})\n")
    process.start_tensorflow(1)  # started: nothing more is said
    assert capsys.readouterr().err == ""
