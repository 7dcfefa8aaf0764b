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
    return pad_to_model_input(images.astype(np.float32) / 255.0)


def pad_to_model_input(images: np.ndarray) -> np.ndarray:
    """float (N, 28, 28) images in [0, 1] -> float32 (N, 32, 32, 1), zero-padded like `to_model_input`."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"expected images of shape (N, 28, 28), got {images.shape}")
    return np.pad(images, ((0, 0), (PAD, PAD), (PAD, PAD)))[..., None]


def to_mnist_view(batch: np.ndarray) -> np.ndarray:
    """(N, 32, 32[, 1]) model images -> (N, 28, 28): the central crop that figures show."""
    batch = np.asarray(batch)
    if batch.ndim == 4:
        batch = batch[..., 0]
    return batch[:, PAD:-PAD, PAD:-PAD]


def to_unpadded_input(batch: np.ndarray) -> np.ndarray:
    """(N, 32, 32, 1) model images -> float32 (N, 28, 28, 1): the MNIST images the studies' nets take."""
    return np.ascontiguousarray(to_mnist_view(batch)[..., None], dtype=np.float32)


# The studies' split of MNIST's 60 000 training images: 50 000 to train, 10 000 to validate
# (choose models); the same for every --seed, so models are compared on one validation set.
VALIDATION_FRACTION = 1 / 6
SPLIT_SEED = 0


def train_validation_split(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices `(train, validation)` of the studies' seeded split of `n` training images.

    Example:
        >>> train, val = train_validation_split(60000)
        >>> len(train), len(val), len(np.intersect1d(train, val))
        (50000, 10000, 0)
    """
    order = np.random.default_rng(SPLIT_SEED).permutation(n)
    n_val = int(round(n * VALIDATION_FRACTION))
    return order[n_val:], order[:n_val]
