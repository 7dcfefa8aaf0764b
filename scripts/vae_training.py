"""Train (or load) the Bernoulli VAE of one latent size that exercise 6 and the likelihood study share.

One step per latent size (`vae_2d`, `vae_16d` in the registry, `--latent-dim` says which), so the
runner can train the VAEs beside exercises 1 and 4, one core each, instead of after them in one
long step. The recipe is `training.likelihood_vae(latent_dim)` (flags left unset keep it); the
model goes to the cache, where the steps that use it load it. Writes `<results>/vae_<d>d.json`:
the recipe, the training time and the test ELBO (one sample per image, nats) on the test set
binarized once. The importance-sampled likelihood is the `vae_likelihood` step's.
"""

from __future__ import annotations

from mnist_ae import likelihood
from mnist_ae.cli import exercise_parser, positive_int, run_script
from mnist_ae.training import likelihood_vae, train_vae


def result_name(latent_dim: int) -> str:
    """The step (and result file) of the VAE of `latent_dim`: `vae_2d`, `vae_16d`, ..."""
    return f"vae_{latent_dim}d"


def body(run) -> None:
    args = run.args
    config = run.likelihood_vae_config(args.latent_dim, epochs=args.epochs, batch_size=args.batch_size,
                                       learning_rate=args.learning_rate)
    x_test_bin = likelihood.binarized_test_set(run.x_test)
    _, history, cached = train_vae(run.x_train, x_test_bin, config, run.cache)
    # The validation loss of the last epoch is the test set's negative ELBO (one sample per image).
    metrics = {"latent_dim": config.latent_dim, "epochs": config.epochs, "batch_size": config.batch_size,
               "learning_rate": config.learning_rate, "filters": config.filters, "hidden": config.hidden,
               "test_elbo_nats": -history["val_loss"][-1], "train_seconds": history["train_seconds"],
               "model_from_cache": cached}
    run.save_results(result_name(args.latent_dim), metrics)
    origin = "from the cache" if cached else f"trained in {history['train_seconds']:.0f} s"
    print(f"VAE {config.latent_dim}-D: {config.epochs} epochs, test ELBO {metrics['test_elbo_nats']:.2f} nats "
          f"({origin}; {run.wall_time():.1f} s)")


def main(argv=None) -> int:
    parser = exercise_parser(__doc__, likelihood_vae(2), recipes="training.likelihood_vae(latent_dim)")
    parser.add_argument("--latent-dim", type=positive_int, default=2, help="latent size of the VAE to train")
    return run_script(parser, argv, body)


if __name__ == "__main__":
    raise SystemExit(main())
