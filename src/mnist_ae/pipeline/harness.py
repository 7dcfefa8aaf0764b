"""What every exercise script shares: flags, quick mode, data, seeding and clean errors.

Example (a script's whole skeleton)::

    def main(argv=None):
        parser = exercise_parser(__doc__, recipes=("ex1_ae",))
        return run_script(parser, argv, body)

    def body(run):
        trained = train_autoencoder(run.x_train, run.x_test, run.recipe("ex1_ae"), run.cache)
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np

from mnist_ae import data, paths, preprocessing
from mnist_ae.cache import ModelCache
from mnist_ae.errors import guard



@dataclasses.dataclass(frozen=True)
class Quick:
    """Everything `--quick` changes, in one table: every step runs end to end on a small subset in
    seconds (the slow tests run them so), its outputs under `paths.QUICK_ROOT`, never over the full
    run's. A step's full-run value sits beside its use; its quick value is here."""

    train_images: int = 2048
    test_images: int = 512
    epochs: int = 1  # every recipe's epochs (`mnist_ae.recipes`)
    code_size_budget: str = "quick"  # `studies.search.BUDGETS`: 2 trials a size on 512 images
    finetune_conv_epochs: int = 1  # the fine-tuning networks that train the convolutions (`finetune.conv_epochs`)
    finetune_subsets: int = 1  # seeded few-label subsets (full: `SUBSET_SEEDS`)
    tsne_images: int = 500  # test images t-SNE embeds
    iwae: tuple[int, int] = (50, 100)  # importance samples k, test images
    benchmark_images: tuple[int, int] = (800, 1536)  # timed images: autoencoder, VAE


    def recipe_fields(self) -> dict:
        """What a smoke run sets in a recipe's config (each recipe lists the fields it takes)."""
        return {"epochs": self.epochs, "conv_epochs": self.finetune_conv_epochs}


QUICK = Quick()
SEED = 0  # the seed of a step's own sampling (subsets, PCA, test draws); a model's is in its recipe


def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not (value > 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def grid_size(text: str) -> int:
    value = int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"a grid needs at least 2 points per axis, got {value}")
    return value


def ensure_writable_dir(path: Path) -> Path:
    """Create `path` if needed and prove it takes files; raise ValueError naming the problem."""
    if path.exists() and not path.is_dir():
        raise ValueError(f"output directory {path} is a file: remove it or pick another directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as e:
        raise ValueError(f"output directory {path} is not writable ({e.strerror or e})") from None
    return path


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults in the help, and the description and the recipes' list kept as written."""


class _Parser(argparse.ArgumentParser):
    """A script's parser; its help ends with the recipes the script uses and their full-run values,
    read only when the help is shown (the recipes import Keras, which `--serve` never needs)."""

    def __init__(self, *args, recipes: tuple[str, ...] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.recipes = recipes

    def format_help(self) -> str:
        if self.recipes and self.epilog is None:
            from mnist_ae import recipes as table

            self.epilog = "recipes this script uses (full-run values; --set changes them):\n" + "\n".join(
                f"  {name}: " + ", ".join(f"{k}={v!r}" for k, v in dataclasses.asdict(table.get(name).config).items())
                for name in self.recipes)
        return super().format_help()


class _Refused(argparse.Action):
    """A training flag of the old scripts: it would change a shared model for one step only, so it
    is refused with the way to change that model for every step that uses it."""

    def __init__(self, option_strings, dest, recipe: str = "ex1_ae", **kwargs):
        self.recipe = recipe
        super().__init__(option_strings, dest, help=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        field = option_string.lstrip("-").replace("-", "_")
        parser.exit(2, f"{parser.prog}: error: {option_string} would change the shared model {self.recipe} for this "
                       f"step alone; change it for every step that uses it with `bash run.sh all --set "
                       f"{self.recipe}.{field}={values} --name NAME` (outputs in {paths.VARIANTS}/NAME/)\n")


def exercise_parser(description: str, recipes: tuple[str, ...] = ()) -> argparse.ArgumentParser:
    """Parser with the flags every script has. `recipes`: the models (`mnist_ae.recipes`) the
    script trains or reads; `--set RECIPE.FIELD=VALUE` changes one, and then `--name NAME` puts
    every output under `build/variants/NAME/` (never over the full run's). The old training
    flags (`--epochs`, `--batch-size`, `--learning-rate`, `--seed`) are refused with that advice."""
    p = _Parser(description=description, formatter_class=_HelpFormatter, recipes=recipes)
    p.set_defaults(seed=SEED)
    for flag in ("--epochs", "--batch-size", "--learning-rate", "--seed"):
        p.add_argument(flag, action=_Refused, recipe=recipes[0] if recipes else "ex1_ae")
    example = f"{recipes[0] if recipes else 'ex1_ae'}.seed=1"
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="RECIPE.FIELD=VALUE",
                   help=f"change a recipe of `mnist_ae.recipes` (below), e.g. {example}; repeatable; needs --name")
    p.add_argument("--name", type=variant_name, help=f"an experiment's name: outputs under {paths.VARIANTS}/NAME/")
    p.add_argument("--quick", action="store_true",
                   help=f"smoke run: {QUICK.train_images} train / {QUICK.test_images} test images, {QUICK.epochs} epoch, "
                        f"outputs under {paths.QUICK_ROOT}/ (never over full results)")
    full, quick = paths.output_dirs(False), paths.output_dirs(True)
    p.add_argument("--figures-dir", type=Path, help=f"figure output (default {full[0]}/, quick: {quick[0]}/)")
    p.add_argument("--results-dir", type=Path, help=f"JSON output (default {full[1]}/, quick: {quick[1]}/)")
    p.add_argument("--cache-dir", type=Path, default=paths.MODEL_CACHE, help="trained-weights cache")
    p.add_argument("--retrain", action="store_true", help="ignore (and replace) cached models")
    p.add_argument("--data", type=Path, help=f"explicit MNIST file (.npz/.whl/.pkl.gz); also ${data.DATA_ENV}")
    return p


def variant_name(text: str) -> str:
    """argparse type: an experiment's name, a folder name of letters, digits, `-`, `_` and `.`."""
    if not text or not all(c.isalnum() or c in "-_." for c in text) or text.startswith("."):
        raise argparse.ArgumentTypeError(f"must be letters, digits, '-', '_' or '.', got {text!r}")
    return text


@dataclasses.dataclass
class Run:
    """A parsed, validated run: settings, output places and the (sub)set of MNIST it uses."""

    args: argparse.Namespace
    figures: Path
    results: Path
    cache: ModelCache
    x_train: np.ndarray  # model inputs, float32 (N, 32, 32, 1)
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    started: float

    overrides: dict = dataclasses.field(default_factory=dict)  # {recipe: {field: value}} from --set

    def recipe(self, name: str, **changes):
        """The config of recipe `name` for this run: the full run's, quick mode's values with
        `--quick`, the `--set` overrides, then `changes` (a study's own variations, e.g. a seed)."""
        from mnist_ae import recipes

        config = recipes.configure(name, self.overrides.get(name), quick_fields(self.args))
        return dataclasses.replace(config, **changes)

    def all_images(self) -> tuple[np.ndarray, np.ndarray]:
        """Train then test images (model inputs) and their labels: "all images" of the exercises."""
        return np.concatenate([self.x_train, self.x_test]), np.concatenate([self.y_train, self.y_test])

    def autoencoder(self):
        """Exercise 1's autoencoder (recipe `ex1_ae`), from the cache (trained if absent)."""
        from mnist_ae.training import train_autoencoder

        return train_autoencoder(self.x_train, self.x_test, self.recipe("ex1_ae"), self.cache)

    def classifier(self):
        """Exercise 4's classifier (recipe `ex4_classifier`), from the cache (trained if absent):
        the classifier that reads generated images."""
        from mnist_ae.training import train_classifier

        return train_classifier(self.x_train, self.y_train, self.x_test, self.y_test, self.recipe("ex4_classifier"),
                                self.cache)

    def vae(self, latent_dim: int):
        """The shared VAE of `latent_dim` (recipe `vae_2d` or `vae_16d`), from the cache (trained if absent)."""
        from mnist_ae.training import train_vae

        return train_vae(self.x_train, self.x_test, self.recipe(f"vae_{latent_dim}d"), self.cache)

    def wall_time(self) -> float:
        return time.perf_counter() - self.started

    def save_results(self, name: str, metrics: dict) -> Path:
        """Write `<results>/<name>.json`: `metrics` plus this run's provenance."""
        from mnist_ae.pipeline.results import provenance, write_results

        prov = provenance(self.args, n_train=len(self.x_train), n_test=len(self.x_test), wall_time_s=self.wall_time())
        return write_results(self.results / f"{name}.json", metrics, prov)


def quick_fields(args) -> dict | None:
    """What `--quick` sets in a recipe's config (`Quick.recipe_fields`), None in a full run."""
    return QUICK.recipe_fields() if args.quick else None


def output_dirs(args) -> tuple[Path, Path]:
    default_figures, default_results = paths.output_dirs(args.quick, args.name)
    figures, results = args.figures_dir or default_figures, args.results_dir or default_results
    for given, full in zip((figures, results), paths.output_dirs(False)):
        if given.resolve() == full.resolve() and args.quick:
            raise ValueError(f"--quick may not write into {full}/, which holds the full-run results")
        if given.resolve() == full.resolve() and args.overrides:
            raise ValueError(f"--set changes a recipe, so its outputs may not go into {full}/ (the full run's): "
                             f"name the experiment with --name NAME (outputs in {paths.VARIANTS}/NAME/)")
    return figures, results


def prepare(args) -> Run:
    """Validate flags and output folders, load MNIST (a subset in quick mode).

    Seeding happens where each model is built (`keras.utils.set_random_seed(config.seed)`), so
    every model of a run starts from its own seed whatever ran before it in the process.
    """
    from mnist_ae import recipes

    started = time.perf_counter()
    overrides = recipes.parse_overrides(args.overrides)
    figures, results = output_dirs(args)
    for d in (figures, results, args.cache_dir):
        ensure_writable_dir(d)
    (x_train, y_train), (x_test, y_test) = data.load_mnist(args.data)
    if args.quick:
        n, m = QUICK.train_images, QUICK.test_images
        x_train, y_train, x_test, y_test = x_train[:n], y_train[:n], x_test[:m], y_test[:m]
    for name, fields in overrides.items():
        config = recipes.configure(name, fields, quick_fields(args))
        if getattr(config, "batch_size", 0) > len(x_train):
            raise ValueError(f"--set {name}.batch_size={config.batch_size} is larger than the {len(x_train)} "
                             "training images")
    return Run(args, figures, results, ModelCache(args.cache_dir, retrain=args.retrain),
               preprocessing.to_model_input(x_train), y_train.astype(np.int64),
               preprocessing.to_model_input(x_test), y_test.astype(np.int64), started, overrides)


def run_script(parser: argparse.ArgumentParser, argv, body) -> int:
    """Parse `argv`, prepare the run and call `body(run)`; expected errors become one line.

    Returns the process exit code: 0 on success, 2 on a bad flag, bad data or a failed run,
    130 on Ctrl-C (see `mnist_ae.errors.guard`).
    """
    args = parser.parse_args(argv)
    return guard(parser.prog, lambda: body(prepare(args)))
