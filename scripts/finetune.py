"""Study: fine-tuning the code-size study's AE32 encoder for classification, and what pretraining buys.

Same split as the code-size study (50 000 train / 10 000 validation / the 10 000 test images).
Variants of "how much of the pretrained encoder stays frozen, what head goes on top"
(`mnist_ae.studies.finetune.variants`) are each trained until their validation accuracy stops improving
(early stopping, best epoch's weights restored; the frozen codes get scikit-learn's linear probe,
fitted to convergence). The best by validation accuracy is tested once (confusion matrix); with
`--refit` it is first trained again on the training and validation images together, for the
epochs its validation run found best, as the reference report's best model was. Then the
question a reader of an autoencoder-pretraining study has: with 100, 1 000, 10 000 or all the
labels (seeded, class-balanced subsets of the training split; 100 and 1 000 over several
subsets), how much better is the pretrained network than the same network from
a random initialisation, each trained to convergence? Frozen layers are run once over the data
(feature extraction) rather than every epoch.
"""

from __future__ import annotations

import mnist_ae.pipeline.quiet_start  # noqa: F401  (first: TensorFlow starts quietly, with the package's defaults)

import argparse
import dataclasses
import time
from collections.abc import Callable

import keras
import numpy as np
from sklearn.metrics import confusion_matrix

from mnist_ae import preprocessing, training
from mnist_ae.models import code_models
from mnist_ae.plots import charts
from mnist_ae.studies import finetune
from mnist_ae.pipeline.harness import QUICK, exercise_parser, run_script
from mnist_ae.pipeline.results import read_step_results

CODE_SIZE = 32  # whose encoder is fine-tuned (the code-size study's finalist)
LABELS = (100, 1000, 10000)  # plus "all" (the whole training split)
SUBSET_SEEDS = (0, 1, 2)  # the class-balanced subsets of 100 and 1 000 labels
FEW = 1000  # subsets up to this size: several seeds, tiled epochs, a validation subset of this size
# The reference report (PyTorch) and keras-io's simple convnet, test/validation accuracy.
REFERENCES = {"frozen + linear": 0.922, "frozen + 2 dense": 0.95, "last 1 unfrozen + 2 dense": 0.97,
              "last 2 unfrozen + 2 dense": 0.98, "reference_best_test": 0.991, "keras_io_simple_convnet_test": 0.9922}
TARGETS = {"frozen + linear": 0.922, "frozen + 2 dense": 0.96, "last 1 unfrozen + 2 dense": 0.98,
           "last 2 unfrozen + 2 dense": 0.98, "best_test": 0.992}
PROBE = "frozen + linear"  # the variant fitted by scikit-learn's linear probe


def conv_watch_start(conv_epochs: int) -> int:
    """Epochs a convolutional network trains before its early stopping watches: half its cap.
    In the first half the rate is high and the validation accuracy jumps by tenths of a point; a
    from-scratch network on all labels stopped there after 7 of 30 epochs at 98.26 %, against
    98.93 % when trained 20 (docs/measurements.md).

    Example:
        >>> conv_watch_start(30), conv_watch_start(1)
        (15, 0)
    """
    return conv_epochs // 2


def train(run, model, name: str, settings: dict, x, y, validation, config: training.ClassifierConfig, patience: int,
          start: int = 0, parent: str | None = None) -> dict:
    """Cross-entropy until the validation accuracy stops improving (watched from epoch `start` + 1),
    or the cached model: the history, seconds per epoch and the stopping record
    (`finetune.fit_classifier`, cached under `finetune-<name>`)."""
    history, _ = finetune.fit_classifier(run.cache, model, cache_name(name), settings, x, y, validation, config,
                                         patience, start, parent=parent)
    return history


def cache_name(name: str) -> str:
    """Model-cache name of a fine-tuned network, e.g. `finetune-frozen-2-dense`.

    Example:
        >>> cache_name("last 1 unfrozen + 2 dense")
        'finetune-last-1-unfrozen-2-dense'
    """
    return "finetune-" + "-".join("".join(c if c.isalnum() else " " for c in name).split())


def features(frozen, x) -> np.ndarray:
    return x if frozen is None else frozen.predict(x, batch_size=1024, verbose=0)


def accuracy(model, x, y) -> float:
    return float(np.mean(model.predict(x, batch_size=1024, verbose=0).argmax(axis=1) == y))


def fit_probe(f_train, y_train, f_val, y_val) -> tuple[dict, Callable]:
    """The frozen codes' linear probe, fitted until lbfgs converges: its record and predict."""
    started = time.perf_counter()
    probe = finetune.linear_probe(f_train, y_train)
    return {"val_accuracy": float(np.mean(probe.predict(f_val) == y_val)), "seconds_per_epoch": None,
            "fit_seconds": time.perf_counter() - started, "trainable_params": int(f_train.shape[1] * 10 + 10),
            "method": "scikit-learn StandardScaler + LogisticRegression (lbfgs)",
            "stopping": finetune.probe_stopping(probe)}, probe.predict


def fit_keras(run, model, name, settings, f_train, y_train, f_val, y_val, config, patience, start=0,
              parent=None) -> tuple[dict, Callable]:
    """A Keras variant trained until its validation accuracy stops improving: its record (best
    epoch's accuracy, seconds an epoch, stopping record, curves) and predict (class labels)."""
    history = train(run, model, name, settings, f_train, y_train, (f_val, y_val), config, patience, start, parent)
    return ({"val_accuracy": history["stopping"]["best"], "seconds_per_epoch": history["seconds_per_epoch"],
             "fit_seconds": history["seconds_per_epoch"] * len(history["loss"]),
             "trainable_params": model.count_params(), "stopping": history["stopping"],
             "history": {k: history[k] for k in ("accuracy", "val_accuracy")}},
            lambda f: model.predict(f, batch_size=1024, verbose=0).argmax(axis=1))


def fit_variants(run, args, variants, pretrained, data, config, conv_epochs, parent) -> tuple[dict, dict, dict]:
    """Every variant fitted on the training split and judged on the validation split:
    ({name: record}, {name: (predict, its test features)}, {cut: (train, validation, test)
    features}). The frozen part is run once per cut (variants that freeze the same part share
    its features)."""
    x_train, y_train, x_val, y_val, x_test = data
    results, models, extracted = {}, {}, {}
    for k, (name, variant) in enumerate(variants.items(), start=1):
        keras.utils.set_random_seed(args.seed)
        frozen, trainable = finetune.build(pretrained(), variant, shift=args.shift, seed=args.seed)
        started = time.perf_counter()
        if variant.cut not in extracted:
            extracted[variant.cut] = tuple(features(frozen, x) for x in (x_train, x_val, x_test))
        f_train, f_val, f_test = extracted[variant.cut]
        extract = time.perf_counter() - started
        if name == PROBE:
            result, predict = fit_probe(f_train, y_train, f_val, y_val)
        else:
            conv = variant.cut == finetune.IMAGE
            result, predict = fit_keras(run, trainable, name, {"variant": dataclasses.asdict(variant),
                                                               "shift": args.shift if variant.augment else 0},
                                        f_train, y_train, f_val, y_val,
                                        dataclasses.replace(config, epochs=conv_epochs) if conv else config,
                                        args.conv_patience if conv else args.patience,
                                        conv_watch_start(conv_epochs) if conv else 0, parent)
        results[name], models[name] = {**result, "feature_seconds": extract}, (predict, f_test)
        print(f"fine-tuning [{k}/{len(variants)}] {name}: validation accuracy {100 * result['val_accuracy']:.2f} %"
              f"; {result['stopping']['stopped']}", flush=True)
    return results, models, extracted


def retrain(args, name, variant, record, pretrained, features, labels, config) -> tuple[dict, Callable]:
    """The chosen variant trained again from the pretrained weights on `features` (the training
    and validation images' together) for the epochs its validation run found best, the rate
    annealed over them; nothing to stop on, so the count comes from that run (`config` gives
    the batch size and rate). Its record and predict. A linear probe is refitted to convergence
    instead."""
    if name == PROBE:
        probe = finetune.linear_probe(features, labels)
        return {"train_images": len(features), "stopping": finetune.probe_stopping(probe)}, probe.predict
    epochs = record["stopping"]["best_epoch"]
    keras.utils.set_random_seed(args.seed)
    _, model = finetune.build(pretrained(), variant, shift=args.shift, seed=args.seed)
    retrained = dataclasses.replace(config, epochs=epochs)
    training.compile_for_training(model, retrained, len(features), loss="sparse_categorical_crossentropy",
                                  metrics=["accuracy"])
    started = time.perf_counter()
    history = training.fit(model, features, labels, epochs=epochs, batch_size=config.batch_size, verbose=0)
    return ({"train_images": len(features), "epochs": len(history["loss"]),
             "epochs_from": "the validation run's best epoch", "fit_seconds": time.perf_counter() - started},
            lambda f: model.predict(f, batch_size=1024, verbose=0).argmax(axis=1))


def body(run) -> None:
    args = run.recipe("finetune")
    study = read_step_results(run.results, "code_size")
    parent = code_models.finalist_key(CODE_SIZE, study["finalists"][str(CODE_SIZE)]["settings"])
    pretrained = lambda: code_models.load_finalist(run.cache, study, CODE_SIZE)[0]  # noqa: E731
    params = study["finalists"][str(CODE_SIZE)]["params"]
    images = preprocessing.to_unpadded_input(run.x_train)
    train_idx, val_idx = preprocessing.train_validation_split(len(images))
    x_train, y_train, x_val, y_val = images[train_idx], run.y_train[train_idx], images[val_idx], run.y_train[val_idx]
    x_test = preprocessing.to_unpadded_input(run.x_test)
    data = (x_train, y_train, x_val, y_val, x_test)
    conv_epochs = args.conv_epochs
    config = training.ClassifierConfig(epochs=args.epochs, batch_size=args.batch_size,
                                       learning_rate=args.learning_rate, seed=args.seed, shift=0)
    variants = finetune.variants(pretrained())
    results, models, extracted = fit_variants(run, args, variants, pretrained, data, config, conv_epochs, parent)

    best = max(results, key=lambda n: results[n]["val_accuracy"])
    predict, f_test = models[best]
    final = {"train_images": len(x_train)}
    if args.refit:
        f_train, f_val, f_test = extracted[variants[best].cut]
        final, predict = retrain(args, best, variants[best], results[best], pretrained,
                                 np.concatenate([f_train, f_val]), np.concatenate([y_train, y_val]), config)
    predicted = predict(f_test)
    test_accuracy = float(np.mean(predicted == run.y_test))
    matrix = confusion_matrix(run.y_test, predicted, labels=range(10))
    print(f"fine-tuning: best variant '{best}' (chosen on validation, trained on {final['train_images']} images), "
          f"tested once: test accuracy {100 * test_accuracy:.2f} % (target >= {100 * TARGETS['best_test']:.1f} %)",
          flush=True)

    # What pretraining buys: the network that trains everything, from the AE32's weights or from a
    # random initialisation, each trained to convergence on the same labels.
    recipe_name = next(n for n, v in variants.items() if v.cut == finetune.IMAGE)
    recipe = variants[recipe_name]
    efficiency = label_efficiency(run, args, recipe_name, recipe, pretrained, params, data, config, conv_epochs, parent,
                                  reuse={"pretrained": (results[recipe_name], models[recipe_name])})

    charts.confusion(matrix, run.figures / "finetune_confusion.png",
                     title=f"{best}: test accuracy {100 * test_accuracy:.2f} %")
    charts.label_efficiency_spread(efficiency, run.figures / "finetune_label_efficiency.png")
    charts.curves({n: [100 * a for a in r["history"]["val_accuracy"]] for n, r in results.items() if "history" in r},
                  run.figures / "finetune_val_curves.png", ylabel="validation accuracy (%)")
    metrics = {
        "test_accuracy": test_accuracy,
        "test_errors": int(np.sum(predicted != run.y_test)),
        "confusion_matrix": matrix.tolist(),
        "best_variant": best,
        "variants": results,
        "final": {**final, "augmented": variants[best].augment, "retrained": args.refit},
        "label_efficiency": efficiency,
        "label_network": recipe_name,
        "recipe": {"epochs": args.epochs, "conv_epochs": conv_epochs, "patience": args.patience,
                   "conv_patience": args.conv_patience, "conv_watch_start": conv_watch_start(conv_epochs),
                   "batch_size": args.batch_size,
                   "learning_rate": args.learning_rate, "shift": args.shift, "tile": args.tile, "few_labels": FEW},
        "code_size": CODE_SIZE,
        "references": REFERENCES,
        "targets": TARGETS,
        "split": {"train": len(x_train), "validation": len(x_val), "test": len(x_test),
                  "seed": preprocessing.SPLIT_SEED},
    }
    run.save_results("finetune", metrics)
    print(f"fine-tuning: {len(results)} variants, best '{best}', test accuracy {100 * test_accuracy:.2f} % "
          f"({run.wall_time():.1f} s)")


def label_efficiency(run, args, recipe_name, recipe, pretrained, params, data, config, conv_epochs, parent,
                     reuse) -> dict:
    """{"100": {...}, ..., "all": {...}}: test accuracy of the recipe's network from the AE32's
    weights and from scratch, trained to convergence on each number of labels; several seeded
    subsets for the few-label points (mean, sample standard deviation and each subset's run).
    `reuse` holds runs already made on all the labels (start -> (result, (predict, test features)))."""
    x_train, y_train, x_val, y_val, x_test = data
    starts = {"pretrained": pretrained, "scratch": lambda: code_models.build(params, CODE_SIZE)[0]}
    efficiency = {}
    for n in (*LABELS, len(x_train)):
        if n > len(x_train):
            continue
        everything = n == len(x_train)  # "all": the whole split, as unbalanced as MNIST is
        few = n <= FEW
        seeds = SUBSET_SEEDS[:1] if not few else SUBSET_SEEDS[:QUICK.finetune_subsets] if run.args.quick else SUBSET_SEEDS
        # Few labels: a fixed validation subset (the split is already shuffled) and the heads' cap
        # and patience, as their (tiled) epochs are short.
        val = np.arange(min(FEW, len(x_val)) if few else len(x_val))
        recipe_config = dataclasses.replace(config, epochs=args.epochs if few else conv_epochs)
        patience = args.patience if few else args.conv_patience
        watch_from = 0 if few else conv_watch_start(conv_epochs)
        row = {"labels": n, "subsets": len(seeds)}
        for start, encoder in starts.items():
            runs = []
            for seed in seeds:
                if everything and start in reuse:
                    result, (predict, f_test) = reuse[start]
                    runs.append({"test_accuracy": float(np.mean(predict(f_test) == run.y_test)),
                                 "val_accuracy": result["val_accuracy"], "stopping": result["stopping"],
                                 "reused": True})
                    continue
                pick = np.arange(n) if everything else finetune.balanced_subset(y_train, n, seed=seed)
                keras.utils.set_random_seed(args.seed + seed)
                _, model = finetune.build(encoder(), recipe, shift=args.shift, seed=args.seed + seed)
                epoch = finetune.tiled(pick, args.tile)
                settings = {"variant": dataclasses.asdict(recipe), "labels": n, "subset_seed": seed, "tile": args.tile,
                            "shift": args.shift if recipe.augment else 0,
                            **({"params": params} if start == "scratch" else {})}
                history = train(run, model, f"{recipe_name} {start} {n}", settings, x_train[epoch], y_train[epoch],
                                (x_val[val], y_val[val]), dataclasses.replace(recipe_config, seed=args.seed + seed),
                                patience, watch_from, parent if start == "pretrained" else None)
                runs.append({"test_accuracy": accuracy(model, x_test, run.y_test), "subset_seed": seed,
                             "val_accuracy": history["stopping"]["best"], "validation_images": len(val),
                             "epoch_images": len(epoch), "seconds_per_epoch": history["seconds_per_epoch"],
                             "stopping": history["stopping"]})
            row.update(spread(start, runs))
        efficiency["all" if everything else str(n)] = row
        print(f"fine-tuning: {n} labels ({len(seeds)} subset(s)): pretrained {100 * row['pretrained']:.2f} "
              f"+- {100 * row['pretrained_std']:.2f} %, scratch {100 * row['scratch']:.2f} "
              f"+- {100 * row['scratch_std']:.2f} %", flush=True)
    return efficiency


def spread(start: str, runs: list[dict]) -> dict:
    """{start: mean test accuracy, start_std: its sample standard deviation (0 for one run),
    start_runs: the runs} for one starting point's runs at one number of labels.

    Example:
        >>> round(spread("scratch", [{"test_accuracy": 0.5}, {"test_accuracy": 0.7}])["scratch_std"], 4)
        0.1414
    """
    values = [r["test_accuracy"] for r in runs]
    return {start: float(np.mean(values)), f"{start}_std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
            f"{start}_runs": runs}


def parser() -> argparse.ArgumentParser:
    """The common flags; the study's recipe is `finetune` (`--set finetune.FIELD=VALUE`)."""
    return exercise_parser(__doc__, recipes=("finetune", "code_size_finalists"))


def main(argv=None) -> int:
    return run_script(parser(), argv, body)


if __name__ == "__main__":
    raise SystemExit(main())
