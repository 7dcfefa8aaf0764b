"""Study: what the 8-D and 32-D codes of the code-size study hold, seen in 2-D and 3-D.

For each autoencoder of the code-size study (its finalists AE8 and AE32, from the model cache;
the code_size step trains them), the codes of all test images are projected by PCA (fitted on
all of them) onto 2 and 3 components, with the share of variance each keeps, and embedded by
t-SNE (2-D and 3-D) on a seeded subsample of `--tsne-samples` test images. On that same
subsample, for the raw codes and every view, it measures how well the digits stay apart:
leave-one-out 1-NN accuracy and silhouette (`mnist_ae.analysis.embedding.separation`). A 15 x 15 grid
over the central 90 % of the first two principal components (further components at their mean)
is decoded in one batch and drawn on PC coordinates beside the codes' scatter.
Trains nothing.
"""

from __future__ import annotations

import mnist_ae.pipeline.quiet_start  # noqa: F401  (first: TensorFlow starts quietly, with the package's defaults)

import time

import numpy as np
from threadpoolctl import threadpool_limits

from mnist_ae import preprocessing, process
from mnist_ae.analysis import embedding, evaluation
from mnist_ae.models import code_models
from mnist_ae.plots import latent_plots
from mnist_ae.pipeline.harness import QUICK, exercise_parser, grid_size, positive_float, positive_int, run_script
from mnist_ae.pipeline.results import read_step_results
from mnist_ae.training import decode, encode

FULL_TSNE = 3000  # test images t-SNE embeds (and every separation is measured on)
CENTRAL = 0.90  # the PCA grid spans this central fraction of the codes along PC 1 and PC 2
FIGURES = ("latent_pca_tsne_2d.png", "latent_3d.png", "latent_pca_generation.png")


def mnist_images(run) -> np.ndarray:
    """The test images as the code-size autoencoders take them: float32 (N, 28, 28, 1) in [0, 1]."""
    # run.x_test is the exercises' zero-padded 32x32 input; its central crop is the MNIST image.
    return preprocessing.to_unpadded_input(run.x_test)


def pc_labels(ratios, short: bool = False) -> tuple[str, ...]:
    """Axis labels naming each principal component's share of the variance: "PC 1 (23 % of variance)"."""
    tail = " %" if short else " % of variance"
    return tuple(f"PC {i} ({100 * r:.0f}{tail})" for i, r in enumerate(ratios, start=1))


def measure_title(name: str, view: str, sep: dict) -> str:
    return f"{name} {view}\n1-NN {100 * sep['knn1_accuracy']:.1f} %, silhouette {sep['silhouette']:.2f}"


def explore(run, study, size: int, images, subsample) -> tuple[dict, dict]:
    """Everything for one code size: (its metrics, what its figures need)."""
    started, seed, labels = time.perf_counter(), run.args.seed, run.y_test
    encoder, decoder, _ = code_models.load_finalist(run.cache, study, size)
    codes = encode(encoder, images)
    if codes.shape[1] < 3:
        raise ValueError(f"code size {size}: a 3-D view needs codes of at least 3 numbers; drop it from --sizes")
    # The first two components of a 3-component PCA are the 2-component PCA's: one fit gives both.
    pca_3d, ratios, fitted = embedding.pca(codes, 3, seed)
    pca_2d = pca_3d[:, :2]
    sub_codes, sub_labels = codes[subsample], labels[subsample]
    timings, tsne = {}, {}
    for dims in (2, 3):
        t = time.perf_counter()
        tsne[dims] = embedding.tsne(sub_codes, dims, seed, perplexity=run.args.perplexity)
        timings[f"tsne_{dims}d"] = round(time.perf_counter() - t, 2)
    views = {"raw": sub_codes, "pca_2d": pca_2d[subsample], "pca_3d": pca_3d[subsample],
             "tsne_2d": tsne[2], "tsne_3d": tsne[3]}
    separation = {name: embedding.separation(points, sub_labels, seed) for name, points in views.items()}

    n = run.args.grid_size
    grid_codes, extent, box = embedding.pca_grid(fitted, pca_2d, n, central=CENTRAL)
    decoded = decode(decoder, grid_codes)  # one batch of n*n codes
    mosaic = evaluation.mosaic(np.asarray(decoded).reshape(n * n, *decoded.shape[1:3]), n)

    name = f"AE{size}"
    labels_pc = pc_labels(ratios)
    figures = {
        "row_2d": [latent_plots.Panel(views["pca_2d"], measure_title(name, "PCA 2-D", separation["pca_2d"]), labels_pc[:2]),
                   latent_plots.Panel(tsne[2], measure_title(name, "t-SNE 2-D", separation["tsne_2d"]),
                                      ("t-SNE 1", "t-SNE 2"))],
        "row_3d": [latent_plots.Panel(views["pca_3d"], measure_title(name, "PCA 3-D", separation["pca_3d"]),
                                      pc_labels(ratios, short=True)),
                   latent_plots.Panel(tsne[3], measure_title(name, "t-SNE 3-D", separation["tsne_3d"]),
                                      ("t-SNE 1", "t-SNE 2", "t-SNE 3"))],
        "generation": latent_plots.GenerationRow(name, pca_2d, labels, mosaic, extent, box, labels_pc[:2]),
    }
    metrics = {
        "code_size": size,
        "n_codes": len(codes),
        "pca_explained_variance_2d": ratios[:2],
        "pca_explained_variance_3d": ratios,
        "tsne_samples": len(subsample),
        "separation": separation,
        "grid": {"size": n, "central_fraction": CENTRAL, "box_pc12": list(box), "extent_pc12": list(extent),
                 "other_components": "mean (0 in PC coordinates)"},
        "tsne_wall_time_s": timings,
        "wall_time_s": round(time.perf_counter() - started, 2),
    }
    return metrics, figures


def body(run) -> None:
    study = read_step_results(run.results, "code_size")
    images = mnist_images(run)
    n_tsne = run.args.tsne_samples or (QUICK.tsne_images if run.args.quick else FULL_TSNE)
    subsample = embedding.seeded_subsample(len(images), n_tsne, run.args.seed)  # the same images for every size
    if run.args.perplexity >= len(subsample):
        raise ValueError(f"--perplexity {run.args.perplexity} must be below the {len(subsample)} t-SNE samples")

    metrics, figures = {"code_sizes": list(run.args.sizes)}, []
    threads = process.core_share()
    for size in run.args.sizes:
        with threadpool_limits(limits=threads, user_api="openmp"):
            size_metrics, size_figures = explore(run, study, size, images, subsample)
        metrics[str(size)], figures = size_metrics, figures + [size_figures]
        sep = size_metrics["separation"]
        pct = lambda view: f"{100 * sep[view]['knn1_accuracy']:.1f} %"  # noqa: E731
        print(f"latent exploration AE{size}: PCA 2-D keeps {100 * sum(size_metrics['pca_explained_variance_2d']):.0f} % "
              f"of the variance; 1-NN on {len(subsample)} test codes: raw {pct('raw')}, PCA 2-D {pct('pca_2d')}, "
              f"t-SNE 2-D {pct('tsne_2d')}, t-SNE 3-D {pct('tsne_3d')} ({size_metrics['wall_time_s']:.1f} s)")

    sub_labels = run.y_test[subsample]
    latent_plots.embedding_panels([f["row_2d"] for f in figures], sub_labels, run.figures / FIGURES[0])
    latent_plots.embedding_3d([f["row_3d"] for f in figures], sub_labels, run.figures / FIGURES[1])
    latent_plots.pca_generation([f["generation"] for f in figures], run.figures / FIGURES[2])
    metrics.update({
        "tsne_samples": len(subsample),
        "tsne_perplexity": run.args.perplexity,
        "tsne_settings": {f"{d}d": settings for d, settings in embedding.TSNE_SETTINGS.items()},
        "separation_method": "on the t-SNE subsample for every view: leave-one-out 1-NN accuracy "
                             "(KNeighborsClassifier), silhouette (silhouette_score)",
        "figures": list(FIGURES),
        "wall_time_s": round(run.wall_time(), 2),
    })
    run.save_results("latent_exploration", metrics)


def main(argv=None) -> int:
    parser = exercise_parser(__doc__, recipes=("code_size_finalists",))
    parser.add_argument("--sizes", type=positive_int, nargs="+", default=[8, 32],
                        help="code sizes of the code-size study's finalists to explore")
    parser.add_argument("--tsne-samples", type=positive_int, default=None,
                        help=f"test images t-SNE embeds and separation is measured on "
                             f"(default {FULL_TSNE}; {QUICK.tsne_images} with --quick)")
    parser.add_argument("--perplexity", type=positive_float, default=30.0, help="t-SNE perplexity")
    parser.add_argument("--grid-size", type=grid_size, default=15, help="PCA grid points per axis")
    return run_script(parser, argv, body)


if __name__ == "__main__":
    raise SystemExit(main())
