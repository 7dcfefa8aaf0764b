"""Turn MNIST uint8 images into model inputs and back.

Example:
    >>> import numpy as np
    >>> to_model_input(np.full((1, 28, 28), 255, np.uint8)).shape
    (1, 32, 32, 1)
"""

from __future__ import annotations

import numpy as np

PAD = 2  # 28 + 2*2 = 32, so five x2 poolings reach the (1, 2) code


def to_model_input(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) -> float32 (N, 32, 32, 1) in [0, 1], zero-padded by 2 pixels."""
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"expected images of shape (N, 28, 28), got {images.shape}")
    x = images.astype(np.float32) / 255.0
    return np.pad(x, ((0, 0), (PAD, PAD), (PAD, PAD)))[..., None]


def to_mnist_view(batch: np.ndarray) -> np.ndarray:
    """(N, 32, 32[, 1]) model images -> (N, 28, 28): the central crop that figures show."""
    batch = np.asarray(batch)
    if batch.ndim == 4:
        batch = batch[..., 0]
    return batch[:, PAD:-PAD, PAD:-PAD]
