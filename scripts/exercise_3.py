"""Exercise 3: 1-nearest-neighbour classification in the 2-D code space.

Each test code takes the label of its nearest training code (scikit-learn KNeighborsClassifier).
Reports the accuracy per digit on the full 10 000 test images and on the first 1 000 (the
assignment's count), the overall accuracy and the chance level. Uses the cached exercise 1 model.
"""

from __future__ import annotations

import mnist_ae.pipeline.quiet_start  # noqa: F401  (first: TensorFlow starts quietly, with the package's defaults)

import numpy as np

from mnist_ae.analysis import evaluation
from mnist_ae.plots import charts
from mnist_ae.pipeline.harness import exercise_parser, run_script
from mnist_ae.training import encode

ASSIGNMENT_TEST_IMAGES = 1000


def body(run) -> None:
    trained = run.autoencoder()
    train_codes, test_codes = encode(trained.encoder, run.x_train), encode(trained.encoder, run.x_test)
    predicted = evaluation.nearest_neighbour_predict(train_codes, run.y_train, test_codes)
    first = min(ASSIGNMENT_TEST_IMAGES, len(run.y_test))
    full = evaluation.per_class_accuracy(run.y_test, predicted)
    subset = evaluation.per_class_accuracy(run.y_test[:first], predicted[:first])
    counts = np.bincount(run.y_train, minlength=10)
    # A guess that ignores the image is right for 1/K of each digit's images on average.
    uniform = 1 / np.count_nonzero(counts)
    majority = float(counts.max() / len(run.y_train))  # always answering the most frequent digit
    charts.per_digit_bars({f"all {len(run.y_test)} test images": full, f"first {first}": subset},
                          run.figures / "ex3_knn_accuracy.png", chance=uniform)
    as_dict = lambda acc: {str(d): float(a) for d, a in enumerate(acc)}  # noqa: E731
    metrics = {
        "per_digit_accuracy": as_dict(full),
        "overall_accuracy": float(np.mean(predicted == run.y_test)),
        f"per_digit_accuracy_first_{ASSIGNMENT_TEST_IMAGES}": as_dict(subset),
        f"overall_accuracy_first_{ASSIGNMENT_TEST_IMAGES}": float(np.mean(predicted[:first] == run.y_test[:first])),
        # Which digits do significantly better or worse than overall (95 % Wilson intervals).
        "per_digit_intervals": evaluation.accuracy_intervals(run.y_test, predicted),
        "confused_pairs": evaluation.confused_pairs(run.y_test, predicted),
        "chance_accuracy_uniform": uniform,
        "chance_accuracy_majority": majority,
        "model_from_cache": trained.cached,
    }
    run.save_results("exercise_3", metrics)
    print(f"exercise 3: 1-NN accuracy {metrics['overall_accuracy']:.4f} on {len(run.y_test)} test images, "
          f"{metrics[f'overall_accuracy_first_{ASSIGNMENT_TEST_IMAGES}']:.4f} on the first {first} "
          f"({run.wall_time():.1f} s)")


def main(argv=None) -> int:
    return run_script(exercise_parser(__doc__, recipes=("ex1_ae",)), argv, body)


if __name__ == "__main__":
    raise SystemExit(main())
