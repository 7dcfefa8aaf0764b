"""Builders for the exercise 1 autoencoder and the exercise 4 classifier.

Geometry: MNIST is zero-padded to 32x32 (see `mnist_ae.preprocessing`) so that every conv can
be followed by a x2 pooling: four 2x2 pools take 32x32 to 2x2, and a final (2,1) pool gives the
required code of shape (1, 2, 1). The decoder mirrors it with a x2 upsampling after every
transposed conv, back to 32x32.

Example:
    >>> encoder = build_encoder()
    >>> tuple(encoder.output.shape)
    (None, 1, 2, 1)
"""

from __future__ import annotations

import keras
from keras import layers

INPUT_SHAPE = (32, 32, 1)
CODE_SHAPE = (1, 2, 1)
FILTERS = 16
KERNEL = 3
# The code is ReLU(conv) of a single filter: start its bias positive so the two code units begin
# in the ReLU's live range; with a zero bias most of one coordinate stays at exactly 0
# (docs/measurements.md).
CODE_BIAS_INIT = 0.5
# The image is ReLU(transposed conv) too, and a decoder whose last pre-activation starts negative
# almost everywhere never recovers: the reconstruction is 0 and no gradient flows. A bias of 0.1
# (about MNIST's mean pixel) starts every output pixel live; a zero bias left some seeds dead
# (docs/measurements.md).
OUTPUT_BIAS_INIT = 0.1
# Pool (encoder) / upsample (decoder) factor after each conv: 32 -> 16 -> 8 -> 4 -> 2 -> (1, 2).
ENCODER_POOLS = ((2, 2), (2, 2), (2, 2), (2, 2), (2, 1))
DECODER_UPSAMPLES = tuple(reversed(ENCODER_POOLS))


def build_encoder(input_shape=INPUT_SHAPE, filters: int = FILTERS, name: str = "encoder") -> keras.Model:
    """Ex1 encoder: five Conv2D(3x3, same) + ReLU + MaxPooling blocks; the last conv has 1 filter."""
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    for i, pool in enumerate(ENCODER_POOLS, start=1):
        last = i == len(ENCODER_POOLS)
        bias = keras.initializers.Constant(CODE_BIAS_INIT if last else 0.0)
        x = layers.Conv2D(1 if last else filters, KERNEL, padding="same", bias_initializer=bias,
                          name=f"enc_conv{i}")(x)
        x = layers.ReLU(name=f"enc{i}_relu")(x)
        x = layers.MaxPooling2D(pool, name=f"enc{i}_pool")(x)
    return keras.Model(inputs, x, name=name)


def build_decoder(code_shape=CODE_SHAPE, filters: int = FILTERS, name: str = "decoder",
                  output_bias: float = OUTPUT_BIAS_INIT) -> keras.Model:
    """Ex1 decoder: five Conv2DTranspose(3x3, same) + ReLU + UpSampling blocks; the last has 1 filter
    and its bias starts at `output_bias` (see `OUTPUT_BIAS_INIT`).

    Upsampling is bilinear: after the last 1-filter conv at 16x16, nearest-neighbour upsampling
    would print 2x2 blocks into every reconstruction.
    """
    inputs = keras.Input(shape=code_shape, name="code")
    x = inputs
    for i, size in enumerate(DECODER_UPSAMPLES, start=1):
        last = i == len(DECODER_UPSAMPLES)
        bias = keras.initializers.Constant(output_bias if last else 0.0)
        x = layers.Conv2DTranspose(1 if last else filters, KERNEL, padding="same", bias_initializer=bias,
                                   name=f"dec_convT{i}")(x)
        x = layers.ReLU(name=f"dec{i}_relu")(x)
        x = layers.UpSampling2D(size, interpolation="bilinear", name=f"dec{i}_up")(x)
    return keras.Model(inputs, x, name=name)


def build_autoencoder(encoder: keras.Model | None = None, decoder: keras.Model | None = None) -> keras.Model:
    """Chain encoder and decoder into one model mapping images to reconstructions."""
    encoder = encoder or build_encoder()
    decoder = decoder or build_decoder(encoder.output.shape[1:])
    inputs = keras.Input(shape=encoder.input.shape[1:], name="image")
    return keras.Model(inputs, decoder(encoder(inputs)), name="autoencoder")


def build_classifier(encoder: keras.Model | None = None, num_classes: int = 10) -> keras.Model:
    """Ex4: the encoder with its last conv + ReLU + pooling replaced by Flatten + Dense softmax.

    Reuses the given encoder's layers (and weights) up to the last block; a fresh encoder
    is built when none is given.
    """
    encoder = encoder or build_encoder()
    last_conv = next(l for l in reversed(encoder.layers) if isinstance(l, layers.Conv2D))
    cut = encoder.layers.index(last_conv)
    inputs = keras.Input(shape=encoder.input.shape[1:], name="image")
    x = inputs
    for layer in encoder.layers[1:cut]:
        x = layer(x)
    x = layers.Flatten(name="flatten")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="softmax")(x)
    return keras.Model(inputs, outputs, name="classifier")
