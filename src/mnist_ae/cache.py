"""A cache of trained weights keyed by the settings and the code that produced them.

A model is stored as weights only (`*.weights.h5`) and rebuilt from the builders, so nothing
is ever deserialized from code in a file. The metadata file beside the weights is written
last: its presence is what marks a training run as finished. While a run trains, its
per-epoch checkpoints live in `<key>.partial/`, so a killed run resumes where it stopped and
is never mistaken for a finished one. Steps running side by side may want the same model: a lock
per key (`<key>.lock`) lets one of them train it while the other waits, then loads it.

Example::

    cache = ModelCache(".cache/models")
    code = codehash.digest(["mnist_ae.training"])  # what builds and trains the model
    record, was_cached = cache.load_or_train(model, "ae", {"epochs": 20}, train, code=code)
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import shutil
import sys
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from mnist_ae.atomic import atomic_write
from mnist_ae.process import OP_THREADS  # another count trains another model: part of every key

if TYPE_CHECKING:  # keras is heavy; the report builder imports this module without it
    import keras


class CacheError(ValueError):
    """A cached model cannot be used; the message says how to retrain."""


def settings_key(name: str, settings: dict, parent: str | None = None, *, code: str) -> str:
    """Short stable hash of `settings`, the model's code and `OP_THREADS`, e.g. `ae-3f2a9c1d0b7e`.

    `code` is the digest of the code that builds and trains the model (`mnist_ae.codehash.digest`
    of its recipe's modules): a changed builder, loss, constant or training loop gives another
    key, so a cache hit is always what today's code would train. `parent` is the key of the
    model this one starts from (fine-tuning): another parent, or a retrained parent with another
    key, gives another key.

    Example:
        >>> settings_key("ae", {"epochs": 1}, code="c1") == settings_key("ae", {"epochs": 1}, code="c1")
        True
        >>> settings_key("ae", {"epochs": 1}, code="c1") == settings_key("ae", {"epochs": 1}, code="c2")
        False
        >>> settings_key("clf", {}, parent="ae-1", code="c") == settings_key("clf", {}, parent="ae-2", code="c")
        False
    """
    extra = {} if parent is None else {"parent": parent}
    blob = json.dumps({"name": name, "code": code, "op_threads": OP_THREADS, **settings, **extra}, sort_keys=True)
    return f"{name}-{hashlib.sha256(blob.encode()).hexdigest()[:12]}"


class ModelCache:
    """Directory of `<key>.weights.h5` + `<key>.json` pairs; `retrain=True` ignores hits."""

    def __init__(self, directory, retrain: bool = False):
        self.directory = Path(directory)
        self.retrain = retrain

    def paths(self, name: str, settings: dict, parent: str | None = None, *, code: str) -> tuple[Path, Path]:
        key = settings_key(name, settings, parent, code=code)
        return self.directory / f"{key}.weights.h5", self.directory / f"{key}.json"

    def load_or_train(
        self, model: keras.Model, name: str, settings: dict, train: Callable[[Path], dict],
        parent: str | None = None, *, code: str,
    ) -> tuple[dict, bool]:
        """Load cached weights into `model`, or call `train(checkpoint_dir)` and cache the result.

        `train` trains `model` in place, checkpointing each epoch into `checkpoint_dir` (see
        `mnist_ae.training.fit`), and returns a JSON-able dict (e.g. its history). It is stored
        with `train_seconds` added (the training's wall time, so a cache hit can still report
        what training cost) and returned on later hits. `parent` (a `settings_key`) ties the
        entry to the model it was initialised from; `code` names the code that trains it (see
        `settings_key`). Returns `(record, was_cached)`.
        """
        weights, meta = self.paths(name, settings, parent, code=code)
        with self._exclusive(weights.with_name(weights.name.replace(".weights.h5", ".lock"))):
            if weights.is_file() and meta.is_file() and not self.retrain:
                return self._load(model, settings, weights, meta), True
            return self._train(model, name, settings, train, parent, code, weights, meta), False

    def load(self, model: keras.Model, name: str, settings: dict, parent: str | None = None,
             missing: str = "train it first", *, code: str) -> dict:
        """Load cached weights into `model` and return its record; never trains.

        A model that is not cached is a `CacheError` ending with `missing` (what to run).
        """
        weights, meta = self.paths(name, settings, parent, code=code)
        # The metadata is written last, after the weights: with it present the pair is complete.
        if not (weights.is_file() and meta.is_file()):
            raise CacheError(f"the {name} model is not trained yet (no {weights.name} in {self.directory}); {missing}")
        return self._load(model, settings, weights, meta)

    @staticmethod
    @contextlib.contextmanager
    def _exclusive(lock: Path):
        """Hold `lock` (an advisory file lock, released if the process dies); wait, saying so, if taken."""
        lock.parent.mkdir(parents=True, exist_ok=True)
        with open(lock, "a") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                print(f"waiting for another process that is training {lock.stem}", file=sys.stderr, flush=True)
                fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def _train(self, model, name, settings, train, parent, code, weights: Path, meta: Path) -> dict:
        partial = weights.with_name(weights.name.replace(".weights.h5", ".partial"))
        if self.retrain:
            shutil.rmtree(partial, ignore_errors=True)
        started = time.perf_counter()
        record = {**train(partial), "train_seconds": round(time.perf_counter() - started, 2)}
        with atomic_write(weights) as tmp:
            model.save_weights(tmp)
        with atomic_write(meta) as tmp:
            tmp.write_text(json.dumps({"name": name, "settings": settings, "parent": parent, "code": code,
                                       "record": record}, indent=1))
        shutil.rmtree(partial, ignore_errors=True)
        return record

    @staticmethod
    def _load(model, settings, weights: Path, meta: Path) -> dict:
        fix = "rerun with --retrain to train it afresh"
        try:
            stored = json.loads(meta.read_text())
            if stored["settings"] != settings:
                raise ValueError(f"it was trained with other settings {stored['settings']}")
            with warnings.catch_warnings(record=True) as caught:
                # Keras only *warns* when parts of a file do not fit the model and leaves those
                # layers freshly initialised; here that is an error, never a silent half-load.
                # (Recorded, not raised: raising inside the load would leave the file open.)
                warnings.simplefilter("always")
                model.load_weights(weights)
            if caught:
                raise ValueError(str(caught[0].message))
        except (OSError, ValueError, KeyError, TypeError) as e:
            reason = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise CacheError(f"cached model {weights} is unreadable or from another architecture ({reason}); {fix}") from None
        return stored["record"]
