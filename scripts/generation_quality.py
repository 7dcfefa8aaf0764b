"""Study: how good are the generated images? Measured with the project's best classifier.

Sources: the exercise 5 grid (autoencoder, over its code box), the exercise 6(c) grid (2-D VAE,
over the box of its means), the PCA grid of the code-size study's AE8 (latent exploration), and
10 000 images decoded from draws of the 2-D and 16-D VAE priors. Each is read by exercise 4's
classifier: the share classified with probability >= 0.9, how many digit classes appear and how
evenly (normalised entropy of the confident predictions), and a Fréchet distance between the
classifier's penultimate-layer features of the generated images and of the test images (the
measure behind FID, with a digit classifier instead of Inception), beside the real-data floor:
the same distance between 10 000 training and the 10 000 test images.
"""

from __future__ import annotations

import mnist_ae.pipeline.quiet_start  # noqa: F401  (first: TensorFlow starts quietly, with the package's defaults)

import numpy as np

from mnist_ae import preprocessing
from mnist_ae.analysis import embedding, evaluation
from mnist_ae.models import code_models
from mnist_ae.plots import charts
from mnist_ae.pipeline.harness import exercise_parser, grid_size, positive_int, run_script
from mnist_ae.pipeline.results import read_step_results
from mnist_ae.training import decode, encode

PCA_CENTRAL = 0.90  # as the latent exploration's grid
PCA_CODE_SIZE = 8
SHOWN = 12  # images per source in the figure: seeded picks, not chosen by hand
# The figure's row labels: what a reader calls each source.
LABELS = {"ae_grid": "AE grid", "vae_grid": "2-D VAE grid", "vae2_prior": "2-D VAE prior",
          "vae16_prior": "16-D VAE prior", f"ae{PCA_CODE_SIZE}_pca_grid": f"AE{PCA_CODE_SIZE} PCA grid"}


def evenness(per_digit: dict[str, int]) -> float | None:
    """Entropy of the confident predictions over the 10 digits / log 10: 1 = every digit equally often.

    Example:
        >>> evenness({str(d): 5 for d in range(10)}), evenness({"0": 7, **{str(d): 0 for d in range(1, 10)}})
        (1.0, 0.0)
    """
    counts = np.array(list(per_digit.values()), dtype=np.float64)
    if counts.sum() == 0:
        return None
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum() / np.log(len(counts)))


def body(run) -> None:
    args, n = run.args, run.args.grid_size
    classifier = run.classifier().model
    features_of = evaluation.penultimate(classifier)
    real = features_of(run.x_test)
    floor = evaluation.frechet_distance(features_of(run.x_train[: len(run.x_test)]), real)

    sources = {}
    ae = run.autoencoder()
    images, _ = run.all_images()
    box = evaluation.bounding_box(encode(ae.encoder, images))
    sources["ae_grid"] = evaluation.decoded_grid(lambda z: decode(ae.decoder, z), box, n)[0]
    for dim in (2, 16):
        vae = run.vae(dim).model
        if dim == 2:  # exercise 6(c)'s grid: between the corners of the means' box
            means = np.asarray(vae.encoder.predict(images, batch_size=2048, verbose=0)[0])
            sources["vae_grid"] = evaluation.decoded_grid(vae.decode, evaluation.bounding_box(means), n)[0]
        z = np.random.default_rng(args.seed).standard_normal((args.prior_samples, dim)).astype(np.float32)
        sources[f"vae{dim}_prior"] = np.asarray(vae.decode(z))
    study = read_step_results(run.results, "code_size")
    encoder, decoder, _ = code_models.load_finalist(run.cache, study, PCA_CODE_SIZE)
    codes = encode(encoder, preprocessing.to_unpadded_input(run.x_test))
    projected, _, fitted = embedding.pca(codes, 2, args.seed)
    grid_codes, _, _ = embedding.pca_grid(fitted, projected, n, central=PCA_CENTRAL)
    decoded = np.asarray(decode(decoder, grid_codes))[..., 0]
    sources[f"ae{PCA_CODE_SIZE}_pca_grid"] = preprocessing.pad_to_model_input(decoded)

    metrics = {}
    for name, generated in sources.items():
        read = evaluation.classify_generated(classifier, generated)
        metrics[name] = {"images": len(generated), "confident_share": read["confident_share"],
                         "classes_seen": read["classes_seen"], "confident_per_digit": read["confident_per_digit"],
                         "evenness": evenness(read["confident_per_digit"]),
                         "frechet_distance": evaluation.frechet_distance(features_of(generated), real)}
        print(f"generation quality, {name}: {metrics[name]['confident_share']:.1%} read as digits, "
              f"{len(read['classes_seen'])} digits seen, Fréchet distance {metrics[name]['frechet_distance']:.2f}",
              flush=True)
    pick = np.random.default_rng(args.seed)
    charts.image_rows({LABELS.get(name, name): preprocessing.to_mnist_view(
                             images[np.sort(pick.choice(len(images), SHOWN, replace=False))])
                         for name, images in sources.items()},
                        run.figures / "generation_samples.png")
    run.save_results("generation_quality", {**metrics, "sources": list(metrics), "real_data_floor": floor,
                                            "confidence_threshold": evaluation.CONFIDENT,
                                            "feature_dimension": int(real.shape[1])})
    print(f"generation quality: real-data floor {floor:.2f} ({run.wall_time():.1f} s)")


def main(argv=None) -> int:
    parser = exercise_parser(__doc__, recipes=("ex4_classifier", "ex1_ae", "vae_2d", "vae_16d", "code_size_finalists"))
    parser.add_argument("--grid-size", type=grid_size, default=15, help="grid points per axis")
    parser.add_argument("--prior-samples", type=positive_int, default=10000, help="images drawn from each VAE prior")
    return run_script(parser, argv, body)


if __name__ == "__main__":
    raise SystemExit(main())
