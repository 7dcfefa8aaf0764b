"""Exercise 4: the encoder as a classifier.

The encoder's last conv + ReLU + pooling block is replaced by Flatten + Dense softmax and the
net is trained from scratch with categorical cross-entropy on exactly the assignment's training
images (no augmentation; the fine-tuning study trains with random shifts). The test set is evaluated after
every epoch, giving train and test curves of loss and accuracy; also the final test accuracy
and the confusion matrix.
"""

from __future__ import annotations

import mnist_ae.pipeline.quiet_start  # noqa: F401  (first: TensorFlow starts quietly, with the package's defaults)

import numpy as np
from sklearn.metrics import confusion_matrix

from mnist_ae.plots import charts
from mnist_ae.pipeline.harness import exercise_parser, run_script
from mnist_ae.training import fixed_budget_record


def body(run) -> None:
    config = run.recipe("ex4_classifier")
    trained = run.classifier()
    classifier, history, cached = trained.model, trained.history, trained.cached
    probabilities = classifier.predict(run.x_test, batch_size=1024, verbose=0)
    predicted = probabilities.argmax(axis=1)
    # Cross-entropy recomputed from the predictions, so it matches the accuracy exactly.
    test_loss = float(-np.mean(np.log(np.clip(probabilities[np.arange(len(predicted)), run.y_test], 1e-7, 1))))
    test_accuracy = float(np.mean(predicted == run.y_test))
    matrix = confusion_matrix(run.y_test, predicted, labels=range(10))
    charts.loss_curves(history, run.figures / "ex4_loss.png", ylabel="cross-entropy", log=True)
    charts.loss_curves(history, run.figures / "ex4_accuracy.png", metric="accuracy", ylabel="accuracy")
    charts.confusion(matrix, run.figures / "ex4_confusion.png", title=f"test accuracy {100 * test_accuracy:.2f} %")
    metrics = {
        "test_accuracy": test_accuracy,
        "test_loss": test_loss,
        "test_errors": int(np.sum(predicted != run.y_test)),
        "parameters": classifier.count_params(),
        "confusion_matrix": matrix.tolist(),
        "learning_rate": config.learning_rate,
        "shift": config.shift,  # 0: trained and tested on exactly the assignment's images
        "model_from_cache": cached,
        "train_seconds": history["train_seconds"],
        "stopping": fixed_budget_record(history),
        "history": {k: history[k] for k in ("loss", "val_loss", "accuracy", "val_accuracy")},
    }
    run.save_results("exercise_4", metrics)
    print(f"exercise 4: test accuracy {100 * test_accuracy:.2f} %, test loss {test_loss:.4f} ({run.wall_time():.1f} s)")


def main(argv=None) -> int:
    return run_script(exercise_parser(__doc__, recipes=("ex4_classifier",)), argv, body)


if __name__ == "__main__":
    raise SystemExit(main())
