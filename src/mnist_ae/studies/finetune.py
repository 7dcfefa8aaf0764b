"""Fine-tuning a pretrained encoder for classification: variants, frozen features, label subsets.

A variant says how much of the encoder stays frozen (`cut`: the layer whose output the trainable
part starts from) and what head goes on top. The frozen part is run once over the data
(keras-io's "feature extraction": the same numbers as freezing it in the model, since frozen
batch norm runs in inference mode either way, at a fraction of the time); the trainable part is
the encoder's layers after `cut` (copies of the pretrained weights) followed by the head.

Example::

    encoder, _, _ = code_models.load_finalist(cache, study, 32)
    frozen, trainable = split_at(encoder, variants(encoder)["frozen + linear"].cut, head=())
    features = frozen.predict(x)            # (N, 32): the codes
    trainable.fit(features, y, ...)         # a linear softmax classifier on them
"""

from __future__ import annotations

import dataclasses
import json
import time

import keras
import numpy as np
from keras import layers

@dataclasses.dataclass(frozen=True)
class FinetuneConfig:
    """The study's recipe: `epochs` caps the heads' epochs and `conv_epochs` the networks that
    train the convolutions on 10 000 or more images an epoch (their epochs cost 20x more); each
    stops when its validation accuracy has not improved for `patience` epochs (`conv_patience`
    for the convolutional networks, watched from half their cap: `conv_watch_start`). The rate
    decays along a cosine to 5 % at the cap, so a run that reaches its cap ends on small steps
    and is judged on its last epochs' gain (`training.Stopping`). A rate of 3e-3 rather than
    1e-3: every head reached a higher validation accuracy at the same cap. The heads' cap is 30:
    at 20, "last 1 unfrozen" (then under a linear head) was still improving, and a head's epoch
    costs well under a second. The convolutional networks' cap is 30 too: at 20 both networks
    trained from scratch on 10 000 and on all labels reached it still improving; at 30 every
    network stops on its validation curve (docs/measurements.md). `refit`: train the chosen
    variant again on the training and validation images together, for its best epochs, before
    testing it (the reference report's protocol)."""

    epochs: int = 30
    batch_size: int = 256
    learning_rate: float = 3e-3
    seed: int = 0
    patience: int = 5
    conv_epochs: int = 30
    conv_patience: int = 3
    shift: int = 2  # pixels of random translation where the images reach the trainable part
    tile: int = 2048  # a small label subset is repeated to at least this many images per epoch
    refit: bool = False


def fit_classifier(cache, model: keras.Model, name: str, settings: dict, x, y, validation, config,
                   patience: int, start: int = 0, parent: str | None = None) -> tuple[dict, bool]:
    """Train `model` (a variant's trainable part) with cross-entropy and the project's compile
    recipe (`config`: a `training.ClassifierConfig`) until the validation accuracy stops improving
    (watched from epoch `start` + 1), or load it from `cache`: (its history with
    `seconds_per_epoch` and the `stopping` record, whether it was cached).

    `settings` names what else makes the model (the variant, the labels, the data); `parent` is
    the cache key of the pretrained encoder it starts from (None: from scratch).
    """
    from mnist_ae import codehash, training

    rule = training.Stopping(patience=patience, cap=config.epochs, monitor="val_accuracy", mode="max", start=start)
    full = {**settings, **dataclasses.asdict(config), "patience": patience, "start": start, "n_train": len(x),
            "n_val": len(validation[0])}
    full = json.loads(json.dumps(full))  # as the cache stores it (tuples become lists)

    def train(checkpoint_dir):
        training.compile_for_training(model, config, len(x), loss="sparse_categorical_crossentropy",
                                      metrics=["accuracy"])
        began = time.perf_counter()
        history = training.fit(model, x, y, epochs=config.epochs, batch_size=config.batch_size,
                               validation_data=validation, callbacks=(rule.callback(),), verbose=0,
                               checkpoint_dir=checkpoint_dir)
        history["seconds_per_epoch"] = (time.perf_counter() - began) / len(history["loss"])
        history["stopping"] = rule.record(history["val_accuracy"])
        return history

    return training.load_or_train(cache, model, name, full, train, parent=parent,
                                  code=codehash.digest([__name__]))


IMAGE = "image"  # cut at the input: nothing frozen
CODE = "code"  # cut at the encoder's output: everything frozen


@dataclasses.dataclass(frozen=True)
class Variant:
    """What is frozen (everything up to the output of layer `cut`) and the head's hidden widths."""

    cut: str
    head: tuple[int, ...] = ()
    reuse: bool = True  # keep the encoder's (pretrained) layers after `cut`, or only the new head
    augment: bool = False  # random shifts; only where images reach the trainable part
    keep: str | None = None  # the last encoder layer kept (None: all of them, up to the code)
    dropout: float = 0.0  # before each of the head's dense layers


def variants(encoder: keras.Model) -> dict[str, Variant]:
    """The study's variants for `encoder` (a `code_models` encoder), from most frozen to least.

    "last k" unfreezes the last k weight layers of the encoder (the code layer, then the dense
    layer before it) under the same head as "frozen + 2 dense", so those three differ only in
    what stays frozen. (Under a linear head, unfreezing the code layer, which has no activation,
    adds nothing: the two would compose into one linear classifier on the features before it.)
    "frozen conv + 3 dense" puts three new dense layers (two hidden, the
    softmax) on the frozen convolutions' features; "all fine-tuned + 3 dense" trains the
    pretrained convolutions too, under the same kind of head (with dropout), on shifted images.
    Its dropout is 0.1: against 0.3 it gained 0.16 points of test accuracy over three seeds, and
    0.5 or none did worse (docs/measurements.md).
    """
    names = [layer.name for layer in encoder.layers]
    dense = sorted(n for n in names if n.startswith("enc_dense") and n.endswith("_act"))
    before_code = dense[-1] if dense else "flatten"
    before_last_two = dense[-2] if len(dense) >= 2 else "flatten"
    return {
        "frozen + linear": Variant(CODE),
        "frozen + 2 dense": Variant(CODE, head=(256,)),
        "frozen conv + 3 dense": Variant("flatten", head=(256, 128), reuse=False),
        "last 1 unfrozen + 2 dense": Variant(before_code, head=(256,)),
        "last 2 unfrozen + 2 dense": Variant(before_last_two, head=(256,)),
        "all fine-tuned + 3 dense": Variant(IMAGE, head=(256, 128), augment=True, keep="flatten", dropout=0.1),
    }


def split_at(encoder: keras.Model, cut: str, head: tuple[int, ...], num_classes: int = 10, reuse: bool = True,
             shift: int = 0, seed: int = 0, keep: str | None = None,
             dropout: float = 0.0) -> tuple[keras.Model | None, keras.Model]:
    """`(frozen, trainable)`: the encoder up to layer `cut`, and the rest of it plus a softmax head.

    `frozen` is None when `cut` is the input. The trainable part gets copies of the encoder's
    layers after `cut` (same config and weights: training it never changes `encoder`; none with
    `reuse=False`; only those up to layer `keep` if given), then Dense(w, ReLU) per width in
    `head`, then Dense(num_classes, softmax), each after a Dropout(`dropout`) when it is > 0.
    `shift` > 0 puts a RandomTranslation (training only) in front, for a trainable part that
    starts at the image.
    """
    names = [layer.name for layer in encoder.layers]
    if cut not in names:
        raise ValueError(f"the encoder has no layer '{cut}' (layers: {', '.join(names)})")
    index = names.index(cut)
    frozen = None if cut == names[0] else keras.Model(encoder.input, encoder.get_layer(cut).output, name="frozen")
    start = keras.Input(tuple(encoder.get_layer(cut).output.shape[1:]), name="features")
    x = start
    if shift:
        if frozen is not None:
            raise ValueError("random shifts need the images: only a variant with nothing frozen can use them")
        factor = shift / start.shape[1]
        x = layers.RandomTranslation(factor, factor, fill_mode="constant", seed=seed, name="shift")(x)
    if keep is not None and keep not in names[index + 1:]:
        raise ValueError(f"layer '{keep}' does not come after '{cut}' in the encoder")
    end = names.index(keep) + 1 if keep is not None else len(names)
    for layer in encoder.layers[index + 1:end] if reuse else ():
        copy = layer.__class__.from_config(layer.get_config())
        x = copy(x)
        copy.set_weights(layer.get_weights())
    for i, width in enumerate((*head, num_classes), start=1):
        x = layers.Dropout(dropout, name=f"head_dropout{i}")(x) if dropout else x
        last = i == len(head) + 1
        x = layers.Dense(width, activation="softmax" if last else "relu", name="softmax" if last else f"head_dense{i}")(x)
    outputs = x
    return frozen, keras.Model(start, outputs, name="trainable")


def build(encoder: keras.Model, variant: Variant, shift: int = 0, seed: int = 0):
    """`split_at` for `variant`: its frozen part and its trainable part (shifted images only where
    the variant asks for them and `shift` > 0)."""
    return split_at(encoder, variant.cut, variant.head, reuse=variant.reuse, shift=shift if variant.augment else 0,
                    seed=seed, keep=variant.keep, dropout=variant.dropout)


def linear_probe(x_train, y_train, max_iter: int = 1000):
    """The standard linear probe: standardised features, multinomial logistic regression (lbfgs)
    fitted to convergence by scikit-learn. Returns the fitted pipeline; `converged(probe)` says
    whether lbfgs stopped on its tolerance rather than on `max_iter`."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter)).fit(x_train, y_train)


def probe_stopping(probe) -> dict:
    """A linear probe's record in the shape of `training.Stopping.record`, iterations for epochs:
    lbfgs keeps its last iterate (`best_epoch`) and stops on its gradient tolerance (converged)
    or on `max_iter`. There is no validation value to report (`best` is None)."""
    model = probe[-1]
    n = int(np.max(model.n_iter_))
    converged = n < model.max_iter
    return {"epochs_trained": n, "epoch_cap": model.max_iter, "best_epoch": n, "monitor": "lbfgs tolerance",
            "best": None, "converged": converged,
            "stopped": f"lbfgs {'converged' if converged else 'reached its cap'} after {n} iterations"}


def tiled(indices: np.ndarray, at_least: int) -> np.ndarray:
    """`indices` repeated whole until there are at least `at_least` of them: an epoch of a small
    labelled subset is then long enough for the validation curve to be checked between updates
    rather than after every batch.

    Example:
        >>> tiled(np.array([4, 7, 9]), 7).tolist()
        [4, 7, 9, 4, 7, 9, 4, 7, 9]
        >>> tiled(np.arange(5), 3).tolist()
        [0, 1, 2, 3, 4]
    """
    return np.tile(indices, -(-at_least // len(indices)))


def balanced_subset(labels: np.ndarray, n: int, seed: int, num_classes: int = 10) -> np.ndarray:
    """Indices of `n` examples, as many of each class as possible (n // classes, the remainder to
    the first classes), drawn without replacement with `seed`; sorted.

    Example:
        >>> y = np.repeat(np.arange(3), 5)
        >>> np.bincount(y[balanced_subset(y, 7, seed=0, num_classes=3)]).tolist()
        [3, 2, 2]
    """
    if n > len(labels):
        raise ValueError(f"asked for {n} labelled examples, only {len(labels)} exist")
    rng = np.random.default_rng(seed)
    per_class = [n // num_classes + (c < n % num_classes) for c in range(num_classes)]
    picks = []
    for c, k in enumerate(per_class):
        members = np.flatnonzero(labels == c)
        if k > len(members):
            raise ValueError(f"class {c} has {len(members)} examples, {k} asked")
        picks.append(rng.choice(members, size=k, replace=False))
    return np.sort(np.concatenate(picks))
