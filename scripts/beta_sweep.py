"""Study (on demand): what the KL weight beta does to exercise 6's 2-D VAE and its code space.

The 2-D MSE VAE (recipe `vae_2d`) is trained with its loss per image = sum of squared errors over
the 28x28 pixels + beta * KL, for beta in 0.5, 1, 2, 4; beta = 1 is the job's own model (from the
cache). Per beta: the test MSE of the posterior-mean reconstructions (per pixel), the test KL
(nats per image), the spread of the test images' latent means and the posterior's sigma, and the
decoded grid between the corners of the means, the four side by side. The scale matters: a loss
written as the *mean* squared error per pixel plus w * KL is, times the 784 pixels, the per-image
sum plus 784 w * KL, so w = 0.01 there is beta = 7.84 here (`as_beta`).
"""

from __future__ import annotations

import mnist_ae.pipeline.quiet_start  # noqa: F401  (first: TensorFlow starts quietly, with the package's defaults)

import argparse

import numpy as np

from mnist_ae import preprocessing
from mnist_ae.analysis import evaluation
from mnist_ae.plots import charts
from mnist_ae.pipeline.harness import exercise_parser, grid_size, run_script
from mnist_ae.training import fixed_budget_record, train_vae

BETAS = (0.5, 1.0, 2.0, 4.0)
PIXELS = 28 * 28  # the squared error is summed over the image's own pixels (not the zero border)
FIGURE = "beta_sweep_grids.png"


def as_beta(mean_pixel_kl_weight: float, pixels: int = PIXELS) -> float:
    """The beta of this project's per-image-sum loss that a mean-per-pixel MSE + `w` * KL equals.

    Example:
        >>> as_beta(0.01)
        7.84
        >>> as_beta(1 / 784)
        1.0
    """
    return round(mean_pixel_kl_weight * pixels, 10)


def betas(text: str) -> tuple[float, ...]:
    """argparse type: comma-separated positive betas, e.g. `0.5,1,2,4`."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from None
    if not values or any(not (v > 0 and v < float("inf")) for v in values):
        raise argparse.ArgumentTypeError(f"every beta must be a positive number, got {text!r}")
    return values


def measure(run, beta: float, n: int) -> tuple[dict, tuple]:
    """Train (or load) the 2-D VAE at `beta`: its test numbers, and its decoded grid for the figure."""
    trained = train_vae(run.x_train, run.x_test, run.recipe("vae_2d", beta=beta), run.cache)
    model = trained.model
    terms = evaluation.vae_test_terms(model, run.x_test, seed=run.args.seed)
    means, log_sigmas, _ = (np.asarray(t) for t in model.encoder.predict(run.x_test, batch_size=2048, verbose=0))
    box = evaluation.bounding_box(means)
    _, mosaic, extent = evaluation.decoded_grid(model.decode, box, n)
    result = {
        "beta": beta,
        "test_mse": evaluation.reconstruction_mse(model, run.x_test)["mse"],  # per pixel, 28x28
        "test_squared_error": terms["reconstruction"],  # per image, as trained
        "test_kl": terms["kl"],
        "test_loss": terms["loss"],
        "means_std": np.std(means, axis=0).tolist(),
        "posterior_sigma_mean": np.mean(np.exp(log_sigmas), axis=0).tolist(),
        "silhouette_means": evaluation.cluster_summary(means, run.y_test, seed=run.args.seed)["silhouette"],
        "box": list(box),
        "stopping": fixed_budget_record(trained.history),
        "model_from_cache": trained.cached,
        "train_seconds": trained.history["train_seconds"],
    }
    title = f"β = {beta:g}\nMSE {result['test_mse']:.4f}, KL {result['test_kl']:.1f}"
    return result, (mosaic, extent, charts.padded_limits(box), title, "z mean 1", "z mean 2")


def body(run) -> None:
    args = run.args
    if 1.0 not in args.betas:
        raise ValueError("--betas must include 1 (the job's own 2-D VAE, the one the others are compared with)")
    results, panels = {}, []
    for k, beta in enumerate(args.betas, start=1):
        result, panel = measure(run, beta, args.grid_size)
        results[f"{beta:g}"] = result
        panels.append(panel)
        print(f"beta sweep [{k}/{len(args.betas)}] beta {beta:g}: test MSE {result['test_mse']:.5f}, KL "
              f"{result['test_kl']:.2f} nats, means std {np.round(result['means_std'], 2).tolist()}"
              f"{' (from the cache)' if result['model_from_cache'] else ''}", flush=True)
    charts.mosaics_side_by_side(panels, run.figures / FIGURE)
    config = run.recipe("vae_2d")
    run.save_results("beta_sweep", {
        "betas": [f"{b:g}" for b in args.betas], "per_beta": results,
        "recipe": {"epochs": config.epochs, "batch_size": config.batch_size, "learning_rate": config.learning_rate,
                   "hidden": config.hidden, "filters": config.filters},
        "pixels": PIXELS, "border": preprocessing.PAD, "mean_pixel_weight_0_01_as_beta": as_beta(0.01),
        "grid_size": args.grid_size,
    })
    print(f"beta sweep: {len(results)} betas ({run.wall_time():.1f} s)")


def main(argv=None) -> int:
    parser = exercise_parser(__doc__, recipes=("vae_2d",))
    parser.add_argument("--betas", type=betas, default=BETAS, help="KL weights, comma-separated (must include 1)")
    parser.add_argument("--grid-size", type=grid_size, default=10, help="grid points per axis of each decoded grid")
    return run_script(parser, argv, body)


if __name__ == "__main__":
    raise SystemExit(main())
