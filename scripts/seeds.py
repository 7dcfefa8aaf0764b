"""Study (on demand): how much exercises 1-3's numbers move with the seed.

One seed on one machine is one sample: the same command on another CPU trains another model.
This retrains the exercise 1 autoencoder (same recipe and flags) for each of `--seeds` (seed 0 is
exercise 1's own model, from the cache) and measures on each what the report quotes: the test
MSE, exercise 3's 1-NN accuracy, exercise 2's silhouette and the share of codes clipped at zero,
and what the report's per-digit claims rest on (per digit: test MSE, silhouette, 1-NN accuracy
and whether it is significantly above or below the overall one; the most confused pairs).
Writes each seed's numbers, their mean and standard deviation, and for each per-digit claim in
how many seeds each digit makes it (`per_digit_counts`), so the report says which claims hold
across seeds. Too long for the whole job (one exercise 1 training per seed):
`bash run.sh run seeds`; the report quotes it when present.
"""

from __future__ import annotations

import mnist_ae.pipeline.quiet_start  # noqa: F401  (first: TensorFlow starts quietly, with the package's defaults)

import dataclasses

import numpy as np

from mnist_ae.analysis import evaluation
from mnist_ae.pipeline.harness import exercise_parser, run_script
from mnist_ae.training import AEConfig, encode, recipe, train_autoencoder

MEASURES = ("test_mse", "knn1_accuracy", "silhouette", "clipped_share")


def measure(run, config: AEConfig) -> dict:
    """Train (or load) the exercise 1 autoencoder of `config`; the numbers exercises 1-3 report."""
    trained = train_autoencoder(run.x_train, run.x_test, config, run.cache)
    train_codes, test_codes = encode(trained.encoder, run.x_train), encode(trained.encoder, run.x_test)
    predicted = evaluation.nearest_neighbour_predict(train_codes, run.y_train, test_codes)
    codes = np.concatenate([train_codes, test_codes])
    labels = np.concatenate([run.y_train, run.y_test])
    summary = evaluation.cluster_summary(codes, labels, seed=config.seed)
    intervals = evaluation.accuracy_intervals(run.y_test, predicted)
    return {"test_mse": evaluation.reconstruction_mse(trained.model, run.x_test)["mse"],
            "knn1_accuracy": float(np.mean(predicted == run.y_test)),
            "silhouette": summary["silhouette"],
            "clipped_share": float(np.mean(codes == 0)),  # coordinates at exactly 0, both together
            "per_digit": {"test_mse": evaluation.per_class_mse(trained.model, run.x_test, run.y_test),
                          "silhouette": {d: v["silhouette"] for d, v in summary["per_digit"].items()},
                          "knn1_accuracy": {d: v["accuracy"] for d, v in intervals.items()},
                          "knn1_versus_overall": {d: v["versus_overall"] for d, v in intervals.items()}},
            "confused_pairs": evaluation.confused_pairs(run.y_test, predicted, top=3),
            "model_from_cache": trained.cached}


def per_digit_counts(per_seed: dict) -> dict:
    """For each per-digit claim the report makes, in how many seeds each digit makes it: among the
    three best/worst reconstructed (test MSE), the three clearest/most overlapped clusters
    (silhouette), significantly better/worse than the overall 1-NN accuracy; and in how many seeds
    each pair of digits ("3/5") is among the three the 1-NN classifier confuses most."""
    runs = [r["per_digit"] for r in per_seed.values()]
    mse = evaluation.extremes_per_run([r["test_mse"] for r in runs])
    silhouette = evaluation.extremes_per_run([r["silhouette"] for r in runs])
    side = lambda s: {d: sum(r["knn1_versus_overall"].get(d) == s for r in runs) for d in runs[0]["test_mse"]}  # noqa: E731
    pairs = [f"{c['pair'][0]}/{c['pair'][1]}" for r in per_seed.values() for c in r["confused_pairs"]]
    return {"best_reconstructed": mse["lowest"], "worst_reconstructed": mse["highest"],
            "clearest_clusters": silhouette["highest"], "most_overlapped": silhouette["lowest"],
            "knn1_better": side("better"), "knn1_worse": side("worse"),
            "confused_pairs": {pair: pairs.count(pair) for pair in sorted(set(pairs))}}


def body(run) -> None:
    base = run.recipe("ex1_ae")
    per_seed = {}
    for k, seed in enumerate(run.args.seeds, start=1):
        per_seed[str(seed)] = measure(run, dataclasses.replace(base, seed=seed))
        r = per_seed[str(seed)]
        print(f"seeds [{k}/{len(run.args.seeds)}] seed {seed}: test MSE {r['test_mse']:.5f}, 1-NN "
              f"{100 * r['knn1_accuracy']:.2f} %, silhouette {r['silhouette']:.3f}, clipped {100 * r['clipped_share']:.1f} %",
              flush=True)
    summary = {}
    for m in MEASURES:
        values = np.array([r[m] for r in per_seed.values()])
        summary[m] = {"mean": float(values.mean()), "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
                      "min": float(values.min()), "max": float(values.max())}
    run.save_results("seeds", {"seeds": list(run.args.seeds), "per_seed": per_seed, "summary": summary,
                               "per_digit_counts": per_digit_counts(per_seed), "recipe": recipe(base)})
    print(f"seeds: test MSE {summary['test_mse']['mean']:.5f} +- {summary['test_mse']['std']:.5f}, 1-NN "
          f"{100 * summary['knn1_accuracy']['mean']:.1f} +- {100 * summary['knn1_accuracy']['std']:.1f} % over "
          f"{len(per_seed)} seeds ({run.wall_time():.1f} s)")


def main(argv=None) -> int:
    parser = exercise_parser(__doc__, recipes=("ex1_ae",))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3],
                        help="seeds of the autoencoders compared (0 is exercise 1's own model)")
    return run_script(parser, argv, body)


if __name__ == "__main__":
    raise SystemExit(main())
