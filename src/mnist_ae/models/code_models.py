"""Autoencoders of any code size for the code-size study: 2-4 convs, then 2-3 dense layers.

The architecture follows the second reference report (PyTorch): each conv has a kernel, a stride
and a zero padding of 0 or 1 pixel (PyTorch's `padding=p`, here `ZeroPadding2D(p)` + a valid
conv), channels double at each conv from the first layer's; dense layers of `hidden` units
(halved at each further layer) lead to a linear code of `code_size` units. The decoder mirrors
it: dense layers back to the last conv's shape, then transposed convs with the same kernel and
stride, each cropped by the padding (PyTorch's `ConvTranspose2d(padding=p)`), with the output
padding that restores the exact size. Hidden layers use the trial's activation and either batch
normalisation or decoupled weight decay (never both); the output is a sigmoid over 28x28 pixels
in [0, 1].

Example:
    >>> p = dict(EXAMPLE_PARAMS)
    >>> encoder, decoder, autoencoder = build(p, code_size=8)
    >>> tuple(encoder.output.shape), tuple(autoencoder.output.shape)
    ((None, 8), (None, 28, 28, 1))
    >>> conv_sizes(28, [(3, 2, 1)] * 3)
    [28, 14, 7, 4]
"""

from __future__ import annotations

import dataclasses

import keras
from keras import layers

IMAGE_SHAPE = (28, 28, 1)
MAX_CHANNELS = 128

@dataclasses.dataclass(frozen=True)
class CodeParams:
    """One trial's choices (the search space's names, `studies.search.SPACES`): the architecture
    and how it trains. The study and the result files store them as a plain dict
    (`dataclasses.asdict`), so cache keys and JSON do not depend on this class; `of` reads such a
    dict back and names any key that is missing or unknown.

    Example:
        >>> CodeParams.of(EXAMPLE_PARAMS).hidden
        256
        >>> CodeParams.of({"hidden": 8})
        Traceback (most recent call last):
        ...
        ValueError: code-size params: missing activation, batch_size, channels, conv_layers, dense_layers, kernel, learning_rate, max_epochs, optimizer, padding, patience, regularization, stride, weight_decay
    """

    conv_layers: int
    channels: int  # of the first conv; each further conv doubles it, up to MAX_CHANNELS
    kernel: int
    stride: int
    padding: int  # PyTorch's: zeros added on every side before a conv
    dense_layers: int  # with the code layer: hidden // 2**i units before it
    hidden: int
    activation: str
    optimizer: str
    learning_rate: float
    regularization: str  # "batchnorm" or "weight_decay"
    weight_decay: float
    max_epochs: int
    patience: int
    batch_size: int

    @classmethod
    def of(cls, params: CodeParams | dict) -> CodeParams:
        if isinstance(params, cls):
            return params
        names = [f.name for f in dataclasses.fields(cls)]
        missing = sorted(set(names) - set(params))
        unknown = sorted(set(params) - set(names))
        if missing or unknown:
            said = [f"missing {', '.join(missing)}"] * bool(missing) + [f"unknown {', '.join(unknown)}"] * bool(unknown)
            raise ValueError(f"code-size params: {'; '.join(said)}")
        return cls(**params)


EXAMPLE_PARAMS = {
    "conv_layers": 2, "channels": 16, "kernel": 3, "stride": 2, "padding": 1, "dense_layers": 2,
    "hidden": 256, "activation": "elu", "optimizer": "adam", "learning_rate": 2e-3,
    "regularization": "batchnorm", "weight_decay": 0.0, "max_epochs": 16, "patience": 4, "batch_size": 128,
}


class InvalidArchitecture(ValueError):
    """The convs shrink the image to nothing (e.g. four stride-2, kernel-5, unpadded convs)."""


def conv_sizes(size: int, convs) -> list[int]:
    """Spatial sizes through convs of `(kernel, stride, padding)`, PyTorch's formula.

    Raises `InvalidArchitecture` when a conv would get an input smaller than its kernel.
    """
    sizes = [size]
    for kernel, stride, padding in convs:
        padded = sizes[-1] + 2 * padding
        if padded < kernel:
            raise InvalidArchitecture(f"a {kernel}x{kernel} conv would get a {padded}x{padded} input")
        sizes.append((padded - kernel) // stride + 1)
    return sizes


def _activation(name: str, label: str):
    if name == "leaky_relu":
        return layers.LeakyReLU(negative_slope=0.01, name=label)
    return layers.Activation(name, name=label)


def _hidden_block(x, params, label: str):
    """Batch normalisation (if chosen) and the activation after a hidden layer."""
    if params.regularization == "batchnorm":
        x = layers.BatchNormalization(name=f"{label}_bn")(x)
    return _activation(params.activation, f"{label}_act")(x)


def _channels(params) -> list[int]:
    return [min(params.channels * 2**i, MAX_CHANNELS) for i in range(params.conv_layers)]


def _dense_widths(params) -> list[int]:
    return [max(params.hidden // 2**i, 1) for i in range(params.dense_layers - 1)]


def build(params: CodeParams | dict, code_size: int) -> tuple[keras.Model, keras.Model, keras.Model]:
    """`(encoder, decoder, autoencoder)` for trial `params` and `code_size` (uncompiled)."""
    params = CodeParams.of(params)
    k, s, p = params.kernel, params.stride, params.padding
    sizes = conv_sizes(IMAGE_SHAPE[0], [(k, s, p)] * params.conv_layers)
    channels = _channels(params)
    bias = params.regularization != "batchnorm"  # batch norm has its own shift

    image = keras.Input(IMAGE_SHAPE, name="image")
    x = image
    for i, c in enumerate(channels, start=1):
        x = layers.ZeroPadding2D(p, name=f"enc_pad{i}")(x) if p else x
        x = layers.Conv2D(c, k, strides=s, use_bias=bias, name=f"enc_conv{i}")(x)
        x = _hidden_block(x, params, f"enc_conv{i}")
    x = layers.Flatten(name="flatten")(x)
    for i, width in enumerate(_dense_widths(params), start=1):
        x = layers.Dense(width, use_bias=bias, name=f"enc_dense{i}")(x)
        x = _hidden_block(x, params, f"enc_dense{i}")
    code = layers.Dense(code_size, name="code")(x)
    encoder = keras.Model(image, code, name="encoder")

    code_in = keras.Input((code_size,), name="code_in")
    x = code_in
    for i, width in enumerate(reversed(_dense_widths(params)), start=1):
        x = layers.Dense(width, use_bias=bias, name=f"dec_dense{i}")(x)
        x = _hidden_block(x, params, f"dec_dense{i}")
    last = (sizes[-1], sizes[-1], channels[-1])
    x = layers.Dense(last[0] * last[1] * last[2], use_bias=bias, name="dec_unflatten")(x)
    x = _hidden_block(x, params, "dec_unflatten")
    x = layers.Reshape(last, name="dec_reshape")(x)
    outs = [*reversed(channels[:-1]), IMAGE_SHAPE[-1]]
    for i, (c, target) in enumerate(zip(outs, reversed(sizes[:-1])), start=1):
        # (n - 1) * s + k + extra == target + 2 p: `extra` < s is the remainder the conv dropped.
        extra = target + 2 * p - ((x.shape[1] - 1) * s + k)
        final = i == len(outs)
        x = layers.Conv2DTranspose(c, k, strides=s, output_padding=extra if s > 1 else None,
                                   use_bias=bias or final, name=f"dec_convT{i}")(x)
        x = layers.Cropping2D(p, name=f"dec_crop{i}")(x) if p else x
        x = _activation("sigmoid", "pixels")(x) if final else _hidden_block(x, params, f"dec_convT{i}")
    decoder = keras.Model(code_in, x, name="decoder")
    autoencoder = keras.Model(image, decoder(encoder(image)), name=f"ae{code_size}")
    return encoder, decoder, autoencoder


def optimizer(params: CodeParams | dict, schedule=None) -> keras.optimizers.Optimizer:
    """The trial's optimizer, with decoupled weight decay when that is its regularization."""
    params = CodeParams.of(params)
    rate = params.learning_rate if schedule is None else schedule
    decay = params.weight_decay if params.regularization == "weight_decay" else None
    kinds = {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop,
             "sgd": lambda **kw: keras.optimizers.SGD(momentum=0.9, nesterov=True, **kw)}
    return kinds[params.optimizer](learning_rate=rate, weight_decay=decay)


def cache_name(code_size: int) -> str:
    """Model-cache name of the study's finalist of `code_size` (e.g. `code-ae8`)."""
    return f"code-ae{code_size}"


def finalist_code() -> str:
    """Digest of the code that trains a finalist (`studies.search.train_finalist`, these builders
    and what they reach): part of its cache key, and of the keys of the models that start from it."""
    from mnist_ae import codehash

    return codehash.digest(["mnist_ae.studies.search"])


def finalist_key(code_size: int, settings: dict) -> str:
    """Cache key of the finalist of `code_size` trained with `settings` (the parent of its fine-tunings)."""
    from mnist_ae.cache import settings_key

    return settings_key(cache_name(code_size), settings, code=finalist_code())


def load_finalist(cache, study_results: dict, code_size: int) -> tuple[keras.Model, keras.Model, keras.Model]:
    """`(encoder, decoder, autoencoder)` of the code-size study's trained finalist of `code_size`.

    `study_results` is `code_size.json` (its `finalists[str(code_size)]` holds the params and
    the cache settings); the weights come from `cache` (a `ModelCache`). A missing model is a
    `CacheError` saying to run the code_size step first.
    """
    from mnist_ae.cache import CacheError

    try:
        info = study_results["finalists"][str(code_size)]
    except KeyError:
        raise CacheError(f"code_size.json has no finalist of code size {code_size}; "
                         f"rerun the code_size step") from None
    encoder, decoder, autoencoder = build(info["params"], code_size)

    def missing(_):
        raise CacheError(f"the code-size {code_size} finalist is not in the model cache {cache.directory}; "
                         f"run the code_size step first")

    cache.load_or_train(autoencoder, cache_name(code_size), info["settings"], missing, code=finalist_code())
    return encoder, decoder, autoencoder
