"""Exercise 6: variational autoencoders with a 2-D and a high-dimensional (default 16-D) latent space.

The encoder gives a mean and a log standard deviation per image; a named sampling function in a
Keras Lambda layer draws `mean + n * exp(log_sigma)`; the loss is the per-image reconstruction
term plus the KL divergence to N(0, I), averaged over the batch. The decoder is Bernoulli (the
reconstruction term is the binary cross-entropy of dynamically binarized images, in nats), so
the two VAEs are the likelihood study's, of the same sizes: one model per size, trained once and
cached by whichever step runs first (with the default flags). Figures: the encoder means of all
70 000 images (2-D), a 15 x 15 grid of decoded pixel means over the prior's central box, drawn on
the scatter's axes and beside the autoencoder's grid (exercise 5), reconstructions, and a PCA
view of the high-dimensional means. The autoencoder is exercise 1's with its default settings,
from the cache (trained if absent).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

from mnist_ae import evaluation, likelihood, plotting, preprocessing
from mnist_ae.cli import exercise_parser, grid_size, positive_int, run_script
from mnist_ae.training import decode, encode, likelihood_vae, train_autoencoder, train_vae

# The grid spans the central 90 % of the prior along each axis.
PRIOR_MASS = 0.90


def summarize_vae(model, history, cached, run, x_scored) -> dict:
    """Test MSE of the posterior-mean reconstructions of the grey-level test images, and the loss
    terms on `x_scored` (the images the model's likelihood is defined on)."""
    terms = evaluation.vae_test_terms(model, x_scored, seed=run.args.seed)
    mse = evaluation.reconstruction_mse(model, run.x_test)
    return {
        "likelihood": model.likelihood,
        "test_mse": mse["mse"],  # of the reconstruction of the posterior mean, 28x28 pixels
        "test_mse_padded_32x32": mse["mse_padded"],
        # per image: sum of squared errors (Gaussian) or Bernoulli negative log-likelihood in nats
        "test_reconstruction": terms["reconstruction"],
        "test_kl": terms["kl"],
        "test_loss": terms["loss"],
        "train_seconds": history["train_seconds"],
        "model_from_cache": cached,
        "history": {k: history[k] for k in ("loss", "val_loss", "val_reconstruction_loss", "val_kl_loss")},
    }


def ae_grid(ae, codes, n):
    """The exercise 5 grid of the autoencoder over the box of its `codes`, for the comparison."""
    box = evaluation.bounding_box(codes)
    grid, extent = evaluation.latent_grid(box, n)
    decoded = decode(ae.decoder, grid)
    return evaluation.mosaic(preprocessing.to_mnist_view(decoded), n), extent, plotting.padded_limits(box)


def body(run) -> None:
    args, n = run.args, run.args.grid_size
    # Not trained twice: both VAEs are the likelihood study's (cached by whichever step runs first).
    base = run.likelihood_vae_config(2, epochs=args.epochs, batch_size=args.batch_size,
                                     learning_rate=args.learning_rate)
    high = run.likelihood_vae_config(args.high_latent)
    x_test_bin = likelihood.binarized_test_set(run.x_test)
    vae2, history2, cached2 = train_vae(run.x_train, x_test_bin, base, run.cache)
    vae_high, history_high, cached_high = train_vae(run.x_train, x_test_bin, high, run.cache)

    images, labels = run.all_images()
    means = np.asarray(vae2.encoder.predict(images, batch_size=2048, verbose=0)[0])
    half = float(norm.ppf(0.5 + PRIOR_MASS / 2))
    grid, extent = evaluation.latent_grid((-half, half, -half, half), n)
    decoded = np.asarray(vae2.decode(grid.astype(np.float32)))  # one batch
    mosaic = evaluation.mosaic(preprocessing.to_mnist_view(decoded), n)
    limits = plotting.padded_limits(evaluation.bounding_box(np.concatenate([means, grid])))
    # The grid's own box as its axes, so every tile is large enough to read; the means' scatter
    # (wider: some means lie outside the prior's central box) has its own figure.
    grid_limits = plotting.padded_limits(extent, margin=0.01)
    outside = float(np.mean((np.abs(means) > extent[1]).any(axis=1)))  # the box is symmetric about 0
    labels_z = {"xlabel": "z mean 1", "ylabel": "z mean 2"}
    figures = run.figures
    plotting.latent_scatter(means, labels, figures / "ex6_latent_means.png", limits,
                            title=f"VAE encoder means of {len(means)} images", **labels_z)
    plotting.latent_mosaic(mosaic, extent, figures / "ex6_latent_grid.png", grid_limits,
                           title=f"{n} x {n} grid over the central {PRIOR_MASS:.0%} of the prior", **labels_z)
    plotting.latent_mosaic(mosaic, extent, figures / "ex6_grid_over_means.png", grid_limits,
                           overlay=(means, labels), title=f"decoded grid under the means ({outside:.0%} outside)",
                           **labels_z)
    # What the grid's tiles show, measured with exercise 4's classifier, tile by tile with the codes
    # under each (samples from the priors are read by the generation-quality step).
    classifier = run.default_classifier()
    reading = evaluation.read_grid(classifier, decoded, evaluation.codes_per_tile(means, (-half, half, -half, half), n))
    ae = train_autoencoder(run.x_train, run.x_test, run.default_autoencoder_config(), run.cache)
    codes_ae = encode(ae.encoder, images)
    ae_mosaic, ae_extent, ae_limits = ae_grid(ae, codes_ae, n)
    plotting.mosaics_side_by_side(
        [(ae_mosaic, ae_extent, ae_limits, "autoencoder (exercise 5)", "code 1", "code 2"),
         (mosaic, extent, grid_limits, "variational autoencoder", "z 1", "z 2")],
        figures / "ex6_grids_ae_vs_vae.png")
    batch = run.x_test[:10]
    view = lambda x: preprocessing.to_mnist_view(np.asarray(x))  # noqa: E731
    plotting.image_rows({"input": view(batch), "AE": view(ae.autoencoder.predict(batch, verbose=0)),
                         "VAE 2-D": view(vae2.predict(batch, verbose=0)),
                         f"VAE {high.latent_dim}-D": view(vae_high.predict(batch, verbose=0))},
                        figures / "ex6_reconstructions.png")
    means_high = np.asarray(vae_high.encoder.predict(images, batch_size=2048, verbose=0)[0])
    projected, explained = evaluation.pca_2d(means_high, seed=args.seed)
    plotting.latent_scatter(projected, labels, figures / "ex6_high_latent_pca.png",
                            plotting.padded_limits(evaluation.bounding_box(projected)),
                            title=f"{high.latent_dim}-D VAE means, first two principal components",
                            xlabel=f"PC 1 ({explained[0]:.0%} of variance)", ylabel=f"PC 2 ({explained[1]:.0%})")
    metrics = {
        "latent_2": {**summarize_vae(vae2, history2, cached2, run, x_test_bin), "epochs": base.epochs},
        "high_latent": {**summarize_vae(vae_high, history_high, cached_high, run, x_test_bin),
                        "latent_dim": high.latent_dim, "epochs": high.epochs, "pca_explained_variance": explained},
        "grid": {"size": n, "prior_mass_per_axis": PRIOR_MASS, "half_width": half, "means_outside_share": outside},
        "grid_reading": reading,
        "silhouette_vae_means": evaluation.cluster_summary(means, labels, seed=args.seed)["silhouette"],
        "silhouette_ae_codes": evaluation.cluster_summary(codes_ae, labels, seed=args.seed)["silhouette"],
        "beta": base.beta,
    }
    run.save_results("exercise_6", metrics)
    print(f"exercise 6: 2-D VAE test MSE {metrics['latent_2']['test_mse']:.5f}, KL {metrics['latent_2']['test_kl']:.2f}; "
          f"{high.latent_dim}-D test MSE {metrics['high_latent']['test_mse']:.5f} ({run.wall_time():.1f} s)")


def main(argv=None) -> int:
    parser = exercise_parser(__doc__, likelihood_vae(2))
    parser.add_argument("--grid-size", type=grid_size, default=15, help="grid points per axis")
    parser.add_argument("--high-latent", type=positive_int, default=16,
                        help="latent size of the second VAE: the likelihood study's Bernoulli VAE of that size")
    return run_script(parser, argv, body)


if __name__ == "__main__":
    raise SystemExit(main())
