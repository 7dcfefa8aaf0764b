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


import numpy as np

from mnist_ae import preprocessing
from mnist_ae.analysis import evaluation
from mnist_ae.models import code_models, corruption
from mnist_ae.studies import denoising
from mnist_ae.plots import charts
from mnist_ae.pipeline.harness import exercise_parser, run_script
from mnist_ae.pipeline.results import read_step_results

SIGMAS = (0.1, 0.2, 0.3, 0.4, 0.5)
REFERENCES = {"gaussian": 0.0049, "erasing": 0.0087}  # the reference report's test MSE per pixel
TARGETS = {"gaussian": 0.0045, "erasing": 0.0085}
SHOWN, WORST = 8, 6  # test images restored in the figure; worst cases shown per corruption
LABELS = {"gaussian": ("noisy", "denoised"), "erasing": ("erased", "filled in")}  # figure rows


def body(run) -> None:
    config = run.recipe("denoisers")
    study = read_step_results(run.results, "code_size")
    clean_all = preprocessing.to_unpadded_input(run.x_train)
    train_idx, val_idx = preprocessing.train_validation_split(len(clean_all))
    clean_train, clean_val = clean_all[train_idx], clean_all[val_idx]
    clean = preprocessing.to_unpadded_input(run.x_test)
    _, _, plain = code_models.load_finalist(run.cache, study, denoising.CODE_SIZE)
    restore = lambda model, x: model.predict(x, batch_size=1024, verbose=0)  # noqa: E731

    results, rows = {}, {"clean": clean[:SHOWN, ..., 0]}
    denoisers = {}
    for kind in corruption.CORRUPTIONS:
        model, history, cached, stopping = denoising.train_denoiser(run.cache, study, kind, config, clean_train,
                                                                     clean_val)
        denoisers[kind] = model
        corrupted = corruption.corrupt_once(clean, kind, seed=denoising.TEST_CORRUPTION_SEED, sigma=config.sigma)
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
        noisy = corruption.corrupt_once(clean, "gaussian", seed=denoising.TEST_CORRUPTION_SEED, sigma=sigma)
        curve["gaussian_denoiser"].append(evaluation.mse(restore(denoisers["gaussian"], noisy), clean))
        curve["plain_ae32"].append(evaluation.mse(restore(plain, noisy), clean))
        curve["corrupted_input"].append(evaluation.mse(noisy, clean))

    charts.image_rows(rows, run.figures / "denoising_examples.png")
    charts.curves({f"{kind} denoiser, validation": results[kind]["val_loss"] for kind in corruption.CORRUPTIONS}
                  | {f"{kind} denoiser, training": results[kind]["loss"] for kind in corruption.CORRUPTIONS},
                  run.figures / "denoising_curves.png", ylabel="MSE per pixel")
    charts.curves({f"denoiser (trained at {config.sigma:g})": curve["gaussian_denoiser"],
                   "plain AE32": curve["plain_ae32"], "noisy input": curve["corrupted_input"]},
                  run.figures / "denoising_noise_curve.png", ylabel="test MSE per pixel", xlabel="noise sigma",
                  x=list(SIGMAS))
    metrics = {
        **results,
        "baselines": {kind: {**results[kind]["baselines"]} for kind in corruption.CORRUPTIONS},
        "clean_plain_ae32": evaluation.mse(restore(plain, clean), clean),
        "noise_curve": curve,
        "sigma": config.sigma,
        "test_corruption_seed": denoising.TEST_CORRUPTION_SEED,
        "validation_corruption_seed": denoising.VALIDATION_CORRUPTION_SEED,
        "split": {"train": len(clean_train), "validation": len(clean_val), "test": len(clean),
                  "seed": preprocessing.SPLIT_SEED},
        "erasing": {**results["erasing"], "scale": corruption.ERASE_SCALE, "ratio": corruption.ERASE_RATIO,
                    "probability": 1.0, "value": 0.0},
        "code_size": denoising.CODE_SIZE,
    }
    run.save_results("denoising", metrics)
    print(f"denoising: test MSE Gaussian {results['gaussian']['test_mse']:.5f}, erasing "
          f"{results['erasing']['test_mse']:.5f} ({run.wall_time():.1f} s)")


def main(argv=None) -> int:
    return run_script(exercise_parser(__doc__, recipes=("denoisers", "code_size_finalists")), argv, body)


if __name__ == "__main__":
    raise SystemExit(main())
