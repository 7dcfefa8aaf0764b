"""What the explorer shows: one panel per model, with its decoder and the test set's codes.

A panel's plane (`mnist_ae.explorer.plane`) is the code itself for 2-D codes, and otherwise the
first two principal components of the test codes.

Models come from the model cache and are never trained here: a missing one is a one-line error
naming the step that trains it.

Example::

    panel = autoencoder_panel(run)           # exercise 1's code plane
    panel.codes.shape                        # (10000, 2)
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
from keras import layers

from mnist_ae import preprocessing
from mnist_ae.models import code_models
from mnist_ae.cache import CacheError, ModelCache
from mnist_ae.pipeline.results import read_step_results
from mnist_ae.training import encode, train_autoencoder, train_vae

IMAGE = (28, 28)  # what the page draws: the MNIST pixels, without the exercises' 2-pixel border


@dataclasses.dataclass
class Panel:
    """One model in the page: `codes` (N, D) of the test images and `decoder`, which maps
    (N, D) codes to (N, 28, 28) pixel values in [0, 1] (exported to ONNX for the browser)."""

    name: str  # id and file stem, e.g. "vae16"
    title: str
    codes: np.ndarray
    decoder: keras.Model
    axes: tuple[str, str] = ("code 1", "code 2")


def view_decoder(decoder: keras.Model, code_size: int, sigmoid: bool = False, crop: int = 0) -> keras.Model:
    """(N, code_size) codes -> (N, 28, 28) pixel values in [0, 1] through `decoder`.

    `sigmoid`: the decoder gives logits (the Bernoulli VAE); `crop`: pixels of border to drop
    (the exercises' 32x32 inputs are MNIST padded by 2). The flat code is reshaped to the
    decoder's input shape, e.g. exercise 1's (1, 2, 1).
    """
    code = keras.Input((code_size,), name="code")
    x = layers.Reshape(tuple(decoder.input.shape[1:]), name="code_shape")(code)
    x = decoder(x)
    if sigmoid:
        x = layers.Activation("sigmoid", name="probabilities")(x)
    if crop:
        x = layers.Cropping2D(crop, name="mnist_pixels")(x)
    x = layers.Reshape(IMAGE, name="image")(x)
    return keras.Model(code, x, name=f"{decoder.name}_view")


class LoadOnly(ModelCache):
    """The model cache read-only: a model that is absent is an error naming the step to run."""

    def __init__(self, directory, step: str, quick: bool = False):
        super().__init__(directory)
        self.hint = f"run `bash run.sh run {step}{' --quick' if quick else ''}` first"

    def load_or_train(self, model, name, settings, train, parent=None, *, code):
        return self.load(model, name, settings, parent, missing=self.hint, code=code), True


def _cache(run, step: str) -> LoadOnly:
    return LoadOnly(run.cache.directory, step, run.args.quick)


def autoencoder_panel(run) -> Panel:
    """Exercise 1's autoencoder (its default recipe at this run's seed): the code plane."""
    ae = train_autoencoder(run.x_train, run.x_test, run.recipe("ex1_ae"), _cache(run, "exercise_1"))
    codes = encode(ae.encoder, run.x_test)
    return Panel("ae", "autoencoder (exercise 1): code plane", codes,
                 view_decoder(ae.decoder, codes.shape[1], crop=preprocessing.PAD))


def vae_panel(run, latent_dim: int) -> Panel:
    """The shared VAE of `latent_dim` (2-D: exercise 6's MSE VAE; larger: the likelihood study's
    Bernoulli VAE): its encoder means."""
    model = train_vae(run.x_train, run.x_test, run.recipe(f"vae_{latent_dim}d"),
                      _cache(run, f"vae_{latent_dim}d")).model  # the step that trains it
    means = np.asarray(model.encoder.predict(run.x_test, batch_size=2048, verbose=0)[0])
    decoder = view_decoder(model.decoder, latent_dim, sigmoid=model.likelihood == "bernoulli", crop=preprocessing.PAD)
    kind = "mean plane" if latent_dim == 2 else "means, first two principal components"
    axes = ("z mean 1", "z mean 2") if latent_dim == 2 else ("PC 1", "PC 2")
    return Panel(f"vae{latent_dim}", f"{latent_dim}-D VAE: {kind}", means, decoder, axes)


def finalist_panels(run) -> tuple[list[Panel], list[str]]:
    """The code-size study's finalists (AE8, AE32) when it has run: `(panels, why some are absent)`."""
    try:
        study = read_step_results(run.results, "code_size")
    except ValueError as e:
        return [], [f"no AE8/AE32 panels: {e}"]
    panels, skipped = [], []
    images = preprocessing.to_unpadded_input(run.x_test)
    for size in sorted(int(s) for s in study.get("finalists", {})):
        try:
            encoder, decoder, _ = code_models.load_finalist(_cache(run, "code_size"), study, size)
        except CacheError as e:
            skipped.append(f"no AE{size} panel: {e}")
            continue
        codes = encode(encoder, images)
        panels.append(Panel(f"ae{size}", f"AE{size} (code-size study): first two principal components",
                            codes, view_decoder(decoder, size), ("PC 1", "PC 2")))
    return panels, skipped
