"""Study: fine-tuning the code-size study's AE32 encoder for classification, and what pretraining buys.

Same split as the code-size study (50 000 train / 10 000 validation / the 10 000 test images).
Variants of "how much of the pretrained encoder stays frozen, what head goes on top"
(`mnist_ae.finetune.variants`) are trained for the same epochs and compared on the validation
set, with their seconds per epoch. The best by validation accuracy is retrained on train +
validation and evaluated once on the test set (confusion matrix). Then the question a reader of
an autoencoder-pretraining study has: with 100, 1 000, 10 000 or all the labels (seeded,
class-balanced subsets of the training split; "all" is the whole split), how much better is the pretrained encoder than
the same network from a random initialisation, trained for the same number of steps?
Frozen layers are run once over the data (feature extraction) rather than every epoch.
"""

from __future__ import annotations

import mnist_ae  # noqa: F401  (before Keras: it sets TensorFlow's defaults, see mnist_ae/__init__.py)

import dataclasses
import math
import time

import keras
import numpy as np
from sklearn.metrics import confusion_matrix

from mnist_ae import code_models, finetune, plotting, preprocessing, training
from mnist_ae.cli import exercise_parser, positive_int, run_script
from mnist_ae.results import read_step_results

CODE_SIZE = 32  # whose encoder is fine-tuned (the code-size study's finalist)
LABELS = (100, 1000, 10000)  # plus "all" (the whole training split)
# The reference report (PyTorch) and keras-io's simple convnet, test/validation accuracy.
REFERENCES = {"reference_frozen_linear_val": 0.922, "reference_frozen_2_dense_val": 0.95,
              "reference_best_test": 0.991, "keras_io_simple_convnet_test": 0.9922}
TARGET = 0.995
QUICK_LABEL_STEPS = 10


@dataclasses.dataclass(frozen=True)
class Defaults:
    """The study's budget (`--epochs` = each variant's epochs; the final model trains `final_epochs`).

    Sized to the issue's 4 minutes on 2 cores. Measured alone on 2 cores: 3 variant epochs, 6 final
    epochs, 300 label steps took 635 s (beside another study) for 98.88 % test accuracy; 2 / 5 / 200
    took 243 s for 98.47 % (the cheaper "frozen conv + 3 dense" then wins on validation).
    """

    epochs: int = 2
    batch_size: int = 128
    learning_rate: float = 1e-3
    seed: int = 0
    final_epochs: int = 5
    label_steps: int = 150  # optimizer steps of every label-efficiency run, pretrained or not
    shift: int = 2  # pixels of random translation where the images reach the trainable part


def train(model, x, y, config: training.ClassifierConfig, validation=None, verbose: int = 0) -> dict:
    """Cross-entropy with the project's compile recipe (Adam, cosine decay); the history + seconds/epoch."""
    training.compile_for_training(model, config, len(x), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    started = time.perf_counter()
    history = training.fit(model, x, y, epochs=config.epochs, batch_size=config.batch_size,
                           validation_data=validation, verbose=verbose)
    history["seconds_per_epoch"] = (time.perf_counter() - started) / config.epochs
    return history


def build(encoder, variant: finetune.Variant, args):
    return finetune.split_at(encoder, variant.cut, variant.head, reuse=variant.reuse,
                             shift=args.shift if variant.augment else 0, seed=args.seed)


def features(frozen, x) -> np.ndarray:
    return x if frozen is None else frozen.predict(x, batch_size=1024, verbose=0)


def accuracy(model, x, y) -> float:
    return float(np.mean(model.predict(x, batch_size=1024, verbose=0).argmax(axis=1) == y))


def body(run) -> None:
    args = run.args
    study = read_step_results(run.results, "code_size")
    pretrained = lambda: code_models.load_finalist(run.cache, study, CODE_SIZE)[0]  # noqa: E731
    params = study["finalists"][str(CODE_SIZE)]["params"]
    images = preprocessing.to_unpadded_input(run.x_train)
    train_idx, val_idx = preprocessing.train_validation_split(len(images))
    x_train, y_train, x_val, y_val = images[train_idx], run.y_train[train_idx], images[val_idx], run.y_train[val_idx]
    x_test = preprocessing.to_unpadded_input(run.x_test)
    config = training.ClassifierConfig(epochs=args.epochs, batch_size=args.batch_size,
                                       learning_rate=args.learning_rate, seed=args.seed, shift=0)

    results, variants = {}, finetune.variants(pretrained())
    extracted = {}  # cut -> (train, validation) features: variants that freeze the same part share them
    for k, (name, variant) in enumerate(variants.items(), start=1):
        keras.utils.set_random_seed(args.seed)
        frozen, trainable = build(pretrained(), variant, args)
        started = time.perf_counter()
        if variant.cut not in extracted:
            extracted[variant.cut] = features(frozen, x_train), features(frozen, x_val)
        f_train, f_val = extracted[variant.cut]
        extract = time.perf_counter() - started
        history = train(trainable, f_train, y_train, config, validation=(f_val, y_val))
        results[name] = {"val_accuracy": history["val_accuracy"][-1], "seconds_per_epoch": history["seconds_per_epoch"],
                         "feature_seconds": extract, "trainable_params": trainable.count_params(),
                         "history": {k: history[k] for k in ("accuracy", "val_accuracy")}}
        print(f"fine-tuning [{k}/{len(variants)}] {name}: validation accuracy {100 * results[name]['val_accuracy']:.2f} %, "
              f"{history['seconds_per_epoch']:.1f} s/epoch", flush=True)

    best = max(results, key=lambda n: results[n]["val_accuracy"])
    keras.utils.set_random_seed(args.seed)
    frozen, final = build(pretrained(), variants[best], args)
    x_all, y_all = np.concatenate([x_train, x_val]), np.concatenate([y_train, y_val])
    final_config = dataclasses.replace(config, epochs=1 if args.quick else args.final_epochs)
    final_history = train(final, features(frozen, x_all), y_all, final_config, verbose=2)
    probabilities = final.predict(features(frozen, x_test), batch_size=1024, verbose=0)
    predicted = probabilities.argmax(axis=1)
    test_accuracy = float(np.mean(predicted == run.y_test))
    matrix = confusion_matrix(run.y_test, predicted, labels=range(10))
    print(f"fine-tuning: best variant '{best}' retrained on {len(x_all)} images: test accuracy "
          f"{100 * test_accuracy:.2f} % (target >= {100 * TARGET:.1f} %)", flush=True)

    # What pretraining buys: the same network and recipe as "all fine-tuned", from the AE32's
    # weights or from a random initialisation, the same number of steps for both.
    recipe = variants["all fine-tuned + linear"]
    label_steps = QUICK_LABEL_STEPS if args.quick else args.label_steps
    efficiency = {}
    for n in (*LABELS, len(x_train)):
        if n > len(x_train):
            continue
        everything = n == len(x_train)  # "all": the whole split, as unbalanced as MNIST is
        pick = np.arange(n) if everything else finetune.balanced_subset(y_train, n, seed=args.seed)
        batch = min(args.batch_size, n)
        epochs = max(1, math.ceil(label_steps / math.ceil(n / batch)))
        sized = dataclasses.replace(config, epochs=epochs, batch_size=batch)
        row = {}
        for start, encoder in (("pretrained", pretrained), ("scratch", lambda: code_models.build(params, CODE_SIZE)[0])):
            keras.utils.set_random_seed(args.seed)
            _, model = build(encoder(), recipe, args)
            train(model, x_train[pick], y_train[pick], sized)
            row[start] = accuracy(model, x_test, run.y_test)
        label = "all" if everything else str(n)
        efficiency[label] = {**row, "labels": n, "epochs": epochs, "batch_size": batch, "steps": epochs * math.ceil(n / batch)}
        print(f"fine-tuning: {n} labels: pretrained {100 * row['pretrained']:.2f} %, "
              f"scratch {100 * row['scratch']:.2f} % ({epochs} epochs of {batch})", flush=True)

    plotting.confusion(matrix, run.figures / "finetune_confusion.png",
                       title=f"{best}: test accuracy {100 * test_accuracy:.2f} %")
    plotting.label_efficiency({k: v["labels"] for k, v in efficiency.items()},
                              {start: {k: v[start] for k, v in efficiency.items()} for start in ("pretrained", "scratch")},
                              run.figures / "finetune_label_efficiency.png")
    metrics = {
        "test_accuracy": test_accuracy,
        "test_errors": int(np.sum(predicted != run.y_test)),
        "confusion_matrix": matrix.tolist(),
        "best_variant": best,
        "variants": results,
        "final": {"epochs": final_config.epochs, "train_images": len(x_all), "augmented": variants[best].augment,
                  "seconds_per_epoch": final_history["seconds_per_epoch"]},
        "label_efficiency": efficiency,
        "label_steps": label_steps,
        "code_size": CODE_SIZE,
        "references": REFERENCES,
        "target": TARGET,
        "split": {"train": len(x_train), "validation": len(x_val), "test": len(x_test),
                  "seed": preprocessing.SPLIT_SEED},
    }
    run.save_results("finetune", metrics)
    print(f"fine-tuning: {len(results)} variants, best '{best}', test accuracy {100 * test_accuracy:.2f} % "
          f"({run.wall_time():.1f} s)")


def main(argv=None) -> int:
    defaults = Defaults()
    parser = exercise_parser(__doc__, defaults)
    parser.add_argument("--final-epochs", type=positive_int, default=defaults.final_epochs,
                        help="epochs of the best variant retrained on train + validation (1 with --quick)")
    parser.add_argument("--label-steps", type=positive_int, default=defaults.label_steps,
                        help="optimizer steps of each label-efficiency run (pretrained and scratch alike)")
    parser.add_argument("--shift", type=int, default=defaults.shift,
                        help="random translation in pixels where the images reach the trainable part (0: none)")
    return run_script(parser, argv, body)


if __name__ == "__main__":
    raise SystemExit(main())
