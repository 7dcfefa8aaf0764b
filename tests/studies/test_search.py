"""The code-size search: its space, journal storage shared by worker processes, resuming a killed
run, and workers sharing a PostgreSQL database (skipped, saying why, where PostgreSQL is absent)."""

import dataclasses
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from mnist_ae.models import code_models
from mnist_ae.studies import search

TINY = dataclasses.replace(search.BUDGETS["quick"], name="test", trials_per_size=3)


def tiny_data(n_train=64, n_val=32):
    rng = np.random.default_rng(0)
    return search.SearchData(rng.random((n_train, 28, 28, 1), dtype=np.float32),
                             rng.random((n_val, 28, 28, 1), dtype=np.float32))


def trials_of(storage, spec, size):
    return optuna.load_study(study_name=spec.study_name(size), storage=storage).get_trials()


def test_suggested_params_build_and_never_combine_weight_decay_with_batch_norm():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(40):
        trial = study.ask()
        params = search.suggest(trial, "reference")
        assert (params.regularization == "batchnorm") == (params.weight_decay == 0.0)
        assert 32 <= params.hidden <= 1024 and 1e-5 <= params.learning_rate <= 1e-2
        assert params.kernel in (3, 5) and params.stride in (1, 2) and params.padding in (0, 1)
        study.tell(trial, 0.0)
    narrow = search.suggest(optuna.create_study().ask(), "narrow")
    encoder, _, autoencoder = code_models.build(narrow, 8)
    assert encoder.output.shape[1:] == (8,) and autoencoder.output.shape[1:] == (28, 28, 1)


def test_an_impossible_architecture_is_pruned_with_its_reason(tmp_path):
    spec = search.SearchSpec(plan=dataclasses.replace(TINY, trials_per_size=1, space="reference"), sizes=(2,))
    study = optuna.create_study()
    fixed = {"conv_layers": 4, "kernel": 5, "stride": 2, "padding": 0}
    study.enqueue_trial(fixed)
    study.optimize(lambda t: search.objective(t, 2, spec, tiny_data()), n_trials=1)
    trial = study.trials[0]
    assert trial.state == TrialState.PRUNED and "5x5 conv would get a 4x4 input" in trial.user_attrs["invalid"]


def test_the_per_size_summary_counts_only_trials_trained_to_the_common_budget():
    from optuna.trial import create_trial

    study = optuna.create_study()
    for value in (0.040, 0.020, 0.050, 0.030):
        study.add_trial(create_trial(value=value, intermediate_values={0: value}))
    study.add_trial(create_trial(state=TrialState.PRUNED, intermediate_values={0: 0.001}))  # stopped early
    study.add_trial(create_trial(state=TrialState.FAIL))
    summary = search.common_budget_summary(study)
    assert summary["values"] == pytest.approx([0.020, 0.030, 0.040, 0.050])
    assert (summary["n"], summary["best"], summary["worst"]) == (4, 0.020, 0.050)
    assert summary["median"] == pytest.approx(0.035)
    assert search.common_budget_summary(optuna.create_study())["best"] is None


def test_the_quota_counts_running_trials_and_keeps_the_first_places():
    study = optuna.create_study()
    study.add_trial(optuna.trial.create_trial(value=0.1))
    study.add_trial(optuna.trial.create_trial(state=TrialState.FAIL))  # a crash frees its place
    running = [study.ask() for _ in range(3)]  # e.g. three workers that each saw one place free
    assert search.missing_trials({8: study}, 3) == {8: 0}
    assert search.missing_trials({8: study}, 6) == {8: 2}
    assert [search.within_quota(study, t._trial_id, 3) for t in running] == [True, True, False]
    assert all(search.within_quota(study, t._trial_id, 4) for t in running)


def test_two_workers_on_one_journal_run_the_requested_trials_once(tmp_path, capsys):
    spec = search.SearchSpec(plan=TINY, sizes=(2, 8), n_train=64)
    outcome = search.run_search(None, tmp_path, spec, tiny_data(), workers=2)
    assert outcome["added"] == 6
    storage = search.open_storage(None, tmp_path)
    for size in (2, 8):
        trials = trials_of(storage, spec, size)
        assert sorted(t.number for t in trials) == list(range(len(trials)))  # no duplicate numbers
        # 3 per size; a worker that lost the race for the last place dropped its trial untrained.
        trials = [t for t in trials if search.OVER_QUOTA not in t.user_attrs]
        assert len(trials) == 3 and all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)
        params = [tuple(sorted(t.params.items())) for t in trials]
        assert len(set(params)) == len(params)  # the workers do not propose the same model twice
    assert "on 2 worker(s)" in capsys.readouterr().out
    # A rerun finds nothing missing; more trials per size adds only the difference.
    assert search.run_search(None, tmp_path, spec, tiny_data())["added"] == 0
    more = dataclasses.replace(spec, plan=dataclasses.replace(TINY, trials_per_size=4))
    assert search.run_search(None, tmp_path, more, tiny_data())["added"] == 2
    assert len([t for t in trials_of(storage, spec, 8) if search.OVER_QUOTA not in t.user_attrs]) == 4


def test_a_trial_dropped_over_quota_is_one_quiet_line(tmp_path, capfd, monkeypatch):
    # As if other workers always took the last place first: each trial is dropped before training,
    # said in one line, without Optuna's failure warnings and traceback.
    monkeypatch.setattr(search, "within_quota", lambda study, trial_id, per_size: False)
    spec = search.SearchSpec(plan=TINY, sizes=(2,), n_train=64)
    storage = search.open_storage(None, tmp_path)
    optuna_log, seen = logging.getLogger("optuna.study._optimize"), []
    collect = logging.Handler()
    collect.emit = seen.append
    optuna_log.addHandler(collect)
    try:
        search.run_trials(storage, spec, tiny_data())
    finally:
        optuna_log.removeHandler(collect)
    assert capfd.readouterr().out.count("dropped: other workers filled the quota") == 3
    assert not [r.getMessage() for r in seen if r.levelno >= logging.WARNING]
    trials = trials_of(storage, spec, 2)
    assert len(trials) == 3 and all(t.state == TrialState.FAIL and t.user_attrs[search.OVER_QUOTA] for t in trials)
    assert not logging.getLogger("optuna.study._optimize").filters  # the filter lives only while trials run


def test_a_killed_run_resumed_adds_trials_rather_than_restarting(tmp_path):
    # A run of 4 trials in a child process, killed (SIGKILL) once its first trial has finished.
    child = textwrap.dedent(f"""
        import dataclasses, sys
        import numpy as np
        from pathlib import Path
        from mnist_ae.studies import search
        plan = dataclasses.replace(search.BUDGETS["quick"], name="test", trials_per_size=4)
        rng = np.random.default_rng(0)
        data = search.SearchData(rng.random((64, 28, 28, 1), dtype=np.float32), rng.random((32, 28, 28, 1), dtype=np.float32))
        search.run_search(None, Path({str(tmp_path)!r}), search.SearchSpec(plan=plan, sizes=(2,), n_train=64), data)
    """)
    proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    spec = search.SearchSpec(plan=dataclasses.replace(TINY, trials_per_size=4), sizes=(2,), n_train=64)
    storage = search.open_storage(None, tmp_path)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            trials = trials_of(storage, spec, 2)
        except KeyError:  # the study does not exist yet
            trials = []
        if any(t.state == TrialState.COMPLETE for t in trials) and any(t.state == TrialState.RUNNING for t in trials):
            break
        assert proc.poll() is None, proc.stdout.read()
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = trials_of(storage, spec, 2)
    done_before = [t.number for t in before if t.state == TrialState.COMPLETE]
    assert done_before and len(before) < 4

    outcome = search.run_search(None, tmp_path, spec, tiny_data())
    after = trials_of(storage, spec, 2)
    assert outcome["abandoned"] == 1  # the trial the kill interrupted is failed, not lost
    assert [t.number for t in after] == list(range(len(after)))  # numbering goes on
    assert [t.number for t in after if t.state == TrialState.COMPLETE][:len(done_before)] == done_before
    finished = [t for t in after if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(finished) == 4 and sum(t.state == TrialState.FAIL for t in after) == 1
    assert outcome["added"] == 4 - len(done_before)


def test_a_second_run_on_the_same_journal_is_refused(tmp_path):
    with search.exclusive_run(tmp_path):
        with pytest.raises(ValueError, match="another code-size search is running"):
            with search.exclusive_run(tmp_path):
                pass


# --- PostgreSQL ------------------------------------------------------------------------------

def _postgres_missing() -> str | None:
    if not all(shutil.which(p) for p in ("initdb", "pg_ctl")):
        return "PostgreSQL's initdb/pg_ctl are not installed (Debian: apt-get install postgresql)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "the psycopg driver is not installed (pip install 'psycopg[binary]')"
    if os.geteuid() == 0 and not shutil.which("runuser"):
        return "running as root without runuser, and initdb refuses root"
    return None


@pytest.fixture
def postgres_url():
    """A throwaway PostgreSQL server on a unix socket (as user `postgres` when we are root)."""
    reason = _postgres_missing()
    if reason:
        pytest.skip(reason)
    as_server = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    base = Path(subprocess.check_output([*as_server, "mktemp", "-d"], text=True).strip()) if as_server \
        else Path(tempfile.mkdtemp())
    db = base / "db"
    subprocess.run([*as_server, "initdb", "-D", str(db), "-A", "trust", "-U", "test"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run([*as_server, "pg_ctl", "-D", str(db), "-o", f"-k {base} -c listen_addresses=''",
                    "-l", str(base / "log"), "-w", "start"], check=True, stdout=subprocess.DEVNULL)
    try:
        yield f"postgresql+psycopg://test@/postgres?host={base}"
    finally:
        subprocess.run([*as_server, "pg_ctl", "-D", str(db), "-m", "immediate", "stop"], stdout=subprocess.DEVNULL)
        shutil.rmtree(base, ignore_errors=True)


def test_two_workers_share_a_postgresql_study(postgres_url, tmp_path):
    spec = search.SearchSpec(plan=TINY, sizes=(4,), n_train=64)
    outcome = search.run_search(postgres_url, tmp_path, spec, tiny_data(), workers=2)
    assert outcome["added"] == 3
    trials = trials_of(search.open_storage(postgres_url, tmp_path), spec, 4)
    # Both workers may see the last free place at once: one of them then drops its trial untrained.
    kept = [t for t in trials if search.OVER_QUOTA not in t.user_attrs]
    assert len(kept) == 3 and all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in kept)
    assert all(t.state == TrialState.FAIL and not t.intermediate_values
               for t in trials if search.OVER_QUOTA in t.user_attrs)
    assert not (tmp_path / search.JOURNAL).exists()  # nothing went to the local journal


def test_runs_started_together_on_one_database_fill_the_quota_once(postgres_url, tmp_path):
    # Two machines, as two processes with the same command started at the same moment: each used
    # to add every trial it saw missing (2 x the quota); the quota is shared now.
    child = textwrap.dedent(f"""
        import dataclasses
        import numpy as np
        from pathlib import Path
        from mnist_ae.studies import search
        plan = dataclasses.replace(search.BUDGETS["quick"], name="test", trials_per_size=3)
        rng = np.random.default_rng(0)
        data = search.SearchData(rng.random((64, 28, 28, 1), dtype=np.float32), rng.random((32, 28, 28, 1), dtype=np.float32))
        search.run_search({postgres_url!r}, Path({str(tmp_path)!r}), search.SearchSpec(plan=plan, sizes=(2, 8), n_train=64), data)
    """)
    procs = [subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    spec = search.SearchSpec(plan=TINY, sizes=(2, 8), n_train=64)
    storage = search.open_storage(postgres_url, tmp_path)
    for size in (2, 8):
        trials = trials_of(storage, spec, size)
        kept = [t for t in trials if search.OVER_QUOTA not in t.user_attrs]
        assert len(kept) == 3 and all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in kept)
        dropped = [t for t in trials if search.OVER_QUOTA in t.user_attrs]
        assert all(t.state == TrialState.FAIL and not t.intermediate_values for t in dropped)  # never trained
    both = "".join(outputs)
    assert both.count("trial(s) to run") == 2 and "Traceback" not in both
