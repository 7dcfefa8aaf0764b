"""Floating-point operations of a Keras model, counted from its layer shapes.

Counted: the multiply-adds of `Conv2D`, `Conv2DTranspose` and `Dense` (2 FLOPs each) and their
bias additions, which dominate these networks; activations, pooling and upsampling are a few
operations per value and left out. One training image costs about 3x the forward pass (forward,
then gradients with respect to the inputs and to the weights).

Example:
    >>> import keras
    >>> net = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Conv2D(2, 3, padding="same"),
    ...                         keras.layers.Flatten(), keras.layers.Dense(3)])
    >>> forward_flops(net)   # conv: 2*9*1*2*16 + 32 bias; dense: 2*32*3 + 3 bias
    803
"""

from __future__ import annotations

import math

import keras
from keras import layers

TRAINING_FACTOR = 3  # forward + backward (input gradients) + weight gradients


def layer_flops(layer) -> int:
    """Forward FLOPs of one layer for one image (0 for layers not counted)."""
    if isinstance(layer, layers.Conv2DTranspose):  # before Conv2D: it is a subclass in some versions
        h, w, c_in = layer.input.shape[1:]
        kh, kw = layer.kernel_size
        out = math.prod(layer.output.shape[1:])
        return 2 * h * w * c_in * kh * kw * layer.filters + (out if layer.use_bias else 0)
    if isinstance(layer, layers.Conv2D):
        c_in = layer.input.shape[-1]
        kh, kw = layer.kernel_size
        out = math.prod(layer.output.shape[1:])
        return 2 * out * kh * kw * c_in // layer.groups + (out if layer.use_bias else 0)
    if isinstance(layer, layers.Dense):
        n_in, n_out = layer.input.shape[-1], layer.units
        return 2 * n_in * n_out + (n_out if layer.use_bias else 0)
    return 0


def forward_flops(model: keras.Model) -> int:
    """Forward FLOPs for one image, walking nested models (e.g. an encoder inside an autoencoder)."""
    total = 0
    for layer in model.layers:
        total += forward_flops(layer) if isinstance(layer, keras.Model) else layer_flops(layer)
    return total


def training_flops(model: keras.Model) -> int:
    """Approximate FLOPs of one training image: `TRAINING_FACTOR` x the forward pass."""
    return TRAINING_FACTOR * forward_flops(model)
