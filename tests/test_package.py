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


def first_import_line(tree, names):
    for node in tree.body:
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] in names for a in node.names):
            return node.lineno
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in names:
            return node.lineno
    return None


def test_every_script_imports_the_package_before_keras():
    # Run alone (`python scripts/x.py`), a script that imports Keras first would load TensorFlow
    # before `mnist_ae` sets its defaults, and train without oneDNN.
    scripts = sorted((Path(__file__).parents[1] / "scripts").glob("*.py"))
    assert len(scripts) >= 15
    late = []
    for path in scripts:
        tree = ast.parse(path.read_text())
        package, loader = first_import_line(tree, {"mnist_ae"}), first_import_line(tree, TENSORFLOW_LOADERS)
        if loader is not None and (package is None or package > loader):
            late.append(path.name)
    assert late == []


def test_the_script_order_check_catches_keras_first():
    tree = ast.parse("import keras\nfrom mnist_ae import models\n")
    assert first_import_line(tree, TENSORFLOW_LOADERS) < first_import_line(tree, {"mnist_ae"})
