"""Study: denoising autoencoders on the AE32 architecture, for Gaussian noise and random erasing.

Each denoiser is the code-size study's AE32 (same architecture, starting from its trained
weights) trained on the studies' 50 000-image training split with a corruption layer in front that
acts only in training: a fresh corruption every batch, the clean image as the target. It stops on
its validation curve: the 10 000 validation images corrupted once (fixed seed), early stopping with
the best epoch's weights restored. The test set is corrupted once from another fixed seed
(`mnist_ae.models.corruption.corrupt_once`), so every model sees the same corrupted images. Test MSE per pixel (28x28, pixels in [0, 1]) against the clean images,
beside two baselines: the corrupted input itself and the plain AE32 (not trained to denoise)
applied to it. Also: test MSE against the noise level (sigma 0.1 ... 0.5) for the Gaussian
denoiser and the plain AE32, the first test images restored, and the worst ones (highest MSE).
"""

from __future__ import annotations

import mnist_ae.pipeline.quiet_start  # noqa: F401  (first: TensorFlow starts quietly, with the package's defaults)

import dataclasses

import keras
import numpy as np

from mnist_ae import preprocessing, training
from mnist_ae.analysis import evaluation
from mnist_ae.models import code_models, corruption
from mnist_ae.plots import charts
from mnist_ae.cache import settings_key
from mnist_ae.pipeline.harness import exercise_parser, positive_float, positive_int, run_script
from mnist_ae.pipeline.results import read_step_results

CODE_SIZE = 32
TEST_CORRUPTION_SEED = 2024  # the one corrupted test set every model is scored on
VALIDATION_CORRUPTION_SEED = 2025  # the corrupted validation set the denoisers stop on
SIGMAS = (0.1, 0.2, 0.3, 0.4, 0.5)
REFERENCES = {"gaussian": 0.0049, "erasing": 0.0087}  # the reference report's test MSE per pixel
TARGETS = {"gaussian": 0.0045, "erasing": 0.0085}
SHOWN, WORST = 8, 6  # test images restored in the figure; worst cases shown per corruption
LABELS = {"gaussian": ("noisy", "denoised"), "erasing": ("erased", "filled in")}  # figure rows


@dataclasses.dataclass(frozen=True)
class Defaults:
    """Each denoiser's recipe: fine-tuned from the AE32 at a rate annealed over at most `epochs`
    epochs, stopped early when the corrupted validation set's MSE has not improved for `patience`.
    Ten epochs: at six both denoisers were still improving, at ten they had flattened
    (docs/measurements.md)."""

    epochs: int = 10
    patience: int = 2
    batch_size: int = 128
    learning_rate: float = 2e-3
    seed: int = 0


def train_denoiser(run, study: dict, kind: str, x, x_val, sigma: float):
    """The AE32 fine-tuned to undo corruption `kind` (cached, keyed by the AE32 it starts from).

    `x_val` (clean) is corrupted once with `VALIDATION_CORRUPTION_SEED` for early stopping.
    """
    args = run.args
    info = study["finalists"][str(CODE_SIZE)]
    keras.utils.set_random_seed(args.seed)
    _, _, autoencoder = code_models.load_finalist(run.cache, study, CODE_SIZE)
    params = {**info["params"], "learning_rate": args.learning_rate}
    trainee = keras.Sequential([keras.Input(x.shape[1:]), corruption.corruption_layer(kind, sigma, seed=args.seed),
                                autoencoder], name=f"denoise_{kind}")
    settings = {"corruption": kind, "sigma": sigma if kind == "gaussian" else None, "epochs": args.epochs,
                "patience": args.patience, "batch_size": args.batch_size, "learning_rate": args.learning_rate,
                "seed": args.seed, "n_train": len(x), "n_val": len(x_val)}
    rule = training.Stopping(patience=args.patience, cap=args.epochs)
    corrupted_val = corruption.corrupt_once(x_val, kind, seed=VALIDATION_CORRUPTION_SEED, sigma=sigma)
    parent = settings_key(code_models.cache_name(CODE_SIZE), info["settings"])

    def train(checkpoint_dir):
        schedule = training.cosine_rate(args.learning_rate, args.epochs, -(-len(x) // args.batch_size), floor=0.02)
        training.compile_model(trainee, code_models.optimizer(params, schedule), loss="mse")
        return training.fit(trainee, x, x, epochs=args.epochs, batch_size=args.batch_size,
                            validation_data=(corrupted_val, x_val), checkpoint_dir=checkpoint_dir,
                            callbacks=(rule.callback(),), verbose=2)

    history, cached = run.cache.load_or_train(autoencoder, f"denoise-{kind}", settings, train, parent=parent)
    return autoencoder, history, cached, rule.record(history["val_loss"])


def body(run) -> None:
    args = run.args
    study = read_step_results(run.results, "code_size")
    clean_all = preprocessing.to_unpadded_input(run.x_train)
    train_idx, val_idx = preprocessing.train_validation_split(len(clean_all))
    clean_train, clean_val = clean_all[train_idx], clean_all[val_idx]
    clean = preprocessing.to_unpadded_input(run.x_test)
    _, _, plain = code_models.load_finalist(run.cache, study, CODE_SIZE)
    restore = lambda model, x: model.predict(x, batch_size=1024, verbose=0)  # noqa: E731

    results, rows = {}, {"clean": clean[:SHOWN, ..., 0]}
    denoisers = {}
    for kind in corruption.CORRUPTIONS:
        model, history, cached, stopping = train_denoiser(run, study, kind, clean_train, clean_val, args.sigma)
        denoisers[kind] = model
        corrupted = corruption.corrupt_once(clean, kind, seed=TEST_CORRUPTION_SEED, sigma=args.sigma)
        restored = restore(model, corrupted)
        per_image = np.mean((restored - clean) ** 2, axis=(1, 2, 3))
        results[kind] = {
            "test_mse": float(per_image.mean()),
            "baselines": {"corrupted_input": evaluation.mse(corrupted, clean),
                          "plain_ae32": evaluation.mse(restore(plain, corrupted), clean)},
            "target": TARGETS[kind], "reference": REFERENCES[kind],
            "epochs": stopping["epochs_trained"], "stopping": stopping, "train_seconds": history["train_seconds"],
            "model_from_cache": cached, "loss": history["loss"], "val_loss": history["val_loss"],
        }
        damaged, repaired = LABELS[kind]
        rows[damaged], rows[repaired] = corrupted[:SHOWN, ..., 0], restored[:SHOWN, ..., 0]
        worst = np.argsort(per_image)[::-1][:WORST]
        results[kind]["worst"] = [{"index": int(i), "label": int(run.y_test[i]), "mse": float(per_image[i])} for i in worst]
        charts.image_rows({damaged: corrupted[worst, ..., 0], repaired: restored[worst, ..., 0], "clean": clean[worst, ..., 0]},
                          run.figures / f"denoising_worst_{kind}.png", width=charts.HALF_WIDTH)
        print(f"denoising, {kind}: test MSE {results[kind]['test_mse']:.5f} (target <= {TARGETS[kind]}, reference "
              f"{REFERENCES[kind]}); corrupted input {results[kind]['baselines']['corrupted_input']:.5f}, plain AE32 "
              f"{results[kind]['baselines']['plain_ae32']:.5f}; {stopping['stopped']}", flush=True)

    curve = {"sigma": list(SIGMAS), "gaussian_denoiser": [], "plain_ae32": [], "corrupted_input": []}
    for sigma in SIGMAS:
        noisy = corruption.corrupt_once(clean, "gaussian", seed=TEST_CORRUPTION_SEED, sigma=sigma)
        curve["gaussian_denoiser"].append(evaluation.mse(restore(denoisers["gaussian"], noisy), clean))
        curve["plain_ae32"].append(evaluation.mse(restore(plain, noisy), clean))
        curve["corrupted_input"].append(evaluation.mse(noisy, clean))

    charts.image_rows(rows, run.figures / "denoising_examples.png")
    charts.curves({f"{kind} denoiser, validation": results[kind]["val_loss"] for kind in corruption.CORRUPTIONS}
                  | {f"{kind} denoiser, training": results[kind]["loss"] for kind in corruption.CORRUPTIONS},
                  run.figures / "denoising_curves.png", ylabel="MSE per pixel")
    charts.curves({f"denoiser (trained at {args.sigma:g})": curve["gaussian_denoiser"],
                   "plain AE32": curve["plain_ae32"], "noisy input": curve["corrupted_input"]},
                  run.figures / "denoising_noise_curve.png", ylabel="test MSE per pixel", xlabel="noise sigma",
                  x=list(SIGMAS))
    metrics = {
        **results,
        "baselines": {kind: {**results[kind]["baselines"]} for kind in corruption.CORRUPTIONS},
        "clean_plain_ae32": evaluation.mse(restore(plain, clean), clean),
        "noise_curve": curve,
        "sigma": args.sigma,
        "test_corruption_seed": TEST_CORRUPTION_SEED,
        "validation_corruption_seed": VALIDATION_CORRUPTION_SEED,
        "split": {"train": len(clean_train), "validation": len(clean_val), "test": len(clean),
                  "seed": preprocessing.SPLIT_SEED},
        "erasing": {**results["erasing"], "scale": corruption.ERASE_SCALE, "ratio": corruption.ERASE_RATIO,
                    "probability": 1.0, "value": 0.0},
        "code_size": CODE_SIZE,
    }
    run.save_results("denoising", metrics)
    print(f"denoising: test MSE Gaussian {results['gaussian']['test_mse']:.5f}, erasing "
          f"{results['erasing']['test_mse']:.5f} ({run.wall_time():.1f} s)")


def main(argv=None) -> int:
    defaults = Defaults()
    parser = exercise_parser(__doc__, defaults)
    parser.add_argument("--patience", type=positive_int, default=defaults.patience,
                        help="epochs without a better validation MSE before a denoiser stops")
    parser.add_argument("--sigma", type=positive_float, default=0.1,
                        help="standard deviation of the Gaussian noise added to every pixel (training and test)")
    return run_script(parser, argv, body)


if __name__ == "__main__":
    raise SystemExit(main())
