"""The process a training runs in: TensorFlow started quietly with the recipe's threads per
operation and a cap on the cores, Keras's array pipelines without tf.data autotuning, and an end
tied to the parent's.

Used by the runner's workers and by the code-size search's trial processes alike; nothing here
knows about steps or the pipeline.

Example::

    end_with_parent()              # a killed parent leaves no orphan training on
    start_tensorflow(threads=1)    # before the first TensorFlow operation: OP_THREADS per
                                   # operation, one at a time; Keras's array pipelines without
                                   # tf.data autotuning
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import tempfile


@contextlib.contextmanager
def captured_stderr():
    """Send file descriptor 2 to a temporary file (C++ libraries write there, not to sys.stderr)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield sink
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


# Threads of one TensorFlow operation, the same in every process that trains: part of every
# recipe. TensorFlow's CPU kernels split an operation's sums between its threads, so one recipe
# trained at 1 and at 2 threads per operation gives two different models; the number of
# operations run at once (inter-op) does not change the weights. Measured in docs/reproducibility.md.
OP_THREADS = 1


def start_tensorflow(threads: int | None = None) -> None:
    """Import TensorFlow once with its C++ start-up lines hidden; show them only if it fails.

    Every operation runs on `OP_THREADS` threads; `threads` caps the operations run at once (None:
    all cores), which sets the process's share of the cores without changing what it computes.
    Called again in the same process it does nothing. Where TensorFlow had already run an operation
    with another thread count (a test, a notebook), the count can no longer be set: one line says so.
    """
    global _started
    if _started:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with captured_stderr() as sink:
        try:
            import tensorflow as tf

            try:  # before the first operation, or TensorFlow refuses
                tf.config.threading.set_intra_op_parallelism_threads(OP_THREADS)
                if threads:
                    tf.config.threading.set_inter_op_parallelism_threads(threads)
            except RuntimeError:
                pass  # already initialised: said below, outside the captured stream

            # Python-side advice (e.g. "triggered tf.function retracing" when figures predict on
            # batches of other sizes) is noise for a person following the steps.
            tf.get_logger().setLevel("ERROR")
            tf.config.list_physical_devices()
            tf.constant(0.0) + 1.0  # the first op prints the device lines
            import keras  # noqa: F401
        except Exception:
            sink.seek(0)
            sys.stderr.write(sink.read().decode(errors="replace"))
            raise
    if op_threads() != OP_THREADS:
        print(f"mnist_ae: TensorFlow was already running with {op_threads() or 'all'} threads per operation; "
              f"models trained in this process may differ from the job's ({OP_THREADS})", file=sys.stderr)
    _started = True
    keras_arrays_without_autotune()


_started = False


def op_threads() -> int:
    """TensorFlow's threads per operation in this process (0: TensorFlow's default, every core)."""
    import tensorflow as tf

    return tf.config.threading.get_intra_op_parallelism_threads()


def core_share() -> int | None:
    """The cores this process may keep busy: the operations TensorFlow may run at once when a
    cap was set (a lane's share), else None (all)."""
    import tensorflow as tf

    return tf.config.threading.get_inter_op_parallelism_threads() or None


def keras_arrays_without_autotune() -> None:
    """Turn tf.data's autotuning off in the input pipelines Keras builds for arrays (`fit`,
    `evaluate` and `predict` on NumPy data, validation data included).

    Autotuning runs a model thread beside each iterator, and Keras makes an iterator for every
    epoch, every validation pass and every `predict` call. Destroying one waits for that thread,
    which, with two trainings side by side on two cores, sleeps for up to seconds: the job's lanes
    sat idle about a fifth of the time (docs/measurements.md). Autotuning only sizes buffers and
    parallelism; the batches, their order and so every trained weight stay the same.
    Keras builds these pipelines in `ArrayDataAdapter.get_tf_dataset`, an internal of Keras; this
    wraps it, once. Where a Keras version has moved it, the run goes on as before, only slower
    side by side, and says so in one line (`tests/test_process.py` fails on such a version).
    """
    import tensorflow as tf

    try:
        from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter
    except ImportError:
        ArrayDataAdapter = None
    build = vars(ArrayDataAdapter).get("get_tf_dataset") if ArrayDataAdapter else None  # its own, not inherited
    if build is None:
        print("mnist_ae: this Keras has no ArrayDataAdapter.get_tf_dataset; tf.data autotuning stays on "
              "(steps side by side run slower)", file=sys.stderr)
        return
    if getattr(build, "without_autotune", False):
        return

    def get_tf_dataset(self):
        options = tf.data.Options()
        options.autotune.enabled = False
        return build(self).with_options(options)

    get_tf_dataset.without_autotune = True
    ArrayDataAdapter.get_tf_dataset = get_tf_dataset


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def end_with_parent() -> None:
    """Ask Linux to stop this process if its parent dies (so no orphan keeps training)."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):
            pass
