"""mnist_ae: the autoencoder coursework on MNIST, as a Keras 3 library, scripts, studies and a report.

Importing the package sets one TensorFlow default before TensorFlow is loaded (so import
`mnist_ae` first): oneDNN's CPU kernels. TensorFlow turns them on by itself only on CPUs with
AVX-512 VNNI/BF16 or AMX, not on the AVX2 CPUs this project targets, where its own kernels are
several times slower for these small convolutions. Measured on a 2-core AVX2 EPYC, one thread:
the 3x3 conv of the 1-channel 32x32 input 17.1 -> 3.4 ms forward and 15.1 -> 3.1 ms for its
filter gradient (batch 128), a 2x2 max-pool's gradient 28.2 -> 5.1 ms; whole training steps
614 -> 1222 images/s (exercise 1's autoencoder), 1237 -> 2444 (exercise 4's classifier),
312 -> 622 (the 16-D VAE). Set `TF_ENABLE_ONEDNN_OPTS=0` to compare; results differ only by
floating-point round-off.
"""

import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


def onednn_enabled() -> bool:
    """Whether TensorFlow runs with oneDNN's kernels in this process (for result files).

    TensorFlow has no public query; its start-up log line comes from this same internal check.
    """
    from tensorflow.python.util import _pywrap_util_port

    return bool(_pywrap_util_port.IsMklEnabled())
