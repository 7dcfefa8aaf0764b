"""Study: autoencoders of code size 1-32 found by an Optuna search, AE8 and AE32 trained and tested.

MNIST's 60 000 training images are split once (fixed seed) into 50 000 for training and 10 000
for validation; the validation set picks the models and the test set is used once per finalist.
Per code size 1, 2, 4, 8, 16, 32 an Optuna study samples conv+dense autoencoders
(`mnist_ae.models.code_models`, `mnist_ae.studies.search`); trials train on a subset with early stopping and
pruning. In the default budget every trial is one annealed epoch on the whole training split, so
the per-size figure compares models trained to one common budget (best and spread of three per
size). The best trial of sizes 8 and 32 (`--finalists`) is retrained on the whole training split
until its validation curve stops improving (early stopping, or flat at the epoch cap), evaluated
once on the test set (MSE per pixel, 28x28, pixels in [0, 1]) and cached for the studies after
it. `--set code_size_finalists.budget=reference` runs the reference report's scale (10 full trials per code size over its
whole space: hours on a CPU).
`--workers N` runs N trial processes; `--storage URL` shares the studies through a database.
"""

from __future__ import annotations

import mnist_ae.pipeline.quiet_start  # noqa: F401  (first: TensorFlow starts quietly, with the package's defaults)

import dataclasses

import numpy as np
from optuna.trial import TrialState

from mnist_ae import preprocessing, training
from mnist_ae.analysis import evaluation
from mnist_ae.models import code_models
from mnist_ae.plots import charts
from mnist_ae.studies import search
from mnist_ae.pipeline.harness import QUICK, exercise_parser, positive_int, run_script

# The reference report (PyTorch, random search) and Hinton & Salakhutdinov (Science 2006): test
# MSE per pixel; targets for this study from its issue.
REFERENCES = {"reference_ae8": 0.01055, "reference_ae32": 0.0044, "hinton_2006_30d": 0.00383}
TARGETS = {"8": 0.0105, "32": 0.0038}


def split(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The studies' seeded train/validation split of the training images."""
    train, val = preprocessing.train_validation_split(len(x))
    return x[train], x[val]


def finalist(run, study, size: int, config: search.FinalistConfig, x_train, x_val, x_test) -> dict:
    """Retrain the best trial of `study` on the whole training split (cached); test it once."""
    best = study.best_trial
    autoencoder, history, cached, params, settings = search.train_finalist(best.params, size, config, x_train, x_val,
                                                                           run.cache)
    choices = code_models.CodeParams.of(params)
    stopping = training.Stopping(patience=choices.patience, cap=settings["epochs"]).record(history["val_loss"])
    reconstructed = autoencoder.predict(x_test, batch_size=1024, verbose=0)
    test_mse = evaluation.mse(reconstructed, x_test)
    print(f"code size {size}: test MSE {test_mse:.5f} (target <= {TARGETS.get(str(size), float('nan'))}; "
          f"trial {best.number}, search val MSE {best.value:.5f}); {stopping['stopped']}", flush=True)
    return {"params": params, "settings": settings, "test_mse": test_mse, "trial": best.number,
            "search_val_mse": best.value, "val_mse": float(min(history["val_loss"])),
            "epochs_run": len(history["val_loss"]), "stopping": stopping, "history": {k: history[k] for k in ("loss", "val_loss")},
            "train_seconds": history["train_seconds"], "model_from_cache": cached,
            "reconstructions": reconstructed[:10]}


def body(run) -> None:
    args = run.args
    config = run.recipe("code_size_finalists")
    budget_name = QUICK.code_size_budget if args.quick else config.budget
    budget = search.BUDGETS[budget_name]
    if config.trials_per_size:
        budget = dataclasses.replace(budget, trials_per_size=config.trials_per_size)
    if budget_name == "reference" and "epochs" not in run.overrides.get("code_size_finalists", {}):
        config = dataclasses.replace(config, epochs=None)  # the reference's scale: each trial's own maximum
    x_train, x_val = split(preprocessing.to_unpadded_input(run.x_train))
    spec = search.SearchSpec(plan=budget, seed=config.seed, sampler=config.sampler, n_train=len(x_train))
    x_test = preprocessing.to_unpadded_input(run.x_test)
    cache_dir = args.cache_dir / "optuna"
    search_data = search.SearchData.for_budget(x_train, x_val, budget)
    outcome = search.run_search(args.storage, cache_dir, spec, search_data, workers=args.workers)
    studies = outcome["studies"]

    counts = {str(size): search.trial_counts(study) for size, study in studies.items()}
    finished = {size: study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) for size, study in studies.items()}
    per_size = {size: search.common_budget_summary(study) for size, study in studies.items()}
    missing = [size for size in args.finalists if not per_size[size]["n"]]
    if missing:
        raise ValueError(f"no finished trial for code size(s) {missing}; rerun to add trials "
                         f"(failed: {[counts[str(s)]['failed'] for s in missing]})")
    finals = {str(size): finalist(run, studies[size], size, config, x_train, x_val, x_test) for size in args.finalists}
    bests = [per_size[s]["best"] for s in sorted(per_size) if per_size[s]["best"] is not None]
    decreasing = len(bests) == len(per_size) and all(a > b for a, b in zip(bests, bests[1:]))

    figures = run.figures
    common = (f"{budget.search_epochs} epoch(s) on {len(search_data.x_train)} images" if budget.search_epochs
              else "each trial's own epochs")
    charts.per_code_size_spread(per_size, figures / "code_size_per_size.png",
                                ylabel=f"validation MSE after {common}",
                                finalists={int(s): f["test_mse"] for s, f in finals.items()},
                                references={"reference AE8": (8, REFERENCES["reference_ae8"]),
                                            "reference AE32": (32, REFERENCES["reference_ae32"])})
    charts.search_history({size: [(t.number, t.value) for t in trials] for size, trials in finished.items()},
                          figures / "code_size_history.png")
    charts.curves({f"AE{s} {part}": f["history"][key] for s, f in finals.items()
                   for part, key in (("train", "loss"), ("validation", "val_loss"))},
                  figures / "code_size_finalist_curves.png", ylabel="MSE")
    view = lambda x: np.asarray(x)[..., 0]  # noqa: E731
    charts.image_rows({"input": view(x_test[:10]), **{f"AE{s}": view(f.pop("reconstructions")) for s, f in finals.items()}},
                      figures / "code_size_reconstructions.png", width=charts.HALF_WIDTH)
    metrics = {
        "test_mse": {s: f["test_mse"] for s, f in finals.items()},
        "per_size": {str(s): v for s, v in per_size.items()},
        "per_size_budget": common,
        "best_strictly_decreasing": decreasing,
        "n_trials": counts,
        "n_trials_total": {k: sum(c[k] for c in counts.values()) for k in ("complete", "pruned", "failed", search.OVER_QUOTA)},
        "budget": {"name": budget_name, **dataclasses.asdict(budget), "final_epochs": config.epochs,
                   "sampler": config.sampler, "workers": args.workers,
                   "storage": "rdb" if args.storage else "journal file", "search_wall_time_s": outcome["wall_time_s"],
                   "trials_added_this_run": outcome["added"]},
        "finalists": finals,
        "references": REFERENCES,
        "targets": TARGETS,
        "split": {"train": len(x_train), "validation": len(x_val), "test": len(x_test), "seed": preprocessing.SPLIT_SEED},
    }
    run.save_results("code_size", metrics)
    print("code size: test MSE " + ", ".join(f"AE{s} {f['test_mse']:.5f}" for s, f in finals.items())
          + f"; {metrics['n_trials_total']} trials ({run.wall_time():.1f} s)")


def main(argv=None) -> int:
    parser = exercise_parser(__doc__, recipes=("code_size_finalists",))
    parser.add_argument("--workers", type=positive_int, default=1,
                        help="trial processes here, each with TensorFlow on its share of the cores")
    parser.add_argument("--storage", help="Optuna RDB URL shared by workers on several machines, e.g. "
                                          "postgresql+psycopg://user@host/db (default: a journal file in the cache)")
    parser.add_argument("--finalists", type=positive_int, nargs="+", default=[8, 32],
                        help="code sizes retrained on the whole training split and tested")
    return run_script(parser, argv, body)


if __name__ == "__main__":
    raise SystemExit(main())
