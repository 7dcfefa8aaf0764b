"""mnist_ae: the autoencoder coursework on MNIST, as a Keras 3 library, scripts, studies and a report.

Importing the package sets one TensorFlow default before TensorFlow is loaded (so import
`mnist_ae` first): oneDNN's CPU kernels. TensorFlow turns them on by itself only on CPUs with
AVX-512 VNNI/BF16 or AMX, not on the AVX2 CPUs this project targets, where its own kernels are
several times slower for these small convolutions (docs/measurements.md). Set
`TF_ENABLE_ONEDNN_OPTS=0` to compare; results differ only by floating-point round-off.
"""

import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


def onednn_enabled() -> bool:
    """Whether TensorFlow runs with oneDNN's kernels in this process (for result files).

    TensorFlow has no public query; its start-up log line comes from this same internal check.
    """
    from tensorflow.python.util import _pywrap_util_port

    return bool(_pywrap_util_port.IsMklEnabled())
