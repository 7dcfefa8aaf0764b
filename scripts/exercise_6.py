"""Exercise 6: a variational autoencoder with a 2-D latent space, trained as the assignment asks,
and a high-dimensional (default 16-D) one beside it.

The encoder gives a mean and a log standard deviation per image; a named sampling function in a
Keras `Lambda` layer draws `mean + n * exp(log_sigma)`. The 2-D VAE's loss is exercise 1's
squared error (summed over the pixels, so it weighs against the KL as a Gaussian log-likelihood)
plus the KL divergence to N(0, I), averaged over the batch and given to Keras through
`compile` (`vae.build_mse_vae`, `training.train_vae`); 30 epochs. The 16-D VAE is the
likelihood study's Bernoulli VAE (its ELBO is in nats), reused here for the PCA view and the
reconstructions. Each model is trained once and cached by its own step (`vae_2d`, `vae_16d`).

Figures: (a) the encoder means of all 70 000 images; (c) exercise 5(a) repeated, a 15 x 15 grid
between the corners of the means' box decoded and drawn on the axes of the (a) scatter; as an
extra, the grid over the prior's central box; the VAE's and the autoencoder's grids side by
side, reconstructions, and a PCA view of the 16-D means. The autoencoder is exercise 1's with
its default settings, from the cache (trained if absent); exercise 4's classifier reads the
grids' tiles.
"""

from __future__ import annotations

import mnist_ae.pipeline.quiet_start  # noqa: F401  (first: TensorFlow starts quietly, with the package's defaults)

import numpy as np
from scipy.stats import norm

from mnist_ae import preprocessing
from mnist_ae.analysis import embedding, evaluation, likelihood
from mnist_ae.plots import charts
from mnist_ae.pipeline.harness import exercise_parser, grid_size, run_script
from mnist_ae.training import decode, encode, fixed_budget_record

# The extra grid spans the central 90 % of the prior along each axis.
PRIOR_MASS = 0.90


def summarize_vae(trained, run, x_scored) -> dict:
    """Test MSE of the posterior-mean reconstructions of the grey-level test images, and the loss
    terms on `x_scored` (the images the model's likelihood is defined on)."""
    model, history, cached = trained.model, trained.history, trained.cached
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


def body(run) -> None:
    args, n = run.args, run.args.grid_size
    base, high = run.recipe("vae_2d"), run.recipe("vae_16d")
    x_test_bin = likelihood.binarized_test_set(run.x_test)
    trained2, trained_high = run.vae(2), run.vae(16)
    vae2, vae_high = trained2.model, trained_high.model

    images, labels = run.all_images()
    means, log_sigmas, _ = (np.asarray(t) for t in vae2.encoder.predict(images, batch_size=2048, verbose=0))
    box = evaluation.bounding_box(means)
    limits = charts.padded_limits(box)  # (a)'s axes, shared by (c)
    decoded, mosaic, extent = evaluation.decoded_grid(vae2.decode, box, n)
    half = float(norm.ppf(0.5 + PRIOR_MASS / 2))
    prior_box = (-half, half, -half, half)
    prior_decoded, prior_mosaic, prior_extent = evaluation.decoded_grid(vae2.decode, prior_box, n)
    inside_prior = float(np.mean((np.abs(means) <= half).all(axis=1)))
    labels_z = {"xlabel": "z mean 1", "ylabel": "z mean 2"}
    figures = run.figures
    charts.latent_scatter(means, labels, figures / "ex6_latent_means.png", limits,
                          title=f"VAE encoder means of {len(means)} images", **labels_z)
    charts.latent_mosaic(mosaic, extent, figures / "ex6_latent_grid.png", limits,
                         title=f"{n} x {n} grid between the corners of the means", **labels_z)
    charts.latent_mosaic(mosaic, extent, figures / "ex6_grid_over_means.png", limits, overlay=(means, labels),
                         title="decoded grid under the means", **labels_z)
    charts.latent_mosaic(prior_mosaic, prior_extent, figures / "ex6_prior_grid.png",
                         charts.padded_limits(prior_box, margin=0.01),
                         title=f"grid over the central {PRIOR_MASS:.0%} of the prior", **labels_z)
    # What the grids' tiles show, measured with exercise 4's classifier, tile by tile with the codes
    # under each (samples from the priors are read by the generation-quality step).
    classifier = run.classifier().model
    reading = evaluation.read_grid(classifier, decoded, evaluation.codes_per_tile(means, box, n))
    prior_reading = evaluation.read_grid(classifier, prior_decoded, evaluation.codes_per_tile(means, prior_box, n))
    ae = run.autoencoder()
    codes_ae = encode(ae.encoder, images)
    ae_box = evaluation.bounding_box(codes_ae)
    _, ae_mosaic, ae_extent = evaluation.decoded_grid(lambda z: decode(ae.decoder, z), ae_box, n)
    charts.mosaics_side_by_side(
        [(ae_mosaic, ae_extent, charts.padded_limits(ae_box), "autoencoder (exercise 5)", "code 1", "code 2"),
         (mosaic, extent, limits, "variational autoencoder", "z mean 1", "z mean 2")],
        figures / "ex6_grids_ae_vs_vae.png")
    batch = run.x_test[:10]
    view = lambda x: preprocessing.to_mnist_view(np.asarray(x))  # noqa: E731
    charts.image_rows({"input": view(batch), "AE": view(ae.model.predict(batch, verbose=0)),
                       "VAE 2-D": view(vae2.predict(batch, verbose=0)),
                       f"VAE {high.latent_dim}-D": view(vae_high.predict(batch, verbose=0))},
                      figures / "ex6_reconstructions.png")
    means_high = np.asarray(vae_high.encoder.predict(images, batch_size=2048, verbose=0)[0])
    projected, explained, _ = embedding.pca(means_high, 2, seed=args.seed)
    charts.latent_scatter(projected, labels, figures / "ex6_high_latent_pca.png",
                          charts.padded_limits(evaluation.bounding_box(projected)),
                          title=f"{high.latent_dim}-D VAE means, first two principal components",
                          xlabel=f"PC 1 ({explained[0]:.0%} of variance)", ylabel=f"PC 2 ({explained[1]:.0%})")
    ae_spread = np.std(codes_ae, axis=0)
    metrics = {
        "latent_2": {**summarize_vae(trained2, run, run.x_test), "epochs": base.epochs,
                     "stopping": fixed_budget_record(trained2.history)},
        "high_latent": {**summarize_vae(trained_high, run, x_test_bin),
                        "latent_dim": high.latent_dim, "epochs": high.epochs, "pca_explained_variance": explained},
        "grid": {"size": n, "box": list(box), "extent": list(extent), "axes_limits": list(limits)},
        "grid_reading": reading,
        "prior_grid": {"prior_mass_per_axis": PRIOR_MASS, "half_width": half, "means_inside_share": inside_prior,
                       "reading": prior_reading},
        # How the two code spaces sit: centre and spread per coordinate (all 70 000 images).
        "means_centre": np.mean(means, axis=0).tolist(), "means_std": np.std(means, axis=0).tolist(),
        "ae_codes_centre": np.mean(codes_ae, axis=0).tolist(), "ae_codes_std": ae_spread.tolist(),
        "ae_box": list(ae_box),
        # Each image is a distribution: its posterior's standard deviation per coordinate, on average.
        "posterior_sigma_mean": np.mean(np.exp(log_sigmas), axis=0).tolist(),
        "silhouette_vae_means": evaluation.cluster_summary(means, labels, seed=args.seed)["silhouette"],
        "silhouette_ae_codes": evaluation.cluster_summary(codes_ae, labels, seed=args.seed)["silhouette"],
        "beta": base.beta,
    }
    run.save_results("exercise_6", metrics)
    print(f"exercise 6: 2-D VAE test MSE {metrics['latent_2']['test_mse']:.5f}, KL {metrics['latent_2']['test_kl']:.2f}; "
          f"{reading['confident_share']:.0%} of the grid's tiles read as digits; "
          f"{high.latent_dim}-D test MSE {metrics['high_latent']['test_mse']:.5f} ({run.wall_time():.1f} s)")


def main(argv=None) -> int:
    parser = exercise_parser(__doc__, recipes=("vae_2d", "vae_16d", "ex1_ae", "ex4_classifier"))
    parser.add_argument("--grid-size", type=grid_size, default=15, help="grid points per axis")
    return run_script(parser, argv, body)


if __name__ == "__main__":
    raise SystemExit(main())
