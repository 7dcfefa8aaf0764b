"""The code-size study's hyper-parameter search on Optuna: space, budgets, storage and workers.

One Optuna study per code size (`<prefix>-ae<size>`, all in one storage): the code size is the
condition being compared, not a knob to tune (the largest would always win), so each size gets
its own sampler history and its own pruning baseline. A trial builds `code_models.build(params,
size)`, trains on the budget's subset with early stopping on the validation MSE
(`restore_best_weights`) and Optuna-Integration's `KerasPruningCallback`, and returns the best
validation MSE.

Storage: by default a journal file (`JournalStorage` + `JournalFileBackend`) under the cache, which
needs no server and is safe for several processes on one machine; `--storage URL` takes an RDB
URL (e.g. `postgresql+psycopg://user@host/db`) that workers on many machines share, with
heartbeats so a crashed worker's trial is failed and retried once. A run adds only the trials a
study is missing (finished, pruned, running or waiting trials count), so a rerun resumes.
Trials that crash are marked failed with their error, printed, and replaced by the next run.

Example::

    storage = open_storage(None, Path(".cache/optuna"))
    spec = SearchSpec(plan=BUDGETS["quick"], seed=0)
    outcome = run_search(None, Path(".cache/models/optuna"), spec, SearchData(x_train, x_val), workers=2)
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import multiprocessing
import os
import sys
import time
from pathlib import Path

import numpy as np

SIZES = (1, 2, 4, 8, 16, 32)
JOURNAL = "code_size.journal"


@dataclasses.dataclass(frozen=True)
class Budget:
    """How much search a run does: trials per code size, the trials' data and epochs, the space."""

    name: str
    trials_per_size: int
    search_train: int | None  # training images per trial (None: the whole training split)
    search_val: int | None
    search_epochs: int | None  # cap on a trial's epochs (None: its own max_epochs)
    space: str  # "narrow" or "reference"
    final_epochs: int | None  # cap on the finalists' epochs (None: their own max_epochs)


BUDGETS = {
    # <= 6 minutes on 2 cores for the whole study: short trials on a subset in the narrowed space.
    "default": Budget("default", 5, 2000, 1000, 3, "narrow", 6),
    # The reference's scale: 10 full trials per code size over its whole space (hours on a CPU).
    "reference": Budget("reference", 10, None, None, None, "reference", None),
    "quick": Budget("quick", 2, 512, 256, 1, "narrow", 1),
}

# The reference report's space (its first stage); `narrow` is where our measurements put the
# good models (the reference narrowed its ranges in three stages the same way).
SPACES = {
    "reference": {
        "conv_layers": [2, 3, 4], "channels": [8, 16, 32, 64, 128], "kernel": [3, 5], "stride": [1, 2],
        "padding": [0, 1], "dense_layers": [2, 3], "hidden": (32, 1024), "activation": ["sigmoid", "leaky_relu", "elu"],
        "optimizer": ["sgd", "rmsprop", "adam"], "learning_rate": (1e-5, 1e-2),
        "regularization": ["weight_decay", "batchnorm"], "weight_decay": (1e-6, 1e-3),
        "max_epochs": [16, 32, 50], "patience": [4, 5, 7],
    },
    # Measured (this project, 2 cores): 2 stride-2 3x3 convs of 32/64 channels, 512 hidden units,
    # ELU, batch norm, Adam 2e-3 annealed over 8 epochs on 50 000 images: AE32 test MSE 0.0038 in
    # ~20 s/epoch; 3 convs or 16 channels did worse in the 2000-image trials of the search.
    "narrow": {
        "conv_layers": [2], "channels": [32], "kernel": [3], "stride": [2], "padding": [1],
        "dense_layers": [2], "hidden": (256, 512), "activation": ["elu", "leaky_relu"], "optimizer": ["adam"],
        "learning_rate": (1e-3, 4e-3), "regularization": ["batchnorm", "weight_decay"],
        "weight_decay": (1e-6, 1e-4), "max_epochs": [16], "patience": [4],
    },
}
BATCH_SIZE = 128


def suggest(trial, space: str) -> dict:
    """Sample a trial's params from `SPACES[space]`; weight decay only without batch norm."""
    s = SPACES[space]
    p = {name: trial.suggest_categorical(name, s[name]) for name in
         ("conv_layers", "channels", "kernel", "stride", "padding", "dense_layers", "activation", "optimizer",
          "regularization", "max_epochs", "patience")}
    p["hidden"] = trial.suggest_int("hidden", *s["hidden"], log=True)
    p["learning_rate"] = trial.suggest_float("learning_rate", *s["learning_rate"], log=True)
    p["weight_decay"] = (trial.suggest_float("weight_decay", *s["weight_decay"], log=True)
                         if p["regularization"] == "weight_decay" else 0.0)
    p["batch_size"] = BATCH_SIZE
    return p


@dataclasses.dataclass(frozen=True)
class SearchSpec:
    """What one search run does; the study names follow from it, so a rerun finds its studies."""

    plan: Budget = BUDGETS["default"]
    seed: int = 0
    sampler: str = "tpe"  # or "random" (the reference's method)
    sizes: tuple[int, ...] = SIZES
    n_train: int = 50000  # size of the training split the subsets come from (names the study)

    def study_name(self, size: int) -> str:
        """Stable across runs (a rerun with more trials per size adds to the same studies)."""
        return f"code-size-{self.plan.name}-{self.sampler}-seed{self.seed}-n{self.n_train}-ae{size}"


# --- storage ---------------------------------------------------------------------------------

def open_storage(url: str | None, cache_dir: Path):
    """An RDB storage for `url` (heartbeats, one retry of a crashed trial), else the journal file."""
    import warnings

    import optuna
    from optuna.storages import JournalStorage, RDBStorage, RetryHeartbeatStaleTrialCallback
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the study prints its own lines
    if url:
        with warnings.catch_warnings():
            # Heartbeats are what make a crashed worker's trial fail and retry; Optuna still labels
            # them experimental and would say so on every run.
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return RDBStorage(url, heartbeat_interval=30, grace_period=120,
                              heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=1))
    cache_dir.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(str(cache_dir / JOURNAL)))


def is_local(storage) -> bool:
    from optuna.storages import JournalStorage

    return isinstance(storage, JournalStorage)


@contextlib.contextmanager
def exclusive_run(cache_dir: Path):
    """Only one search run at a time uses the local journal (its workers excepted)."""
    lock = cache_dir / (JOURNAL + ".run.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ValueError(f"another code-size search is running on {cache_dir / JOURNAL}; "
                             f"wait for it or give --storage") from None
        yield


def load_studies(storage, spec: SearchSpec, worker: int = 0) -> dict:
    """{size: study}, created where absent (a rerun loads them).

    Each worker seeds its sampler apart (`worker`): with one seed, workers would propose the
    same params in step and train every model twice.
    """
    import optuna

    studies = {}
    for size in spec.sizes:
        seed = spec.seed * 1000 + size + 100 * worker
        sampler = (optuna.samplers.RandomSampler(seed=seed) if spec.sampler == "random"
                   else optuna.samplers.TPESampler(seed=seed, n_startup_trials=3))
        studies[size] = optuna.create_study(
            study_name=spec.study_name(size), storage=storage, direction="minimize", load_if_exists=True,
            sampler=sampler, pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1))
    return studies


def fail_abandoned_trials(studies: dict) -> int:
    """Mark RUNNING trials left by a killed run as FAIL (local journal only: no worker is alive)."""
    from optuna.trial import TrialState

    n = 0
    for study in studies.values():
        for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            # Optuna has no public call for this (the RDB storage's heartbeat does it internally).
            study._storage.set_trial_system_attr(trial._trial_id, "fail_reason", "abandoned: its run was killed")
            study._storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
            n += 1
    return n


def missing_trials(studies: dict, per_size: int) -> dict[int, int]:
    """{size: trials still to run}: finished, pruned, running and waiting trials count."""
    from optuna.trial import TrialState

    counted = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING, TrialState.WAITING)
    return {size: max(0, per_size - len(study.get_trials(deepcopy=False, states=counted)))
            for size, study in studies.items()}


def share_out(missing: dict[int, int], workers: int) -> list[list[int]]:
    """Deal the missing trials (one code size per trial) round-robin to `workers` lists.

    Example:
        >>> share_out({1: 2, 8: 1}, 2)
        [[1, 8], [1]]
    """
    queue = [size for size, n in missing.items() for _ in range(n)]
    return [queue[w::workers] for w in range(workers)]


def trial_counts(study) -> dict[str, int]:
    from optuna.trial import TrialState

    states = [t.state for t in study.get_trials(deepcopy=False)]
    return {name: states.count(state) for name, state in
            (("complete", TrialState.COMPLETE), ("pruned", TrialState.PRUNED), ("failed", TrialState.FAIL))}


def trial_values(study) -> list[float]:
    """Each trial's best validation MSE, lowest first: finished trials, and pruned ones too.

    A pruned trial is a model trained for fewer epochs; its best value before it was stopped is a
    real validation MSE (worse than where it would have ended). Counting it lets "the mean of the
    best five" exist for every code size whose study ran five trials, as in the reference (whose
    ten trials per size all ran to the end). Trials with no value (failed, or an impossible
    architecture pruned before training) have nothing to count.

    Example:
        >>> import optuna
        >>> from optuna.trial import TrialState, create_trial
        >>> study = optuna.create_study()
        >>> study.add_trial(create_trial(value=0.03, intermediate_values={0: 0.05, 1: 0.03}))
        >>> study.add_trial(create_trial(state=TrialState.PRUNED, intermediate_values={0: 0.09, 1: 0.07}))
        >>> study.add_trial(create_trial(state=TrialState.PRUNED))  # impossible architecture
        >>> trial_values(study)
        [0.03, 0.07]
    """
    from optuna.trial import TrialState

    values = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)):
        if trial.state == TrialState.COMPLETE:
            values.append(trial.value)
        elif trial.intermediate_values:
            values.append(min(trial.intermediate_values.values()))
    return sorted(values)


def mean_of_best(values: list[float], k: int = 5) -> float | None:
    """The mean of the `k` lowest `values`, or None when there are fewer than `k`.

    Example:
        >>> mean_of_best([0.5, 0.1, 0.2, 0.4, 0.3, 0.9])
        0.3
        >>> mean_of_best([0.1, 0.2]) is None
        True
    """
    return float(np.mean(sorted(values)[:k])) if len(values) >= k else None


# --- one trial -------------------------------------------------------------------------------

@dataclasses.dataclass
class SearchData:
    """The search's train/validation images, 28x28x1 float32 in [0, 1]."""

    x_train: np.ndarray
    x_val: np.ndarray

    @classmethod
    def for_budget(cls, x_train: np.ndarray, x_val: np.ndarray, budget: Budget) -> "SearchData":
        return cls(x_train[:budget.search_train], x_val[:budget.search_val])


def compile_and_fit(autoencoder, params: dict, x_train, x_val, epochs: int, callbacks=(), checkpoint_dir=None,
                    verbose: int = 0, decay: bool = False) -> dict:
    """Train `autoencoder` (built from `params`) on MSE with the params' optimizer; its history.

    Early stopping on the validation MSE with the params' patience restores the best epoch.
    `decay` anneals the rate to 2 % over the run (cosine): the finalists' last epochs then
    refine instead of oscillating (trials keep the constant rate the search compares).
    """
    import keras

    from mnist_ae import code_models, training

    schedule = None
    if decay:
        steps = epochs * -(-len(x_train) // params["batch_size"])
        schedule = keras.optimizers.schedules.CosineDecay(params["learning_rate"], steps, alpha=0.02)
    autoencoder.compile(code_models.optimizer(params, schedule), "mse", steps_per_execution=training.STEPS_PER_EXECUTION)
    stop = keras.callbacks.EarlyStopping("val_loss", patience=params["patience"], restore_best_weights=True)
    return training.fit(autoencoder, x_train, x_train, epochs=epochs, batch_size=params["batch_size"],
                        validation_data=(x_val, x_val), checkpoint_dir=checkpoint_dir,
                        callbacks=(stop, *callbacks), verbose=verbose)


def objective(trial, size: int, spec: SearchSpec, data: SearchData) -> float:
    """Train one sampled autoencoder of code size `size`; its best validation MSE."""
    import optuna
    from optuna_integration import KerasPruningCallback

    from mnist_ae import code_models

    import keras

    params = suggest(trial, spec.plan.space)
    epochs = min(params["max_epochs"], spec.plan.search_epochs or params["max_epochs"])
    keras.utils.set_random_seed(spec.seed + trial.number)
    try:
        _, _, model = code_models.build(params, size)
    except code_models.InvalidArchitecture as e:
        trial.set_user_attr("invalid", str(e))
        raise optuna.TrialPruned(str(e)) from None
    history = compile_and_fit(model, params, data.x_train, data.x_val, epochs,
                              callbacks=(KerasPruningCallback(trial, "val_loss"),))
    trial.set_user_attr("val_loss", [float(v) for v in history["val_loss"]])
    trial.set_user_attr("n_params", int(model.count_params()))
    return float(min(history["val_loss"]))


def say_trial(size: int):
    """Optuna callback: one line per finished trial."""
    from optuna.trial import TrialState

    def callback(study, trial):
        took = (trial.datetime_complete - trial.datetime_start).total_seconds() if trial.datetime_complete else 0.0
        if trial.state == TrialState.COMPLETE:
            what = f"val MSE {trial.value:.5f}"
        elif trial.state == TrialState.PRUNED:
            what = trial.user_attrs.get("invalid") or f"pruned after epoch {trial.last_step + 1 if trial.last_step is not None else 0}"
        else:
            what = f"failed: {trial.system_attrs.get('fail_reason', 'see the study')}".splitlines()[0]
        print(f"search AE{size} trial {trial.number}: {what} ({took:.1f} s)", flush=True)

    return callback


def run_trials(storage, spec: SearchSpec, sizes: list[int], data: SearchData, worker: int = 0) -> None:
    """Run one trial per entry of `sizes` in this process (worker number `worker`)."""
    studies = load_studies(storage, dataclasses.replace(spec, sizes=tuple(sorted(set(sizes)))), worker)
    for size in sizes:
        studies[size].optimize(lambda t, s=size: objective(t, s, spec, data), n_trials=1, catch=(Exception,),
                               callbacks=[say_trial(size)], gc_after_trial=True)


# --- workers ---------------------------------------------------------------------------------

def _worker(storage_url, cache_dir, spec, sizes, x_train, x_val, threads, index) -> None:
    """A worker process: TensorFlow on `threads` cores, its share of the trials."""
    from mnist_ae import runner, worker

    worker.end_with_parent()  # a killed run leaves no worker training on
    runner.start_tensorflow(threads)
    run_trials(open_storage(storage_url, Path(cache_dir)), spec, sizes, SearchData(x_train, x_val), index)


def run_search(storage_url: str | None, cache_dir: Path, spec: SearchSpec, data: SearchData, workers: int = 1) -> dict:
    """Add the trials each code size's study is missing, with `workers` processes (1: in this one).

    Returns {"studies": {size: study}, "added": trials started, "abandoned": trials failed
    because a killed run left them running, "wall_time_s": ...}.
    """
    started = time.perf_counter()
    lock = contextlib.nullcontext() if storage_url else exclusive_run(cache_dir)
    with lock:
        storage = open_storage(storage_url, cache_dir)
        studies = load_studies(storage, spec)
        abandoned = fail_abandoned_trials(studies) if is_local(storage) else 0
        missing = missing_trials(studies, spec.plan.trials_per_size)
        shares = [s for s in share_out(missing, workers) if s]
        total = sum(missing.values())
        print(f"search: {total} trial(s) to run ({spec.plan.trials_per_size} per code size, {spec.sampler}, "
              f"budget {spec.plan.name}) on {len(shares) or 1} worker(s)"
              + (f"; {abandoned} trial(s) of a killed run marked failed" if abandoned else ""), flush=True)
        if len(shares) == 1:
            run_trials(storage, spec, shares[0], data)
        elif shares:
            threads = max(1, (os.cpu_count() or 1) // len(shares))
            context = multiprocessing.get_context("spawn")  # a fresh TensorFlow per worker
            procs = [context.Process(target=_worker, args=(storage_url, str(cache_dir), spec, share,
                                                           data.x_train, data.x_val, threads, index))
                     for index, share in enumerate(shares)]
            for p in procs:
                p.start()
            try:
                for p in procs:
                    p.join()
            except KeyboardInterrupt:
                for p in procs:
                    p.join(30)
                raise
            crashed = [p.exitcode for p in procs if p.exitcode != 0]
            if crashed:
                print(f"search: {len(crashed)} worker(s) ended with exit codes {crashed}; their unfinished "
                      f"trials are failed now and rerun next time", file=sys.stderr, flush=True)
                if is_local(storage):
                    fail_abandoned_trials(studies)
    # The study objects read the storage anew on every query, so they already see the workers' trials.
    return {"studies": studies, "added": total, "abandoned": abandoned,
            "wall_time_s": round(time.perf_counter() - started, 2)}
