"""Exercise 5: decode a 15 x 15 grid spanning the box of the exercise 2 codes.

The grid is decoded in one batch and drawn with `imshow(..., extent=...)` on the very axes of
the exercise 2 scatter, each tile centred on the code it decodes; a second figure overlays the
scatter on the mosaic. What the grid shows is measured: exercise 4's classifier reads every tile
(a tile "is" a digit when its probability is at least 0.9), and each tile's cell is checked for
codes of real images. Uses the cached exercise 1 and exercise 4 models.
"""

from __future__ import annotations

import mnist_ae.pipeline.quiet_start  # noqa: F401  (first: TensorFlow starts quietly, with the package's defaults)

from mnist_ae.analysis import evaluation
from mnist_ae.plots import charts
from mnist_ae.pipeline.harness import exercise_parser, grid_size, run_script
from mnist_ae.training import decode, encode


def body(run) -> None:
    n = run.args.grid_size
    trained = run.autoencoder()
    images, labels = run.all_images()
    codes = encode(trained.encoder, images)
    box = evaluation.bounding_box(codes)
    decoded, image, extent = evaluation.decoded_grid(lambda z: decode(trained.decoder, z), box, n)
    limits = charts.padded_limits(box)
    charts.latent_mosaic(image, extent, run.figures / "ex5_latent_grid.png", limits=limits,
                         title=f"{n} x {n} decoded grid")
    charts.latent_mosaic(image, extent, run.figures / "ex5_grid_over_scatter.png", limits=limits,
                         overlay=(codes, labels), title="decoded grid under the codes")
    classifier = run.classifier().model
    reading = evaluation.read_grid(classifier, decoded, evaluation.codes_per_tile(codes, box, n))
    metrics = {"grid_size": n, "box": list(box), "extent": list(extent), "axes_limits": list(limits),
               "grid_reading": reading, "model_from_cache": trained.cached}
    run.save_results("exercise_5", metrics)
    print(f"exercise 5: decoded a {n}x{n} grid over {box}; {reading['confident_share']:.0%} of the tiles read as "
          f"digits {reading['classes_seen']} ({run.wall_time():.1f} s)")


def main(argv=None) -> int:
    parser = exercise_parser(__doc__, recipes=("ex1_ae", "ex4_classifier"))
    parser.add_argument("--grid-size", type=grid_size, default=15, help="grid points per axis")
    return run_script(parser, argv, body)


if __name__ == "__main__":
    raise SystemExit(main())
