"""The one table of the models the job trains and shares: a name, its config, the code that trains it.

Each recipe's config dataclass sits beside its builder (`AEConfig` in `training`, `VAEConfig` in
`models/vae.py`, `FinalistConfig` in `studies/search.py`, `DenoiserConfig` in
`studies/denoising.py`, `FinetuneConfig` in `studies/finetune.py`); this table names them and
holds the full run's values. A step asks for a model by recipe name (`harness.Run.recipe`), so
every step that uses a model gets the same one. An experiment changes a recipe with an override,
`bash run.sh all --set ex1_ae.batch_size=64 --name bs64`, never by editing a default: every step
that uses the recipe sees the change and the outputs go to `build/variants/bs64/`.

A model's cache key holds a digest of the code its recipe reaches (`code`: the modules of its
builder, loss and training loop, and what they import; `mnist_ae.codehash`), so a change of any
of it trains afresh and a change elsewhere (a chart) reuses it.

Example:
    >>> configure("ex1_ae", {"batch_size": "64"}).batch_size
    64
    >>> configure("ex1_ae", quick={"epochs": 1, "conv_epochs": 1}).epochs
    1
    >>> parse_overrides(["ex1_ae.batch_size=64", "vae_2d.beta=2"])
    {'ex1_ae': {'batch_size': '64'}, 'vae_2d': {'beta': '2'}}
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from mnist_ae import codehash
from mnist_ae.studies.denoising import DenoiserConfig
from mnist_ae.studies.finetune import FinetuneConfig
from mnist_ae.studies.search import FinalistConfig
from mnist_ae.training import AEConfig, ClassifierConfig, vae_recipe


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A named model recipe: what it is, its full-run config, and the modules whose code trains it.

    `quick` names the config fields `--quick` sets (to the values of `harness.QUICK`, the one
    table of what a smoke run changes); `start` is the recipe whose trained weights it starts
    from, if any."""

    name: str
    what: str
    config: Any
    code: tuple[str, ...]
    quick: tuple[str, ...] = ("epochs",)
    start: str | None = None

    def digest(self) -> str:
        """The digest of the code this recipe reaches (part of its models' cache keys)."""
        return codehash.digest(self.code)


TRAINING = ("mnist_ae.training",)  # the exercises' builders, losses and training loop

RECIPES: dict[str, Recipe] = {r.name: r for r in (
    Recipe("ex1_ae", "exercise 1's constrained convolutional autoencoder, MSE", AEConfig(), TRAINING),
    Recipe("ex4_classifier", "exercise 4's encoder as a classifier, cross-entropy", ClassifierConfig(), TRAINING),
    Recipe("vae_2d", "exercise 6's 2-D VAE: squared error + beta * KL through compile", vae_recipe(2), TRAINING),
    Recipe("vae_16d", "the 16-D Bernoulli VAE (likelihood study, exercise 6)", vae_recipe(16), TRAINING),
    Recipe("code_size_finalists", "AE8 and AE32: each code size's best searched trial retrained",
           FinalistConfig(), ("mnist_ae.studies.search",)),
    Recipe("denoisers", "AE32 fine-tuned to undo Gaussian noise and random erasing", DenoiserConfig(),
           ("mnist_ae.studies.denoising",), start="code_size_finalists"),
    Recipe("finetune", "the AE32 encoder fine-tuned to classify (variants, label subsets)", FinetuneConfig(),
           ("mnist_ae.studies.finetune",), quick=("epochs", "conv_epochs"),
           start="code_size_finalists"),
)}


ANY_SIGN = ("seed", "output_bias")  # numeric fields any value of which makes sense
MAY_BE_ZERO = ("shift", "trials_per_size")  # 0: no augmentation; the budget's trials


class RecipeError(ValueError):
    """An override names no recipe or field, or a value of the wrong kind; the message says which."""


def get(name: str) -> Recipe:
    try:
        return RECIPES[name]
    except KeyError:
        raise RecipeError(f"no recipe '{name}' (choose from {', '.join(RECIPES)})") from None


def parse_overrides(texts) -> dict[str, dict[str, str]]:
    """`["recipe.field=value", ...]` (the `--set` flags) -> {recipe: {field: value}}, checked."""
    out: dict[str, dict[str, str]] = {}
    for text in texts or ():
        target, eq, value = text.partition("=")
        name, dot, field = target.partition(".")
        if not (eq and dot and name and field and value):
            raise RecipeError(f"--set {text}: expected RECIPE.FIELD=VALUE, e.g. ex1_ae.batch_size=64")
        _convert(get(name), field, value)  # fail now, with the flag's own words
        out.setdefault(name, {})[field] = value
    for name, fields in out.items():
        try:
            configure(name, fields)  # what the config itself checks (e.g. a choice of names)
        except ValueError as e:
            raise RecipeError(str(e)) from None
    return out


def _convert(recipe: Recipe, field: str, value):
    fields = {f.name: f for f in dataclasses.fields(recipe.config)}
    if field not in fields:
        raise RecipeError(f"recipe {recipe.name} has no field '{field}' (fields: {', '.join(fields)})")
    default = getattr(recipe.config, field)
    if not isinstance(value, str):
        return value
    try:
        if isinstance(default, bool):
            if value.lower() not in ("true", "false"):
                raise ValueError
            return value.lower() == "true"
        converted = type(default)(value)
    except (TypeError, ValueError):
        raise RecipeError(f"{recipe.name}.{field}={value}: expected {type(default).__name__} "
                          f"like its default {default!r}") from None
    where = f"{recipe.name}.{field}={value}"
    if isinstance(converted, float) and not math.isfinite(converted):
        raise RecipeError(f"{where}: must be a finite number")
    if isinstance(converted, (int, float)) and not isinstance(converted, bool) and field not in ANY_SIGN:
        if converted < 0 or (converted == 0 and field not in MAY_BE_ZERO):
            raise RecipeError(f"{where}: must be more than 0" + (" (or 0)" if field in MAY_BE_ZERO else ""))
    return converted


def configure(name: str, overrides: dict | None = None, quick: dict | None = None):
    """The config of recipe `name`: its full-run values, then a smoke run's (`quick`: {field:
    value}, applied to the fields the recipe lists in its `quick`), then `overrides` ({field:
    value}, values as text or as values)."""
    recipe = get(name)
    changes = {k: v for k, v in (quick or {}).items() if k in recipe.quick}
    changes.update({k: _convert(recipe, k, v) for k, v in (overrides or {}).items()})
    return dataclasses.replace(recipe.config, **changes)
