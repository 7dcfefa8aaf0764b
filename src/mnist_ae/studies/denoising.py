"""The denoising study's models: the code-size study's AE32 fine-tuned to undo a corruption.

A denoiser is the AE32 (same architecture, starting from its trained weights) with a
corruption layer in front that acts only in training (a fresh corruption every batch, the clean
image as the target), stopped on the validation images corrupted once from a fixed seed. Its
cache key names the AE32 it starts from, its config and this code.

Example::

    config = DenoiserConfig()
    autoencoder, history, cached, stopping = train_denoiser(cache, study, "gaussian", config, x, x_val)
"""

from __future__ import annotations

import dataclasses

import keras

from mnist_ae import codehash, training
from mnist_ae.models import code_models, corruption

CODE_SIZE = 32  # whose finalist is fine-tuned
TEST_CORRUPTION_SEED = 2024  # the one corrupted test set every model is scored on
VALIDATION_CORRUPTION_SEED = 2025  # the corrupted validation set the denoisers stop on


@dataclasses.dataclass(frozen=True)
class DenoiserConfig:
    """Each denoiser's recipe: fine-tuned from the AE32 at a rate annealed over at most `epochs`
    epochs, stopped early when the corrupted validation set's MSE has not improved for `patience`.
    Ten epochs: at six both denoisers were still improving, at ten they had flattened
    (docs/measurements.md). `sigma`: the Gaussian noise's standard deviation (training and test)."""

    epochs: int = 10
    patience: int = 2
    batch_size: int = 128
    learning_rate: float = 2e-3
    seed: int = 0
    sigma: float = 0.1


def train_denoiser(cache, study: dict, kind: str, config: DenoiserConfig, x, x_val):
    """The AE32 of `study` (`code_size.json`) fine-tuned to undo corruption `kind`, or loaded
    from `cache`: `(autoencoder, history, was_cached, stopping record)`.

    `x_val` (clean) is corrupted once with `VALIDATION_CORRUPTION_SEED` for early stopping.
    """
    info = study["finalists"][str(CODE_SIZE)]
    keras.utils.set_random_seed(config.seed)
    _, _, autoencoder = code_models.load_finalist(cache, study, CODE_SIZE)
    params = {**info["params"], "learning_rate": config.learning_rate}
    trainee = keras.Sequential([keras.Input(x.shape[1:]),
                                corruption.corruption_layer(kind, config.sigma, seed=config.seed), autoencoder],
                               name=f"denoise_{kind}")
    settings = {"corruption": kind, "sigma": config.sigma if kind == "gaussian" else None, "epochs": config.epochs,
                "patience": config.patience, "batch_size": config.batch_size,
                "learning_rate": config.learning_rate, "seed": config.seed, "n_train": len(x), "n_val": len(x_val)}
    rule = training.Stopping(patience=config.patience, cap=config.epochs)
    corrupted_val = corruption.corrupt_once(x_val, kind, seed=VALIDATION_CORRUPTION_SEED, sigma=config.sigma)

    def train(checkpoint_dir):
        schedule = training.cosine_rate(config.learning_rate, config.epochs, -(-len(x) // config.batch_size),
                                        floor=0.02)
        training.compile_model(trainee, code_models.optimizer(params, schedule), loss="mse")
        return training.fit(trainee, x, x, epochs=config.epochs, batch_size=config.batch_size,
                            validation_data=(corrupted_val, x_val), checkpoint_dir=checkpoint_dir,
                            callbacks=(rule.callback(),), verbose=2)

    history, cached = cache.load_or_train(autoencoder, f"denoise-{kind}", settings, train,
                                          parent=code_models.finalist_key(CODE_SIZE, info["settings"]),
                                          code=codehash.digest([__name__]))
    return autoencoder, history, cached, rule.record(history["val_loss"])
