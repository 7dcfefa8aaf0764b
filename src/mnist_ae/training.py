"""Training recipes shared by the exercise scripts, with results cached by settings.

Example::

    config = AEConfig(epochs=1)
    trained = train_autoencoder(x_train, x_test, config, ModelCache(".cache/models"))
    trained.encoder.predict(x_test[:5]).shape   # (5, 1, 2, 1)
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
import time
import warnings
from pathlib import Path

import keras
import numpy as np

from mnist_ae import codehash, preprocessing
from mnist_ae.analysis import likelihood
from mnist_ae.models import constrained, losses, vae
from mnist_ae.atomic import atomic_write
from mnist_ae.cache import ModelCache, settings_key
from mnist_ae.errors import Interrupted


@dataclasses.dataclass(frozen=True)
class AEConfig:
    """Exercise 1 recipe (defaults are the full run's).

    Batch 32 rather than 64: the smaller batch's extra updates gave a lower test MSE for their
    time (docs/measurements.md). `output_bias` is the
    decoder's starting output bias (`constrained.OUTPUT_BIAS_INIT`: without it some seeds never train);
    it is part of the settings so models trained without it are not reused.
    """

    epochs: int = 15
    batch_size: int = 32
    learning_rate: float = 2e-3
    seed: int = 0
    output_bias: float = constrained.OUTPUT_BIAS_INIT


def recipe(config) -> dict:
    """A training config's settings without its seed: what runs must share to be compared across seeds.

    Example:
        >>> recipe(AEConfig(seed=3)) == recipe(AEConfig())
        True
    """
    return {k: v for k, v in dataclasses.asdict(config).items() if k != "seed"}


@dataclasses.dataclass(frozen=True)
class ClassifierConfig:
    """Exercise 4 recipe (defaults are the full run's).

    The assignment trains and tests on exactly its data, so `shift` is 0. `shift` > 0 trains on
    images randomly translated by up to that many pixels (a Keras RandomTranslation layer in
    front of the classifier during training only); the fine-tuning study uses it.
    """

    epochs: int = 15
    batch_size: int = 128
    learning_rate: float = 4e-3
    seed: int = 0
    shift: int = 0


class IterationLoss(keras.callbacks.Callback):
    """Record the training loss along the iterations: one value per call of the train function.

    A call runs `steps_per_execution` batches and Keras then reports the running mean of the
    epoch so far; the mean loss of just those batches is recovered from two consecutive running
    means weighted by the samples seen. `losses[i]` is that mean and `steps[i]` the global
    iteration it ends at (with `steps_per_execution=1`, every batch's own loss).
    """

    def __init__(self, batch_size: int, n_samples: int):
        super().__init__()
        self.batch_size, self.n_samples = batch_size, n_samples
        self.losses: list[float] = []
        self.steps: list[int] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._seen, self._mean, self._last_batch = 0, 0.0, -1
        self._first_step = epoch * math.ceil(self.n_samples / self.batch_size)

    def on_train_batch_end(self, batch, logs=None):
        size = min(self.batch_size * (batch - self._last_batch), self.n_samples - self._seen)
        mean = float(logs["loss"])
        total = mean * (self._seen + size) - self._mean * self._seen
        self._seen, self._mean, self._last_batch = self._seen + size, mean, batch
        self.losses.append(total / size)
        # Counted from the samples: Keras reports a short last call as if it ran all its steps.
        self.steps.append(self._first_step + math.ceil(self._seen / self.batch_size))


# Batches per call of the compiled train function: fewer Python round trips, about a third off an
# epoch of these small networks (docs/measurements.md).
STEPS_PER_EXECUTION = 25


def cosine_rate(learning_rate: float, epochs: int, steps_per_epoch: int, floor: float = 0.05):
    """A rate annealed along a cosine from `learning_rate` to `floor` times it over `epochs` epochs.

    Example:
        >>> rate = cosine_rate(1e-2, epochs=2, steps_per_epoch=5, floor=0.1)
        >>> [round(float(rate(s)), 4) for s in (0, 5, 10)]
        [0.01, 0.0055, 0.001]
    """
    return keras.optimizers.schedules.CosineDecay(learning_rate, epochs * steps_per_epoch, alpha=floor)


# XLA for the compiled train/test steps. Keras turns it off by default on CPU-only machines.
JIT_COMPILE = False


def compile_model(model, optimizer, **compile_kwargs) -> None:
    """The project's one way to compile a model for training: `optimizer`, `STEPS_PER_EXECUTION`
    batches per call of the compiled train function, XLA as `JIT_COMPILE` says. Extra arguments
    (loss, metrics) go to `model.compile`."""
    with warnings.catch_warnings():
        # A model with an augmentation layer cannot be XLA-compiled; Keras then warns and compiles
        # it without XLA, which is what we want.
        warnings.filterwarnings("ignore", message="Model doesn't support `jit_compile=True`")
        model.compile(optimizer, steps_per_execution=STEPS_PER_EXECUTION, jit_compile=JIT_COMPILE, **compile_kwargs)


def compile_for_training(model, config, n_train: int, **compile_kwargs) -> None:
    """`compile_model` with Adam on `cosine_rate` for `config` (epochs, batch size, rate) on
    `n_train` images: the recipe of the exercises' models, the VAEs and the fine-tuned heads."""
    steps = math.ceil(n_train / config.batch_size)
    compile_model(model, keras.optimizers.Adam(cosine_rate(config.learning_rate, config.epochs, steps)),
                  **compile_kwargs)


@dataclasses.dataclass(frozen=True)
class Stopping:
    """How a reported model stops: on its validation curve, never on the epoch cap alone.

    `callback()` is Keras's `EarlyStopping` on `monitor` with the best epoch's weights restored
    (Keras restores them at the end of training whether or not it stopped early); `record()`
    says afterwards how many epochs trained and why it stopped. A run that reaches its epoch cap
    counts as converged only when its last `window` epochs improved the best value by under
    `flat` an epoch on average (relative; for an accuracy, relative to the error rate). With
    `start` > 0 the first `start` epochs are not watched (Keras's `start_from_epoch`): early on,
    at a high rate, a few epochs without a better value are noise, not convergence; the weights
    kept and `best_epoch` are the best watched epoch's.

    Example:
        >>> rule = Stopping(patience=2, cap=10)
        >>> rule.record([0.5, 0.3, 0.29, 0.31, 0.30])["stopped"]
        'early stopping: no better val_loss for 2 epochs after epoch 3 (its weights restored)'
        >>> rule.record([0.5, 0.3, 0.2, 0.15, 0.149, 0.1485, 0.148, 0.1479, 0.1478, 0.1477])["converged"]
        True
        >>> Stopping(patience=2, cap=3).record([0.5, 0.3, 0.2])["stopped"]
        'epoch cap 3 reached; the last 2 epochs improved the best val_loss by 60.00 % (30.00 % an epoch: still improving)'
        >>> Stopping(patience=2, cap=1, monitor="val_accuracy", mode="max").record([0.9])["converged"]
        False
        >>> Stopping(patience=1, cap=10, start=3).record([0.5, 0.2, 0.3, 0.25, 0.26])["best_epoch"]
        4
    """

    patience: int
    cap: int  # the most epochs it may train
    monitor: str = "val_loss"
    mode: str = "min"  # "max" for an accuracy
    window: int = 2
    flat: float = 0.01
    start: int = 0  # epochs not watched at the beginning

    def __post_init__(self):
        for name in ("patience", "cap", "window", "start"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
                raise ValueError(f"Stopping: {name} must be a non-negative whole number, got {value!r}")
        if self.mode not in ("min", "max"):
            raise ValueError(f"Stopping: mode must be 'min' or 'max', got {self.mode!r}")

    def callback(self) -> keras.callbacks.EarlyStopping:
        return keras.callbacks.EarlyStopping(self.monitor, patience=self.patience, mode=self.mode,
                                             restore_best_weights=True, start_from_epoch=self.start)

    def record(self, values) -> dict:
        """`{"epochs_trained", "epoch_cap", "best_epoch", "monitor", "best", "converged", "stopped"}`
        for the per-epoch `values` of `monitor`."""
        values = [float(v) for v in values]
        loss = values if self.mode == "min" else [1.0 - v for v in values]  # error rate for an accuracy
        n = len(values)
        watched = self.start if self.start < n else 0
        best = watched + int(np.argmin(loss[watched:]))
        out = {"epochs_trained": n, "epoch_cap": self.cap, "best_epoch": best + 1, "monitor": self.monitor,
               "best": values[best], **({"watched_from_epoch": self.start + 1} if self.start else {})}
        if n < self.cap:
            return {**out, "converged": True,
                    "stopped": f"early stopping: no better {self.monitor} for {self.patience} epochs after "
                               f"epoch {best + 1} (its weights restored)"}
        if n <= self.window:
            return {**out, "converged": False,
                    "stopped": f"epoch cap {self.cap} reached after {n} epoch(s): too few to tell whether it converged"}
        before = min(loss[:-self.window])
        gain = (before - min(loss)) / before if before > 0 else 0.0
        converged = gain / self.window < self.flat
        return {**out, "converged": converged, "last_epochs_gain": gain,
                "stopped": f"epoch cap {self.cap} reached; the last {self.window} epochs improved the best "
                           f"{self.monitor} by {100 * gain:.2f} % ({100 * gain / self.window:.2f} % an epoch: "
                           f"{'flat' if converged else 'still improving'})"}


def fixed_budget_record(history: dict) -> dict:
    """The stopping record of a model trained for a fixed number of epochs with its rate annealed
    (the exercises' models, whose recipe or assignment fixes the epochs): whether its test curve
    had flattened by the last epochs. Nothing stops on the test set; the record only reports.

    Example:
        >>> fixed_budget_record({"val_loss": [3.0, 2.0, 1.99, 1.985]})["converged"]
        True
    """
    epochs = len(history["val_loss"])
    return Stopping(patience=epochs, cap=epochs).record(history["val_loss"])


STATE_FILE = "state.json"  # names the newest checkpoint of a `fit(..., checkpoint_dir=...)` run

# What an `EarlyStopping` knows at the end of an epoch besides its best weights: saved with each
# checkpoint so a resumed run stops where an uninterrupted one would, on the same best epoch.
EARLY_STOPPING_STATE = ("wait", "best", "best_epoch", "stopped_epoch")


def _plain(value):
    """A callback's number as JSON can hold it (NumPy scalars, infinities as floats; None stays)."""
    return None if value is None else float(value) if isinstance(value, (float, np.floating)) else int(value)


class EpochCheckpoint(keras.callbacks.Callback):
    """After every epoch, save weights + optimizer state, the record so far and the state of the
    run's early stopping into `directory`; at the start of a resumed run, put that state back.

    Each epoch's files are new (its weights, and the best weights each `EarlyStopping` keeps) and
    `state.json`, written after them, names them: a kill at any moment leaves a consistent set
    (older files are removed after the switch). It must come after the `stopping` callbacks in
    the list Keras gets, so that it saves what they decided at the epoch's end and restores their
    state after their own `on_train_begin` has reset it. Keras's `BackupAndRestore` saves the
    weights, optimizer and epoch only: its resumed `EarlyStopping` starts afresh.
    """

    def __init__(self, directory: Path, iterations: IterationLoss, record: dict,
                 stopping: tuple[keras.callbacks.EarlyStopping, ...] = (), restored: dict | None = None):
        super().__init__()
        self.directory, self.iterations, self.record = Path(directory), iterations, record
        self.stopping, self.restored = tuple(stopping), restored

    def on_train_begin(self, logs=None):
        if self.restored is None:
            return
        saved = self.restored.get("early_stopping", [])
        if len(saved) != len(self.stopping):
            raise ValueError(f"the checkpoint in {self.directory} holds {len(saved)} early stopping state(s) where "
                             f"this run has {len(self.stopping)}; delete that folder (or rerun with --retrain) "
                             "to train afresh")
        for callback, state in zip(self.stopping, saved):
            for name in EARLY_STOPPING_STATE:
                setattr(callback, name, state[name])
            if state["best_weights"] is not None:
                with np.load(self.directory / state["best_weights"]) as arrays:
                    callback.best_weights = [arrays[f"arr_{i}"] for i in range(len(arrays.files))]

    def on_epoch_end(self, epoch, logs=None):
        if not all(math.isfinite(float(v)) for v in (logs or {}).values()):
            return  # TerminateOnNaN is stopping the run: keep the last good checkpoint
        for key, value in (logs or {}).items():
            self.record.setdefault(key, []).append(float(value))
        weights = self.directory / f"epoch-{epoch + 1}.weights.h5"
        with atomic_write(weights) as tmp:
            self.model.save_weights(tmp)
        stopping = []
        for i, callback in enumerate(self.stopping):
            best = None
            if callback.best_weights is not None:
                best = f"epoch-{epoch + 1}.best-{i}.npz"
                with atomic_write(self.directory / best) as tmp, open(tmp, "wb") as f:
                    np.savez(f, *callback.best_weights)
            stopping.append({**{n: _plain(getattr(callback, n)) for n in EARLY_STOPPING_STATE}, "best_weights": best})
        state = {"epoch": epoch + 1, "weights": weights.name, "stopped": bool(self.model.stop_training),
                 "early_stopping": stopping,
                 "record": {**self.record, "iteration_loss": self.iterations.losses,
                            "iteration_step": self.iterations.steps}}
        with atomic_write(self.directory / STATE_FILE) as tmp:
            tmp.write_text(json.dumps(state))
        kept = {weights.name, *(s["best_weights"] for s in stopping)}
        for old in [*self.directory.glob("epoch-*.weights.h5"), *self.directory.glob("epoch-*.best-*.npz")]:
            if old.name not in kept:
                old.unlink()


def resume(model, directory: Path) -> dict | None:
    """Restore weights and optimizer state from an `EpochCheckpoint` folder; its `state.json`
    (`epoch`, `record`, `stopped`, `early_stopping`), or None when there is nothing to resume."""
    state_path = Path(directory) / STATE_FILE
    if not state_path.is_file():
        return None
    state = json.loads(state_path.read_text())
    model.optimizer.build(model.trainable_variables)  # so its saved variables have a place
    model.load_weights(Path(directory) / state["weights"])
    return state


def fit(model, x, y, *, epochs: int, batch_size: int, validation_data=None, checkpoint_dir=None,
        callbacks=(), verbose: int = 2) -> dict:
    """`model.fit` with NaN guard, per-iteration loss and optional resumable checkpoints.

    With `validation_data` the validation set is evaluated after every epoch, so the returned
    JSON-able history has both train and test curves. With `checkpoint_dir`, every finished
    epoch is checkpointed there and a rerun continues from the last one (the record says
    `resumed_from_epoch`), its `EarlyStopping` callbacks where they were: the same best weights,
    best value and patience count, and a run that had already stopped trains no further.
    `callbacks` are added to the project's own (e.g. early stopping or a pruning callback).
    Ctrl-C raises `Interrupted` saying how many epochs are safe.
    """
    state = None if checkpoint_dir is None else resume(model, checkpoint_dir)
    done, record = (0, {}) if state is None else (state["epoch"], state["record"])
    iterations = IterationLoss(batch_size, len(x))
    iterations.losses = list(record.pop("iteration_loss", []))
    iterations.steps = list(record.pop("iteration_step", []))
    own = [iterations, keras.callbacks.TerminateOnNaN()]
    last = []
    if checkpoint_dir is not None:
        Path(checkpoint_dir).mkdir(parents=True, exist_ok=True)
        stopping = tuple(c for c in callbacks if isinstance(c, keras.callbacks.EarlyStopping))
        last.append(EpochCheckpoint(checkpoint_dir, iterations, record, stopping, restored=state))
    # A run that early stopping had ended is only finished: no epoch runs, and Keras's
    # `on_train_end` puts the best weights back as it would have.
    until = done if state is not None and state.get("stopped") else epochs
    try:
        history = model.fit(
            x, y, epochs=until, initial_epoch=done, batch_size=batch_size, validation_data=validation_data,
            verbose=verbose, callbacks=[*own, *callbacks, *last],
        )
    except KeyboardInterrupt:
        if checkpoint_dir is None:
            finished = len(getattr(model.history, "epoch", []))
            raise Interrupted(f"interrupted after epoch {finished} of {epochs} (not checkpointed: a rerun "
                              "starts this training again)") from None
        # What is safe is what the checkpoint names (the interrupt may land between its write and Keras's log).
        state_path = Path(checkpoint_dir) / STATE_FILE
        finished = json.loads(state_path.read_text())["epoch"] if state_path.is_file() else 0
        raise Interrupted(f"interrupted after epoch {finished} of {epochs}; rerun the same command to resume "
                          "from there") from None
    # TerminateOnNaN ends the epoch it fires in, and Keras still logs that epoch's loss.
    if not all(math.isfinite(float(v)) for v in history.history.get("loss", [])):
        raise FloatingPointError("training stopped: the loss became NaN or infinite (lower the learning rate)")
    if checkpoint_dir is None:
        record = {k: [float(v) for v in vals] for k, vals in history.history.items()}
    record["iteration_loss"], record["iteration_step"] = iterations.losses, iterations.steps
    if done:
        record["resumed_from_epoch"] = done
    return record


@dataclasses.dataclass
class Trained:
    """What every `train_*` returns: the trained `model`, its training record (`history`, with
    `train_seconds`), whether it came from the cache, and its cache key (the `parent` of models
    initialised from it). `encoder` and `decoder` are the model's parts where it has them."""

    model: keras.Model
    history: dict
    cached: bool
    key: str
    encoder: keras.Model | None = None
    decoder: keras.Model | None = None


def model_code() -> str:
    """Digest of the code the exercises' models and the VAEs reach (this module, their builders and
    losses, preprocessing): part of their cache keys (`codehash.digest`)."""
    return codehash.digest([__name__])


def load_or_train(cache: ModelCache | None, model: keras.Model, name: str, settings: dict, train,
                  parent: str | None = None, code: str | None = None) -> tuple[dict, bool]:
    """`cache.load_or_train(...)`, or without a cache `train(None)`: training never needs a cache
    (a cache only saves retraining and lets an interrupted run resume from its checkpoints).
    `code` is the digest of the code that trains the model (default: `model_code()`).
    Returns (training record with `train_seconds`, whether it came from the cache)."""
    if cache is not None:
        return cache.load_or_train(model, name, settings, train, parent=parent, code=code or model_code())
    started = time.perf_counter()
    return {**train(None), "train_seconds": round(time.perf_counter() - started, 2)}, False


def train_autoencoder(x_train, x_test, config: AEConfig, cache: ModelCache | None = None) -> Trained:
    """Build the Ex1 autoencoder and train it with MSE, or load it from `cache`."""
    keras.utils.set_random_seed(config.seed)
    encoder, decoder = constrained.build_encoder(), constrained.build_decoder(output_bias=config.output_bias)
    autoencoder = constrained.build_autoencoder(encoder, decoder)
    settings = {**dataclasses.asdict(config), "n_train": len(x_train)}
    key = settings_key("autoencoder", settings, code=model_code())

    def train(checkpoint_dir):
        # Compiled only to train: a cache hit loads weights into an optimizer-free model.
        compile_for_training(autoencoder, config, len(x_train), loss="mse")
        return fit(autoencoder, x_train, x_train, epochs=config.epochs, batch_size=config.batch_size,
                   validation_data=(x_test, x_test), checkpoint_dir=checkpoint_dir)

    history, cached = load_or_train(cache, autoencoder, "autoencoder", settings, train)
    return Trained(autoencoder, history, cached, key, encoder, decoder)


def train_classifier(x_train, y_train, x_test, y_test, config: ClassifierConfig, cache: ModelCache | None = None,
                     encoder: keras.Model | None = None, parent: str | None = None) -> Trained:
    """Build the Ex4 classifier and train it with cross-entropy, or load it.

    From a fresh encoder, or from `encoder` (e.g. a trained one, to fine-tune), in which case
    `parent` must be that encoder's cache key so the cached classifier is tied to it.
    Returns a `Trained` whose history has train and test loss/accuracy.
    """
    if (encoder is None) != (parent is None):
        raise ValueError("a given encoder needs its cache key as `parent` (and a parent needs the encoder)")
    keras.utils.set_random_seed(config.seed)
    classifier = constrained.build_classifier(encoder)
    trainee = classifier
    if config.shift:
        factor = config.shift / x_train.shape[1]
        augment = keras.layers.RandomTranslation(factor, factor, fill_mode="constant", seed=config.seed)
        trainee = keras.Sequential([keras.Input(x_train.shape[1:]), augment, classifier], name="augmented")
    one_hot = lambda y: keras.utils.to_categorical(y, 10)  # noqa: E731
    settings = {**dataclasses.asdict(config), "n_train": len(x_train)}

    def train(checkpoint_dir):
        compile_for_training(trainee, config, len(x_train), loss="categorical_crossentropy", metrics=["accuracy"])
        return fit(trainee, x_train, one_hot(y_train), epochs=config.epochs, batch_size=config.batch_size,
                   validation_data=(x_test, one_hot(y_test)), checkpoint_dir=checkpoint_dir)

    history, cached = load_or_train(cache, classifier, "classifier", settings, train, parent=parent)
    return Trained(classifier, history, cached, settings_key("classifier", settings, parent, code=model_code()))


def encode(encoder: keras.Model, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Codes of `x` flattened to (N, code size), whatever the encoder's output shape.

    The exercise 1 encoder's (1, 2, 1) code gives (N, 2).
    """
    return encoder.predict(x, batch_size=batch_size, verbose=0).reshape(len(x), -1)


def decode(decoder: keras.Model, codes: np.ndarray) -> np.ndarray:
    """Decode flat (N, code size) `codes` in one batch, reshaped to the decoder's input shape."""
    codes = np.asarray(codes, dtype=np.float32)
    shape = tuple(decoder.input.shape[1:])
    if codes.shape[1] != int(np.prod(shape)):
        raise ValueError(f"codes have {codes.shape[1]} numbers, the decoder takes {shape}")
    return np.asarray(decoder.predict(codes.reshape(-1, *shape), batch_size=max(1, len(codes)), verbose=0))


def vae_recipe(latent_dim: int, seed: int = 0, likelihood: str | None = None) -> vae.VAEConfig:
    """The VAE of `latent_dim` that the job trains once and its steps share (cached).

    2-D: exercise 6's VAE as the assignment asks, exercise 1's squared error plus the KL term
    (`likelihood="gaussian"`), the assignment's 30 epochs on the CPU-sized net (16 filters,
    128 units: with a 2-D code the code is the bottleneck, not the net). Larger: the likelihood
    study's Bernoulli VAE, whose ELBO in nats compares with published ones; a larger code needs
    a wider dense layer (256 units) but not wider convs, and it levels off in 12 epochs (the
    measurements are in `docs/speed.md`). `likelihood` asks for the other kind at that size
    (e.g. a 2-D Bernoulli VAE for the likelihood study).

    Example:
        >>> vae_recipe(2).likelihood, vae_recipe(16).likelihood, vae_recipe(16).hidden, vae_recipe(16).epochs
        ('gaussian', 'bernoulli', 256, 12)
        >>> vae_recipe(2, likelihood="bernoulli").epochs
        30
    """
    likelihood = likelihood or ("gaussian" if latent_dim <= 2 else "bernoulli")
    if likelihood not in vae.LIKELIHOODS:
        raise ValueError(f"likelihood must be one of {vae.LIKELIHOODS}, got {likelihood!r}")
    shape = dict(epochs=30, hidden=vae.HIDDEN) if latent_dim <= 2 else dict(epochs=12, hidden=256)
    return vae.VAEConfig(batch_size=128, learning_rate=2e-3, seed=seed, latent_dim=latent_dim, likelihood=likelihood,
                     filters=vae.FILTERS, **shape)


def train_vae(x_train, x_test, config: vae.VAEConfig, cache: ModelCache | None = None) -> Trained:
    """Build the VAE of `config` and train it on `mean(reconstruction + beta * KL)`, or load it.

    The Gaussian (MSE) VAE trains as exercise 6 asks: `vae.build_mse_vae` compiled with exercise 1's
    squared error as its loss (the KL comes from the model). The Bernoulli VAE trains through
    `VAE.train_step` (dynamic binarization) and is evaluated on the likelihood study's fixed
    binarization of `x_test`. `x_test` (grey levels) is evaluated after every epoch: the history
    has `loss`, `reconstruction_loss` and `kl_loss`, per image, and their `val_` twins.
    Returns a `Trained` whose model is a `vae.VAE` either way.
    """
    model = vae.build(config)
    settings = {**dataclasses.asdict(config), "n_train": len(x_train)}

    def train(checkpoint_dir):
        if config.likelihood == "bernoulli":
            compile_for_training(model, config, len(x_train))
            return fit(model, x_train, None, epochs=config.epochs, batch_size=config.batch_size,
                       validation_data=(likelihood.binarized_test_set(x_test),), checkpoint_dir=checkpoint_dir)
        trainee = vae.build_mse_vae(model.encoder, model.decoder, beta=config.beta)
        squared_error = losses.squared_error_loss(border=preprocessing.PAD)
        compile_for_training(trainee, config, len(x_train), loss=squared_error,
                             metrics=[keras.metrics.MeanMetricWrapper(squared_error, name="reconstruction_loss")])
        history = fit(trainee, x_train, x_train, epochs=config.epochs, batch_size=config.batch_size,
                      validation_data=(x_test, x_test), checkpoint_dir=checkpoint_dir)
        for prefix in ("", "val_"):  # Keras logs the total and the squared error; the KL is their difference
            history[f"{prefix}kl_loss"] = [(t - r) / config.beta for t, r in
                                           zip(history[f"{prefix}loss"], history[f"{prefix}reconstruction_loss"])]
        return history

    name = f"vae{config.latent_dim}-{config.likelihood}"
    history, cached = load_or_train(cache, model, name, settings, train)
    return Trained(model, history, cached, settings_key(name, settings, code=model_code()), model.encoder,
                   model.decoder)
