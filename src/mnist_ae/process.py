"""The process a training runs in: TensorFlow started quietly with a thread cap, and an end
tied to the parent's.

Used by the runner's workers and by the code-size search's trial processes alike; nothing here
knows about steps or the pipeline.

Example::

    end_with_parent()              # a killed parent leaves no orphan training on
    start_tensorflow(threads=1)    # before the first TensorFlow operation
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


def start_tensorflow(threads: int | None = None) -> None:
    """Import TensorFlow once with its C++ start-up lines hidden; show them only if it fails.

    `threads` caps the threads of one operation and of operations run at once (None: all cores).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with captured_stderr() as sink:
        try:
            import tensorflow as tf

            if threads:  # before the first operation, or TensorFlow refuses
                tf.config.threading.set_intra_op_parallelism_threads(threads)
                tf.config.threading.set_inter_op_parallelism_threads(threads)

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


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def end_with_parent() -> None:
    """Ask Linux to stop this process if its parent dies (so no orphan keeps training)."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):
            pass
