"""Study: the VAE's likelihood of binarized MNIST in nats, comparable with published results.

Bernoulli-decoder VAEs (logits + binary cross-entropy over the 784 MNIST pixels) are trained on
dynamically binarized images (pixels resampled ~ Bernoulli(intensity) every batch) for each
latent size, and evaluated on the test set binarized once with a fixed seed:
  - the test ELBO in nats per image (single sample, all test images);
  - the negative log-likelihood by importance sampling (IWAE bound, k samples per image) on a
    fixed, seeded subset of the test images, with its standard error;
  - the negative log-likelihood of the whole test set: the ELBO of every test image minus the
    bound's mean gain over the ELBO on that subset. The gain is paired on the same images, so its
    error is small, and this estimate does not depend on which images the subset happened to pick
    (its standard error is several times smaller).
`--budget default` (part of `bash run.sh all`) reports what the whole job's time allows;
`--budget long` trains 4x longer, estimates the NLL on twice the images and writes beside the
default results (`report/results/long_budget/`, `figures/long_budget/`); the report shows both.
"""

from __future__ import annotations

import mnist_ae.pipeline.quiet_start  # noqa: F401  (first: TensorFlow starts quietly, with the package's defaults)

import dataclasses
import time

import numpy as np

from mnist_ae import paths
from mnist_ae.analysis import likelihood
from mnist_ae.plots import charts
from mnist_ae.pipeline.harness import QUICK, exercise_parser, positive_int, run_script
from mnist_ae.training import train_vae, vae_recipe

# Published anchors (negative log-likelihood or ELBO, nats), for the report's comparison table.
REFERENCES = {
    "tf_cvae_tutorial_2d_elbo_10_epochs": -155.9,
    "pythae_vae_nll": 89.78,
    "iwae_paper_vae_nll": 86.76,
}
FULL_IWAE = (1000, 500)  # (k, test images)
# --budget long: the defaults it changes (explicit flags still win).
LONG_EPOCHS = 4  # times each recipe's epochs
LONG_BUDGET = {"nll_images": 1000, "figures_dir": paths.FIGURES / "long_budget",
               "results_dir": paths.RESULTS / "long_budget"}


def evaluate(model, x_test_bin, args) -> dict:
    per_image_elbo = likelihood.elbo(model, x_test_bin, seed=args.seed)
    elbo = likelihood.summarize(per_image_elbo)
    rng = np.random.default_rng(args.seed)
    pick = np.sort(rng.choice(len(x_test_bin), size=min(args.nll_images, len(x_test_bin)), replace=False))
    started = time.perf_counter()
    log_px = likelihood.importance_sampled_log_likelihood(model, x_test_bin[pick], k=args.importance_samples,
                                                          seed=args.seed)
    nll = likelihood.summarize(-log_px)
    # On the same images, the bound's gain over the ELBO is paired, so its error is small.
    whole = likelihood.whole_set_nll(per_image_elbo, log_px, pick)
    return {
        "test_elbo_nats_on_nll_images": float(per_image_elbo[pick].mean()),
        "iwae_gain_over_elbo_nats": whole["gain"], "iwae_gain_stderr": whole["gain_stderr"],
        "test_elbo_nats": elbo["mean"], "test_elbo_stderr": elbo["stderr"], "elbo_test_images": elbo["n"],
        "test_nll_nats": nll["mean"], "test_nll_stderr": nll["stderr"], "nll_test_images": nll["n"],
        "full_test_set_nll_nats": whole["mean"], "full_test_set_nll_stderr": whole["stderr"],
        "importance_samples": args.importance_samples, "iwae_seconds": round(time.perf_counter() - started, 2),
    }


def bernoulli_config(run, latent: int):
    """The Bernoulli VAE of `latent`: 16 is recipe `vae_16d` (the one exercise 6 shares, `--set
    vae_16d.FIELD=...` changes it), another size that recipe at its size (`training.vae_recipe`)."""
    if latent == 16:
        return run.recipe("vae_16d")
    config = vae_recipe(latent, seed=run.recipe("vae_16d").seed, likelihood="bernoulli")
    return dataclasses.replace(config, epochs=QUICK.epochs) if run.args.quick else config


def body(run) -> None:
    args = run.args
    k, images = QUICK.iwae if args.quick else FULL_IWAE
    args.importance_samples = args.importance_samples or k
    args.nll_images = args.nll_images or images
    x_test_bin = likelihood.binarized_test_set(run.x_test)
    metrics, histories = {}, {}
    for latent in args.latents:
        config = bernoulli_config(run, latent)
        if args.budget == "long":
            config = dataclasses.replace(config, epochs=LONG_EPOCHS * config.epochs)
        trained = train_vae(run.x_train, run.x_test, config, run.cache)
        model, history, cached = trained.model, trained.history, trained.cached
        result = evaluate(model, x_test_bin, args)
        metrics[f"latent_{latent}"] = {**result, "epochs": config.epochs, "filters": config.filters,
                                       "hidden": config.hidden, "train_seconds": history["train_seconds"],
                                       "model_from_cache": cached, "val_loss": history["val_loss"]}
        histories[f"{latent}-D latent"] = {"loss": history["loss"], "val_loss": history["val_loss"]}
        print(f"likelihood, {latent}-D: test ELBO {result['test_elbo_nats']:.2f} nats, "
              f"NLL {result['test_nll_nats']:.2f} +- {result['test_nll_stderr']:.2f} nats "
              f"(k={args.importance_samples}, {result['nll_test_images']} images), "
              f"whole test set {result['full_test_set_nll_nats']:.2f} +- {result['full_test_set_nll_stderr']:.2f}")
    charts.curves({name: h["val_loss"] for name, h in histories.items()},
                  run.figures / "ex6_likelihood_curves.png", ylabel="test negative ELBO (nats)")
    metrics["budget"] = args.budget
    metrics["references"] = REFERENCES
    metrics["test_binarization_seed"] = likelihood.TEST_BINARIZATION_SEED
    run.save_results("vae_likelihood", metrics)


def main(argv=None) -> int:
    parser = exercise_parser(__doc__, recipes=("vae_16d",))
    parser.add_argument("--budget", choices=["default", "long"], default="default",
                        help=f"training budget; long = {LONG_EPOCHS}x each recipe's epochs, "
                             f"{LONG_BUDGET['nll_images']} NLL images, outputs in .../long_budget/")
    parser.add_argument("--latents", type=positive_int, nargs="+", default=[16],
                        help="latent sizes (16: the model exercise 6 shares; a 2-D Bernoulli VAE trains if asked)")
    parser.add_argument("--importance-samples", type=positive_int,
                        help=f"IWAE samples k per image (default {FULL_IWAE[0]}; {QUICK.iwae[0]} with --quick)")
    parser.add_argument("--nll-images", type=positive_int,
                        help=f"seeded test subset for the importance-sampled NLL (default {FULL_IWAE[1]}; "
                             f"{QUICK.iwae[1]} with --quick)")
    budget, _ = parser.parse_known_args(argv)
    if budget.budget == "long":
        if budget.quick:
            parser.error("--budget long and --quick exclude each other")
        parser.set_defaults(**LONG_BUDGET)
    return run_script(parser, argv, body)


if __name__ == "__main__":
    raise SystemExit(main())
