"""Corruptions for denoising autoencoders: Gaussian noise and torchvision-style random erasing.

During training the corruption is a layer in front of the autoencoder, active only in training
(fresh noise every batch; the clean image is the target). The test set is corrupted once, from a
fixed seed, with the same functions, so every model sees the same corrupted test images.

`random_erasing` follows torchvision's `RandomErasing(p, scale, ratio, value)`: with probability
`p` a rectangle of area `U(scale) * H * W` and aspect ratio (height / width) log-uniform in
`ratio` is set to `value` at a uniformly drawn position. Keras's own `RandomErasing` layer has no
aspect-ratio parameter, hence this function (`keras.ops` only, so it runs inside a traced step).

Example::

    gen = keras.random.SeedGenerator(0)
    erased = random_erasing(images, gen)                # (N, 28, 28, 1), one rectangle each
    noisy = gaussian_noise(images, 0.1, gen)            # images + 0.1 * N(0, 1), not clipped
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import layers, ops

ERASE_SCALE = (0.02, 0.15)  # area share of the rectangle (torchvision's lower bound; at most 15 %)
ERASE_RATIO = (0.7, 1.7)  # height / width


def erasing_boxes(batch: int, height: int, width: int, seed, scale=ERASE_SCALE, ratio=ERASE_RATIO):
    """Per image `(top, left, h, w)` int32 tensors of shape (batch,) of the rectangles to erase.

    A rectangle that would not fit (possible only for large `scale`/`ratio`) is clipped to the
    image; with the defaults every one fits in 28x28 (at most 15 % of the area, ratio <= 1.7).
    """
    area = keras.random.uniform((batch,), scale[0], scale[1], seed=seed) * (height * width)
    log_ratio = keras.random.uniform((batch,), math.log(ratio[0]), math.log(ratio[1]), seed=seed)
    aspect = ops.exp(log_ratio)
    h = ops.clip(ops.round(ops.sqrt(area * aspect)), 1, height)
    w = ops.clip(ops.round(ops.sqrt(area / aspect)), 1, width)
    # Uniform position among the (height - h + 1) x (width - w + 1) that keep the box inside.
    top = ops.floor(keras.random.uniform((batch,), seed=seed) * (height - h + 1))
    left = ops.floor(keras.random.uniform((batch,), seed=seed) * (width - w + 1))
    return tuple(ops.cast(t, "int32") for t in (top, left, h, w))


def random_erasing(images, seed, probability: float = 1.0, scale=ERASE_SCALE, ratio=ERASE_RATIO, value: float = 0.0):
    """`images` (N, H, W, C) with one rectangle per image set to `value`, with `probability`."""
    shape = ops.shape(images)
    batch, height, width = shape[0], images.shape[1], images.shape[2]
    top, left, h, w = erasing_boxes(batch, height, width, seed, scale, ratio)
    rows = ops.arange(height, dtype="int32")[None, :, None]
    cols = ops.arange(width, dtype="int32")[None, None, :]
    inside = ((rows >= top[:, None, None]) & (rows < (top + h)[:, None, None])
              & (cols >= left[:, None, None]) & (cols < (left + w)[:, None, None]))
    chosen = keras.random.uniform((batch,), seed=seed) < probability
    mask = ops.logical_and(inside, chosen[:, None, None])[..., None]
    return ops.where(mask, ops.cast(value, images.dtype), images)


def gaussian_noise(images, stddev: float, seed):
    """`images + stddev * N(0, 1)` per pixel (not clipped, like the reference's noise)."""
    return images + stddev * keras.random.normal(ops.shape(images), dtype=images.dtype, seed=seed)


class RandomErasing(layers.Layer):
    """`random_erasing` as a layer that acts only in training (like `keras.layers.GaussianNoise`)."""

    def __init__(self, probability: float = 1.0, scale=ERASE_SCALE, ratio=ERASE_RATIO, value: float = 0.0,
                 seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.probability, self.scale, self.ratio, self.value = probability, tuple(scale), tuple(ratio), value
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        if not training:
            return inputs
        return random_erasing(inputs, self.generator, self.probability, self.scale, self.ratio, self.value)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "probability": self.probability, "scale": self.scale, "ratio": self.ratio,
                "value": self.value, "seed": self.seed}


CORRUPTIONS = ("gaussian", "erasing")


def corruption_layer(kind: str, sigma: float = 0.1, seed: int = 0) -> layers.Layer:
    """The training-only layer of corruption `kind` ("gaussian" with `sigma`, or "erasing")."""
    if kind == "gaussian":
        return layers.GaussianNoise(sigma, seed=seed, name="corrupt")
    if kind == "erasing":
        return RandomErasing(seed=seed, name="corrupt")
    raise ValueError(f"unknown corruption '{kind}' (choose from {', '.join(CORRUPTIONS)})")


def corrupt_once(images: np.ndarray, kind: str, seed: int, sigma: float = 0.1) -> np.ndarray:
    """A fixed corrupted copy of `images` (e.g. the test set): the same for the same `seed`.

    Drawn in one call (10 000 MNIST images are 31 MB), so the copy does not depend on a batch size.
    """
    if kind not in CORRUPTIONS:
        raise ValueError(f"unknown corruption '{kind}' (choose from {', '.join(CORRUPTIONS)})")
    generator = keras.random.SeedGenerator(seed)
    x = ops.convert_to_tensor(np.asarray(images, np.float32))
    done = gaussian_noise(x, sigma, generator) if kind == "gaussian" else random_erasing(x, generator)
    return ops.convert_to_numpy(done)
