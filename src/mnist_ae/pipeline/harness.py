"""What every exercise script shares: flags, quick mode, data, seeding and clean errors.

Example (a script's whole skeleton)::

    def main(argv=None):
        parser = exercise_parser(__doc__, AEConfig())
        return run_script(parser, argv, body)
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
    epochs: int = 1  # every model: the flags' default and the shared recipes (`Run.*_config`)
    code_size_budget: str = "quick"  # `studies.search.BUDGETS`: 2 trials a size on 512 images
    finetune_conv_epochs: int = 1  # the fine-tuning networks that train the convolutions
    finetune_subsets: int = 1  # seeded few-label subsets (full: `SUBSET_SEEDS`)
    tsne_images: int = 500  # test images t-SNE embeds
    iwae: tuple[int, int] = (50, 100)  # importance samples k, test images
    benchmark_images: tuple[int, int] = (800, 1536)  # timed images: autoencoder, VAE


QUICK = Quick()


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


def exercise_parser(description: str, config, recipes: str | None = None) -> argparse.ArgumentParser:
    """Parser with the flags every script has; training defaults come from `config`.

    A script that trains several recipes also passes `recipes` (what they are): its training
    flags then default to None, i.e. each recipe's own value, and their help says so (the seed
    still defaults to `config.seed`).
    """
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    own = f" (default: each recipe's: {recipes})" if recipes else ""
    p.set_defaults(full_epochs=None if recipes else config.epochs)
    p.add_argument("--epochs", type=positive_int, default=None,
                   help=f"training epochs{own or f' (default {config.epochs}'}; 1 with --quick{'' if own else ')'}")
    p.add_argument("--batch-size", type=positive_int, default=None if recipes else config.batch_size,
                   help=f"minibatch size{own}")
    p.add_argument("--learning-rate", type=positive_float, default=None if recipes else config.learning_rate,
                   help=f"initial Adam rate{own}")
    p.add_argument("--seed", type=int, default=config.seed, help="seed for Keras, NumPy and Python")
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

    def config(self, cls):
        """The training config `cls` filled from the flags."""
        return cls(epochs=self.args.epochs, batch_size=self.args.batch_size,
                   learning_rate=self.args.learning_rate, seed=self.args.seed)

    def all_images(self) -> tuple[np.ndarray, np.ndarray]:
        """Train then test images (model inputs) and their labels: "all images" of the exercises."""
        return np.concatenate([self.x_train, self.x_test]), np.concatenate([self.y_train, self.y_test])

    def default_autoencoder_config(self):
        """Exercise 1's default recipe at this run's seed (1 epoch in quick mode), for reuse."""
        from mnist_ae.training import AEConfig

        return AEConfig(seed=self.args.seed, **({"epochs": QUICK.epochs} if self.args.quick else {}))

    def default_classifier(self):
        """Exercise 4's classifier with its default recipe at this run's seed (1 epoch in quick
        mode), from the cache (trained if absent): the classifier that reads generated images."""
        from mnist_ae.training import ClassifierConfig, train_classifier

        config = ClassifierConfig(seed=self.args.seed, **({"epochs": QUICK.epochs} if self.args.quick else {}))
        return train_classifier(self.x_train, self.y_train, self.x_test, self.y_test, config, self.cache).model

    def vae_config(self, latent_dim: int, likelihood: str | None = None, **overrides):
        """The shared VAE of `latent_dim` (`training.vae_recipe`: 2-D is exercise 6's MSE VAE,
        larger the likelihood study's Bernoulli VAE) at this run's seed, 1 epoch in quick mode;
        `overrides` (e.g. flags) that are not None replace its values."""
        from mnist_ae.training import vae_recipe

        changes = {k: v for k, v in overrides.items() if v is not None}
        if self.args.quick:
            changes.setdefault("epochs", QUICK.epochs)
        return dataclasses.replace(vae_recipe(latent_dim, seed=self.args.seed, likelihood=likelihood), **changes)

    def wall_time(self) -> float:
        return time.perf_counter() - self.started

    def save_results(self, name: str, metrics: dict) -> Path:
        """Write `<results>/<name>.json`: `metrics` plus this run's provenance."""
        from mnist_ae.pipeline.results import provenance, write_results

        prov = provenance(self.args, n_train=len(self.x_train), n_test=len(self.x_test), wall_time_s=self.wall_time())
        return write_results(self.results / f"{name}.json", metrics, prov)


def output_dirs(args) -> tuple[Path, Path]:
    default_figures, default_results = paths.output_dirs(args.quick)
    figures, results = args.figures_dir or default_figures, args.results_dir or default_results
    if args.quick:
        for given, full in zip((figures, results), paths.output_dirs(False)):
            if given.resolve() == full.resolve():
                raise ValueError(f"--quick may not write into {full}/, which holds the full-run results")
    return figures, results


def prepare(args) -> Run:
    """Validate flags and output folders, load MNIST (a subset in quick mode).

    Seeding happens where each model is built (`keras.utils.set_random_seed(config.seed)`), so
    every model of a run starts from its own seed whatever ran before it in the process.
    """
    started = time.perf_counter()
    if args.epochs is None:
        args.epochs = QUICK.epochs if args.quick else args.full_epochs
    figures, results = output_dirs(args)
    for d in (figures, results, args.cache_dir):
        ensure_writable_dir(d)
    (x_train, y_train), (x_test, y_test) = data.load_mnist(args.data)
    if args.quick:
        n, m = QUICK.train_images, QUICK.test_images
        x_train, y_train, x_test, y_test = x_train[:n], y_train[:n], x_test[:m], y_test[:m]
    if args.batch_size is not None and args.batch_size > len(x_train):
        raise ValueError(f"--batch-size {args.batch_size} is larger than the {len(x_train)} training images")
    return Run(args, figures, results, ModelCache(args.cache_dir, retrain=args.retrain),
               preprocessing.to_model_input(x_train), y_train.astype(np.int64),
               preprocessing.to_model_input(x_test), y_test.astype(np.int64), started)


def run_script(parser: argparse.ArgumentParser, argv, body) -> int:
    """Parse `argv`, prepare the run and call `body(run)`; expected errors become one line.

    Returns the process exit code: 0 on success, 2 on a bad flag, bad data or a failed run,
    130 on Ctrl-C (see `mnist_ae.errors.guard`).
    """
    args = parser.parse_args(argv)
    return guard(parser.prog, lambda: body(prepare(args)))
