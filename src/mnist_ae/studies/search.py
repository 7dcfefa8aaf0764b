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
import hashlib
import json
import logging
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
    anneal_trials: bool = False  # a trial's rate decays over its epochs, as the finalists' does


BUDGETS = {
    # Every trial is one annealed epoch on the whole training split: a common budget for every
    # size, so the per-size figure compares trained models (not how fast 48 updates start to
    # learn), three per size for a best and a spread. The finalists train to convergence
    # (their recipe: `FinalistConfig`; the reference budget lets each keep its trial's own cap).
    "default": Budget("default", 3, None, None, 1, "narrow", anneal_trials=True),
    # The reference's scale: 10 full trials per code size over its whole space (hours on a CPU).
    "reference": Budget("reference", 10, None, None, None, "reference"),
    "quick": Budget("quick", 2, 512, 256, 1, "narrow"),
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
    # Two stride-2 3x3 convs of 16/32 channels: the convolutions are most of an epoch's cost, and
    # at 16 channels an epoch costs half what it does at 32 while AE32 and the denoisers still
    # reach their targets (measured: benchmarks/issue23_2026-11-24/channels.md).
    "narrow": {
        "conv_layers": [2], "channels": [16], "kernel": [3], "stride": [2], "padding": [1],
        "dense_layers": [2], "hidden": (256, 512), "activation": ["elu", "leaky_relu"], "optimizer": ["adam"],
        "learning_rate": (1e-3, 4e-3), "regularization": ["batchnorm", "weight_decay"],
        "weight_decay": (1e-6, 1e-4), "max_epochs": [16], "patience": [4],
    },
}
BATCH_SIZE = 128


@dataclasses.dataclass(frozen=True)
class FinalistConfig:
    """How a code size's best trial is retrained into the study's finalist (AE8, AE32): on the
    whole training split, its rate annealed along a cosine to 2 % over at most `epochs` (None:
    the trial's own `max_epochs`), stopped early on the validation MSE with the trial's patience.
    14 epochs: the finalists flatten before it (docs/measurements.md). Which trial is best comes
    from the search, so how it searches is part of the recipe: `budget` (a `BUDGETS` name:
    "reference" is the reference report's scale, hours on a CPU), `sampler` ("tpe", or "random",
    the reference's method) and `trials_per_size` (0: the budget's). `seed` seeds both."""

    epochs: int = 14
    seed: int = 0
    budget: str = "default"
    sampler: str = "tpe"
    trials_per_size: int = 0

    def __post_init__(self):
        if self.budget not in BUDGETS:
            raise ValueError(f"code_size_finalists.budget must be one of {', '.join(BUDGETS)}, not {self.budget!r}")
        if self.sampler not in ("tpe", "random"):
            raise ValueError(f"code_size_finalists.sampler must be tpe or random, not {self.sampler!r}")


def train_finalist(trial_params: dict, size: int, config: FinalistConfig, x_train, x_val, cache, verbose: int = 2):
    """The finalist of code size `size` from its best trial's `trial_params`, trained (or loaded
    from `cache`): `(autoencoder, history, was_cached, params, settings)`. `settings` is what its
    cache key and the results record (the studies after it rebuild it from them)."""
    import keras

    from mnist_ae import preprocessing
    from mnist_ae.models import code_models

    params = {**trial_params, "batch_size": BATCH_SIZE}
    params.setdefault("weight_decay", 0.0)
    choices = code_models.CodeParams.of(params)  # checked; the settings keep the plain dict
    epochs = min(choices.max_epochs, config.epochs or choices.max_epochs)
    settings = {"params": params, "code_size": size, "epochs": epochs, "n_train": len(x_train),
                "seed": config.seed, "split_seed": preprocessing.SPLIT_SEED, "schedule": "cosine to 2 %"}
    keras.utils.set_random_seed(config.seed)
    _, _, autoencoder = code_models.build(params, size)

    def train(checkpoint_dir):
        return compile_and_fit(autoencoder, params, x_train, x_val, epochs, checkpoint_dir=checkpoint_dir,
                               verbose=verbose, decay=True)

    history, cached = cache.load_or_train(autoencoder, code_models.cache_name(size), settings, train,
                                          code=code_models.finalist_code())
    return autoencoder, history, cached, params, settings


def space_digest(space: str) -> str:
    """Six hex digits that change whenever `SPACES[space]` does.

    Example:
        >>> len(space_digest("narrow")), space_digest("narrow") == space_digest("reference")
        (6, False)
    """
    return hashlib.sha256(json.dumps(SPACES[space], sort_keys=True).encode()).hexdigest()[:6]


def suggest(trial, space: str):
    """Sample a trial's params (`code_models.CodeParams`) from `SPACES[space]`; weight decay only
    without batch norm."""
    from mnist_ae.models.code_models import CodeParams

    s = SPACES[space]
    p = {name: trial.suggest_categorical(name, s[name]) for name in
         ("conv_layers", "channels", "kernel", "stride", "padding", "dense_layers", "activation", "optimizer",
          "regularization", "max_epochs", "patience")}
    p["hidden"] = trial.suggest_int("hidden", *s["hidden"], log=True)
    p["learning_rate"] = trial.suggest_float("learning_rate", *s["learning_rate"], log=True)
    p["weight_decay"] = (trial.suggest_float("weight_decay", *s["weight_decay"], log=True)
                         if p["regularization"] == "weight_decay" else 0.0)
    p["batch_size"] = BATCH_SIZE
    return CodeParams.of(p)


@dataclasses.dataclass(frozen=True)
class SearchSpec:
    """What one search run does; the study names follow from it, so a rerun finds its studies."""

    plan: Budget = BUDGETS["default"]
    seed: int = 0
    sampler: str = "tpe"  # or "random" (the reference's method)
    sizes: tuple[int, ...] = SIZES
    n_train: int = 50000  # size of the training split the subsets come from (names the study)

    def study_name(self, size: int) -> str:
        """Stable across runs (a rerun with more trials per size adds to the same studies); trials of
        another length or data size are another study.

        The space's digest is part of the name: trials sampled from an earlier space are never
        mixed with the current one's (Optuna refuses a changed categorical choice). So is the
        digest of the code a trial runs (this module, the builders, the training loop:
        `code_models.finalist_code`): trials of older model code are never reused.

        Example:
            >>> SearchSpec(plan=BUDGETS["default"]).study_name(8)  # doctest: +ELLIPSIS
            'code-size-default-tpe-seed0-n50000-all-e1a-s...-c...-ae8'
        """
        from mnist_ae.models import code_models

        p = self.plan
        return (f"code-size-{p.name}-{self.sampler}-seed{self.seed}-n{self.n_train}-{p.search_train or 'all'}"
                f"-e{p.search_epochs or 'max'}{'a' if p.anneal_trials else ''}-s{space_digest(p.space)}"
                f"-c{code_models.finalist_code()[:8]}-ae{size}")


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
            return _retrying(lambda: RDBStorage(
                url, heartbeat_interval=30, grace_period=120,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=1)))
    cache_dir.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(str(cache_dir / JOURNAL)))


def _retrying(open_rdb, tries: int = 5):
    """`open_rdb()`, again after a moment if another process was creating the same empty database's
    tables at that instant (PostgreSQL then refuses the second CREATE with a unique violation)."""
    from sqlalchemy.exc import IntegrityError, ProgrammingError

    for attempt in range(tries):
        try:
            return open_rdb()
        except (IntegrityError, ProgrammingError):
            if attempt == tries - 1:
                raise
            time.sleep(0.5 * (attempt + 1))


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


COUNTED = ("COMPLETE", "PRUNED", "RUNNING", "WAITING")  # trial states that fill a study's quota
OVER_QUOTA = "over_quota"  # user attr of a trial dropped because others had filled the quota


def _counted(study) -> list:
    from optuna.trial import TrialState

    return study.get_trials(deepcopy=False, states=tuple(getattr(TrialState, s) for s in COUNTED))


def missing_trials(studies: dict, per_size: int) -> dict[int, int]:
    """{size: trials still to run}: finished, pruned, running and waiting trials count."""
    return {size: max(0, per_size - len(_counted(study))) for size, study in studies.items()}


def within_quota(study, trial_id: int, per_size: int) -> bool:
    """Whether trial `trial_id` is one of the first `per_size` counted trials of `study`.

    Workers (on any number of machines) start a trial only while the study is short of its
    quota, but two can see the last free place at the same moment. Each then asks this about its
    own new trial: the storage's trial ids order them, so exactly one keeps the place and the
    other drops its trial before training (marked failed, `OVER_QUOTA`).
    """
    ids = sorted(t._trial_id for t in _counted(study))
    return trial_id in ids[:per_size]


class OverQuota(Exception):
    """Raised in a trial that found the study's quota filled by other workers."""


class QuietDrops(logging.Filter):
    """Drops Optuna's two warnings (one with a traceback) about a trial that raised `OverQuota`:
    such a trial is not a failure, and `say_trial` already gives it one line.

    Example:
        >>> quiet = QuietDrops()
        >>> quiet.filter(logging.makeLogRecord({"msg": "Trial 3 failed with parameters: {} because of "
        ...     "the following error: OverQuota('filled')."})), quiet.filter(logging.makeLogRecord(
        ...     {"msg": "Trial 3 failed with value None."})), quiet.filter(logging.makeLogRecord(
        ...     {"msg": "Trial 4 failed with value None."}))
        (False, False, True)
    """

    def __init__(self):
        super().__init__()
        self.dropped: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        words = record.getMessage().split()
        if len(words) < 2 or words[0] != "Trial":
            return True
        if any(w.startswith(f"{OverQuota.__name__}(") for w in words):
            self.dropped.add(words[1])
            return False
        return not (words[1] in self.dropped and "failed with value" in record.getMessage())


def trial_counts(study) -> dict[str, int]:
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    states = [t.state for t in trials if OVER_QUOTA not in t.user_attrs]
    return {**{name: states.count(state) for name, state in
               (("complete", TrialState.COMPLETE), ("pruned", TrialState.PRUNED), ("failed", TrialState.FAIL))},
            OVER_QUOTA: sum(OVER_QUOTA in t.user_attrs for t in trials)}


def common_budget_summary(study) -> dict:
    """The finished trials' validation MSEs of a study (each trained to the budget's common
    number of epochs on the same data), lowest first, with their best, median and worst.

    Pruned trials trained less and failed ones not at all: neither is counted.

    Example:
        >>> import optuna
        >>> from optuna.trial import TrialState, create_trial
        >>> study = optuna.create_study()
        >>> for v in (0.04, 0.02, 0.03):
        ...     study.add_trial(create_trial(value=v))
        >>> study.add_trial(create_trial(state=TrialState.PRUNED, intermediate_values={0: 0.01}))
        >>> common_budget_summary(study)
        {'values': [0.02, 0.03, 0.04], 'n': 3, 'best': 0.02, 'median': 0.03, 'worst': 0.04}
    """
    from optuna.trial import TrialState

    values = sorted(t.value for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
    if not values:
        return {"values": [], "n": 0, "best": None, "median": None, "worst": None}
    return {"values": values, "n": len(values), "best": values[0], "median": float(np.median(values)),
            "worst": values[-1]}


# --- one trial -------------------------------------------------------------------------------

@dataclasses.dataclass
class SearchData:
    """The search's train/validation images, 28x28x1 float32 in [0, 1]."""

    x_train: np.ndarray
    x_val: np.ndarray

    @classmethod
    def for_budget(cls, x_train: np.ndarray, x_val: np.ndarray, budget: Budget) -> "SearchData":
        return cls(x_train[:budget.search_train], x_val[:budget.search_val])


def compile_and_fit(autoencoder, params, x_train, x_val, epochs: int, callbacks=(), checkpoint_dir=None,
                    verbose: int = 0, decay: bool = False) -> dict:
    """Train `autoencoder` (built from `params`, a `CodeParams` or its dict) on MSE with the params' optimizer; its history.

    Early stopping on the validation MSE with the params' patience restores the best epoch.
    `decay` anneals the rate to 2 % over the run (cosine): the finalists' last epochs then
    refine instead of oscillating (trials keep the constant rate the search compares).
    """
    import keras

    from mnist_ae import training
    from mnist_ae.models import code_models

    params = code_models.CodeParams.of(params)
    steps_per_epoch = -(-len(x_train) // params.batch_size)
    schedule = training.cosine_rate(params.learning_rate, epochs, steps_per_epoch, floor=0.02) if decay else None
    training.compile_model(autoencoder, code_models.optimizer(params, schedule), loss="mse")
    stop = keras.callbacks.EarlyStopping("val_loss", patience=params.patience, restore_best_weights=True)
    return training.fit(autoencoder, x_train, x_train, epochs=epochs, batch_size=params.batch_size,
                        validation_data=(x_val, x_val), checkpoint_dir=checkpoint_dir,
                        callbacks=(stop, *callbacks), verbose=verbose)


def objective(trial, size: int, spec: SearchSpec, data: SearchData) -> float:
    """Train one sampled autoencoder of code size `size`; its best validation MSE."""
    import optuna
    from optuna_integration import KerasPruningCallback

    from mnist_ae.models import code_models

    import keras

    params = suggest(trial, spec.plan.space)
    epochs = min(params.max_epochs, spec.plan.search_epochs or params.max_epochs)
    keras.utils.set_random_seed(spec.seed + trial.number)
    try:
        _, _, model = code_models.build(params, size)
    except code_models.InvalidArchitecture as e:
        trial.set_user_attr("invalid", str(e))
        raise optuna.TrialPruned(str(e)) from None
    history = compile_and_fit(model, params, data.x_train, data.x_val, epochs, decay=spec.plan.anneal_trials,
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
        elif OVER_QUOTA in trial.user_attrs:
            what = "dropped: other workers filled the quota"
        else:
            what = f"failed: {trial.system_attrs.get('fail_reason', 'see the study')}".splitlines()[0]
        print(f"search AE{size} trial {trial.number}: {what} ({took:.1f} s)", flush=True)

    return callback


def run_trials(storage, spec: SearchSpec, data: SearchData, worker: int = 0) -> None:
    """Run trials in this process (worker number `worker`) until every study holds its quota.

    Each study's quota is shared by all workers on all machines: a worker starts a trial only
    while the study is short (`missing_trials`) and drops it if others filled the last place
    first (`within_quota`). Workers start at different code sizes so they spread out. A worker
    tries at most `trials_per_size` trials per size: trials that crash are replaced next run.
    """
    per_size = spec.plan.trials_per_size
    # Samplers seeded apart per worker; on a shared database the process id too, since every
    # machine numbers its workers from 0 (same seeds would propose the same models).
    studies = load_studies(storage, spec, worker if is_local(storage) else worker + 7 * os.getpid())
    sizes = list(spec.sizes)
    for size in sizes[worker % len(sizes):] + sizes[:worker % len(sizes)]:
        study = studies[size]

        def claimed(trial, size=size, study=study):
            if not within_quota(study, trial._trial_id, per_size):
                trial.set_user_attr(OVER_QUOTA, True)
                raise OverQuota("the study's quota was filled by other workers")
            return objective(trial, size, spec, data)

        with _quiet_drops():
            for _ in range(per_size):
                if not missing_trials({size: study}, per_size)[size]:
                    break
                study.optimize(claimed, n_trials=1, catch=(Exception,), callbacks=[say_trial(size)],
                               gc_after_trial=True)


@contextlib.contextmanager
def _quiet_drops():
    optuna_log = logging.getLogger("optuna.study._optimize")
    quiet = QuietDrops()
    optuna_log.addFilter(quiet)
    try:
        yield
    finally:
        optuna_log.removeFilter(quiet)


# --- workers ---------------------------------------------------------------------------------

def _worker(storage_url, cache_dir, spec, x_train, x_val, threads, index) -> None:
    """A worker process: TensorFlow on `threads` cores, trials until the quotas are full."""
    from mnist_ae import process

    process.end_with_parent()  # a killed run leaves no worker training on
    process.start_tensorflow(threads)
    run_trials(open_storage(storage_url, Path(cache_dir)), spec, SearchData(x_train, x_val), index)


def run_search(storage_url: str | None, cache_dir: Path, spec: SearchSpec, data: SearchData, workers: int = 1) -> dict:
    """Add the trials each code size's study is missing, with `workers` processes (1: in this one).

    Any number of such runs, here or on other machines sharing `storage_url`, fill each study's
    quota (`spec.plan.trials_per_size`) once between them. Returns {"studies": {size: study},
    "added": counted trials that are new since this run started (others' included), "abandoned":
    trials failed because a killed run left them running, "wall_time_s": ...}.
    """
    started = time.perf_counter()
    lock = contextlib.nullcontext() if storage_url else exclusive_run(cache_dir)
    with lock:
        storage = open_storage(storage_url, cache_dir)
        studies = load_studies(storage, spec)
        abandoned = fail_abandoned_trials(studies) if is_local(storage) else 0
        missing = missing_trials(studies, spec.plan.trials_per_size)
        total = sum(missing.values())
        workers = max(1, min(workers, total))
        print(f"search: {total} trial(s) to run ({spec.plan.trials_per_size} per code size, {spec.sampler}, "
              f"budget {spec.plan.name}) on {workers} worker(s)"
              + (f"; {abandoned} trial(s) of a killed run marked failed" if abandoned else ""), flush=True)
        if total and workers == 1:
            run_trials(storage, spec, data)
        elif total:
            threads = max(1, (os.cpu_count() or 1) // workers)
            context = multiprocessing.get_context("spawn")  # a fresh TensorFlow per worker
            procs = [context.Process(target=_worker, args=(storage_url, str(cache_dir), spec,
                                                           data.x_train, data.x_val, threads, index))
                     for index in range(workers)]
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
        # The study objects read the storage anew on every query, so they see the workers' trials.
        added = total - sum(missing_trials(studies, spec.plan.trials_per_size).values())
    return {"studies": studies, "added": added, "abandoned": abandoned,
            "wall_time_s": round(time.perf_counter() - started, 2)}
