"""Train (or load) one of the two VAEs the job shares: exercise 6's 2-D MSE VAE or the likelihood
study's Bernoulli VAE.

One step per latent size (`vae_2d`, `vae_16d` in the registry, `--latent-dim` says which), so the
runner can train the VAEs beside exercises 1 and 4, one core each, instead of after them in one
long step. The recipe is `vae_2d` or `vae_16d` (`mnist_ae.recipes`, changed with `--set`): 2-D is
exercise 6's VAE (squared error + KL, through `compile`), larger sizes the Bernoulli VAE. The
model goes to the cache, where the steps that use it load it. Writes `<results>/vae_<d>d.json`:
the recipe, how training stopped, its time and the test loss per image (one posterior sample),
in nats for the Bernoulli VAE (on the test set binarized once). The importance-sampled
likelihood is the `vae_likelihood` step's.
"""

from __future__ import annotations

import mnist_ae.pipeline.quiet_start  # noqa: F401  (first: TensorFlow starts quietly, with the package's defaults)

from mnist_ae.analysis import evaluation, likelihood
from mnist_ae.pipeline.harness import exercise_parser, run_script
from mnist_ae.training import fixed_budget_record


def result_name(latent_dim: int) -> str:
    """The step (and result file) of the VAE of `latent_dim`: `vae_2d`, `vae_16d`, ..."""
    return f"vae_{latent_dim}d"


def body(run) -> None:
    args = run.args
    config = run.recipe(result_name(args.latent_dim))
    bernoulli = config.likelihood == "bernoulli"
    trained = run.vae(args.latent_dim)
    history, cached = trained.history, trained.cached
    # The test loss per image with the seed-fixed posterior sample every step uses (exercise 6, the
    # likelihood study), so the number is the same wherever it is reported.
    x_scored = likelihood.binarized_test_set(run.x_test) if bernoulli else run.x_test
    test_loss = evaluation.vae_test_terms(trained.model, x_scored, seed=args.seed)["loss"]
    stopping = fixed_budget_record(history)
    metrics = {"latent_dim": config.latent_dim, "likelihood": config.likelihood, "epochs": config.epochs,
               "batch_size": config.batch_size, "learning_rate": config.learning_rate, "filters": config.filters,
               "hidden": config.hidden, "test_loss": test_loss, "stopping": stopping,
               "train_seconds": history["train_seconds"], "model_from_cache": cached}
    if bernoulli:
        metrics["test_elbo_nats"] = -test_loss
    run.save_results(result_name(args.latent_dim), metrics)
    origin = "from the cache" if cached else f"trained in {history['train_seconds']:.0f} s"
    value = (f"test ELBO {metrics['test_elbo_nats']:.2f} nats" if bernoulli else
             f"test loss {metrics['test_loss']:.2f} (squared error + KL per image)")
    print(f"VAE {config.latent_dim}-D ({config.likelihood}): {config.epochs} epochs, {value}; {stopping['stopped']} "
          f"({origin}; {run.wall_time():.1f} s)")


def main(argv=None) -> int:
    parser = exercise_parser(__doc__, recipes=("vae_2d", "vae_16d"))
    parser.add_argument("--latent-dim", type=int, choices=(2, 16), default=2,
                        help="the VAE to train: recipe vae_2d or vae_16d")
    return run_script(parser, argv, body)


if __name__ == "__main__":
    raise SystemExit(main())
