"""Content-addressed models and steps: a model's key follows the code its recipe reaches, a step's
stamp the modules its script imports; a chart edit retrains nothing and reruns only the drawers."""

import shutil

import pytest

from mnist_ae import codehash, recipes
from mnist_ae.pipeline import registry, stamps


@pytest.fixture()
def source(tmp_path, monkeypatch):
    """A copy of the package's source that the digests read instead of the real one."""
    copy = tmp_path / "src"
    shutil.copytree(codehash.SOURCE / "mnist_ae", copy / "mnist_ae",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    monkeypatch.setattr(codehash, "SOURCE", copy)
    yield copy / "mnist_ae"


def snapshot() -> tuple[dict, dict]:
    return ({name: r.digest() for name, r in recipes.RECIPES.items()},
            {s.name: stamps.code_digest(s) for s in registry.STEPS})


def edit(path, old, new):
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_a_model_code_constant_gives_new_keys_to_the_models_that_reach_it(source):
    models, steps = snapshot()
    edit(source / "models" / "constrained.py", "OUTPUT_BIAS_INIT = ", "OUTPUT_BIAS_INIT = 0.5 + 0 * ")
    after, after_steps = snapshot()
    changed = {n for n in models if models[n] != after[n]}
    assert {"ex1_ae", "ex4_classifier", "vae_2d", "vae_16d"} <= changed
    assert steps["exercise_1"] != after_steps["exercise_1"]  # and the steps that train them rerun


def test_erasing_constants_change_only_the_denoisers(source):
    models, _ = snapshot()
    edit(source / "models" / "corruption.py", "ERASE_SCALE = ", "ERASE_SCALE = 0 or ")
    after, _ = snapshot()
    assert {n for n in models if models[n] != after[n]} == {"denoisers"}


def test_a_chart_edit_keeps_every_model_key_and_every_training_step_s_stamp(source):
    models, steps = snapshot()
    edit(source / "plots" / "charts.py", "def save(", "RED = 'red'\n\n\ndef save(")
    after, after_steps = snapshot()
    assert after == models
    assert after_steps["vae_2d"] == steps["vae_2d"] and after_steps["vae_16d"] == steps["vae_16d"]
    assert after_steps["exercise_1"] != steps["exercise_1"]  # it draws with it: it reruns (its model is reused)


def test_docstrings_and_comments_change_no_digest(source):
    models, steps = snapshot()
    edit(source / "training.py", '"""Training recipes', '"""Reworded. Training recipes')
    edit(source / "training.py", "STEPS_PER_EXECUTION = 25", "STEPS_PER_EXECUTION = 25  # a comment")
    assert snapshot() == (models, steps)


def test_a_module_outside_the_package_is_an_error():
    with pytest.raises(ValueError, match="mnist_ae.nowhere is not a module of the package"):
        codehash.reached(["mnist_ae.nowhere"])


def test_the_digest_s_own_code_is_not_in_any_digest(source):
    models, steps = snapshot()
    edit(source / "codehash.py", "def _with_parents(", "UNUSED = 1\n\n\ndef _with_parents(")
    assert snapshot() == (models, steps)
