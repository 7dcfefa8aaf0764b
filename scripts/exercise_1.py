"""Exercise 1: train the constrained convolutional autoencoder with MSE.

Writes the first 10 test images beside their reconstructions, the train/test MSE per epoch and
the loss of every iteration, and `exercise_1.json` with the test MSE. The trained weights are
cached (keyed by the settings) for exercises 2, 3 and 5.
"""

from __future__ import annotations

import mnist_ae.pipeline.quiet_start  # noqa: F401  (first: TensorFlow starts quietly, with the package's defaults)

import math

from mnist_ae import preprocessing
from mnist_ae.analysis import evaluation
from mnist_ae.plots import charts
from mnist_ae.pipeline.harness import exercise_parser, run_script
from mnist_ae.training import fixed_budget_record, recipe


def body(run) -> None:
    trained = run.autoencoder()
    config = run.recipe("ex1_ae")
    batch = run.x_test[: config.batch_size]
    predicted = trained.model.predict(batch, verbose=0)
    charts.image_rows(
        {"input": preprocessing.to_mnist_view(batch[:10]), "output": preprocessing.to_mnist_view(predicted[:10])},
        run.figures / "ex1_reconstructions.png",
    )
    history = trained.history
    charts.loss_curves(history, run.figures / "ex1_loss_epochs.png", ylabel="MSE")
    steps = math.ceil(len(run.x_train) / config.batch_size)
    charts.iteration_loss(history["iteration_loss"], history["iteration_step"], steps,
                          run.figures / "ex1_loss_iterations.png")
    test = evaluation.reconstruction_mse(trained.model, run.x_test)
    train = evaluation.reconstruction_mse(trained.model, run.x_train)
    test_mse, train_mse = test["mse"], train["mse"]
    metrics = {
        "test_mse": test_mse,
        "train_mse": train_mse,
        "test_mse_padded_32x32": test["mse_padded"],
        "train_mse_padded_32x32": train["mse_padded"],
        "per_digit_test_mse": evaluation.per_class_mse(trained.model, run.x_test, run.y_test),
        "learning_rate": config.learning_rate,
        "recipe": recipe(config),
        "model_from_cache": trained.cached,
        "train_seconds": history["train_seconds"],
        "stopping": fixed_budget_record(history),
        "history": {k: history[k] for k in ("loss", "val_loss")},
    }
    run.save_results("exercise_1", metrics)
    print(f"exercise 1: test MSE {test_mse:.5f} on 28x28 ({test['mse_padded']:.5f} on the padded 32x32), "
          f"train MSE {train_mse:.5f} ({run.wall_time():.1f} s)")


def main(argv=None) -> int:
    return run_script(exercise_parser(__doc__, recipes=("ex1_ae",)), argv, body)


if __name__ == "__main__":
    raise SystemExit(main())
