"""A cache of trained weights keyed by the settings that produced them.

A model is stored as weights only (`*.weights.h5`) and rebuilt from the builders, so nothing
is ever deserialized from code in a file. The metadata file beside the weights is written
last: its presence is what marks a training run as finished.

Example::

    cache = ModelCache(".cache/models")
    history = cache.load_or_train(model, "ae", {"epochs": 20}, train)
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable

import keras

from mnist_ae.atomic import atomic_write

# Bump when a change to the code would change what the same settings train.
CODE_VERSION = 1


def settings_key(name: str, settings: dict) -> str:
    """Short stable hash of `settings` plus the code version, e.g. `ae-3f2a9c1d0b7e`."""
    blob = json.dumps({"name": name, "code_version": CODE_VERSION, **settings}, sort_keys=True)
    return f"{name}-{hashlib.sha256(blob.encode()).hexdigest()[:12]}"


class ModelCache:
    """Directory of `<key>.weights.h5` + `<key>.json` pairs."""

    def __init__(self, directory):
        self.directory = Path(directory)

    def paths(self, name: str, settings: dict) -> tuple[Path, Path]:
        key = settings_key(name, settings)
        return self.directory / f"{key}.weights.h5", self.directory / f"{key}.json"

    def load_or_train(
        self, model: keras.Model, name: str, settings: dict, train: Callable[[], dict]
    ) -> tuple[dict, bool]:
        """Load cached weights into `model`, or call `train()` and cache the result.

        `train()` trains `model` in place and returns a JSON-able record (e.g. its history),
        which is stored and returned on later hits. Returns `(record, was_cached)`.
        """
        weights, meta = self.paths(name, settings)
        if weights.is_file() and meta.is_file():
            model.load_weights(weights)
            return json.loads(meta.read_text())["record"], True
        record = train()
        with atomic_write(weights) as tmp:
            model.save_weights(tmp)
        with atomic_write(meta) as tmp:
            tmp.write_text(json.dumps({"name": name, "settings": settings, "record": record}, indent=1))
        return record, False
