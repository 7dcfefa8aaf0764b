"""Importing `mnist_ae` turns on TensorFlow's oneDNN kernels (see `mnist_ae.__init__`), unless the
person set `TF_ENABLE_ONEDNN_OPTS` already."""

import os
import subprocess
import sys

import pytest

PROBE = ("import mnist_ae, os\n"
         "from tensorflow.python.util import _pywrap_util_port as port\n"
         "print(os.environ['TF_ENABLE_ONEDNN_OPTS'], port.IsMklEnabled())")


def onednn_state(setting):
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    if setting is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = setting
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    return out.stdout.split()


@pytest.mark.parametrize("setting, expected", [(None, ["1", "True"]), ("0", ["0", "False"]), ("1", ["1", "True"])])
def test_import_turns_onednn_on_unless_set(setting, expected):
    assert onednn_state(setting) == expected
