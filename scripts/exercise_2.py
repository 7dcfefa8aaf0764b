"""Exercise 2: the 2-D codes of all 70 000 MNIST images, coloured by digit.

Also measures what the scatter shows: per-digit spread and overlap (silhouette, nearest-centroid
accuracy) and the fraction of codes clipped at exactly 0 by the final ReLU. Uses the cached
exercise 1 model (trained first if absent, with the same flags).
"""

from __future__ import annotations

import mnist_ae.pipeline.quiet_start  # noqa: F401  (first: TensorFlow starts quietly, with the package's defaults)


from mnist_ae.analysis import evaluation
from mnist_ae.plots import charts
from mnist_ae.pipeline.harness import exercise_parser, run_script
from mnist_ae.training import encode


def body(run) -> None:
    trained = run.autoencoder()
    images, labels = run.all_images()
    codes = encode(trained.encoder, images)
    summary = evaluation.cluster_summary(codes, labels, seed=run.args.seed)
    charts.latent_scatter(codes, labels, run.figures / "ex2_latent_scatter.png",
                          charts.padded_limits(summary["box"]),
                          title=f"Autoencoder codes of {len(codes)} images")
    metrics = {"n_codes": len(codes), **summary, "model_from_cache": trained.cached}
    run.save_results("exercise_2", metrics)
    print(f"exercise 2: silhouette {summary['silhouette']:.3f}, nearest-centroid accuracy "
          f"{summary['nearest_centroid_accuracy']:.3f}, codes at 0 per coordinate "
          f"{summary['zero_fraction_per_coordinate']} ({run.wall_time():.1f} s)")


def main(argv=None) -> int:
    return run_script(exercise_parser(__doc__, recipes=("ex1_ae",)), argv, body)


if __name__ == "__main__":
    raise SystemExit(main())
