"""Bad input and faults: one clear line on stderr, exit code 2, nothing half-written."""

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mnist_ae import data
from mnist_ae.pipeline import registry

ROOT = Path(__file__).resolve().parents[2]


def script(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def outputs(tmp_path):
    return ["--figures-dir", str(tmp_path / "fig"), "--results-dir", str(tmp_path / "res"),
            "--cache-dir", str(tmp_path / "cache")]


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("flags, message", [
    (["--grid-size", "1"], "--grid-size: a grid needs at least 2 points"),
    (["--name", "a/b"], "--name: must be letters, digits"),
])
def test_invalid_flags_are_rejected_by_the_parser(tmp_path, capsys, flags, message):
    with pytest.raises(SystemExit) as exit_:
        script("exercise_5").main(["--quick", *outputs(tmp_path), *flags])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "res").exists()


@pytest.mark.parametrize("flag, field", [("--epochs", "epochs"), ("--batch-size", "batch_size"),
                                         ("--learning-rate", "learning_rate"), ("--seed", "seed")])
def test_a_flag_that_would_change_a_shared_model_is_refused_with_the_way_to_do_it(tmp_path, capsys, flag, field):
    with pytest.raises(SystemExit) as exit_:
        script("exercise_5").main(["--quick", *outputs(tmp_path), flag, "3"])
    assert exit_.value.code == 2
    err = one_line_error(capsys)
    assert f"{flag} would change the shared model ex1_ae for this step alone" in err
    assert f"--set ex1_ae.{field}=3 --name NAME" in err and "build/variants/NAME/" in err


@pytest.mark.parametrize("override, message", [
    ("ex1_ae.epochs=0", "ex1_ae.epochs=0: must be more than 0"),
    ("ex1_ae.batch_size=-3", "ex1_ae.batch_size=-3: must be more than 0"),
    ("ex1_ae.learning_rate=nan", "ex1_ae.learning_rate=nan: must be a finite number"),
    ("ex1_ae.epochs=1.5", "ex1_ae.epochs=1.5: expected int like its default 15"),
    ("ex1_ae.batchsize=3", "recipe ex1_ae has no field 'batchsize' (fields: epochs, batch_size"),
    ("astrology.epochs=1", "no recipe 'astrology' (choose from ex1_ae, ex4_classifier"),
    ("ex1_ae.epochs", "--set ex1_ae.epochs: expected RECIPE.FIELD=VALUE"),
])
def test_a_bad_override_is_one_line_naming_it(tmp_path, capsys, override, message):
    assert script("exercise_5").main(["--quick", *outputs(tmp_path), "--set", override]) == 2
    assert message in one_line_error(capsys)
    assert not (tmp_path / "res").exists()


def test_an_override_over_the_full_run_s_folders_needs_a_name(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # the default folders, relative to here
    assert script("exercise_1").main(["--set", "ex1_ae.epochs=1", "--cache-dir", str(tmp_path / "c")]) == 2
    assert "--set changes a recipe, so its outputs may not go into figures/" in one_line_error(capsys)
    assert not (tmp_path / "figures").exists() or not any((tmp_path / "figures").iterdir())


def test_long_likelihood_budget_is_not_a_quick_run(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        script("vae_likelihood").main(["--quick", "--budget", "long", *outputs(tmp_path)])
    assert exit_.value.code == 2
    assert "--budget long and --quick exclude each other" in capsys.readouterr().err


def test_batch_larger_than_the_data(tmp_path, capsys):
    assert script("exercise_1").main(["--quick", "--set", "ex1_ae.batch_size=5000", *outputs(tmp_path)]) == 2
    assert "--set ex1_ae.batch_size=5000 is larger than the 2048 training images" in one_line_error(capsys)


def test_no_mnist_source_names_every_place_and_the_fix(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path / "empty"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(data, "_installed_hub_pickle", lambda: None)
    monkeypatch.setattr(data, "_keras_download", lambda: (_ for _ in ()).throw(data.MnistError("offline")))
    assert script("exercise_2").main(["--quick", *outputs(tmp_path)]) == 2
    err = one_line_error(capsys)
    assert "MNIST not found; tried verified cache" in err and "bash run.sh setup" in err


@pytest.mark.parametrize("name, message", [("missing.npz", "does not exist"), ("notes.txt", "is not an .npz")])
def test_explicit_data_path_problems(tmp_path, capsys, name, message):
    (tmp_path / "notes.txt").write_text("x")
    assert script("exercise_3").main(["--quick", "--data", str(tmp_path / name), *outputs(tmp_path)]) == 2
    assert message in one_line_error(capsys)


def test_a_file_in_the_way_of_an_output_directory(tmp_path, capsys):
    (tmp_path / "fig").write_text("I am a file")
    assert script("exercise_1").main(["--quick", *outputs(tmp_path)]) == 2
    assert f"output directory {tmp_path / 'fig'} is a file" in one_line_error(capsys)


def test_an_unwritable_output_directory(tmp_path, capsys):
    # /proc refuses new entries even for root (chmod does not stop root).
    flags = ["--quick", "--figures-dir", "/proc/mnist_ae_figures", "--results-dir", str(tmp_path / "r"),
             "--cache-dir", str(tmp_path / "c")]
    assert script("exercise_1").main(flags) == 2
    assert "output directory /proc/mnist_ae_figures is not writable" in one_line_error(capsys)


def test_nan_loss_stops_at_once_and_writes_no_results(tmp_path, capsys):
    code = script("exercise_1").main(["--quick", "--set", "ex1_ae.learning_rate=1e12", *outputs(tmp_path)])
    assert code == 2
    assert "training stopped: the loss became NaN or infinite" in capsys.readouterr().err
    assert not (tmp_path / "res" / "exercise_1.json").exists()
    assert not list((tmp_path / "cache").glob("*.json"))  # nothing cached as finished


def test_corrupt_cached_weights_name_the_fix_and_retrain_repairs(tmp_path, capsys):
    flags = ["--quick", *outputs(tmp_path)]
    assert script("exercise_1").main(flags) == 0
    [weights] = (tmp_path / "cache").glob("*.weights.h5")
    weights.write_bytes(weights.read_bytes()[:500])
    capsys.readouterr()
    assert script("exercise_2").main(flags) == 2
    assert "unreadable or from another architecture" in one_line_error(capsys)
    assert script("exercise_2").main(flags + ["--retrain"]) == 0
    assert json.loads((tmp_path / "res" / "exercise_2.json").read_text())["model_from_cache"] is False


def test_unknown_step_in_run_sh_names_the_registered_ones():
    result = subprocess.run(["bash", str(ROOT / "run.sh"), "run", "astrology"], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "python -m mnist_ae run: error: argument STEP: unknown step 'astrology' (choose from all "
        f"{' '.join(registry.NAMES)})")


def training_until_first_checkpoint(tmp_path, **popen):
    """Start a 6-epoch quick exercise 1 in a child process; return it, its command, env and checkpoint."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, str(ROOT / "scripts" / "exercise_1.py"), "--quick", "--set", "ex1_ae.epochs=6", *outputs(tmp_path)]
    proc = subprocess.Popen(cmd, env=env, **popen)
    deadline = time.time() + 120
    states = []
    while time.time() < deadline and not states:
        states = list((tmp_path / "cache").glob("*.partial/state.json"))
        time.sleep(0.05)
    assert states, "no epoch was checkpointed"
    return proc, cmd, env, states[0]


@pytest.mark.slow
def test_ctrl_c_in_a_script_is_one_line_and_exit_130_and_a_rerun_resumes(tmp_path):
    # A shell starts background jobs with SIGINT ignored, and children inherit that: restore the default
    # so Python turns the signal into KeyboardInterrupt however the suite was started.
    proc, cmd, env, _ = training_until_first_checkpoint(
        tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    lines = [line for line in err.strip().splitlines() if "exercise_1.py:" in line]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "exercise_1.py: interrupted after epoch" in lines[0] and "rerun the same command to resume" in lines[0]
    done = int(lines[0].split("after epoch ")[1].split()[0])
    assert subprocess.run(cmd, env=env, capture_output=True).returncode == 0
    meta = json.loads(next((tmp_path / "cache").glob("*.json")).read_text())
    assert meta["record"]["resumed_from_epoch"] == done >= 1


def test_same_seed_same_run_other_seed_other_run(tmp_path):
    def run(seed, where):
        flags = ["--quick", "--set", f"ex1_ae.seed={seed}", *outputs(tmp_path / where)]
        assert script("exercise_1").main(flags) == 0
        return json.loads((tmp_path / where / "res" / "exercise_1.json").read_text())

    a, b, c = run(0, "a"), run(0, "b"), run(1, "c")
    assert a["test_mse"] == b["test_mse"] and a["history"] == b["history"]
    assert a["test_mse"] != c["test_mse"]


@pytest.mark.slow
def test_kill_9_mid_training_resumes_and_never_caches_a_half_trained_model(tmp_path):
    proc, cmd, env, state = training_until_first_checkpoint(tmp_path, stdout=subprocess.DEVNULL,
                                                            stderr=subprocess.DEVNULL)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = json.loads(state.read_text())["epoch"]
    assert 1 <= done < 6
    assert not list((tmp_path / "cache").glob("*.json"))  # no finished entry after the kill
    assert subprocess.run(cmd, env=env, capture_output=True).returncode == 0
    result = json.loads((tmp_path / "res" / "exercise_1.json").read_text())
    assert len(result["history"]["loss"]) == 6
    meta = json.loads(next((tmp_path / "cache").glob("*.json")).read_text())
    assert meta["record"]["resumed_from_epoch"] >= done
    assert not list((tmp_path / "cache").glob("*.partial"))


def test_no_unsafe_loading_or_code_execution_in_the_sources():
    """Security rules as a scripted check over every source file."""
    banned = ["pickle.load(", "pickle.loads(", "safe_mode=False", "eval(", "exec(", "shell=True",
              "os.system(", "allow_pickle=True", "keras.models.load_model("]
    for path in [*ROOT.glob("src/mnist_ae/*.py"), *ROOT.glob("scripts/*.py")]:
        text = path.read_text()
        for word in banned:
            assert word not in text, f"{path.name} contains {word}"
