"""Importing `mnist_ae` turns on TensorFlow's oneDNN kernels (see `mnist_ae.__init__`), unless the
person set `TF_ENABLE_ONEDNN_OPTS` already."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = ("import mnist_ae, os\n"
         "print(os.environ['TF_ENABLE_ONEDNN_OPTS'], mnist_ae.onednn_enabled())")


def onednn_state(setting):
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    if setting is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = setting
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    return out.stdout.split()


@pytest.mark.parametrize("setting, expected", [(None, ["1", "True"]), ("0", ["0", "False"]), ("1", ["1", "True"])])
def test_import_turns_onednn_on_unless_set(setting, expected):
    assert onednn_state(setting) == expected


TENSORFLOW_LOADERS = {"keras", "tensorflow", "optuna"}  # optuna: its Keras integration may load it
QUIET_START = "mnist_ae.pipeline.quiet_start"


def first_import_line(tree, names):
    for node in tree.body:
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] in names for a in node.names):
            return node.lineno
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in names:
            return node.lineno
    return None


def loads_tensorflow(tree) -> bool:
    """Whether a script imports Keras, TensorFlow or Optuna, or a package module built on them
    (training, models, analysis, studies)."""
    heavy = ("mnist_ae.training", "mnist_ae.models", "mnist_ae.analysis", "mnist_ae.studies")
    for node in tree.body:
        if isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        else:
            continue
        if any(m.split(".")[0] in TENSORFLOW_LOADERS or m.startswith(heavy) for m in modules):
            return True
    return False


def first_import(tree) -> str | None:
    for node in tree.body:
        if isinstance(node, ast.Import):
            return node.names[0].name
        if isinstance(node, ast.ImportFrom) and node.module != "__future__":
            return node.module
    return None


def test_every_script_that_loads_tensorflow_starts_it_quietly_first():
    # Run alone (`python scripts/x.py`), a script that imported Keras first would load TensorFlow
    # before `mnist_ae` sets its defaults (and train without oneDNN), and print TensorFlow's C++
    # start-up lines before its own output.
    scripts = sorted((Path(__file__).parents[1] / "scripts").glob("*.py"))
    assert len(scripts) >= 15
    trees = {path.name: ast.parse(path.read_text()) for path in scripts}
    loading = [name for name, tree in trees.items() if loads_tensorflow(tree)]
    assert len(loading) >= 13 and "exercise_1.py" in loading and "readme_table.py" not in loading
    assert [name for name in loading if first_import(trees[name]) != QUIET_START] == []


def test_the_script_checks_catch_keras_first_and_a_late_quiet_start():
    tree = ast.parse("import keras\nfrom mnist_ae import models\n")
    assert first_import_line(tree, TENSORFLOW_LOADERS) < first_import_line(tree, {"mnist_ae"})
    late = ast.parse("from __future__ import annotations\nfrom mnist_ae import training\nimport mnist_ae.pipeline.quiet_start\n")
    assert loads_tensorflow(late) and first_import(late) == "mnist_ae"


def test_a_scripts_help_is_its_usage_alone():
    script = Path(__file__).parents[1] / "scripts" / "exercise_1.py"
    out = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("usage: exercise_1.py") and "--quick" in out.stdout
    assert "ex1_ae: epochs=15, batch_size=32, learning_rate=0.002, seed=0, output_bias=0.1" in out.stdout  # what --set changes
    assert "--batch-size" not in out.stdout  # refused, so not offered
    assert out.stderr == ""

PACKAGE = Path(__file__).parents[1] / "src" / "mnist_ae"


def imports_of(path: Path) -> list[tuple[str, list[str]]]:
    """(module, imported names) for every `import`/`from ... import` in `path`, nested ones too."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names]
    return found


def test_library_modules_never_import_the_pipeline():
    # The pipeline runs the library; a model, analysis or plot that imported the runner or the
    # script harness could not be used without them.
    library = [p for p in PACKAGE.rglob("*.py")
               if p.relative_to(PACKAGE).parts[0] not in {"pipeline", "explorer", "__main__.py"}]
    assert len(library) >= 20
    offenders = [f"{p.relative_to(PACKAGE)} imports {module}" for p in library for module, names in imports_of(p)
                 if module.startswith("mnist_ae.pipeline") or (module == "mnist_ae" and "pipeline" in names)]
    assert offenders == []


def test_nothing_imports_another_modules_private_names():
    sources = [*PACKAGE.rglob("*.py"), *(PACKAGE.parents[1] / "scripts").glob("*.py")]
    offenders = [f"{p.name}: from {module} import {name}" for p in sources for module, names in imports_of(p)
                 if module.startswith("mnist_ae") for name in names if name.startswith("_")]
    assert offenders == []


def test_the_import_checks_see_a_pipeline_import_and_a_private_name(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from mnist_ae.pipeline.runner import _private\n")
    assert imports_of(probe) == [("mnist_ae.pipeline.runner", ["_private"])]
